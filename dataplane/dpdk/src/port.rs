//! Ethdev ports: configuration (queues, descriptors, RSS), start/stop,
//! link state, MAC, MTU, promiscuous mode and statistics.

use std::ffi::{CStr, CString};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::eal::{Eal, EalToken};
use crate::error::{Errno, Error, Result};
use crate::mempool::Mempool;

/// Ports currently owned by a [`Port`] handle, one bit per port id
/// (`RTE_MAX_ETHPORTS` is 32 in this DPDK build).
static PORTS_TAKEN: AtomicU64 = AtomicU64::new(0);
const _: () = assert!(dpdk_sys::RTE_MAX_ETHPORTS <= 64);

/// Hash functions ix asks for when RSS is enabled: IPv4/IPv6, TCP and UDP
/// (masked by what the device supports).
pub const RSS_HASH_FUNCTIONS: u64 =
    (dpdk_sys::RTE_ETH_RSS_IP | dpdk_sys::RTE_ETH_RSS_TCP | dpdk_sys::RTE_ETH_RSS_UDP) as u64;

/// How to configure a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// Number of receive/transmit queue pairs (one per polling core).
    pub queues: u16,
    /// Receive descriptors per queue (adjusted to the device's limits).
    pub rx_desc: u16,
    /// Transmit descriptors per queue (adjusted to the device's limits).
    pub tx_desc: u16,
    /// Enable RSS (spread flows over queues) if the device supports it.
    pub rss: bool,
    /// MTU to configure, or `None` for the device default (1500).
    pub mtu: Option<u16>,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            queues: 1,
            rx_desc: 1024,
            tx_desc: 1024,
            rss: true,
            mtu: None,
        }
    }
}

/// Link state of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Whether the link is up.
    pub up: bool,
    /// Speed in Mbit/s as reported by the driver (0 if unknown).
    pub speed_mbps: u32,
    /// Whether the link is full duplex.
    pub full_duplex: bool,
    /// Whether the speed was auto-negotiated.
    pub autoneg: bool,
}

/// Basic port counters (`rte_eth_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets received.
    pub ipackets: u64,
    /// Packets transmitted.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes transmitted.
    pub obytes: u64,
    /// Packets dropped by the device because no receive descriptor was free.
    pub imissed: u64,
    /// Erroneous received packets.
    pub ierrors: u64,
    /// Failed transmissions.
    pub oerrors: u64,
    /// Receive mbuf allocation failures.
    pub rx_nombuf: u64,
}

/// A configured ethdev port with `queues()` receive/transmit queue pairs.
///
/// Exclusively owns the port: at most one `Port` per port id exists. Dropping
/// it stops and closes the port. Burst I/O is in [`crate::burst`].
pub struct Port {
    id: u16,
    queues: u16,
    started: bool,
    rss_supported: bool,
    rss_hf: u64,
    driver: String,
    /// Whether setup completed, so that dropping must close the device. A
    /// failed setup leaves it unclosed (a closed vdev cannot be reused).
    close_on_drop: bool,
    /// Pools the receive queues allocate from; released after close.
    _pools: Vec<Mempool>,
    _token: Arc<EalToken>,
}

impl Port {
    /// Returns the id of the port whose device is called `name` (e.g. `net_tap0`,
    /// `virtio_user0`); assumes the device was probed (`--vdev` or a NIC).
    pub fn id_by_name(_eal: &Eal, name: &str) -> Result<u16> {
        let c_name = CString::new(name).map_err(|_| Error::InvalidName {
            what: "port",
            name: name.to_owned(),
            reason: "contains a NUL byte".to_owned(),
        })?;
        let mut id = 0u16;
        // SAFETY: valid C string and out-pointer; the EAL is initialized.
        let ret = unsafe { dpdk_sys::rte_eth_dev_get_port_by_name(c_name.as_ptr(), &mut id) };
        if ret != 0 {
            return Err(Error::PortNotFound {
                name: name.to_owned(),
                errno: Errno::from_code(ret),
            });
        }
        Ok(id)
    }

    /// Configures the port named `name`; see [`configure`](Self::configure).
    pub fn configure_by_name(
        eal: &Eal,
        name: &str,
        config: &PortConfig,
        pool: &Mempool,
    ) -> Result<Port> {
        let id = Self::id_by_name(eal, name)?;
        Self::configure(eal, id, config, pool)
    }

    /// Configures port `id` with `config.queues` queue pairs whose receive
    /// side allocates from `pool`, enabling RSS when asked for and supported;
    /// the port is left stopped ([`start`](Self::start) it). Fails if the port
    /// does not exist, is already owned, or the device refuses the setup.
    pub fn configure(eal: &Eal, id: u16, config: &PortConfig, pool: &Mempool) -> Result<Port> {
        // SAFETY: any id may be checked.
        if unsafe { dpdk_sys::rte_eth_dev_is_valid_port(id) } == 0 {
            return Err(Error::NoSuchPort(id));
        }
        let bit = 1u64 << id;
        if PORTS_TAKEN.fetch_or(bit, Ordering::AcqRel) & bit != 0 {
            return Err(Error::PortInUse(id));
        }
        // From here on, dropping `port` releases the bit and closes the device.
        let mut port = Port {
            id,
            queues: 0,
            started: false,
            rss_supported: false,
            rss_hf: 0,
            driver: String::new(),
            close_on_drop: false,
            _pools: vec![pool.clone()],
            _token: eal.token(),
        };
        port.setup(config, pool)?;
        port.close_on_drop = true;
        Ok(port)
    }

    fn setup(&mut self, config: &PortConfig, pool: &Mempool) -> Result<()> {
        let id = self.id;
        let info = self.info()?;
        // SAFETY: driver_name is a static string owned by the driver.
        self.driver = unsafe { CStr::from_ptr(info.driver_name) }
            .to_string_lossy()
            .into_owned();
        let max_queues = info.max_rx_queues.min(info.max_tx_queues);
        if config.queues == 0 || config.queues > max_queues {
            return Err(Error::PortLimit {
                port: id,
                what: "queue pairs",
                asked: u32::from(config.queues),
                max: u32::from(max_queues),
            });
        }

        // SAFETY: rte_eth_conf is plain data; all-zero is its documented default.
        let mut conf: dpdk_sys::rte_eth_conf = unsafe { std::mem::zeroed() };
        self.rss_supported = info.flow_type_rss_offloads != 0;
        if config.rss && self.rss_supported {
            self.rss_hf = RSS_HASH_FUNCTIONS & info.flow_type_rss_offloads;
            conf.rxmode.mq_mode = dpdk_sys::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = self.rss_hf;
            let hash_offload = u64::from(dpdk_sys::RTE_ETH_RX_OFFLOAD_RSS_HASH);
            if info.rx_offload_capa & hash_offload != 0 {
                conf.rxmode.offloads |= hash_offload;
            }
        }
        if let Some(mtu) = config.mtu {
            conf.rxmode.mtu = u32::from(mtu);
        }
        // SAFETY: valid port and configuration; the port is not started.
        let ret =
            unsafe { dpdk_sys::rte_eth_dev_configure(id, config.queues, config.queues, &conf) };
        if ret < 0 {
            return Err(Error::port(id, "rte_eth_dev_configure", ret));
        }
        self.queues = config.queues;

        let (mut rx_desc, mut tx_desc) = (config.rx_desc, config.tx_desc);
        // SAFETY: valid port and out-pointers.
        let ret =
            unsafe { dpdk_sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut rx_desc, &mut tx_desc) };
        if ret < 0 {
            return Err(Error::port(id, "rte_eth_dev_adjust_nb_rx_tx_desc", ret));
        }
        // SAFETY: valid port. SOCKET_ID_ANY (-1) becomes the same bit pattern
        // as unsigned, which DPDK accepts.
        let socket = unsafe { dpdk_sys::rte_eth_dev_socket_id(id) } as u32;
        for queue in 0..config.queues {
            // SAFETY: configured port, queue < configured count; a null
            // rxconf means the driver's defaults; the pool outlives the port
            // (we keep a handle until after close).
            let ret = unsafe {
                dpdk_sys::rte_eth_rx_queue_setup(
                    id,
                    queue,
                    rx_desc,
                    socket,
                    std::ptr::null(),
                    pool.as_ptr(),
                )
            };
            if ret < 0 {
                return Err(Error::port(id, "rte_eth_rx_queue_setup", ret));
            }
            // SAFETY: as above, with the driver's default txconf.
            let ret = unsafe {
                dpdk_sys::rte_eth_tx_queue_setup(id, queue, tx_desc, socket, std::ptr::null())
            };
            if ret < 0 {
                return Err(Error::port(id, "rte_eth_tx_queue_setup", ret));
            }
        }
        Ok(())
    }

    fn info(&self) -> Result<dpdk_sys::rte_eth_dev_info> {
        // SAFETY: plain data; DPDK fills it in.
        let mut info: dpdk_sys::rte_eth_dev_info = unsafe { std::mem::zeroed() };
        // SAFETY: valid port id and out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_dev_info_get(self.id, &mut info) };
        if ret != 0 {
            return Err(Error::port(self.id, "rte_eth_dev_info_get", ret));
        }
        Ok(info)
    }

    /// Returns the port id.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// Returns the device name (e.g. `net_tap0`).
    pub fn name(&self) -> String {
        crate::eal::port_name(self.id).unwrap_or_default()
    }

    /// Returns the driver name (e.g. `net_tap`, `net_virtio_user`).
    pub fn driver(&self) -> &str {
        &self.driver
    }

    /// Returns the number of configured receive/transmit queue pairs.
    pub fn queues(&self) -> u16 {
        self.queues
    }

    /// Returns whether the device can spread flows over queues by hash (RSS).
    pub fn rss_supported(&self) -> bool {
        self.rss_supported
    }

    /// Returns the RSS hash functions enabled (`RTE_ETH_RSS_*` bits; 0 if RSS is off).
    pub fn rss_hash_functions(&self) -> u64 {
        self.rss_hf
    }

    /// Starts the port: from now on bursts move packets.
    pub fn start(&mut self) -> Result<()> {
        // SAFETY: configured port with all queues set up.
        let ret = unsafe { dpdk_sys::rte_eth_dev_start(self.id) };
        if ret < 0 {
            return Err(Error::port(self.id, "rte_eth_dev_start", ret));
        }
        self.started = true;
        Ok(())
    }

    /// Stops the port (bursts then return nothing); it can be started again.
    pub fn stop(&mut self) -> Result<()> {
        if !self.started {
            return Ok(());
        }
        // SAFETY: `&mut self` guarantees no burst is running on this port.
        let ret = unsafe { dpdk_sys::rte_eth_dev_stop(self.id) };
        if ret < 0 {
            return Err(Error::port(self.id, "rte_eth_dev_stop", ret));
        }
        self.started = false;
        Ok(())
    }

    /// Returns whether the port is started.
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Returns the port's MAC address.
    pub fn mac(&self) -> Result<[u8; 6]> {
        let mut addr = dpdk_sys::rte_ether_addr { addr_bytes: [0; 6] };
        // SAFETY: valid port and out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_macaddr_get(self.id, &mut addr) };
        if ret != 0 {
            return Err(Error::port(self.id, "rte_eth_macaddr_get", ret));
        }
        Ok(addr.addr_bytes)
    }

    /// Returns the port's MTU.
    pub fn mtu(&self) -> Result<u16> {
        let mut mtu = 0u16;
        // SAFETY: valid port and out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_dev_get_mtu(self.id, &mut mtu) };
        if ret != 0 {
            return Err(Error::port(self.id, "rte_eth_dev_get_mtu", ret));
        }
        Ok(mtu)
    }

    /// Sets the port's MTU; fails if the device refuses it.
    pub fn set_mtu(&mut self, mtu: u16) -> Result<()> {
        // SAFETY: valid port.
        let ret = unsafe { dpdk_sys::rte_eth_dev_set_mtu(self.id, mtu) };
        if ret != 0 {
            return Err(Error::port(self.id, "rte_eth_dev_set_mtu", ret));
        }
        Ok(())
    }

    /// Enables or disables promiscuous mode; some virtual devices refuse
    /// (`ENOTSUP`), which is an error here.
    pub fn set_promiscuous(&mut self, on: bool) -> Result<()> {
        // SAFETY: valid port.
        let (ret, op) = unsafe {
            if on {
                (
                    dpdk_sys::rte_eth_promiscuous_enable(self.id),
                    "rte_eth_promiscuous_enable",
                )
            } else {
                (
                    dpdk_sys::rte_eth_promiscuous_disable(self.id),
                    "rte_eth_promiscuous_disable",
                )
            }
        };
        if ret != 0 {
            return Err(Error::port(self.id, op, ret));
        }
        Ok(())
    }

    /// Returns whether promiscuous mode is on.
    pub fn promiscuous(&self) -> bool {
        // SAFETY: valid port.
        unsafe { dpdk_sys::rte_eth_promiscuous_get(self.id) == 1 }
    }

    /// Returns the current link state without waiting.
    pub fn link(&self) -> Result<Link> {
        // SAFETY: plain data.
        let mut link: dpdk_sys::rte_eth_link = unsafe { std::mem::zeroed() };
        // SAFETY: valid port and out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_link_get_nowait(self.id, &mut link) };
        if ret != 0 {
            return Err(Error::port(self.id, "rte_eth_link_get_nowait", ret));
        }
        Ok(Link {
            up: u32::from(link.link_status()) == dpdk_sys::RTE_ETH_LINK_UP,
            speed_mbps: link.link_speed,
            full_duplex: u32::from(link.link_duplex()) == dpdk_sys::RTE_ETH_LINK_FULL_DUPLEX,
            autoneg: link.link_autoneg() != 0,
        })
    }

    /// Polls the link every 10 ms until it is up, or fails with
    /// [`Error::LinkDown`] after `timeout`; assumes the port is started.
    pub fn wait_link_up(&self, timeout: Duration) -> Result<Link> {
        let start = Instant::now();
        loop {
            let link = self.link()?;
            if link.up {
                return Ok(link);
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Err(Error::LinkDown {
                    port: self.id,
                    waited,
                });
            }
            std::thread::sleep(Duration::from_millis(10).min(timeout - waited));
        }
    }

    /// Returns the port's counters.
    pub fn stats(&self) -> Result<Stats> {
        // SAFETY: plain data.
        let mut s: dpdk_sys::rte_eth_stats = unsafe { std::mem::zeroed() };
        // SAFETY: valid port and out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_stats_get(self.id, &mut s) };
        if ret != 0 {
            return Err(Error::port(self.id, "rte_eth_stats_get", ret));
        }
        Ok(Stats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        })
    }

    /// Resets the port's counters to zero.
    pub fn reset_stats(&mut self) -> Result<()> {
        // SAFETY: valid port.
        let ret = unsafe { dpdk_sys::rte_eth_stats_reset(self.id) };
        if ret != 0 {
            return Err(Error::port(self.id, "rte_eth_stats_reset", ret));
        }
        Ok(())
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        if let Err(err) = self.stop() {
            tracing::warn!("dropping port {}: {err}", self.id);
        }
        if self.close_on_drop {
            // SAFETY: the port is stopped and we are its only handle; closing
            // frees its queues (and the mbufs held in them) before the pools go.
            let ret = unsafe { dpdk_sys::rte_eth_dev_close(self.id) };
            if ret < 0 {
                tracing::warn!(
                    "rte_eth_dev_close({}) failed: {}",
                    self.id,
                    Errno::from_code(ret)
                );
            }
        }
        PORTS_TAKEN.fetch_and(!(1u64 << self.id), Ordering::AcqRel);
    }
}

impl fmt::Debug for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Port")
            .field("id", &self.id)
            .field("driver", &self.driver)
            .field("queues", &self.queues)
            .field("started", &self.started)
            .field("rss_supported", &self.rss_supported)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mempool::DEFAULT_DATA_ROOM;
    use crate::test_eal::{eal, tap_iface, unique_name, vhost_socket};

    fn pool(n: u32) -> Mempool {
        Mempool::new(eal(), &unique_name("port"), n, 32, DEFAULT_DATA_ROOM).unwrap()
    }

    #[test]
    fn unknown_port_name_is_an_error() {
        let err = Port::id_by_name(eal(), "net_nosuch9").unwrap_err();
        assert!(matches!(err, Error::PortNotFound { .. }), "{err}");
        assert!(err.to_string().contains("net_nosuch9"), "{err}");
        let err = Port::configure(eal(), 31, &PortConfig::default(), &pool(63)).unwrap_err();
        assert!(matches!(err, Error::NoSuchPort(31)), "{err}");
    }

    #[test]
    fn eal_lists_the_test_vdevs() {
        // Other tests close their ports (which removes them) concurrently:
        // net_null1 is only ever configured to fail, so it stays listed.
        let ports = eal().ports();
        let (id, _) = ports
            .iter()
            .find(|(_, name)| name == "net_null1")
            .expect("net_null1 listed");
        assert_eq!(Port::id_by_name(eal(), "net_null1").unwrap(), *id);
        assert!(usize::from(eal().port_count()) >= 1);
    }

    #[test]
    fn ring_port_basics_and_exclusive_ownership() {
        let pool = pool(1023);
        let mut port =
            Port::configure_by_name(eal(), "net_ring1", &PortConfig::default(), &pool).unwrap();
        assert_eq!(port.driver(), "net_ring");
        assert_eq!(port.name(), "net_ring1");
        let again = Port::configure(eal(), port.id(), &PortConfig::default(), &pool).unwrap_err();
        assert!(matches!(again, Error::PortInUse(_)), "{again}");
        let too_many = PortConfig {
            queues: 5000,
            ..PortConfig::default()
        };
        let err = Port::configure_by_name(eal(), "net_null1", &too_many, &pool);
        assert!(matches!(err, Err(Error::PortLimit { .. })), "{err:?}");

        port.start().unwrap();
        assert!(port.is_started());
        let link = port.wait_link_up(Duration::from_secs(1)).unwrap();
        assert!(link.up);
        let _mac = port.mac().unwrap();
        assert_eq!(port.stats().unwrap(), Stats::default());
        port.stop().unwrap();
        assert!(!port.is_started());
    }

    #[test]
    fn port_that_never_comes_up_times_out() {
        // net_vhost0 has no virtio peer connected, so its link stays down.
        let pool = pool(511);
        let mut port =
            Port::configure_by_name(eal(), "net_vhost0", &PortConfig::default(), &pool).unwrap();
        port.start().unwrap();
        assert!(!port.link().unwrap().up);
        let err = port.wait_link_up(Duration::from_millis(300)).unwrap_err();
        assert!(matches!(err, Error::LinkDown { .. }), "{err}");
        assert!(err.to_string().contains("link still down"), "{err}");
        assert!(!port.rss_supported());
        drop(port);
        let _ = std::fs::remove_file(vhost_socket());
    }

    #[test]
    fn tap_port_comes_up_receives_from_the_kernel_and_reports_rss() {
        let pool = pool(2047);
        let config = PortConfig {
            queues: 2,
            rx_desc: 256,
            tx_desc: 256,
            ..PortConfig::default()
        };
        let mut port = Port::configure_by_name(eal(), "net_tap0", &config, &pool).unwrap();
        port.start().unwrap();
        let link = port.wait_link_up(Duration::from_secs(5)).unwrap();
        assert!(link.up);
        assert!(port.rss_supported(), "tap advertises RSS hash functions");
        assert_ne!(port.rss_hash_functions(), 0);
        assert_eq!(port.mtu().unwrap(), 1500);
        port.set_promiscuous(true).unwrap();
        assert!(port.promiscuous());
        let mac = port.mac().unwrap();

        // Inject frames from the kernel side of the tap with a packet socket.
        let frame = |i: u8| {
            let mut f = Vec::with_capacity(64);
            f.extend_from_slice(&mac);
            f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x99]);
            f.extend_from_slice(&[0x88, 0xb5]);
            f.extend(std::iter::repeat_n(i, 50));
            f
        };
        let sock = crate::packet_socket::PacketSocket::bind(&tap_iface()).unwrap();
        for i in 0..10u8 {
            sock.send(&frame(i)).unwrap();
        }
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut burst = crate::Burst::<64>::new();
        while got.len() < 10 && Instant::now() < deadline {
            for queue in 0..port.queues() {
                port.rx_burst(queue, &mut burst).unwrap();
                for m in burst.drain(..) {
                    // The kernel sends its own frames too (IPv6 ND...): keep ours.
                    if m.data().get(12..14) == Some(&[0x88, 0xb5][..]) {
                        got.push(m.to_vec());
                    }
                }
            }
        }
        got.sort();
        assert_eq!(got, (0..10u8).map(frame).collect::<Vec<_>>());
        assert!(port.stats().unwrap().ipackets >= 10);
    }
}
