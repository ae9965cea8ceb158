//! The reference target: Linux's own stack in a private network namespace.
//!
//! The kernel is the SUT at the script's `sut` address; the script's peer is
//! everything on the other side of a tap device, which this process holds. Nothing
//! leaves the namespace: the tap has no other end but this process.

mod app;
mod netns;
mod sysctl;
mod tap;
mod tcp;

pub use netns::Netns;
pub use tap::Tap;

use crate::app::AppAction;
use crate::decode::ETHERTYPE_IPV6;
use crate::script::{Neighbor, Setup};
use crate::target::{AppStatus, Captured, Target, TargetError, TargetKind, SUT_MAC};
use app::LinuxApp;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tcp::TcpApp;

/// How late a real frame may be, by default.
const TOLERANCE: Duration = Duration::from_millis(50);

/// How long the polling loop sleeps when idle: well under the tolerance.
const IDLE: Duration = Duration::from_micros(200);

/// Distinguishes the tap devices of one process.
static NEXT_TAP: AtomicUsize = AtomicUsize::new(0);

/// Linux's stack behind a tap in a fresh namespace; all of it is removed on drop.
pub struct LinuxTarget {
    // Drop order is field order: sockets, then the tap (destroying the interface),
    // then the namespace.
    apps: Vec<LinuxApp>,
    tcp: TcpApp,
    tap: Tap,
    ns: Netns,
    start: Instant,
    out: Vec<Captured>,
    ipv6_dropped: usize,
}

impl LinuxTarget {
    /// Sets up a namespace as `setup` describes. Assumes root (CAP_NET_ADMIN and
    /// CAP_SYS_ADMIN), `/dev/net/tun` and iproute2.
    pub fn new(setup: &Setup) -> Result<LinuxTarget, TargetError> {
        let ns = Netns::create()?;
        // Before any interface appears: no IPv6 means no router solicitations, MLD
        // reports or DAD probes for the script to trip over.
        ns.enter(|| {
            for conf in ["all", "default"] {
                let knob = format!("/proc/sys/net/ipv6/conf/{conf}/disable_ipv6");
                // A kernel without IPv6 has no knob and nothing to disable.
                if std::path::Path::new(&knob).exists() {
                    std::fs::write(knob, "1")?;
                }
            }
            Ok(())
        })?;
        let n = NEXT_TAP.fetch_add(1, Ordering::Relaxed);
        let name = format!("ixs{}n{}", std::process::id() % 10_000_000, n % 10_000);
        let tap = Tap::create(&name, SUT_MAC)?;
        netns::run_ip(&["link", "set", tap.name(), "netns", ns.name()])?;
        let cidr = format!("{}/{}", setup.sut_ip, setup.prefix_len);
        ns.ip(&["addr", "add", &cidr, "dev", tap.name()])?;
        ns.ip(&["link", "set", "lo", "up"])?;
        ns.ip(&["link", "set", tap.name(), "up"])?;
        if setup.neighbor == Neighbor::Static {
            let (ip, mac) = (setup.peer_ip.to_string(), setup.peer_mac.to_string());
            ns.ip(&[
                "neigh",
                "replace",
                &ip,
                "lladdr",
                &mac,
                "dev",
                tap.name(),
                "nud",
                "permanent",
            ])?;
        }
        // Knobs before sockets: some are read when a socket is made.
        let mut knobs = sysctl::from_settings(&setup.tcp)?;
        knobs.extend(
            setup
                .linux_sysctls
                .iter()
                .map(|(name, value, _why)| (name.clone(), value.clone())),
        );
        sysctl::apply(&ns, &knobs)?;
        let apps = setup
            .apps
            .iter()
            .filter_map(|a| LinuxApp::start(&ns, a).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        let tcp = TcpApp::start(&ns, &setup.apps, &setup.tcp)?;
        let mut target = LinuxTarget {
            apps,
            tcp,
            tap,
            ns,
            start: Instant::now(),
            out: Vec::new(),
            ipv6_dropped: 0,
        };
        // Anything sent while coming up is not the script's business.
        target.pump()?;
        target.out.clear();
        target.start = Instant::now();
        Ok(target)
    }

    /// The namespace's name (for debugging a failed run by hand).
    pub fn netns(&self) -> &str {
        self.ns.name()
    }

    /// The tap interface's name (inside the namespace).
    pub fn tap(&self) -> &str {
        self.tap.name()
    }

    /// How many IPv6 frames were read and dropped (zero unless IPv6 came back).
    pub fn ipv6_dropped(&self) -> usize {
        self.ipv6_dropped
    }

    /// Services the applications and reads every frame the kernel has sent.
    fn pump(&mut self) -> Result<(), TargetError> {
        for app in &mut self.apps {
            app.service()?;
        }
        self.tcp.service()?;
        let mut buf = [0u8; 2048];
        while let Some(n) = self.tap.recv(&mut buf)? {
            let frame = &buf[..n];
            if frame.len() >= 14 && u16::from_be_bytes([frame[12], frame[13]]) == ETHERTYPE_IPV6 {
                self.ipv6_dropped += 1;
                continue;
            }
            self.out.push(Captured {
                at: self.now(),
                frame: frame.to_vec(),
            });
        }
        Ok(())
    }
}

impl Target for LinuxTarget {
    fn kind(&self) -> TargetKind {
        TargetKind::Linux
    }

    fn sut_mac(&self) -> [u8; 6] {
        SUT_MAC
    }

    fn tolerance(&self) -> Duration {
        TOLERANCE
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn inject(&mut self, frame: &[u8]) -> Result<(), TargetError> {
        self.tap.send(frame)
    }

    fn advance_to(&mut self, t: Duration) -> Result<(), TargetError> {
        loop {
            self.pump()?;
            let now = self.now();
            if now >= t {
                return Ok(());
            }
            std::thread::sleep((t - now).min(IDLE));
        }
    }

    fn take_output(&mut self) -> Vec<Captured> {
        std::mem::take(&mut self.out)
    }

    fn app(&mut self, action: &AppAction) -> Result<AppStatus, TargetError> {
        let status = self.tcp.call(&self.ns, action)?;
        // What the call made the kernel send is seen at once.
        self.pump()?;
        Ok(status)
    }
}
