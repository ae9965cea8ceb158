//! End to end with `memcached-ix` as a dataplane instance: `configs/default.toml`
//! (with this test's namespace, tap name and run directory) started through
//! `ixctl`, then real clients inside the namespace over the DPDK tap: memccapable
//! (ASCII and binary), memcaslap in verify mode (text and binary), the pymemcache
//! and python-binary-memcached scripts of `apps/memcached-ix/tests/clients`, and
//! the zero-copy check (the instance's `copied_bytes` in `ixctl stats --json`
//! counts every SET's value once and does not move across GETs of 1 KiB to 500 KB
//! values); then `ixctl stop` leaves nothing behind. A config whose EAL memory
//! cannot hold `-m` is refused with a message naming the numbers.
//!
//! Needs root and `ci/setup.sh` (libmemcached-tools, pymemcache,
//! python-binary-memcached); a missing client fails the test saying so.

mod common;

use common::client::{connect, in_ns, IO};
use common::{
    assert_nothing_left, memcached_ix, prefix, stop_leaving_nothing, wait_gone, workspace, Harness,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

#[path = "../../../apps/memcached-ix/tests/clients/tools.rs"]
mod tools;

use tools::{read_until, require, require_python};

/// The instances of this file take turns on core 1.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
const ADDR: &str = "10.77.0.2";
const PORT: u16 = 11211;

/// `configs/default.toml` with this test's namespace, tap, binary and
/// oversubscription (this machine has one dataplane core), plus `edits`.
fn default_config(h: &mut Harness, tag: &str, edits: &[(&str, &str)]) -> (PathBuf, String) {
    let ns = h.ns(tag);
    // Interface names are at most 15 bytes; the pid keeps parallel runs apart.
    let tap = format!("ix{tag}{}", std::process::id() % 100_000);
    let original = std::fs::read_to_string(workspace().join("configs/default.toml")).unwrap();
    let mut text = original
        .replace("\"ix-default\"", &format!("\"{ns}\""))
        .replace("\"ix0\"", &format!("\"{tap}\""))
        .replace(
            "\"memcached-ix\"",
            &format!("\"{}\"", memcached_ix().display()),
        )
        .replace("oversubscribe = false", "oversubscribe = true");
    for (from, to) in edits {
        assert!(text.contains(from), "{from:?} not in the default config");
        text = text.replace(from, to);
    }
    assert!(
        text.contains(&format!("netns = \"{ns}\""))
            && text.contains(&format!("nic = \"{tap}\""))
            && text.contains("name = \"memcached\"")
            && text.contains("\"-p\", \"11211\""),
        "the default config changed shape:\n{original}"
    );
    (h.write(&format!("{tag}.toml"), &text), ns)
}

/// Runs `cmd` inside namespace `ns`, insists on success, returns stdout + stderr.
fn in_ns_run(ns: &str, cmd: &[&str]) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(cmd)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed: {text}");
    text
}

fn memccapable(ns: &str, protocol: &str) {
    let port = PORT.to_string();
    let out = in_ns_run(
        ns,
        &["memccapable", "-h", ADDR, "-p", &port, "-t", "10", protocol],
    );
    let name = if protocol == "-a" { "ascii" } else { "binary" };
    let passed = out
        .lines()
        .filter(|l| l.starts_with(name) && l.ends_with("[pass]"))
        .count();
    assert!(!out.contains("[FAIL]"), "{out}");
    assert_eq!(passed, 27, "{out}");
    assert!(out.contains("All tests passed"), "{out}");
}

fn memcaslap(ns: &str, binary: bool, secs: u32) {
    let server = format!("{ADDR}:{PORT}");
    let time = format!("{secs}s");
    let mut cmd = vec![
        "memcaslap",
        "-s",
        &server,
        "-t",
        &time,
        "-c",
        "8",
        "-T",
        "1",
        // 8 x 1k keys of at most a few KiB fit in `-m 64`: nothing is evicted, so
        // every verified get must hit (the default 10k window overflows the store
        // and turns evictions into misses).
        "--win_size=1k",
        "--verify=1.0",
    ];
    if binary {
        cmd.push("-B");
    }
    let out = in_ns_run(ns, &cmd);
    let field = |name: &str| -> u64 {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {out}"))
    };
    assert!(field("cmd_get") > 1000, "{out}");
    assert!(field("cmd_set") > 100, "{out}");
    assert_eq!(field("verify_failed"), 0, "{out}");
    assert_eq!(field("verify_misses"), 0, "{out}");
    assert_eq!(field("get_misses"), 0, "{out}");
}

fn python_script(ns: &str, script: &str, expect: &str) {
    let path = workspace()
        .join("apps/memcached-ix/tests/clients")
        .join(script);
    let port = PORT.to_string();
    let out = in_ns_run(ns, &["python3", path.to_str().unwrap(), &port, ADDR]);
    assert!(out.contains(expect), "{out}");
}

/// The instance's `copied_bytes`, summed over its threads, from `ixctl stats --json`.
fn copied_bytes(run: &Path) -> u64 {
    let out = Command::new(env!("CARGO_BIN_EXE_ixctl"))
        .env("IX_RUN_DIR", run)
        .args(["stats", "memcached", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ixctl stats: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: Vec<ixcp::proto::InstanceStats> = serde_json::from_slice(&out.stdout).unwrap();
    stats[0]
        .threads
        .iter()
        .map(|t| {
            t.iter()
                .find(|(k, _)| k == "copied_bytes")
                .map(|(_, v)| *v)
                .expect("copied_bytes in the thread's stats")
        })
        .sum()
}

/// SETs values of 1 KiB to 500 KB, then GETs each 20 times (and all at once in
/// multi-gets); returns (copied_bytes across the SETs, across the GETs, bytes set).
fn zero_copy_phases(run: PathBuf) -> (u64, u64, u64) {
    let mut s = connect(&format!("{ADDR}:{PORT}"));
    s.set_nodelay(true).unwrap();
    let sizes = [1024usize, 4096, 100_000, 500_000];
    let values: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, n)| (0..*n).map(|j| ((j * 7 + i) % 251) as u8).collect())
        .collect();

    let before_sets = copied_bytes(&run);
    for (i, v) in values.iter().enumerate() {
        s.write_all(format!("set zc{i} 0 0 {}\r\n", v.len()).as_bytes())
            .unwrap();
        s.write_all(v).unwrap();
        s.write_all(b"\r\n").unwrap();
        assert_eq!(read_until(&mut s, b"\r\n"), b"STORED\r\n");
    }
    let after_sets = copied_bytes(&run);

    for (i, v) in values.iter().enumerate() {
        for _ in 0..20 {
            s.write_all(format!("get zc{i}\r\n").as_bytes()).unwrap();
            let got = read_until(&mut s, b"END\r\n");
            let head = format!("VALUE zc{i} 0 {}\r\n", v.len());
            assert_eq!(&got[..head.len()], head.as_bytes());
            assert_eq!(&got[head.len()..head.len() + v.len()], &v[..]);
            assert_eq!(&got[head.len() + v.len()..], b"\r\nEND\r\n");
        }
    }
    for _ in 0..5 {
        s.write_all(b"gets zc0 zc1 zc2 zc3\r\n").unwrap();
        let got = read_until(&mut s, b"END\r\n");
        let mut rest = &got[..];
        for (i, v) in values.iter().enumerate() {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let head = String::from_utf8_lossy(&rest[..line_end]).into_owned();
            assert!(
                head.starts_with(&format!("VALUE zc{i} 0 {} ", v.len())),
                "{head}"
            );
            rest = &rest[line_end + 2..];
            assert_eq!(&rest[..v.len()], &v[..]);
            rest = &rest[v.len()..];
            assert_eq!(&rest[..2], b"\r\n");
            rest = &rest[2..];
        }
        assert_eq!(rest, b"END\r\n");
    }
    let after_gets = copied_bytes(&run);
    let set_bytes = sizes.iter().sum::<usize>() as u64;
    (after_sets - before_sets, after_gets - after_sets, set_bytes)
}

#[test]
fn default_config_serves_real_clients_zero_copy_and_stops_clean() {
    for tool in ["memccapable", "memcaslap"] {
        require(tool);
    }
    require_python("pymemcache");
    require_python("bmemcached");
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut h = Harness::new("mc-default");
    let (cfg, ns) = default_config(&mut h, "mc", &[]);
    let pid = h.start_one(&cfg, "memcached", &ns, &format!("{ADDR} {PORT}"));

    memccapable(&ns, "-a");
    memccapable(&ns, "-b");
    memcaslap(&ns, false, 5);
    memcaslap(&ns, true, 3);
    python_script(&ns, "pymemcache_check.py", "pymemcache: 50 checks passed");
    python_script(&ns, "bmemcached_check.py", "bmemcached: 27 checks passed");

    let run = h.run.clone();
    let (sets, gets, set_bytes) = in_ns(&ns, move || zero_copy_phases(run)).join().unwrap();
    eprintln!("copied_bytes: {sets} across SETs of {set_bytes} value bytes, {gets} across GETs");
    assert_eq!(
        sets, set_bytes,
        "each SET's value is copied once into the store, and counted"
    );
    assert_eq!(gets, 0, "GETs send stored values by reference");

    // Still the same process: nothing above crashed it.
    let st = h.instance("memcached");
    assert_eq!(
        (st.state.as_str(), st.pid, st.restarts),
        ("running", Some(pid), 0)
    );

    stop_leaving_nothing(&h, &[pid], &["memcached"]);
}

#[test]
fn too_little_eal_memory_for_m_is_refused_naming_the_numbers() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut h = Harness::new("mc-small");
    let (cfg, _ns) = default_config(
        &mut h,
        "mcs",
        &[
            ("memory_mb = 256", "memory_mb = 128"),
            ("restart = \"on-failure\"", "restart = \"never\""),
        ],
    );
    let out = h.ixctl(&["start", cfg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("memory_mb = 128 is too small for -m 64") && err.contains("MiB of EAL memory"),
        "{err}"
    );
    let daemon = h.daemon_pid();
    h.ok(&["stop"]);
    let pids: Vec<u32> = daemon.into_iter().map(|p| p as u32).collect();
    pids.iter().for_each(|&p| wait_gone(p, IO));
    assert_nothing_left(&h, &pids, &[prefix(&h, "memcached")]);
}
