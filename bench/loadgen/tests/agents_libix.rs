//! Agent mode with an agent on the dataplane: inside a namespace this test makes,
//! Debian's memcached; one `-A` agent with `--transport libix` (its own dataplane
//! instance on core 1, idle back-off, on a DPDK tap whose kernel side is in the
//! namespace), one `-A` agent on Linux sockets, and a master on Linux sockets. Each
//! agent's transport is its own command-line choice; the master's total is the sum
//! of the three clients' counts and equals memcached's `stats` for the run. Then
//! the dataplane agent stops on SIGTERM (exit 0, its tap gone).

mod common;

use common::instance::{tap_spec, SpecFile, HOST};
use common::*;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// An agent (`-A`) inside `ns` on 127.0.0.1:`port`, with `extra` arguments, once it
/// listens (a dataplane agent starts its instance first: up to a minute).
fn start_agent(ns: &TestNs, port: u16, extra: &[&str]) -> ChildGuard {
    let child = ns
        .command(BIN)
        .args(["-A", "-p", &port.to_string(), "--agent_listen", "127.0.0.1"])
        .args(["-T", "1"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = ChildGuard(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    ns.wait_listening(addr, &mut guard.0, Duration::from_secs(60));
    guard
}

/// The names of the links in `ns`.
fn links(ns: &TestNs) -> String {
    let out = std::process::Command::new("ip")
        .args(["-n", ns.name(), "-o", "link"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn libix_agent_and_linux_agent_aggregate_and_match_the_server() {
    let mc = Memcached::start_in(TestNs::create("agx"), "0.0.0.0", "memcached", &[]);
    // Core 1 with idle back-off (tap_spec): the master, the other agent and
    // memcached share the machine's cores with it.
    let spec = SpecFile::write(tap_spec("agx", &mc.ns));
    let iface = match &spec.spec.nic {
        ix_instance::spec::NicSpec::Tap { iface, .. } => iface.clone(),
        other => panic!("not a tap: {other:?}"),
    };
    let spec_arg = spec.arg();
    let mut dp_agent = start_agent(
        &mc.ns,
        5611,
        &["--transport", "libix", "--ix-spec", &spec_arg],
    );
    let _linux_agent = start_agent(&mc.ns, 5612, &[]);
    let (dp, lx) = ("127.0.0.1:5611", "127.0.0.1:5612");
    // The tap's kernel side: reachable from the dataplane agent (through the tap)
    // and from the namespace's own sockets (a local address there).
    let server = format!("{HOST}:{}", mc.port);
    mc.mutilate(&["-s", &server, "--loadonly", "-r", "1000"]);

    // The master's --no_nodelay cannot hold on the dataplane agent (its TCP has no
    // Nagle delay to turn on): the run is refused, naming that agent, and both
    // agents stay up for the next master.
    let refused = mc
        .ns
        .command(BIN)
        .args([
            "-s",
            &server,
            "--noload",
            "-a",
            dp,
            "-a",
            lx,
            "--no_nodelay",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(err.contains(dp) && err.contains("--no_nodelay"), "{err}");

    // Two sessions with the same agents: an agent serves one master run after
    // another, the dataplane one on the same instance (the second with twice the
    // connections). `-r 2000` with 1000 loaded: a third to a half of gets miss.
    for extra in [&[][..], &["--binary", "-c", "2", "-d", "2"][..]] {
        let before = mc.stats();
        let mut args = vec![
            "-s", &server, "--noload", "-r", "2000", "-a", dp, "-a", lx, "-q", "3000", "-t", "2",
            "-u", "0.1",
        ];
        args.extend_from_slice(extra);
        let out = mc.mutilate(&args);
        let after = mc.stats();
        println!("{extra:?}\n{out}");
        let d = |name| delta(&before, &after, name);
        let sources = [
            client_counts(&out, "master"),
            client_counts(&out, dp),
            client_counts(&out, lx),
        ];
        let sum = |f: fn(&(u64, u64, u64, u64)) -> u64| sources.iter().map(f).sum::<u64>();
        let (gets, sets, misses) = (sum(|s| s.0), sum(|s| s.1), sum(|s| s.2));
        assert_eq!(total_requests(&out), gets + sets, "the sum\n{out}");
        assert_eq!(number_after(&out, "Misses = "), misses, "{out}");
        assert_eq!(d("cmd_get"), gets, "gets {extra:?}\n{out}");
        assert_eq!(d("cmd_set"), sets, "sets {extra:?}\n{out}");
        assert_eq!(d("get_misses"), misses, "misses {extra:?}\n{out}");
        for (who, (g, s, m, skipped)) in ["master", dp, lx].into_iter().zip(sources) {
            // Each has the same weight (-c connections, lambda_mul 1), so sends a
            // Poisson stream of 1000/s for 2 s (sd ~45).
            assert!((1600..2400).contains(&(g + s)), "{who}: {g}+{s}\n{out}");
            assert!(s > 0 && m > 0 && m < g, "{who}: {g} {s} {m}\n{out}");
            assert_eq!(skipped, 0, "{who}\n{out}");
        }
    }

    // SIGTERM: the instance takes it, drains, closes its port; the agent exits 0.
    assert!(
        links(&mc.ns).contains(&iface),
        "{iface} is up while serving"
    );
    let pid = nix::unistd::Pid::from_raw(i32::try_from(dp_agent.0.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let since = Instant::now();
    let status = loop {
        if let Some(status) = dp_agent.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "no exit on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "the dataplane agent exited with {status}");
    let left = links(&mc.ns);
    assert!(!left.contains(&iface), "{iface} left behind:\n{left}");
}
