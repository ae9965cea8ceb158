//! What the runner needs from a system under test.

use crate::app::AppAction;
use core::fmt;
use std::time::Duration;

/// The SUT's Ethernet address on every target: locally administered, and the same
/// everywhere so runs on different targets print comparable frames.
pub const SUT_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

/// The implementations a script can run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    /// ix's own stack over a fake NIC and a virtual clock.
    Ix,
    /// The Linux kernel's stack behind a tap device in a network namespace.
    Linux,
}

impl TargetKind {
    /// Every target, in the order reports list them.
    pub const ALL: [TargetKind; 2] = [TargetKind::Ix, TargetKind::Linux];

    /// The name scripts use for the target (`ix`, `linux`).
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Ix => "ix",
            TargetKind::Linux => "linux",
        }
    }

    /// The target a script calls `name`, if any.
    pub fn from_name(name: &str) -> Option<TargetKind> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A frame the SUT sent, with when the target saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// Time since the script started.
    pub at: Duration,
    /// The frame, from the Ethernet header on (no FCS).
    pub frame: Vec<u8>,
}

/// How an application call went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppStatus {
    /// Done.
    Done,
    /// Not possible yet (nothing to accept, fewer bytes than asked, no error yet):
    /// the runner lets time pass and calls again until its deadline; the message
    /// says what is missing, for when it never comes.
    NotYet(String),
    /// Went wrong in a way waiting cannot fix (the connection reset when data was
    /// expected, a call the target does not support); the message says how.
    Failed(String),
}

/// A target failed to set up or to move a frame.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Setting up the SUT failed; the message says what and why.
    #[error("set-up failed: {0}")]
    Setup(String),
    /// Moving frames or time failed.
    #[error("{0}")]
    Io(String),
}

/// A system under test the runner drives: frames in, frames out, time forward.
///
/// Time starts at zero when the target is ready and is the script's time: a virtual
/// target moves it on request, a real one lets it pass.
pub trait Target {
    /// Which implementation this is (selects annotated lines).
    fn kind(&self) -> TargetKind;

    /// The SUT's Ethernet address (what `$sut_mac` is bound to).
    fn sut_mac(&self) -> [u8; 6];

    /// How far from its scripted time a frame may be seen and still count.
    fn tolerance(&self) -> Duration;

    /// The current script time.
    fn now(&self) -> Duration;

    /// Delivers `frame` to the SUT now.
    fn inject(&mut self, frame: &[u8]) -> Result<(), TargetError>;

    /// Lets time pass until `t` (no-op if `t` is not later than now), letting the SUT
    /// run and collecting what it sends.
    fn advance_to(&mut self, t: Duration) -> Result<(), TargetError>;

    /// The frames sent since the last call, oldest first.
    fn take_output(&mut self) -> Vec<Captured>;

    /// Makes the SUT's application perform `action` now. Targets without TCP
    /// applications keep this default, which fails every call.
    fn app(&mut self, action: &AppAction) -> Result<AppStatus, TargetError> {
        Ok(AppStatus::Failed(format!(
            "the {} target runs no TCP application (`app {action}`)",
            self.kind()
        )))
    }
}
