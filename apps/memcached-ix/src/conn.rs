//! One connection's state machine, independent of the transport: bytes in (any
//! split: a request may span segments, a segment may hold many requests), store
//! operations, response pieces out ([`crate::out::Out`]).
//!
//! Request lines and binary headers are gathered in a bounded line buffer; values
//! are streamed from the received bytes straight into store buffers (the one copy
//! a SET makes). A declared length too large is refused before anything is
//! allocated and its bytes are skipped. When the response queue passes its bound,
//! [`Conn::feed`] stops consuming (the caller keeps the rest and its receive window
//! stays closed) until the queue drains.

use crate::binary::{self, BodyPlan, Header};
use crate::conns::ConnState;
use crate::exec::{self, Ctx, Next, Pending};
use crate::text;
use ix_nic::BufPool;

/// The longest multi-get line kept while waiting for its newline.
pub const GET_LINE_MAX: usize = 1 << 20;

/// The largest body of a non-storage binary request read whole.
pub const BIN_BODY_MAX: usize = 64 * 1024;

/// Which protocol the connection speaks (decided by its first byte, as memcached).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Unknown,
    Text,
    Binary,
}

#[derive(Debug)]
enum State<SP: BufPool> {
    /// Waiting for a request line or header.
    Idle,
    /// Reading a storage command's value.
    Data(Box<Pending<SP>>),
    /// Skipping this many bytes (a refused value).
    Swallow(usize),
    /// Reading a binary request's body (or its extras and key).
    BinBody(Header, usize),
}

/// What [`Conn::feed`] did with the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fed {
    /// Bytes consumed from the front (the rest must be fed again later).
    pub consumed: usize,
    /// The connection must be closed once its responses are sent.
    pub close: bool,
}

/// One connection.
#[derive(Debug)]
pub struct Conn<SP: BufPool> {
    proto: Proto,
    state: State<SP>,
    line: Vec<u8>,
    close: bool,
    commands: u64,
}

impl<SP: BufPool> Default for Conn<SP> {
    fn default() -> Self {
        Conn {
            proto: Proto::Unknown,
            state: State::Idle,
            line: Vec::with_capacity(256),
            close: false,
            commands: 0,
        }
    }
}

impl<SP: BufPool> Conn<SP> {
    /// Consumes requests from `data` while the response queue has room.
    pub fn feed<P>(&mut self, data: &[u8], cx: &mut Ctx<'_, P, SP>) -> Fed
    where
        P: BufPool<Shared = SP::Shared>,
    {
        let mut rest = data;
        while !rest.is_empty() && !self.close {
            if cx.out.over_bound() || cx.out.failed() {
                break;
            }
            let n = self.step(rest, cx);
            rest = &rest[n..];
        }
        if cx.out.failed() {
            self.close = true;
        }
        Fed {
            consumed: data.len() - rest.len(),
            close: self.close,
        }
    }

    /// Whether the connection is closing.
    pub fn closing(&self) -> bool {
        self.close
    }

    /// Requests dispatched so far (a request line or binary header each).
    pub fn commands(&self) -> u64 {
        self.commands
    }

    /// What it is waiting for, in memcached's terms (`stats conns`).
    pub fn phase(&self) -> ConnState {
        match self.state {
            _ if self.close => ConnState::Closing,
            State::Idle if self.proto == Proto::Unknown && self.line.is_empty() => ConnState::New,
            State::Idle => ConnState::Read,
            State::Data(_) | State::BinBody(..) => ConnState::Nread,
            State::Swallow(_) => ConnState::Swallow,
        }
    }

    /// Consumes some of `data` (at least one byte); returns how much.
    fn step<P>(&mut self, data: &[u8], cx: &mut Ctx<'_, P, SP>) -> usize
    where
        P: BufPool<Shared = SP::Shared>,
    {
        match &mut self.state {
            State::Swallow(left) => {
                let k = (*left).min(data.len());
                *left -= k;
                if *left == 0 {
                    self.state = State::Idle;
                }
                k
            }
            State::Data(p) => {
                let (k, done) = p.take(data, cx);
                if done {
                    if let State::Data(p) = std::mem::replace(&mut self.state, State::Idle) {
                        self.after(exec::finish_store(*p, cx));
                    }
                }
                k
            }
            State::BinBody(h, need) => {
                let (h, need) = (*h, *need);
                let k = (need - self.line.len()).min(data.len());
                self.line.extend_from_slice(&data[..k]);
                if self.line.len() == need {
                    self.state = State::Idle;
                    let body = std::mem::take(&mut self.line);
                    let next = exec::binary(&h, &body, cx);
                    self.line = body;
                    self.line.clear();
                    self.after(next);
                }
                k
            }
            State::Idle => {
                if self.proto == Proto::Unknown {
                    self.proto = if data[0] == binary::REQ_MAGIC {
                        Proto::Binary
                    } else {
                        Proto::Text
                    };
                }
                match self.proto {
                    Proto::Binary => self.bin_header(data, cx),
                    _ => self.text_line(data, cx),
                }
            }
        }
    }

    fn text_line<P>(&mut self, data: &[u8], cx: &mut Ctx<'_, P, SP>) -> usize
    where
        P: BufPool<Shared = SP::Shared>,
    {
        let Some(i) = data.iter().position(|&b| b == b'\n') else {
            self.line.extend_from_slice(data);
            if self.line.len() > text::LINE_SOFT_MAX
                && (!text::may_grow(&self.line) || self.line.len() > GET_LINE_MAX)
            {
                // memcached closes a connection sending an endless line.
                self.close = true;
            }
            return data.len();
        };
        self.commands += 1;
        let next = if self.line.is_empty() {
            exec::text_line(text::trim_eol(&data[..=i]), cx)
        } else {
            self.line.extend_from_slice(&data[..=i]);
            let line = std::mem::take(&mut self.line);
            let next = exec::text_line(text::trim_eol(&line), cx);
            self.line = line;
            self.line.clear();
            next
        };
        self.after(next);
        i + 1
    }

    fn bin_header<P>(&mut self, data: &[u8], cx: &mut Ctx<'_, P, SP>) -> usize
    where
        P: BufPool<Shared = SP::Shared>,
    {
        let k = (binary::HEADER_LEN - self.line.len()).min(data.len());
        self.line.extend_from_slice(&data[..k]);
        let Some(h) = Header::parse(&self.line) else {
            return k;
        };
        self.line.clear();
        self.commands += 1;
        if h.magic != binary::REQ_MAGIC {
            // memcached drops a connection that loses the binary framing.
            self.close = true;
            return k;
        }
        let next = match binary::plan(&h) {
            Err(_) => exec::bin_error(&h, binary::Status::Einval, cx).then_close(),
            Ok(BodyPlan::Unknown) => {
                let n = exec::bin_error(&h, binary::Status::UnknownCommand, cx);
                match n {
                    Next::Continue => Next::Swallow(h.bodylen as usize),
                    other => other,
                }
            }
            Ok(BodyPlan::Whole) if h.bodylen as usize > BIN_BODY_MAX => {
                exec::bin_error(&h, binary::Status::Einval, cx).then_close()
            }
            Ok(BodyPlan::Whole) if h.bodylen == 0 => exec::binary(&h, &[], cx),
            Ok(BodyPlan::Whole) => Next::BinBody(h, h.bodylen as usize),
            Ok(BodyPlan::Storage { .. }) => {
                Next::BinBody(h, usize::from(h.extlen) + usize::from(h.keylen))
            }
        };
        self.after(next);
        k
    }

    fn after(&mut self, next: Next<SP>) {
        match next {
            Next::Continue => {}
            Next::Close => self.close = true,
            Next::Swallow(0) => {}
            Next::Swallow(n) => self.state = State::Swallow(n),
            Next::Data(p) => self.state = State::Data(p),
            Next::BinBody(h, n) => self.state = State::BinBody(h, n),
        }
    }
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
