//! End to end through `ix_instance::run`, on other ports and more threads: an
//! `echo-ix` instance with two elastic threads on a steered tap serves each flow on
//! the thread its flow group belongs to, and one on an AF_PACKET port over a veth
//! pair serves and stops cleanly. Connections from the test's namespace are held
//! open while the agent lists them.

mod support;

use ix_hostlink::Netns;
use ix_instance::agent_proto::{AgentRequest, AgentResponse};
use ix_instance::spec::NicSpec;
use support::instance::{ask, hold_echoed, ns_of, spec, with_nic, Fixture, HOST};

/// Two threads on a steered tap: 32 echoed connections are each listed once,
/// ESTABLISHED, spread over both threads, and Stats reports both threads.
#[test]
fn two_threads_on_a_steered_tap_each_serve_their_flows() {
    let _turn = support::one_at_a_time();
    let ns = Netns::create(&ns_of("m")).expect("create the namespace");
    let mut s = spec("m");
    // Core 0 is the clients' too: the threads back off when idle.
    s.cores = vec![1, 0];
    let mut fx = Fixture::start_with(s, ns);
    fx.wait_ready();
    let (release, addrs, listed) = hold_echoed(&fx, 32);
    for a in &addrs {
        let mine: Vec<_> = listed.iter().filter(|c| c.1 == a.to_string()).collect();
        assert_eq!(mine.len(), 1, "{a} in {listed:?}");
        assert_eq!(mine[0].2, "ESTABLISHED");
    }
    // 32 random ports all hashing to one thread's groups: odds 2^-31.
    assert!(listed.iter().any(|c| c.0 == 0) && listed.iter().any(|c| c.0 == 1));
    match ask(&fx.spec.agent_socket, &AgentRequest::Stats).expect("stats") {
        AgentResponse::Stats { threads } => assert_eq!(threads.len(), 2),
        other => panic!("{other:?}"),
    }
    fx.stop_cleanly();
    let _ = release.send(());
}

/// An instance on an AF_PACKET port (one end of a veth pair in the namespace)
/// echoes, lists its connections ESTABLISHED and stops cleanly.
#[test]
fn af_packet_on_a_veth_serves_and_stops_cleanly() {
    let _turn = support::one_at_a_time();
    let ns = Netns::create(&ns_of("p")).expect("create the namespace");
    ns.ip(&[
        "link", "add", "ixdp", "type", "veth", "peer", "name", "ixhost",
    ])
    .expect("veth");
    ns.ip(&["addr", "add", &format!("{HOST}/24"), "dev", "ixhost"])
        .expect("address");
    ns.ip(&["link", "set", "ixhost", "up"]).expect("up");
    // The veth would hand AF_PACKET frames with their checksum still to fill in.
    let out = ns
        .command("ethtool")
        .args(["-K", "ixhost", "tx", "off"])
        .output()
        .expect("ethtool");
    assert!(out.status.success(), "{out:?}");
    let spec = with_nic(
        "p",
        NicSpec::AfPacket {
            iface: "ixdp".to_owned(),
            netns: ns.name().to_owned(),
        },
    );
    let mut fx = Fixture::start_with(spec, ns);
    fx.wait_ready();
    let (release, addrs, listed) = hold_echoed(&fx, 2);
    assert!(addrs.iter().all(|a| listed
        .iter()
        .any(|c| c.1 == a.to_string() && c.2 == "ESTABLISHED")));
    fx.stop_cleanly();
    let _ = release.send(());
}
