//! The target under development: `ix-net` over `ix-fakenic`, on a virtual clock.
//!
//! Deterministic: time moves only when the runner says, in [`TICK`] steps, and an
//! injected frame is processed at the instant it is injected, so every reply is
//! seen at exactly the time of its cause.

use crate::app::AppAction;
use crate::ix_tcp::IxTcp;
use crate::script::{App, Neighbor, Setup};
use crate::target::{AppStatus, Captured, Target, TargetError, TargetKind, SUT_MAC};
use ix_fakenic::FakeNic;
use ix_net::{Config, Interface};
use ix_nic::heap::HeapPool;
use ix_nic::VirtualClock;
use std::time::Duration;

/// How far the virtual clock moves between polls: the resolution of timers. As
/// fine as ix-tcp's timer wheel (`TcpConfig::timer_tick`), so that its sub-ms
/// timers (the 500 µs delayed ACK) fire when they are due, not a whole ms later.
pub const TICK: Duration = Duration::from_micros(100);

/// How far from its scripted time a frame may be: a script's times are written in
/// ms, and ix may delay an ACK by up to `TcpConfig::delack_timeout` (500 µs).
pub const TOLERANCE: Duration = Duration::from_millis(1);

/// Buffers in the fake NIC's pool: ample for any script's burst.
const POOL_BLOCKS: usize = 1024;

/// Bytes per buffer: a full Ethernet frame and then some.
pub(crate) const BLOCK_SIZE: usize = 2048;

/// `ix-net`'s interface over a fake NIC, with `ix-tcp` as its transport, as a
/// script's SUT.
pub struct IxTarget {
    iface: Interface<FakeNic, VirtualClock>,
    tcp: IxTcp,
    clock: VirtualClock,
    now: Duration,
    echo_ports: Vec<u16>,
    out: Vec<Captured>,
}

impl IxTarget {
    /// An interface configured as `setup` describes, with ix-net's default
    /// configuration otherwise, and a TCP engine configured as the script's
    /// `tcp-config` and TCP applications say (see [`crate::ix_tcp::tcp_config`]).
    ///
    /// What the interface sends on its first poll (its gratuitous ARP announcement)
    /// is discarded, as the Linux target discards what Linux sends while coming up:
    /// scripts start from a quiet, configured SUT.
    pub fn new(setup: &Setup) -> Result<IxTarget, TargetError> {
        Self::with_config(setup, Config::new(setup.sut_ip, setup.prefix_len))
    }

    /// Like [`IxTarget::new`] with an explicit `config` (whose address and prefix
    /// should agree with `setup`).
    pub fn with_config(setup: &Setup, config: Config) -> Result<IxTarget, TargetError> {
        let pool = HeapPool::new(POOL_BLOCKS, BLOCK_SIZE);
        let tcp = IxTcp::new(setup, pool.clone())?;
        let nic = FakeNic::new(SUT_MAC, pool);
        let clock = VirtualClock::new();
        let mut iface = Interface::new(nic, clock.clone(), config)
            .map_err(|e| TargetError::Setup(format!("ix-net configuration: {e}")))?;
        if setup.neighbor == Neighbor::Static
            && !iface.arp_insert_static(setup.peer_ip, setup.peer_mac.0)
        {
            return Err(TargetError::Setup(
                "ix-net ARP table refused a static entry".into(),
            ));
        }
        let mut echo_ports = Vec::new();
        for app in &setup.apps {
            match *app {
                App::UdpEcho { port } => {
                    iface
                        .udp_bind(port)
                        .map_err(|e| TargetError::Setup(format!("ix-net udp bind {port}: {e}")))?;
                    echo_ports.push(port);
                }
                // The engine listens (IxTcp::new).
                App::TcpListen { .. } | App::TcpEcho { .. } => {}
            }
        }
        let mut target = IxTarget {
            iface,
            tcp,
            clock,
            now: Duration::ZERO,
            echo_ports,
            out: Vec::new(),
        };
        target.poll();
        target.out.clear();
        Ok(target)
    }

    /// The TCP engine (for inspecting its counters and connections after a run).
    pub fn tcp_engine(&self) -> &ix_tcp::TcpEngine<HeapPool> {
        &self.tcp.engine
    }

    /// The interface (for inspecting counters after a run).
    pub fn interface(&self) -> &Interface<FakeNic, VirtualClock> {
        &self.iface
    }

    /// Polls the stack once at the current time, runs the applications, and
    /// collects what was transmitted.
    fn poll(&mut self) {
        self.iface.poll(&mut self.tcp.engine);
        self.tcp.service();
        for &port in &self.echo_ports {
            while let Some(dg) = self.iface.udp_recv(port) {
                // A failed echo (no route, full queue) is the stack's to count; the
                // script sees the missing reply.
                let _ = self.iface.udp_send_copy(port, dg.src, dg.payload.data());
            }
        }
        self.iface.flush();
        while let Some(frame) = self.iface.nic_mut().pop_sent() {
            self.out.push(Captured {
                at: self.now,
                frame,
            });
        }
    }
}

impl Target for IxTarget {
    fn kind(&self) -> TargetKind {
        TargetKind::Ix
    }

    fn sut_mac(&self) -> [u8; 6] {
        SUT_MAC
    }

    fn tolerance(&self) -> Duration {
        TOLERANCE
    }

    fn now(&self) -> Duration {
        self.now
    }

    fn inject(&mut self, frame: &[u8]) -> Result<(), TargetError> {
        self.iface
            .nic_mut()
            .inject(frame)
            .map_err(|e| TargetError::Io(format!("fake NIC refused a frame: {e}")))?;
        self.poll();
        Ok(())
    }

    fn advance_to(&mut self, t: Duration) -> Result<(), TargetError> {
        while self.now < t {
            let step = (t - self.now).min(TICK);
            self.clock.advance(step);
            self.now += step;
            self.poll();
        }
        Ok(())
    }

    fn take_output(&mut self) -> Vec<Captured> {
        std::mem::take(&mut self.out)
    }

    fn app(&mut self, action: &AppAction) -> Result<AppStatus, TargetError> {
        let status = self.tcp.call(action);
        // What the call queued leaves now, at the call's time.
        self.poll();
        Ok(status)
    }
}
