//! Building and running one elastic thread: its NIC stack (fault injector, shared
//! ARP), transport and handler, and the watcher that stops it.

use crate::flow_log::FlowLog;
use crate::port::Device;
use crate::report::{self, Outcome};
use anyhow::{bail, Context, Result};
use echo_ix::nic::MaybeFaulty;
use echo_ix::vhost::format_mac;
use ix_dpdk::nic::{DpdkNic, DpdkPool, DpdkRx};
use ix_fault::{FaultPlan, FaultyNic};
use ix_nic::MonotonicClock;
use ix_runtime::{
    control_channel, ArpShare, ArpSharingNic, Control, ElasticThread, Parts, RuntimeConfig,
    Snapshot,
};
use ix_tcp::TcpConfig;
use libix::ev::{App, Ev, EvConfig};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The NIC stack of an elastic thread: a DPDK queue pair, maybe behind the fault
/// injector, sharing ARP with the other threads.
pub type IxNic = ArpSharingNic<MaybeFaulty<DpdkNic, MonotonicClock>>;
/// An elastic thread running application `A` on libix's per-connection layer.
pub type Thread<A> = ElasticThread<IxNic, MonotonicClock, FlowLog<Ev<DpdkPool, A>>>;

/// What every elastic thread is built from (its NIC aside).
#[derive(Clone)]
pub struct Setup {
    /// The interface's configuration (address, ARP).
    pub net: ix_net::Config,
    /// The TCP engine's configuration.
    pub tcp: TcpConfig,
    /// The runtime's configuration (its `thread` is set per thread).
    pub rt: RuntimeConfig,
    /// Permanent ARP entries.
    pub static_arp: Vec<(Ipv4Addr, [u8; 6])>,
    /// The fault injector's plan, if any.
    pub plan: Option<FaultPlan>,
    /// Cores of threads 1.. (thread 0 is the EAL's main thread, already pinned).
    pub cores: Vec<u32>,
    /// Stop after this many seconds (0 = no deadline).
    pub seconds: u64,
    /// The virtio end's wait at exit for the vhost end, seconds.
    pub linger_secs: u64,
    /// Connections a thread holds.
    pub max_conns: usize,
}

/// Builds elastic thread `t` for `app` on the calling (pinned) thread.
pub fn build<A: App<DpdkPool>>(
    setup: &Setup,
    t: usize,
    dpdk_nic: DpdkNic,
    share: ArpShare<DpdkRx>,
    app: A,
    ev: EvConfig,
) -> Result<Thread<A>> {
    let nic = match &setup.plan {
        Some(p) => MaybeFaulty::Faulty(Box::new(FaultyNic::new(
            dpdk_nic,
            MonotonicClock::new(),
            p,
        )?)),
        None => MaybeFaulty::Plain(dpdk_nic),
    };
    let rt = RuntimeConfig {
        thread: t,
        ..setup.rt.clone()
    };
    let mut thread = ElasticThread::new(
        Parts::new(
            ArpSharingNic::new(nic, share),
            MonotonicClock::new(),
            setup.net,
            setup.tcp.clone(),
            FlowLog::new(Ev::new(app, ev), setup.max_conns),
        ),
        rt,
    )?;
    for &(ip, mac) in &setup.static_arp {
        if !thread
            .transport_mut()
            .iface_mut()
            .arp_insert_static(ip, mac)
        {
            bail!("cannot add the static ARP entry {ip} = {}", format_mac(mac));
        }
    }
    Ok(thread)
}

/// Runs the thread until `stop` (signals), the deadline, or `finished` (the
/// application's own flag); returns its final snapshot.
pub fn run<A: App<DpdkPool>>(
    thread: &mut Thread<A>,
    stop: &Arc<AtomicBool>,
    finished: Option<Arc<AtomicBool>>,
    seconds: u64,
) -> Snapshot {
    let (control, control_rx) = control_channel();
    let is_client = finished.is_some();
    let deadline = (seconds > 0).then(|| Instant::now() + Duration::from_secs(seconds));
    let watcher = {
        let stop = Arc::clone(stop);
        std::thread::spawn(move || {
            let done = || finished.as_ref().is_some_and(|f| f.load(Ordering::Acquire));
            while !stop.load(Ordering::Relaxed)
                && !done()
                && deadline.is_none_or(|d| Instant::now() < d)
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = control.send(Control::Stop);
        })
    };
    let result = thread.run(&control_rx);
    // A finished client thread does not stop the others (they finish on their own).
    if !is_client {
        stop.store(true, Ordering::Relaxed);
    }
    let _ = watcher.join();
    match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ix-run: elastic thread failed: {e}");
            thread.snapshot()
        }
    }
}

/// What one elastic thread runs on: its number, its queue pair, its end of the
/// ARP sharing and, for thread 0 only, the port (to linger on at exit).
pub struct Slot<'a> {
    /// The thread's number (and its queue's).
    pub t: usize,
    /// The thread's queue pair.
    pub nic: DpdkNic,
    /// The thread's end of the ARP sharing.
    pub share: ArpShare<DpdkRx>,
    /// The port, for thread 0.
    pub device: Option<&'a Device>,
}

/// An elastic thread that has run: the thread and its final snapshot.
pub struct Ran<'a, A: App<DpdkPool>> {
    /// The thread, stopped.
    pub thread: Thread<A>,
    /// Its final statistics.
    pub snap: Snapshot,
    device: Option<&'a Device>,
}

impl<'a> Slot<'a> {
    /// Builds this slot's thread for `app` (see [`build`]), prints `READY` if it is
    /// thread 0, and runs it until stopped or `finished` (see [`run`]).
    pub fn launch<A: App<DpdkPool>>(
        self,
        setup: &Setup,
        app: A,
        ev: EvConfig,
        stop: &Arc<AtomicBool>,
        finished: Option<Arc<AtomicBool>>,
    ) -> Result<Ran<'a, A>> {
        let mut thread = build(setup, self.t, self.nic, self.share, app, ev)?;
        if self.t == 0 {
            println!("READY");
        }
        let snap = run(&mut thread, stop, finished, setup.seconds);
        Ok(Ran {
            thread,
            snap,
            device: self.device,
        })
    }
}

impl<A: App<DpdkPool>> Ran<'_, A> {
    /// Hands back the thread's `outcome`. Thread 0 on the virtio end of a pair (the
    /// only thread there) first prints it, then waits up to `secs` for the vhost end
    /// to go first (see [`Device::linger`]): whoever waits for the `RESULT` line, to
    /// stop the vhost end, does not wait out the linger as well.
    pub fn finish(self, mut outcome: Outcome, secs: u64) -> Outcome {
        if let Some(d) = self.device.filter(|d| d.lingers()) {
            report::print(std::slice::from_ref(&outcome));
            outcome.printed = true;
            let nic = self
                .thread
                .transport()
                .iface()
                .nic()
                .inner()
                .inner()
                .inner();
            d.linger(nic, secs);
        }
        outcome
    }
}

/// Gives this process's main thread (the elastic thread) SCHED_FIFO `priority`
/// (after start-up, so the EAL's helper threads keep normal scheduling).
pub fn realtime(priority: u8) -> Result<()> {
    if priority == 0 {
        return Ok(());
    }
    if priority > 99 {
        bail!("--rt-priority must be 0..=99");
    }
    ix_hostlink::run(
        "chrt",
        &[
            "-f",
            "-p",
            &priority.to_string(),
            &std::process::id().to_string(),
        ],
    )
    .context("setting SCHED_FIFO with chrt")?;
    Ok(())
}
