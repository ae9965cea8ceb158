//! Errors of the kernel transport's set-up, and how socket errors map to libix's
//! transport-neutral reasons.

use crate::error::{CallError, CloseReason};
use std::io;

/// Why a kernel transport or runtime could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    /// The configuration cannot work (the field is named).
    #[error("bad configuration: {0}")]
    Config(&'static str),
    /// A system call failed while setting up (epoll, the waker, a thread).
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// A thread could not be pinned to its core.
    #[error("cannot pin thread to core {0}")]
    Pin(usize),
    /// A runtime thread failed to build its transport or handler.
    #[error("thread {thread}: {message}")]
    Thread {
        /// The thread's index.
        thread: usize,
        /// What went wrong.
        message: String,
    },
    /// A runtime thread panicked outside the handler (a bug in the transport).
    #[error("a runtime thread panicked")]
    Panicked,
}

/// The reason a connection ended, for a socket error.
pub(crate) fn close_reason(e: &io::Error) -> CloseReason {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => CloseReason::Refused,
        Some(libc::ETIMEDOUT | libc::EHOSTUNREACH | libc::ENETUNREACH | libc::EHOSTDOWN) => {
            CloseReason::Timeout
        }
        Some(libc::ECONNABORTED) => CloseReason::Aborted,
        // ECONNRESET, EPIPE and anything unexpected: the connection is gone under us.
        _ => CloseReason::Reset,
    }
}

/// The call error for a failed `bind`/`listen`.
pub(crate) fn listen_error(e: &io::Error) -> CallError {
    match e.raw_os_error() {
        Some(libc::EADDRNOTAVAIL) => CallError::InvalidAddress,
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
            CallError::TooManyListeners
        }
        // EADDRINUSE, EACCES (a privileged port), anything else: the port is not ours.
        _ => CallError::PortInUse,
    }
}

/// The call error for a `connect` that failed before any packet left, or `None` when
/// the failure belongs to the connection (reported as `ConnectFailed`, as the linked
/// transport would after its SYN was refused).
pub(crate) fn connect_error(e: &io::Error) -> Option<CallError> {
    match e.raw_os_error() {
        Some(libc::EADDRNOTAVAIL | libc::EADDRINUSE) => Some(CallError::AddrInUse),
        Some(libc::EAFNOSUPPORT | libc::EINVAL) => Some(CallError::InvalidAddress),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
            Some(CallError::TooManyConnections)
        }
        _ => None,
    }
}

/// Whether `e` says "try again later" (the socket's buffer is empty or full).
pub(crate) fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// Whether `e` is a signal interrupting the call (retry at once).
pub(crate) fn interrupted(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Interrupted
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Socket errnos map to the close reasons and call errors the linked transport uses.
    #[test]
    fn errno_maps_to_libix_reasons() {
        let e = |n| io::Error::from_raw_os_error(n);
        assert_eq!(close_reason(&e(libc::ECONNREFUSED)), CloseReason::Refused);
        assert_eq!(close_reason(&e(libc::ECONNRESET)), CloseReason::Reset);
        assert_eq!(close_reason(&e(libc::EPIPE)), CloseReason::Reset);
        assert_eq!(close_reason(&e(libc::ETIMEDOUT)), CloseReason::Timeout);
        assert_eq!(listen_error(&e(libc::EADDRINUSE)), CallError::PortInUse);
        assert_eq!(
            connect_error(&e(libc::EADDRNOTAVAIL)),
            Some(CallError::AddrInUse)
        );
        assert_eq!(connect_error(&e(libc::ECONNREFUSED)), None);
        assert!(would_block(&e(libc::EAGAIN)));
        assert!(interrupted(&e(libc::EINTR)));
    }
}
