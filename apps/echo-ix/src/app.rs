//! [`EchoIx`]: echo, sink and source services on libix's per-connection layer,
//! chosen by the local port a connection arrives on.

use crate::pattern;
use ix_nic::{BufPool, Credit, MutBuf, RxSeg, SharedSeg};
use libix::ev::{App, ConnCx, Cx};
use libix::CloseReason;
use std::collections::VecDeque;
use std::net::SocketAddrV4;

/// What to serve on which port (`None`: not served).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Services {
    /// Echo every byte back (RFC 862 style).
    pub echo: Option<u16>,
    /// Discard everything, checking it against the pattern.
    pub sink: Option<u16>,
    /// Send `source_bytes` bytes of the pattern, then close.
    pub source: Option<u16>,
    /// Bytes the source sends per connection.
    pub source_bytes: u64,
}

impl Default for Services {
    /// Echo on 7, sink on 9, source on 19 sending 64 MiB.
    fn default() -> Self {
        Services {
            echo: Some(7),
            sink: Some(9),
            source: Some(19),
            source_bytes: 64 << 20,
        }
    }
}

/// What the application counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppStats {
    /// Connections accepted.
    pub accepted: u64,
    /// Connections ended.
    pub ended: u64,
    /// Bytes echoed (sent back by reference to the buffers they arrived in: no copy).
    pub echoed_bytes: u64,
    /// Bytes the sink received.
    pub sunk_bytes: u64,
    /// Sink bytes that did not match the pattern.
    pub sink_errors: u64,
    /// Bytes the source handed to the transport (by reference).
    pub sourced_bytes: u64,
    /// Times a buffer could not be allocated (the source's pattern buffer).
    pub alloc_failures: u64,
}

impl AppStats {
    /// The counters as `(name, value)`, in the order the binaries print them.
    pub fn named(&self) -> [(&'static str, u64); 7] {
        [
            ("accepted", self.accepted),
            ("ended", self.ended),
            ("echoed_bytes", self.echoed_bytes),
            ("sunk_bytes", self.sunk_bytes),
            ("sink_errors", self.sink_errors),
            ("sourced_bytes", self.sourced_bytes),
            ("alloc_failures", self.alloc_failures),
        ]
    }

    /// Adds `other`'s counters to these (a sum over threads).
    pub fn add(&mut self, other: &AppStats) {
        self.accepted += other.accepted;
        self.ended += other.ended;
        self.echoed_bytes += other.echoed_bytes;
        self.sunk_bytes += other.sunk_bytes;
        self.sink_errors += other.sink_errors;
        self.sourced_bytes += other.sourced_bytes;
        self.alloc_failures += other.alloc_failures;
    }
}

/// Which service a connection gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Echo,
    Sink,
    Source,
}

/// Per-connection state.
#[derive(Debug)]
pub struct Conn<R: ix_nic::RxBuf> {
    service: Service,
    /// Echo: received segments not yet sent back (their window stays closed).
    held: VecDeque<RxSeg<R>>,
    /// Echo: the receive-window credits of segments sent back, with their bytes
    /// not yet acknowledged, oldest first. Dropped as `sent` reports the bytes
    /// acknowledged (the stack then lets go of the received buffers), so the
    /// receive window covers the echo's received memory until then.
    unacked: VecDeque<(usize, Option<Credit>)>,
    peer_closed: bool,
    /// Source: bytes still to queue. Sink: stream offset.
    offset: u64,
    remaining: u64,
}

/// The echo/sink/source application.
#[derive(Debug)]
pub struct EchoIx<P: BufPool> {
    services: Services,
    /// The source's one payload buffer: a whole number of pattern periods, sent by
    /// reference again and again.
    source_buf: Option<P::Shared>,
    stats: AppStats,
}

impl<P: BufPool> EchoIx<P> {
    /// An application serving `services`.
    pub fn new(services: Services) -> Self {
        EchoIx {
            services,
            source_buf: None,
            stats: AppStats::default(),
        }
    }

    /// The counters.
    pub fn stats(&self) -> AppStats {
        self.stats
    }

    /// Sends held echo segments back by reference while the connection has room:
    /// each received frame becomes shared payload in place (no copy), its credit
    /// kept in `unacked` until the bytes are acknowledged.
    fn echo_out(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut Conn<P::Rx>) {
        while c.send_room() > 0 {
            let Some(seg) = st.held.pop_front() else {
                break;
            };
            let n = seg.len();
            let SharedSeg { buf, range, credit } = seg.into_shared(c.pool());
            // Room was checked, so only a closing connection refuses: the bytes
            // could not go out any more (the credit goes with them).
            if n == 0 || c.send(&buf, range).is_err() {
                continue;
            }
            self.stats.echoed_bytes += n as u64;
            st.unacked.push_back((n, credit));
        }
        if st.peer_closed && st.held.is_empty() {
            c.close();
        }
    }

    /// Releases the credits of echoed bytes the peer acknowledged (`acked` more).
    fn echo_acked(st: &mut Conn<P::Rx>, mut acked: usize) {
        while let Some((left, _)) = st.unacked.front_mut() {
            if *left > acked {
                *left -= acked;
                return;
            }
            acked -= *left;
            // Dropping the credit reopens the receive window by the segment.
            st.unacked.pop_front();
        }
    }

    /// Queues pattern chunks while the connection has room; closes when done.
    fn source_out(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut Conn<P::Rx>) {
        let Some(buf) = self.source_buf.as_ref() else {
            c.close();
            return;
        };
        let chunk = ix_nic::SharedBuf::len(buf) as u64;
        while st.remaining > 0 && c.send_room() > 0 {
            let n = st.remaining.min(chunk);
            if c.send(buf, 0..n as usize).is_err() {
                break;
            }
            st.remaining -= n;
            self.stats.sourced_bytes += n;
        }
        if st.remaining == 0 {
            c.close();
        }
    }

    fn more(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut Conn<P::Rx>) {
        match st.service {
            Service::Echo => self.echo_out(c, st),
            Service::Source => self.source_out(c, st),
            Service::Sink => {}
        }
    }
}

impl<P: BufPool> App<P> for EchoIx<P> {
    type Conn = Conn<P::Rx>;

    fn start(&mut self, cx: &mut Cx<'_, '_, P, Self::Conn>) {
        let s = self.services;
        for port in [s.echo, s.sink, s.source].into_iter().flatten() {
            if let Err(e) = cx.listen(port) {
                tracing::error!(port, error = %e, "cannot listen");
            }
        }
        if s.source.is_some() {
            let built = cx.pool().alloc_mut().ok().map(|mut m| {
                let n = pattern::chunk(m.spare());
                let mut block = vec![0u8; n];
                pattern::fill(0, &mut block);
                m.extend_from_slice(&block);
                m.freeze()
            });
            if built.is_none() {
                self.stats.alloc_failures += 1;
                tracing::error!("no buffer for the source's pattern");
            }
            self.source_buf = built;
        }
    }

    fn knock(&mut self, local_port: u16, _remote: SocketAddrV4) -> Option<Self::Conn> {
        let s = self.services;
        let service = if Some(local_port) == s.echo {
            Service::Echo
        } else if Some(local_port) == s.sink {
            Service::Sink
        } else if Some(local_port) == s.source {
            Service::Source
        } else {
            return None;
        };
        self.stats.accepted += 1;
        Some(Conn {
            service,
            held: VecDeque::new(),
            unacked: VecDeque::new(),
            peer_closed: false,
            offset: 0,
            remaining: if service == Service::Source {
                s.source_bytes
            } else {
                0
            },
        })
    }

    fn accepted(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut Self::Conn) {
        if st.service == Service::Source {
            self.source_out(c, st);
        }
    }

    fn recv(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut Self::Conn, seg: RxSeg<P::Rx>) {
        match st.service {
            Service::Echo => {
                st.held.push_back(seg);
                self.echo_out(c, st);
            }
            Service::Sink => {
                self.stats.sunk_bytes += seg.len() as u64;
                self.stats.sink_errors += pattern::mismatches(st.offset, &seg);
                st.offset += seg.len() as u64;
            }
            Service::Source => {}
        }
    }

    fn sent(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut Self::Conn, acked: usize) {
        if st.service == Service::Echo {
            Self::echo_acked(st, acked);
        }
        self.more(c, st);
    }

    fn wake(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut Self::Conn) {
        self.more(c, st);
    }

    fn peer_closed(&mut self, c: &mut ConnCx<'_, '_, P>, st: &mut Self::Conn) {
        st.peer_closed = true;
        match st.service {
            Service::Echo => self.echo_out(c, st),
            Service::Sink => c.close(),
            // The source closes when it has sent everything.
            Service::Source => {}
        }
    }

    fn dead(&mut self, _st: Self::Conn, _reason: CloseReason) {
        self.stats.ended += 1;
    }
}
