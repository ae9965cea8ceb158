//! Helpers of the tests that run real memcached clients, shared by this crate's
//! `tests/clients.rs` and ixcp's `tests/memcached_e2e.rs` (included there by path):
//! a missing client fails with a message naming ci/setup.sh.

use std::io::Read;
use std::net::TcpStream;
use std::process::Command;

/// Reads from `s` until what arrived ends with `end`; panics if the peer closes first.
pub fn read_until(s: &mut TcpStream, end: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    while !got.ends_with(end) {
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0, "connection closed early after {} bytes", got.len());
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// Asserts the program `tool` is on the PATH.
pub fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{tool} is not installed: run ci/setup.sh");
}

/// Asserts python3 can import `module`.
pub fn require_python(module: &str) {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "python3 module {module} is missing: run ci/setup.sh");
}
