//! Against memcached-ix (apps/memcached-ix): the generator's counts equal the
//! server's own `stats` (cmd_get, get_misses, cmd_set), in ASCII and binary.
//!
//! - As a dataplane instance (started as ixcp starts it, with the spec named by
//!   IX_INSTANCE_SPEC) on a DPDK tap whose kernel side is in a namespace this test
//!   makes; ix-mutilate runs in that namespace over Linux sockets.
//! - On libix's kernel transport, inside a namespace, the generator there too.
//!
//! The binary is another package's, so it is looked for next to this test in the
//! same target directory (`cargo build --workspace` and `cargo test --workspace`
//! build it); when it is missing the test fails, saying how to build it.

mod common;

use common::instance::{memcached_ix_binary, MemcachedIxInstance};
use common::*;
use std::collections::HashMap;

/// Loads 1000 records, then runs an open-loop mix in ASCII and in binary, each
/// checked against the server's counters; `stats` reads them.
fn check_counts(
    addr: &str,
    mutilate: &dyn Fn(&[&str]) -> String,
    stats: &dyn Fn() -> HashMap<String, u64>,
) {
    let before = stats();
    mutilate(&["-s", addr, "--loadonly", "-r", "1000", "--seed", "1"]);
    let after = stats();
    assert_eq!(delta(&before, &after, "cmd_set"), 1000);

    for extra in [&[][..], &["--binary"][..]] {
        let before = stats();
        let mut args = vec![
            "-s", addr, "--noload", "-r", "2000", "-q", "3000", "-t", "1", "-u", "0.2", "--seed",
            "11",
        ];
        args.extend_from_slice(extra);
        let out = mutilate(&args);
        let after = stats();
        let (gets, sets, misses, skipped) = client_counts(&out, "master");
        assert_eq!(skipped, 0, "{out}");
        assert!(gets > 1000 && sets > 0 && misses > 0, "{out}");
        let d = |name| delta(&before, &after, name);
        assert_eq!(d("cmd_get"), gets, "gets {extra:?}\n{out}");
        assert_eq!(d("get_misses"), misses, "misses {extra:?}\n{out}");
        assert_eq!(d("cmd_set"), sets, "sets {extra:?}\n{out}");
    }
}

#[test]
fn counts_match_memcached_ix_as_a_dataplane_instance() {
    let ns = TestNs::create("mcix");
    let mc = MemcachedIxInstance::start("mcix", ns);
    let addr = mc.addr.to_string();
    let server = mc.addr;
    check_counts(&addr, &|args| mc.ns.mutilate(args), &|| mc.ns.stats(server));
}

#[test]
fn counts_match_memcached_ix_on_the_kernel_transport() {
    let bin = memcached_ix_binary();
    let mc = Memcached::start_in(
        TestNs::create("mck"),
        "127.0.0.1",
        &bin.display().to_string(),
        &[],
    );
    check_counts(&mc.addr(), &|args| mc.mutilate(args), &|| mc.stats());
}
