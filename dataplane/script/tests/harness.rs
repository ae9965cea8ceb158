//! The harness itself on real targets: wrong scripts must fail, with precise
//! messages, and the Linux target must leave nothing behind.

use ix_script::{parse, run, IxTarget, LinuxTarget, RunError, Script, Target};
use std::process::Command;

const HEADER: &str = "sut 10.0.0.2/24\npeer 10.0.0.1 02:00:00:00:00:01\n";

fn script(body: &str) -> Script {
    parse("inline.pkt", &format!("{HEADER}{body}")).expect("valid script")
}

/// A ping answered with the wrong sequence number in the expectation.
const WRONG_SEQ: &str =
    "0 < icmp echo-request id=1 seq=1 payload=\"x\"\n+0 > icmp echo-reply id=1 seq=2 payload=same\n";

/// A ping whose reply the script does not expect.
const UNEXPECTED: &str = "0 < icmp echo-request id=1 seq=1\n+0 > none for 0.1\n";

/// An expectation the SUT never meets.
const MISSING: &str = "0 < icmp echo-request id=1 seq=1 csum=bad\n+0 > icmp echo-reply\n";

fn check_failures(target: &mut dyn FnMut() -> Box<dyn Target>) {
    let e = run(&script(WRONG_SEQ), &mut *target()).unwrap_err();
    let RunError::Mismatch { line, diffs, .. } = &e else {
        panic!("want a mismatch, got {e}")
    };
    assert_eq!(*line, 4);
    assert_eq!(diffs.len(), 1, "{e}");
    assert_eq!(
        (
            diffs[0].field.as_str(),
            diffs[0].expected.as_str(),
            diffs[0].got.as_str()
        ),
        ("seq", "2", "1")
    );
    let e = run(&script(UNEXPECTED), &mut *target()).unwrap_err();
    assert!(matches!(e, RunError::Unexpected { line: 4, .. }), "{e}");
    let e = run(&script(MISSING), &mut *target()).unwrap_err();
    assert!(matches!(e, RunError::Missing { line: 4, .. }), "{e}");
}

#[test]
fn ix_target_reports_wrong_scripts() {
    let setup = script("").setup;
    check_failures(&mut || Box::new(IxTarget::new(&setup).expect("ix target")));
}

#[test]
fn linux_target_reports_wrong_scripts() {
    let setup = script("").setup;
    check_failures(&mut || Box::new(LinuxTarget::new(&setup).expect("linux target (needs root)")));
}

#[test]
fn linux_target_cleans_up() {
    let target = LinuxTarget::new(&script("app udp-echo 7\napp tcp-listen 8080\n").setup)
        .expect("linux target");
    let ns = target.netns().to_string();
    let tap = target.tap().to_string();
    let listed = || {
        let out = Command::new("ip")
            .args(["netns", "list"])
            .output()
            .expect("ip");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.split_whitespace().next() == Some(ns.as_str()))
    };
    assert!(listed(), "namespace {ns} exists while the target lives");
    drop(target);
    assert!(!listed(), "namespace {ns} deleted on drop");
    let links = Command::new("ip")
        .args(["-o", "link"])
        .output()
        .expect("ip");
    let gone = !String::from_utf8_lossy(&links.stdout)
        .lines()
        .any(|l| l.split(':').nth(1).map(str::trim) == Some(tap.as_str()));
    assert!(gone, "tap {tap} not left behind in the root namespace");
}

/// A handshake whose SYN-ACK is expected to acknowledge the wrong number, and an
/// application call that waits for what never comes.
const WRONG_ACK: &str = "ports 4000 8080\napp tcp-listen 8080\n\
    0 < tcp S seq=1000 opts=mss:1460\n+0 > tcp S. seq=$isn ack=1000 opts=*\n";
const NOTHING_TO_ACCEPT: &str = "app tcp-listen 8080\n0 app accept\n";

fn check_tcp_failures(target: &mut dyn FnMut(&Script) -> Box<dyn Target>) {
    let s = script(WRONG_ACK);
    let e = run(&s, &mut *target(&s)).unwrap_err();
    let RunError::Mismatch { line, diffs, .. } = &e else {
        panic!("want a mismatch, got {e}")
    };
    assert_eq!(*line, 6);
    assert_eq!(diffs.len(), 1, "{e}");
    assert_eq!(
        (
            diffs[0].field.as_str(),
            diffs[0].expected.as_str(),
            diffs[0].got.as_str()
        ),
        ("ack", "1000", "1001")
    );
    let s = script(NOTHING_TO_ACCEPT);
    let e = run(&s, &mut *target(&s)).unwrap_err();
    assert!(matches!(e, RunError::App { line: 4, .. }), "{e}");
    assert!(e.to_string().contains("no connection was ready"), "{e}");
}

#[test]
fn ix_target_reports_wrong_tcp_scripts() {
    check_tcp_failures(&mut |s| Box::new(IxTarget::new(&s.setup).expect("ix target")));
}

#[test]
fn linux_target_reports_wrong_tcp_scripts() {
    check_tcp_failures(&mut |s| {
        Box::new(LinuxTarget::new(&s.setup).expect("linux target (needs root)"))
    });
}

#[test]
fn linux_tcp_settings_stay_in_the_namespace() {
    let knobs = ["tcp_syn_retries", "tcp_fin_timeout", "tcp_early_retrans"];
    let host = || {
        knobs
            .iter()
            .map(|k| std::fs::read_to_string(format!("/proc/sys/net/ipv4/{k}")).expect("sysctl"))
            .collect::<Vec<_>>()
    };
    let before = host();
    let s = script(
        "tcp-config syn-retries=1 fin-timeout=1\n\
         linux-sysctl net.ipv4.tcp_early_retrans 0 \"test\"\n",
    );
    let target = LinuxTarget::new(&s.setup).expect("linux target");
    assert_eq!(host(), before, "the host's TCP sysctls are untouched");
    drop(target);
}
