//! Against Debian's memcached inside a namespace this test makes (the generator runs
//! there too, over the namespace's loopback): what ix-mutilate says it did equals what
//! the server counted (`stats`: cmd_get, get_misses, cmd_set), in ASCII and binary,
//! over Linux sockets and over libix (kernel transport).

mod common;

use common::*;

fn check_run(mc: &Memcached, extra: &[&str]) {
    let before = mc.stats();
    let addr = mc.addr();
    let mut args = vec![
        "-s", &addr, "--noload", "-r", "2000", "-q", "3000", "-t", "1", "-u", "0.2", "--seed", "11",
    ];
    args.extend_from_slice(extra);
    let out = mc.mutilate(&args);
    let after = mc.stats();
    let (gets, sets, misses, skipped) = client_counts(&out, "master");
    assert_eq!(skipped, 0, "every scheduled request was answered\n{out}");
    assert_eq!(total_requests(&out), gets + sets);
    assert_eq!(number_after(&out, "Misses = "), misses);
    assert_eq!(delta(&before, &after, "cmd_get"), gets, "gets\n{out}");
    assert_eq!(
        delta(&before, &after, "get_misses"),
        misses,
        "misses\n{out}"
    );
    assert_eq!(delta(&before, &after, "cmd_set"), sets, "sets\n{out}");
    // A Poisson stream at 3000/s for 1 s, a fifth of it sets; half the keys loaded.
    assert!(
        (2000..4000).contains(&(gets + sets)),
        "{gets} + {sets}\n{out}"
    );
    assert!(
        sets > 0 && misses > 0 && misses < gets,
        "{sets} sets, {misses}/{gets} misses\n{out}"
    );
}

#[test]
fn counts_match_memcached_stats_ascii_and_binary() {
    let mc = Memcached::start();
    let addr = mc.addr();

    // Loading: exactly one set per record, nothing else.
    let before = mc.stats();
    let out = mc.mutilate(&["-s", &addr, "--loadonly", "-r", "1000", "--seed", "1"]);
    assert!(out.is_empty(), "--loadonly prints no table: {out}");
    let after = mc.stats();
    assert_eq!(delta(&before, &after, "cmd_set"), 1000);
    assert_eq!(delta(&before, &after, "cmd_get"), 0);
    assert_eq!(after["curr_items"], 1000);

    // Records 0..2000 with only 0..1000 loaded: misses, hits and sets.
    check_run(&mc, &[]);
    check_run(&mc, &["--binary"]);
    // The same client code as a libix application on libix's kernel transport.
    check_run(&mc, &["--transport", "libix-kernel"]);
    check_run(
        &mc,
        &[
            "--transport",
            "libix-kernel",
            "--binary",
            "-c",
            "3",
            "-d",
            "2",
        ],
    );
    // Pipelined over several connections and threads, as fast as possible, on
    // records that are all loaded: no misses, and up to 4 requests in flight.
    let before = mc.stats();
    let out = mc.mutilate(&[
        "-s", &addr, "--noload", "-r", "1000", "-T", "2", "-c", "2", "-d", "4", "-t", "1",
        "--seed", "3",
    ]);
    let after = mc.stats();
    let (gets, sets, misses, skipped) = client_counts(&out, "master");
    assert_eq!((sets, misses, skipped), (0, 0, 0), "{out}");
    assert!(gets > 0);
    assert_eq!(delta(&before, &after, "cmd_get"), gets);
    assert_eq!(delta(&before, &after, "get_misses"), 0);
    let op_q: Vec<f64> = out
        .lines()
        .find(|l| l.starts_with("op_q"))
        .unwrap()
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(
        op_q[0] > 1.5 && op_q[9] <= 4.0,
        "op_q avg {} max {}",
        op_q[0],
        op_q[9]
    );
}
