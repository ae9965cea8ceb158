//! `DpdkNic` over real PMDs: a virtio_user port and a vhost-user port of the
//! same process, connected through shared memory, exchange frames whose
//! payload is attached by reference (header mbuf + indirect mbufs), in both
//! directions, and every mbuf comes back to its pool afterwards.

use std::time::{Duration, Instant};

use ix_dpdk::nic::{DpdkFrame, DpdkNic, DpdkPool, DpdkRx};
use ix_dpdk::{Eal, EalArgs, Port, PortConfig};
use ix_nic::{Batch, BufPool, MutBuf, Nic, RxBuf, SharedBuf, TxFrame};

/// Removes the socket file, also when an assertion fails.
struct Socket(String);

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Sends `count` frames `from` -> `to`, each a 14-byte header naming its
/// index followed by two ranges of `payload`, and checks what arrives.
fn exchange(
    from: &mut DpdkNic,
    to: &mut DpdkNic,
    payload: &ix_dpdk::nic::DpdkShared,
    count: usize,
) {
    let pool = from.pool().clone();
    let expected = |i: usize| {
        let mut f = format!("frame{i:09}").into_bytes();
        f.extend_from_slice(&payload.data()[100..1100]);
        f.extend_from_slice(&payload.data()[0..50]);
        f
    };
    let (mut next, mut got) = (0, 0);
    let mut tx: Batch<DpdkFrame> = Batch::new();
    let mut rx: Batch<DpdkRx> = Batch::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got < count {
        while next < count && !tx.is_full() {
            let Ok(mut f) = pool.alloc_frame() else { break };
            f.append(14)
                .unwrap()
                .copy_from_slice(format!("frame{next:09}").as_bytes());
            f.attach(payload, 100..1100).unwrap();
            f.attach(payload, 0..50).unwrap();
            tx.push(f);
            next += 1;
        }
        from.tx_burst(&mut tx); // what is refused stays in `tx` and is retried
        to.rx_burst(&mut rx);
        for r in rx.drain(..) {
            assert_eq!(r.data(), expected(got), "frame {got}");
            got += 1;
        }
        assert!(
            Instant::now() < deadline,
            "only {got} of {count} frames arrived"
        );
    }
}

#[test]
fn dpdk_nics_exchange_attached_payload_over_virtio() {
    let pid = std::process::id();
    let socket = Socket(format!("/tmp/ixnic-{pid}-vhost.sock"));
    let _ = std::fs::remove_file(&socket.0);
    let args = EalArgs::new("nic-virtio")
        .no_huge(256)
        .no_pci()
        .no_shconf()
        .unique_file_prefix("ixnic")
        .lcores("0")
        .log_level("notice")
        .vdev(&format!("net_vhost0,iface={},queues=1", socket.0))
        .build()
        .unwrap();
    let eal = Eal::init(&args).unwrap();
    let pool = DpdkPool::new(&eal, "nic", 8191, 256).unwrap();
    let config = PortConfig {
        rx_desc: 512,
        tx_desc: 512,
        ..PortConfig::default()
    };

    let vhost = Port::configure_by_name(&eal, "net_vhost0", &config, pool.direct()).unwrap();
    let mut vhost = DpdkNic::new(vhost, &pool).unwrap();
    eal.probe_device(&format!("virtio_user0,path={},queues=1", socket.0))
        .unwrap();
    let virtio = Port::configure_by_name(&eal, "virtio_user0", &config, pool.direct()).unwrap();
    let mut virtio = DpdkNic::new(virtio, &pool).unwrap();
    virtio.port().wait_link_up(Duration::from_secs(10)).unwrap();
    vhost.port().wait_link_up(Duration::from_secs(10)).unwrap();

    let mut m = pool.alloc_mut().unwrap();
    let bytes: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 251) as u8).collect();
    assert_eq!(m.extend_from_slice(&bytes), 2000);
    let payload = m.freeze();

    exchange(&mut virtio, &mut vhost, &payload, 5000);
    exchange(&mut vhost, &mut virtio, &payload, 5000);
    eprintln!(
        "virtio {:?} vhost {:?}",
        virtio.port().stats().unwrap(),
        vhost.port().stats().unwrap()
    );
    assert_eq!(
        virtio.rx_fixups(),
        (0, 0),
        "virtio delivers linear, writable frames"
    );
    assert_eq!(
        vhost.rx_fixups(),
        (0, 0),
        "vhost delivers linear, writable frames"
    );

    // The vhost side maps the virtio side's memory: it goes first.
    drop(vhost);
    drop(virtio);
    drop(payload);
    assert_eq!(pool.direct().in_use(), 0);
    assert_eq!(pool.indirect().in_use(), 0);
}
