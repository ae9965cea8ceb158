//! Differential test: Debian's memcached (`/usr/bin/memcached`, installed by
//! ci/setup.sh) and memcached-ix (kernel transport), started with the same flags
//! on loopback, get the same scripted exchanges on fresh connections; their
//! replies must be byte-identical once CAS uniques, version strings and stats
//! values are normalised (`differential/normalize.rs`). Each test starts its own
//! pair, so tables run in parallel and counters compare exactly.

#[path = "differential/bin_cases.rs"]
mod bin_cases;
#[path = "differential/meta_cases.rs"]
mod meta_cases;
#[path = "differential/normalize.rs"]
mod normalize;
#[path = "differential/runner.rs"]
mod runner;
#[path = "differential/servers.rs"]
mod servers;
#[path = "differential/text_cases.rs"]
mod text_cases;

use runner::check;

#[test]
fn text_storage_and_retrieval_match_memcached() {
    check(
        &[],
        &text_cases::storage(),
        // memcached breaks `stats items` down per slab class and LRU segment;
        // memcached-ix has no slab classes and reports one class (memory layout).
        &["stats items extra"],
    );
}

#[test]
fn text_arithmetic_and_touch_match_memcached() {
    check(&[], &text_cases::arith_touch(), &[]);
}

#[test]
fn text_errors_flush_and_admin_commands_match_memcached() {
    check(&[], &text_cases::misc(), &[]);
}

#[test]
fn stats_detail_and_conns_match_memcached() {
    check(&[], &text_cases::detail_and_conns(), &[]);
}

#[test]
fn stats_detail_with_a_delimiter_flag_matches_memcached() {
    // -D sets the delimiter and turns per-prefix stats on.
    let cases = [
        runner::text("D settings", &["stats settings\r\n"]),
        runner::text(
            "D counts",
            &["set a/1 0 0 1\r\nx\r\nset a:1 0 0 1\r\nx\r\nget a/1 b/2\r\nstats detail dump\r\n"],
        ),
    ];
    check(&["-D", "/"], &cases, &[]);
}

/// Opens a connection to `port` and writes `first` (if any); for
/// `stats_conns_list_every_connection_in_memcacheds_states`.
fn open_conn(port: u16, first: &[u8]) -> std::net::TcpStream {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    if !first.is_empty() {
        s.write_all(first).expect("write");
    }
    // memcached-ix accepts on several threads (SO_REUSEPORT): let this one be
    // accepted (and numbered) before the next connects, as memcached's single
    // acceptor numbers them in connect order.
    std::thread::sleep(std::time::Duration::from_millis(100));
    s
}

#[test]
fn stats_conns_list_every_connection_in_memcacheds_states() {
    use std::io::Read;
    let pair = servers::Pair::start(&[]);
    let list = |port: u16| {
        // Fresh (never sent), mid-value, mid-line, and after a whole command.
        let idle = open_conn(port, b"");
        let nread = open_conn(port, b"set k 0 0 10\r\nabc");
        let partial = open_conn(port, b"get fo");
        let mut done = open_conn(port, b"get k\r\n");
        let mut buf = [0u8; 16];
        let n = done.read(&mut buf).expect("get reply");
        assert_eq!(&buf[..n], b"END\r\n");
        std::thread::sleep(std::time::Duration::from_millis(200));
        let r = servers::exchange(
            port,
            &[servers::Step::Send(b"stats conns\r\n".to_vec())],
            b"mn\r\n",
            b"MN\r\n",
            1,
            &normalize::CasMap::default(),
        );
        drop((idle, nread, partial, done));
        let text = normalize::text(&r.bytes, &mut normalize::CasMap::default());
        std::thread::sleep(std::time::Duration::from_millis(200));
        text
    };
    let (real, ix) = (list(pair.real.port), list(pair.ix.port));
    for state in [
        "conn#1:state=conn_listening",
        "conn#2:state=conn_new_cmd",
        "conn#3:state=conn_nread",
        "conn#4:state=conn_read",
        "conn#5:state=conn_read",
        "conn#6:state=conn_parse_cmd",
        "conn#6:listen_addr",
    ] {
        assert!(real.contains(state), "memcached: {real}");
    }
    assert_eq!(real, ix, "stats conns differ (memcached, memcached-ix)");
}

#[test]
fn meta_protocol_matches_memcached() {
    check(&[], &meta_cases::all(), &[]);
}

#[test]
fn binary_protocol_matches_memcached() {
    check(
        &[],
        &bin_cases::all(),
        // memcached 1.6.18 answers an unknown opcode that has a body (binary
        // verbosity is unknown to it) with nothing and then drops the
        // connection, or, with a short body length, "Unknown command": a quirk
        // memcached-ix does not copy ("Unknown command" and carry on).
        &["verbosity", "unknown opcode", "bodylen short"],
    );
}

#[test]
fn meta_stale_and_win_flags_match_memcached() {
    // mg N (vivify on miss), mg R (recache), ms I / md I (invalidate: stale
    // items) and the W/X/Z flags.
    check(&[], &meta_cases::stale_and_win(), &[]);
}

/// Counters that must be equal after the same script on a fresh pair.
const COUNTERS: &[&str] = &[
    "cmd_get",
    "cmd_set",
    "cmd_touch",
    "cmd_flush",
    "get_hits",
    "get_misses",
    "delete_hits",
    "delete_misses",
    "incr_hits",
    "incr_misses",
    "decr_hits",
    "decr_misses",
    "cas_hits",
    "cas_misses",
    "cas_badval",
    "touch_hits",
    "touch_misses",
    "curr_items",
    "total_items",
    "bytes",
    "store_too_large",
];

fn counters(port: u16) -> Vec<(String, String)> {
    let r = servers::exchange(
        port,
        &[servers::Step::Send(b"stats\r\n".to_vec())],
        b"mn\r\n",
        b"MN\r\n",
        1,
        &normalize::CasMap::default(),
    );
    let text = String::from_utf8_lossy(&r.bytes).into_owned();
    COUNTERS
        .iter()
        .map(|c| {
            let v = text
                .lines()
                .find_map(|l| l.strip_prefix(&format!("STAT {c} ")))
                .unwrap_or("<missing>");
            (c.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn counters_match_memcached_after_the_same_commands() {
    let mut pair = servers::Pair::start(&[]);
    let script = runner::text(
        "counters",
        &[concat!(
            "set a 0 0 1\r\n1\r\nset b 5 0 2\r\nbb\r\nadd a 0 0 1\r\nx\r\nget a b c\r\n",
            "gets a\r\nincr a 5\r\nincr z 1\r\ndecr a 1\r\ndecr z 1\r\ndelete b\r\ndelete b\r\n",
            "touch a 100\r\ntouch z 1\r\ngat 100 a z\r\ncas a 0 0 1 1\r\nx\r\ncas z 0 0 1 1\r\nx\r\n",
            "set big 0 0 2000000 noreply\r\n",
        ), &"x".repeat(2_000_000), concat!(
            "\r\nmg a v\r\nms c 2\r\ncc\r\nmd c\r\n",
            // Meta vivify, touch, invalidation: memcached counts a vivified
            // item as a hit, mg T as a touch (a miss as a get miss), ms I as a
            // CAS hit, md I as nothing.
            "mg cv N30 v\r\nmg cv v\r\nmg cw N30 T40\r\nmg cx T40\r\nmg a T50\r\n",
            "ms cs 1\r\nx\r\nms cs 1 I C1\r\ny\r\nmd cs I\r\nmd cs I C1\r\nmd cz I\r\n",
        )],
    );
    let diffs = runner::run(&mut pair, &[script]);
    assert!(diffs.is_empty(), "{diffs:?}");
    let (real, ix) = (counters(pair.real.port), counters(pair.ix.port));
    assert!(real.iter().all(|(_, v)| v != "<missing>"), "{real:?}");
    assert_eq!(real, ix, "counters differ (memcached, memcached-ix)");
}
