//! A process-own EAL with little memory (`-m 64`): a mempool that cannot fit
//! is an error (not a crash), a second init is refused, the vdevs ix relies
//! on (tap, memif, vhost, virtio_user) probe, a hotplugged virtio_user port
//! talks to a vhost port of the same process, and dropping everything runs
//! `rte_eal_cleanup`.

use std::time::{Duration, Instant};

use ix_dpdk::mempool::DEFAULT_DATA_ROOM;
use ix_dpdk::{Burst, Eal, EalArgs, Error, Mempool, Port, PortConfig};

/// Removes the test's socket files, also when an assertion fails.
struct Sockets(Vec<String>);

impl Drop for Sockets {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[test]
fn small_eal_lifecycle() {
    let pid = std::process::id();
    let memif_socket = format!("/tmp/ixlife-{pid}-memif.sock");
    let vhost_socket = format!("/tmp/ixlife-{pid}-vhost.sock");
    let sockets = Sockets(vec![memif_socket.clone(), vhost_socket.clone()]);
    drop(Sockets(sockets.0.clone())); // Remove stale files first.

    // No --no-shconf: memif registers a multi-process action at probe and
    // fails without the multi-process channel.
    let args = EalArgs::new("eal-lifecycle")
        .no_huge(64)
        .no_pci()
        .unique_file_prefix("ixlife")
        .lcores("0")
        .log_level("notice")
        .vdev(&format!("net_tap0,iface=ixl{pid}"))
        .vdev(&format!(
            "net_memif0,role=server,id=0,socket={memif_socket},socket-abstract=no"
        ))
        .vdev(&format!("net_vhost0,iface={vhost_socket},queues=1"))
        .build()
        .unwrap();
    let eal = Eal::init(&args).unwrap();
    assert!(matches!(
        Eal::init(&args),
        Err(Error::EalAlreadyInitialized)
    ));

    // 256 Ki mbufs of 2 KiB do not fit in 64 MB.
    let err = Mempool::new(&eal, "too-big", 256 * 1024, 0, DEFAULT_DATA_ROOM).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::MempoolCreate { .. }), "{text}");
    assert!(text.contains("does not fit in the EAL's memory"), "{text}");
    eprintln!("mempool error as reported: {text}");

    // A pool that fits still works after the failure.
    let pool = Mempool::new(&eal, "fits", 4095, 64, DEFAULT_DATA_ROOM).unwrap();
    let config = PortConfig {
        rx_desc: 256,
        tx_desc: 256,
        ..PortConfig::default()
    };

    let mut report = Vec::new();
    for name in ["net_tap0", "net_memif0"] {
        let mut port = Port::configure_by_name(&eal, name, &config, &pool)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        port.start().unwrap_or_else(|e| panic!("{name}: {e}"));
        report.push((
            name,
            port.driver().to_owned(),
            port.rss_supported(),
            port.link().unwrap().up,
        ));
    }

    // The vhost port listens once configured; a virtio_user port hotplugged
    // afterwards connects to it, and both links come up.
    let mut vhost = Port::configure_by_name(&eal, "net_vhost0", &config, &pool).unwrap();
    vhost.start().unwrap();
    let err = eal
        .probe_device("virtio_user9,path=/nonexistent/ix.sock,queues=1")
        .unwrap_err();
    assert!(matches!(err, Error::DeviceProbe { .. }), "{err}");
    eal.probe_device(&format!("virtio_user0,path={vhost_socket},queues=1"))
        .unwrap();
    let mut virtio = Port::configure_by_name(&eal, "virtio_user0", &config, &pool).unwrap();
    virtio.start().unwrap();
    virtio.wait_link_up(Duration::from_secs(10)).unwrap();
    vhost.wait_link_up(Duration::from_secs(10)).unwrap();
    report.push((
        "net_vhost0",
        vhost.driver().to_owned(),
        vhost.rss_supported(),
        true,
    ));
    report.push((
        "virtio_user0",
        virtio.driver().to_owned(),
        virtio.rss_supported(),
        true,
    ));
    eprintln!("ports (name, driver, rss_supported, link_up): {report:?}");
    assert_eq!(report[0].1, "net_tap");
    assert!(report[0].2, "tap supports RSS");
    assert_eq!(report[1].1, "net_memif");
    assert_eq!(report[2].1, "net_vhost");
    assert_eq!(report[3].1, "net_virtio_user");

    // A few frames from virtio_user to vhost within this process.
    let mut tx = Burst::<8>::new();
    for i in 0..8u8 {
        let mut m = pool.alloc().unwrap();
        m.extend_from_slice(&[i; 60]).unwrap();
        tx.push(m);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    let mut rx = Burst::<32>::new();
    while got.len() < 8 && Instant::now() < deadline {
        virtio.tx_burst(0, &mut tx).unwrap();
        vhost.rx_burst(0, &mut rx).unwrap();
        got.extend(rx.drain(..).map(|m| m.data()[0]));
    }
    assert_eq!(got, (0..8).collect::<Vec<u8>>());

    // Stop the vhost side (which maps the virtio side's memory) first.
    drop(vhost);
    drop(virtio);
    drop(tx);
    drop(rx);
    drop(report);
    assert_eq!(pool.in_use(), 0, "closing the ports returned their mbufs");
}
