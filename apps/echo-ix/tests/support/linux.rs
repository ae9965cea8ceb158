//! Linux socket clients of the echo, sink and source services; every byte that
//! comes back is checked (a mismatch panics, naming where).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, SocketAddrV4, TcpStream};
use std::time::Duration;

/// Bound of every connect, read and write.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to `server`, reads and writes bounded by [`IO_TIMEOUT`].
pub fn connect(server: SocketAddrV4) -> TcpStream {
    let s = TcpStream::connect_timeout(&server.into(), IO_TIMEOUT).expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    s.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    s
}

/// The connection's local address (IPv4: the tests use nothing else).
pub fn local_v4(s: &TcpStream) -> SocketAddrV4 {
    match s.local_addr().expect("local address") {
        SocketAddr::V4(a) => a,
        other => panic!("not IPv4: {other}"),
    }
}

/// Closes the sending side and checks the peer closes too, sending nothing more.
pub fn close_in_order(s: &mut TcpStream) {
    s.shutdown(Shutdown::Write).expect("shutdown");
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).expect("orderly close");
    assert!(rest.is_empty(), "{} bytes after the end", rest.len());
}

/// The request of connection `i`: its own length (1..=3000) and bytes.
pub fn request(i: usize) -> Vec<u8> {
    let len = 1 + (i * 7919) % 3000;
    (0..len)
        .map(|k| (i * 31 + k * 17 + (k >> 8)) as u8)
        .collect()
}

/// Opens `count` connections to the echo `server` at once, sends connection
/// `first + j` its [`request`], checks every echo, closes them all in order;
/// returns the bytes echoed.
pub fn echo_requests(server: SocketAddrV4, first: usize, count: usize) -> usize {
    let mut socks: Vec<TcpStream> = (0..count).map(|_| connect(server)).collect();
    for (j, s) in socks.iter_mut().enumerate() {
        s.write_all(&request(first + j)).expect("send");
    }
    let mut bytes = 0;
    for (j, s) in socks.iter_mut().enumerate() {
        let want = request(first + j);
        let mut got = vec![0; want.len()];
        s.read_exact(&mut got).expect("echo");
        assert_eq!(got, want, "connection {}", first + j);
        bytes += got.len();
    }
    for s in &socks {
        s.shutdown(Shutdown::Write).expect("shutdown");
    }
    for s in &mut socks {
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).expect("orderly close");
        assert!(rest.is_empty());
    }
    bytes
}

/// Streams `total` bytes of the pattern into `w`.
pub fn send_pattern(w: &mut TcpStream, total: u64) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut off = 0u64;
    while off < total {
        let n = (total - off).min(buf.len() as u64) as usize;
        echo_ix::pattern::fill(off, &mut buf[..n]);
        w.write_all(&buf[..n]).expect("send");
        off += n as u64;
    }
}

/// Reads until EOF, checking the pattern; returns the bytes read.
pub fn recv_pattern(r: &mut TcpStream) -> u64 {
    let mut buf = vec![0u8; 256 * 1024];
    let mut off = 0u64;
    loop {
        let n = r.read(&mut buf).expect("recv");
        if n == 0 {
            return off;
        }
        assert_eq!(
            echo_ix::pattern::mismatches(off, &buf[..n]),
            0,
            "bytes differ at stream offset {off}"
        );
        off += n as u64;
    }
}

/// Sends `total` bytes of the pattern to the echo `server` while reading the echo
/// back on one connection; returns the bytes echoed (all checked).
pub fn echo_pattern(server: SocketAddrV4, total: u64) -> u64 {
    let mut s = connect(server);
    let mut w = s.try_clone().expect("clone");
    let writer = std::thread::spawn(move || {
        send_pattern(&mut w, total);
        w.shutdown(Shutdown::Write).expect("shutdown");
    });
    let got = recv_pattern(&mut s);
    writer.join().expect("writer");
    got
}

/// Sends `total` bytes of the pattern to the sink `server`, then closes in order.
pub fn sink_pattern(server: SocketAddrV4, total: u64) {
    let mut s = connect(server);
    send_pattern(&mut s, total);
    close_in_order(&mut s);
}

/// Reads the source `server`'s stream to its end, checking the pattern; its length.
pub fn source_pattern(server: SocketAddrV4) -> u64 {
    recv_pattern(&mut connect(server))
}
