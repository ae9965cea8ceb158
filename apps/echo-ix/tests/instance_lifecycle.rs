//! End to end through `ix_instance::run`, starting and stopping: an `echo-ix`
//! instance on a DPDK tap port stops cleanly on SIGTERM, and the binary refuses,
//! with a clear message and no panic, to start without a spec or with a broken one.

mod support;

use ix_instance::spec::SPEC_ENV;
use std::process::Command;
use support::instance::{spec, Fixture};
use support::process::send_sigterm;

/// SIGTERM stops a ready instance with exit 0 and nothing left behind; a missing
/// or broken spec is refused with a message, not a panic.
#[test]
fn sigterm_stops_cleanly_and_bad_specs_are_refused() {
    let _turn = support::one_at_a_time();
    let mut fx = Fixture::start("b");
    fx.wait_ready();
    send_sigterm(fx.pid());
    let status = fx.wait_exit();
    assert!(status.success(), "echo-ix exit on SIGTERM: {status}");
    fx.assert_left_nothing();

    // Without a spec, and with a broken one: a clear refusal, not a panic.
    let bin = env!("CARGO_BIN_EXE_echo-ix");
    let out = Command::new(bin)
        .env_remove(SPEC_ENV)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(SPEC_ENV));
    let bad = std::env::temp_dir().join(format!("ixinst-bad-{}.json", std::process::id()));
    let mut broken = spec("c");
    broken.cores.clear();
    std::fs::write(&bad, serde_json::to_string(&broken).expect("json")).expect("write");
    let out = Command::new(bin).env(SPEC_ENV, &bad).output().expect("run");
    let _ = std::fs::remove_file(&bad);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no cores"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
