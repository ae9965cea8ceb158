//! `--transport libix`: ix-mutilate as a kernel-bypass client on its own dataplane
//! instance (a DPDK tap port, an elastic thread on core 0, where clients run), against Debian's
//! memcached listening inside a namespace this test makes, where the tap's kernel
//! side is. The generator's counts equal the server's `stats` (cmd_get, get_misses,
//! cmd_set), loading included, in ASCII and binary, open and closed loop, with
//! pipelining; and the instance stops by itself when the run is over (the process
//! exits 0, its tap is gone). And IX against IX: the same client against
//! memcached-ix as a dataplane instance, both on taps into a bridge in the
//! namespace (the test reads the server's `stats` from the bridge's address).

mod common;

use common::instance::{client_spec, on_bridge, tap_spec, MemcachedIxInstance, SpecFile, HOST};
use common::*;
use std::net::Ipv4Addr;

#[test]
fn libix_on_the_dataplane_counts_match_memcached() {
    let mc = Memcached::start_in(TestNs::create("dp"), "0.0.0.0", "memcached", &[]);
    let spec = SpecFile::write(client_spec("dp", &mc.ns));
    let addr = format!("{HOST}:{}", mc.port);
    let spec_arg = spec.arg();
    let dp = |extra: &[&str]| {
        let mut args = vec!["--transport", "libix", "--ix-spec", &spec_arg, "-s", &addr];
        args.extend_from_slice(extra);
        mutilate(&args)
    };

    let before = mc.stats();
    let out = dp(&["--loadonly", "-r", "1000", "--seed", "1"]);
    assert!(out.is_empty(), "--loadonly prints no table: {out}");
    let after = mc.stats();
    assert_eq!(delta(&before, &after, "cmd_set"), 1000);
    assert_eq!(delta(&before, &after, "cmd_get"), 0);

    let runs: [&[&str]; 3] = [
        &["-q", "3000", "-u", "0.2"],
        &["-q", "3000", "-u", "0.2", "--binary", "-c", "3", "-d", "2"],
        // Closed loop, pipelined.
        &["-c", "2", "-d", "4", "-u", "0.1"],
    ];
    for extra in runs {
        let before = mc.stats();
        let mut args = vec!["--noload", "-r", "2000", "-t", "1", "--seed", "11"];
        args.extend_from_slice(extra);
        let out = dp(&args);
        let after = mc.stats();
        let (gets, sets, misses, skipped) = client_counts(&out, "master");
        assert_eq!(skipped, 0, "every scheduled request was answered\n{out}");
        assert_eq!(total_requests(&out), gets + sets);
        assert!(gets > 1000 && sets > 0 && misses > 0, "{extra:?}\n{out}");
        let d = |name| delta(&before, &after, name);
        assert_eq!(d("cmd_get"), gets, "gets {extra:?}\n{out}");
        assert_eq!(d("get_misses"), misses, "misses {extra:?}\n{out}");
        assert_eq!(d("cmd_set"), sets, "sets {extra:?}\n{out}");
    }
    // The instance went with the process: its tap is gone from the namespace.
    let links = std::process::Command::new("ip")
        .args(["-n", mc.ns.name(), "-o", "link"])
        .output()
        .unwrap();
    let links = String::from_utf8_lossy(&links.stdout);
    let iface = match &spec.spec.nic {
        ix_instance::spec::NicSpec::Tap { iface, .. } => iface.clone(),
        other => panic!("not a tap: {other:?}"),
    };
    assert!(!links.contains(&iface), "{iface} left behind:\n{links}");
}

#[test]
fn libix_refuses_more_threads_than_cores() {
    let ns = TestNs::create("dpt");
    let spec = SpecFile::write(client_spec("dpt", &ns));
    let out = std::process::Command::new(BIN)
        .args(["--transport", "libix", "--ix-spec", &spec.arg()])
        .args(["-s", "10.87.0.1", "-T", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("-T 2") && err.contains("1 cores"), "{err}");
}

#[test]
fn libix_client_against_memcached_ix_instance_over_a_bridge() {
    let ns = TestNs::create("ix2");
    let ip = |args: &[&str]| {
        let mut full = vec!["-n", ns.name()];
        full.extend_from_slice(args);
        let st = std::process::Command::new("ip")
            .args(&full)
            .status()
            .unwrap();
        assert!(st.success(), "ip {full:?}");
    };
    ip(&["link", "add", "lgbr", "type", "bridge"]);
    ip(&["addr", "add", "10.87.0.3/24", "dev", "lgbr"]);
    ip(&["link", "set", "lgbr", "up"]);
    let server = on_bridge(tap_spec("ix2s", &ns), "lgbr", Ipv4Addr::new(10, 87, 0, 2));
    let mc = MemcachedIxInstance::start_with(server, ns);
    let client = SpecFile::write(on_bridge(
        client_spec("ix2c", &mc.ns),
        "lgbr",
        Ipv4Addr::new(10, 87, 0, 4),
    ));
    let addr = mc.addr.to_string();
    let spec_arg = client.arg();
    let dp = |extra: &[&str]| {
        let mut args = vec!["--transport", "libix", "--ix-spec", &spec_arg, "-s", &addr];
        args.extend_from_slice(extra);
        mutilate(&args)
    };
    let stats = || mc.ns.stats(mc.addr);

    let before = stats();
    dp(&["--loadonly", "-r", "1000", "--seed", "1"]);
    let after = stats();
    assert_eq!(delta(&before, &after, "cmd_set"), 1000);
    for extra in [&[][..], &["--binary"][..]] {
        let before = stats();
        let mut args = vec![
            "--noload", "-r", "2000", "-q", "3000", "-t", "1", "-u", "0.2", "--seed", "11",
        ];
        args.extend_from_slice(extra);
        let out = dp(&args);
        let after = stats();
        let (gets, sets, misses, skipped) = client_counts(&out, "master");
        assert_eq!(skipped, 0, "{out}");
        assert!(gets > 1000 && sets > 0 && misses > 0, "{extra:?}\n{out}");
        let d = |name| delta(&before, &after, name);
        assert_eq!(d("cmd_get"), gets, "gets {extra:?}\n{out}");
        assert_eq!(d("get_misses"), misses, "misses {extra:?}\n{out}");
        assert_eq!(d("cmd_set"), sets, "sets {extra:?}\n{out}");
    }
}
