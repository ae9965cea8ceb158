//! Errors a script can produce: at parse time, and when a run does not go as written.

use crate::target::TargetError;
use core::fmt;
use std::time::Duration;

/// A script that cannot be parsed, with the place to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{col}: {msg}")]
pub struct ParseError {
    /// The script's name.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong, and what was expected instead.
    pub msg: String,
}

/// One field that differs between an expectation and what the SUT sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDiff {
    /// The field's script name (`ip.ttl`, `seq`, ...).
    pub field: String,
    /// What the script wanted.
    pub expected: String,
    /// What the frame had.
    pub got: String,
}

impl fmt::Display for FieldDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "field {}: expected {}, got {}",
            self.field, self.expected, self.got
        )
    }
}

/// A run that did not go as the script says.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The target could not be driven.
    #[error("line {line}: {source}")]
    Target {
        /// The line being run.
        line: usize,
        /// What failed.
        source: TargetError,
    },
    /// A frame to inject could not be built (an unbound variable, say).
    #[error("line {line}: cannot build `{text}`: {msg}")]
    Build {
        /// The line.
        line: usize,
        /// The line's text.
        text: String,
        /// Why.
        msg: String,
    },
    /// An expected frame never came.
    #[error("line {line}: expected `{text}` at {at:?} (±{tolerance:?}), got nothing")]
    Missing {
        /// The line.
        line: usize,
        /// The line's text.
        text: String,
        /// When it was due.
        at: Duration,
        /// The target's tolerance.
        tolerance: Duration,
    },
    /// The SUT sent a frame no line expected.
    #[error("line {line}: unexpected frame at {at:?}: {got}")]
    Unexpected {
        /// The line being run when it was seen.
        line: usize,
        /// When the SUT sent it.
        at: Duration,
        /// The frame, summarized.
        got: String,
    },
    /// A frame came outside its line's time window.
    #[error("line {line}: expected `{text}` at {want:?} (±{tolerance:?}), but it came at {at:?}")]
    Timing {
        /// The line.
        line: usize,
        /// The line's text.
        text: String,
        /// When it was due.
        want: Duration,
        /// When it came.
        at: Duration,
        /// The target's tolerance.
        tolerance: Duration,
    },
    /// An application call failed, or what it waited for never came.
    #[error("line {line}: `{text}` failed: {msg}")]
    App {
        /// The line.
        line: usize,
        /// The line's text.
        text: String,
        /// What went wrong.
        msg: String,
    },
    /// A frame came but differs from the expectation.
    #[error("line {line}: expected {text}, got {got} ({})", join(diffs))]
    Mismatch {
        /// The line.
        line: usize,
        /// The line's text.
        text: String,
        /// The frame, summarized.
        got: String,
        /// Every differing field.
        diffs: Vec<FieldDiff>,
    },
}

/// The diffs, separated by `; `.
fn join(diffs: &[FieldDiff]) -> String {
    diffs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
