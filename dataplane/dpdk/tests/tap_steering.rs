//! Steering a real two-queue DPDK tap: with the flow-group program attached
//! (and our own tun descriptor closed again), IPv4/TCP frames the kernel sends
//! into the tap arrive on the DPDK queue `ix_runtime::FlowGroups` names for them,
//! ARP on queue 0, and the tap still has exactly its two queues. The tap's
//! kernel side lives in a network namespace this test creates (and removes).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use ix_dpdk::packet_socket::PacketSocket;
use ix_dpdk::tap_steering::{install, SteeringTable};
use ix_dpdk::{Burst, Eal, EalArgs, Mempool, Port, PortConfig};
use ix_hostlink::Netns;
use ix_runtime::toeplitz::DEFAULT_KEY;
use ix_runtime::FlowGroups;

/// An Ethernet/IPv4/TCP frame to `mac` from `src` to `dst`, its IP id = `id`.
fn tcp_frame(mac: [u8; 6], src: SocketAddrV4, dst: SocketAddrV4, id: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(54);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x99, 0x08, 0x00]);
    f.extend_from_slice(&[0x45, 0, 0, 40]);
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(&[0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&src.ip().octets());
    f.extend_from_slice(&dst.ip().octets());
    f.extend_from_slice(&src.port().to_be_bytes());
    f.extend_from_slice(&dst.port().to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0x10, 0, 0, 0, 0, 0]);
    f
}

#[test]
fn kernel_to_tap_frames_land_on_their_flow_group_s_queue() {
    let pid = std::process::id();
    let ns = Netns::create(&format!("ixsteer{pid}")).unwrap();
    ns.enter_current_thread().unwrap();
    let iface = format!("ixs{pid}");
    let args = EalArgs::new("tap-steering")
        .no_huge(128)
        .no_pci()
        .no_shconf()
        .unique_file_prefix("ixsteer")
        .lcores("0")
        .log_level("notice")
        .vdev(&format!("net_tap0,iface={iface}"))
        .build()
        .unwrap();
    let eal = Eal::init(&args).unwrap();
    let pool = Mempool::new(&eal, "steer", 4095, 0, ix_dpdk::mempool::DEFAULT_DATA_ROOM).unwrap();
    let config = PortConfig {
        queues: 2,
        rx_desc: 512,
        tx_desc: 512,
        rss: false,
        mtu: None,
    };
    let mut port = Port::configure_by_name(&eal, "net_tap0", &config, &pool).unwrap();
    let fg = FlowGroups::new(128, 2).unwrap();
    let owner: Vec<u16> = (0..fg.groups()).map(|g| fg.owner(g) as u16).collect();
    let prog = install(
        &iface,
        &SteeringTable {
            key: &DEFAULT_KEY,
            owner: &owner,
            queues: 2,
        },
    )
    .unwrap();
    // The tun device holds its own reference: our descriptor can go.
    drop(prog);
    port.start().unwrap();
    port.wait_link_up(Duration::from_secs(5)).unwrap();
    let mac = port.mac().unwrap();
    let queues = ns
        .command("ls")
        .arg(format!("/sys/class/net/{iface}/queues"))
        .output()
        .unwrap();
    let queues = String::from_utf8_lossy(&queues.stdout).into_owned();
    assert_eq!(queues.matches("rx-").count(), 2, "{queues}");

    let sock = PacketSocket::bind(&iface).unwrap();
    let server = SocketAddrV4::new(Ipv4Addr::new(10, 91, 0, 2), 7);
    let mut want = Vec::new();
    for i in 0..64u16 {
        let client = SocketAddrV4::new(Ipv4Addr::new(10, 91, 0, 1), 40000 + i * 7);
        want.push((i, fg.owner(fg.group(client, server))));
        sock.send(&tcp_frame(mac, client, server, i)).unwrap();
    }
    let mut arp = tcp_frame(mac, server, server, 999);
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    sock.send(&arp).unwrap();

    let mut got: Vec<(u16, usize)> = Vec::new();
    let mut arp_queue = None;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut burst = Burst::<64>::new();
    while (got.len() < 64 || arp_queue.is_none()) && Instant::now() < deadline {
        for queue in 0..2u16 {
            port.rx_burst(queue, &mut burst).unwrap();
            for m in burst.drain(..) {
                let d = m.data();
                // The kernel sends frames of its own too (IPv6 ND...): keep ours.
                if d.get(6..12) != Some(&[0x02, 0, 0, 0, 0, 0x99][..]) {
                    continue;
                }
                match d.get(12..14) {
                    Some([0x08, 0x00]) => {
                        got.push((u16::from_be_bytes([d[18], d[19]]), usize::from(queue)))
                    }
                    Some([0x08, 0x06]) => arp_queue = Some(queue),
                    _ => {}
                }
            }
        }
    }
    got.sort();
    assert_eq!(
        got, want,
        "(frame, queue) as received vs the flow groups' owners"
    );
    assert!(want.iter().any(|&(_, q)| q == 0) && want.iter().any(|&(_, q)| q == 1));
    assert_eq!(arp_queue, Some(0), "ARP goes to queue 0");
    drop(port);
    drop(eal);
}
