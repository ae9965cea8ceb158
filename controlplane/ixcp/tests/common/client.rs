//! Clients for tests: threads inside a namespace, TCP connections with the
//! tests' I/O timeout, and one echo round trip.

use ix_hostlink::Netns;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long a test's client waits to connect or for a reply.
pub const IO: Duration = Duration::from_secs(20);

/// Runs `f` on a thread inside namespace `ns`.
pub fn in_ns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let ns = Netns::create_or_join(ns).unwrap();
    std::thread::spawn(move || {
        ns.enter_current_thread().unwrap();
        f()
    })
}

/// A TCP connection to `addr` ("ip:port") with [`IO`] as connect and read timeout.
pub fn connect(addr: &str) -> TcpStream {
    let a: SocketAddr = addr.parse().unwrap();
    let s = TcpStream::connect_timeout(&a, IO).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(IO)).unwrap();
    s
}

/// Sends `msg` on `s` and asserts the same bytes come back.
pub fn echo_once(s: &mut TcpStream, msg: &[u8]) {
    s.write_all(msg).unwrap();
    let mut back = vec![0; msg.len()];
    s.read_exact(&mut back).unwrap();
    assert_eq!(back, msg);
}
