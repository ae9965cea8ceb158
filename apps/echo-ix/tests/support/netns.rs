//! Network namespaces this test creates: threads that work inside one, and
//! [`NsIxRun`], an `ix-run` on a tap whose kernel side is in one.

use super::process::Running;
use ix_hostlink::Netns;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long `ix-run` may take to bring its tap up and print `READY`.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// A thread running `f` inside namespace `ns` (which must exist).
pub fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    let ns = ns.to_owned();
    std::thread::spawn(move || {
        Netns::create_or_join(&ns)
            .and_then(|n| n.enter_current_thread())
            .expect("enter the namespace");
        f()
    })
}

/// A running `ix-run` on a tap whose kernel side (10.NET.0.1/24) is in a namespace
/// made for it, ix answering on 10.NET.0.2; dropping it stops ix-run, then removes
/// the namespace (and everything configured inside).
pub struct NsIxRun {
    // Declared first: dropped first, the instance goes before its namespace.
    run: Running,
    ns: Netns,
    /// The address ix answers on.
    pub addr: Ipv4Addr,
    /// The address of the tap's kernel side.
    pub host: Ipv4Addr,
}

impl NsIxRun {
    /// Creates namespace `ns`, runs `before_start` with its name (e.g. to start a
    /// server inside), then starts `ix-run` on tap `iface` on subnet 10.`net`.0.0/24
    /// with `extra` arguments and its standard error to `stderr`; waits for READY.
    pub fn start(
        ns: &str,
        iface: &str,
        net: u8,
        extra: &[&str],
        stderr: Stdio,
        before_start: impl FnOnce(&str),
    ) -> NsIxRun {
        let ns = Netns::create(ns).expect("create the namespace");
        let host = Ipv4Addr::new(10, net, 0, 1);
        let addr = Ipv4Addr::new(10, net, 0, 2);
        before_start(ns.name());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ix-run"));
        cmd.args(["--netns", ns.name(), "--iface", iface])
            .args(["--host-addr", &format!("{host}/24")])
            .args(["--addr", &addr.to_string()])
            .args(extra)
            .stderr(stderr);
        let run = Running::start("ix-run", &mut cmd, READY_WITHIN);
        NsIxRun {
            run,
            ns,
            addr,
            host,
        }
    }

    /// The namespace's name.
    pub fn ns_name(&self) -> &str {
        self.ns.name()
    }

    /// A thread running `f` (given ix's address) inside the namespace.
    pub fn in_ns<T: Send + 'static>(
        &self,
        f: impl FnOnce(Ipv4Addr) -> T + Send + 'static,
    ) -> JoinHandle<T> {
        let addr = self.addr;
        in_ns(self.ns_name(), move || f(addr))
    }

    /// Runs a command inside the namespace; its standard output. Panics if it fails.
    pub fn exec(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", self.ns_name()])
            .args(args)
            .output()
            .expect("ip netns exec");
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits for ix-run to exit (after SIGTERM if `terminate`), then removes the
    /// namespace; every line ix-run printed. Panics unless it exited successfully.
    pub fn finish(self, terminate: bool) -> Vec<String> {
        let NsIxRun { run, ns, .. } = self;
        let lines = run.finish(terminate);
        drop(ns);
        lines
    }
}
