//! A parsed script: the set-up its header declares and its timed events.

use crate::app::AppAction;
use crate::spec::FrameSpec;
use crate::target::TargetKind;
use crate::tcp_config::TcpSettings;
use crate::value::Mac;
use std::net::Ipv4Addr;
use std::time::Duration;

/// A whole script, ready to run on any target.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// Where the script came from (a file name), for messages.
    pub name: String,
    /// The world the script assumes.
    pub setup: Setup,
    /// Targets that do not run this script at all, with the reason.
    pub skips: Vec<(TargetKind, String)>,
    /// Per-target timing tolerance overrides.
    pub tolerances: Vec<(TargetKind, Duration)>,
    /// The timed lines, in order.
    pub events: Vec<Event>,
}

impl Script {
    /// Why `target` does not run this script, if it does not.
    pub fn skip_reason(&self, target: TargetKind) -> Option<&str> {
        self.skips
            .iter()
            .find(|(t, _)| *t == target)
            .map(|(_, why)| why.as_str())
    }

    /// The script's tolerance for `target`, if it overrides the target's own.
    pub fn tolerance(&self, target: TargetKind) -> Option<Duration> {
        self.tolerances
            .iter()
            .find(|(t, _)| *t == target)
            .map(|(_, d)| *d)
    }
}

/// The network and applications a script assumes, from its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// The system under test's address.
    pub sut_ip: Ipv4Addr,
    /// Its prefix length (so the SUT knows its subnet and broadcast address).
    pub prefix_len: u8,
    /// The scripted peer's address.
    pub peer_ip: Ipv4Addr,
    /// The scripted peer's Ethernet address.
    pub peer_mac: Mac,
    /// Whether the SUT starts knowing the peer's Ethernet address.
    pub neighbor: Neighbor,
    /// Applications the SUT runs.
    pub apps: Vec<App>,
    /// `ports PEER SUT`: what `$peer_port` and `$sut_port` start bound to (`None`:
    /// unbound, so the first expectation that shows the port captures it).
    pub ports: (Option<u16>, Option<u16>),
    /// `tcp-config ...`: TCP settings each target maps to its own knobs.
    pub tcp: TcpSettings,
    /// `linux-sysctl NAME VALUE "why"`: namespace sysctls only the Linux target sets
    /// (knobs ix has no equivalent of), with the reason.
    pub linux_sysctls: Vec<(String, String, String)>,
}

impl Setup {
    /// The subnet's directed broadcast address.
    pub fn broadcast(&self) -> Ipv4Addr {
        let host_bits = 32 - u32::from(self.prefix_len.min(32));
        let mask = u32::MAX.checked_shl(host_bits).unwrap_or(0);
        Ipv4Addr::from(u32::from(self.sut_ip) | !mask)
    }
}

/// The SUT's neighbour (ARP) cache when the script starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Neighbor {
    /// The peer's address is configured statically, so no ARP precedes replies.
    Static,
    /// The cache is empty; the SUT must learn or resolve the peer by ARP.
    Empty,
}

/// An application running on the SUT from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum App {
    /// Echoes every UDP datagram received on `port` back to its sender.
    UdpEcho {
        /// The port to echo on.
        port: u16,
    },
    /// `tcp-listen PORT [backlog N]`: listens on `port`; connections wait in the
    /// backlog until a timed `app accept` takes one.
    TcpListen {
        /// The port to listen on.
        port: u16,
        /// The backlog passed to listen(2) (or the engine's listen call).
        backlog: u32,
    },
    /// `tcp-echo PORT`: listens on `port`, accepts every connection, sends back every
    /// byte it receives, and closes its side once the peer has closed.
    TcpEcho {
        /// The port to listen on.
        port: u16,
    },
}

/// The backlog of a `tcp-listen` that does not say.
pub const DEFAULT_BACKLOG: u32 = 128;

/// One timed line.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// 1-based line number in the script.
    pub line: usize,
    /// The line's text, without annotations, for messages.
    pub text: String,
    /// When it happens, from the start of the script, as written (the scripted
    /// timeline; see `after` for how a run schedules it).
    pub at: Duration,
    /// `Some(d)` for a line written `+d`: it happens `d` after the previous line
    /// *actually* ended (when its expected frame came), as in packetdrill, so the
    /// lateness a real target is allowed does not pile up along a chain of timers.
    pub after: Option<Duration>,
    /// What happens.
    pub action: Action,
    /// Which targets run the line.
    pub scope: Scope,
}

/// What a timed line does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `<`: the peer sends this frame to the SUT.
    Inject(FrameSpec),
    /// `>`: the SUT sends a frame matching this.
    Expect(FrameSpec),
    /// `> none for D`: the SUT sends nothing for `D`.
    Silence(Duration),
    /// `app CALL`: the SUT's application makes a call.
    App(AppAction),
}

/// Which targets run a line: the annotation, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every target.
    All,
    /// `@only T "why"`: only target `T`.
    Only(TargetKind, String),
    /// `@skip T "why"`: every target but `T`.
    Skip(TargetKind, String),
}

impl Scope {
    /// Whether `target` runs the line.
    pub fn includes(&self, target: TargetKind) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(t, _) => *t == target,
            Scope::Skip(t, _) => *t != target,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_of_prefix() {
        let s = Setup {
            sut_ip: Ipv4Addr::new(10, 0, 0, 2),
            prefix_len: 24,
            peer_ip: Ipv4Addr::new(10, 0, 0, 1),
            peer_mac: Mac::ZERO,
            neighbor: Neighbor::Static,
            apps: vec![],
            ports: (None, None),
            tcp: TcpSettings::default(),
            linux_sysctls: vec![],
        };
        assert_eq!(s.broadcast(), Ipv4Addr::new(10, 0, 0, 255));
        let s32 = Setup {
            prefix_len: 32,
            ..s.clone()
        };
        assert_eq!(s32.broadcast(), s.sut_ip);
        let s0 = Setup { prefix_len: 0, ..s };
        assert_eq!(s0.broadcast(), Ipv4Addr::BROADCAST);
    }

    #[test]
    fn scope_includes() {
        assert!(Scope::All.includes(TargetKind::Linux));
        assert!(Scope::Only(TargetKind::Ix, String::new()).includes(TargetKind::Ix));
        assert!(!Scope::Only(TargetKind::Ix, String::new()).includes(TargetKind::Linux));
        assert!(!Scope::Skip(TargetKind::Ix, String::new()).includes(TargetKind::Ix));
    }
}
