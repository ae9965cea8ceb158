//! memcached's binary protocol: the 24-byte header (parse and emit, symmetric) and
//! requests as typed values, validated as memcached validates them.

use crate::store::Mode;

/// Bytes in a header.
pub const HEADER_LEN: usize = 24;
/// Magic of a request.
pub const REQ_MAGIC: u8 = 0x80;
/// Magic of a response.
pub const RES_MAGIC: u8 = 0x81;
/// Longest key.
pub const KEY_MAX: usize = 250;

/// Opcodes memcached implements.
#[allow(missing_docs)]
pub mod op {
    pub const GET: u8 = 0x00;
    pub const SET: u8 = 0x01;
    pub const ADD: u8 = 0x02;
    pub const REPLACE: u8 = 0x03;
    pub const DELETE: u8 = 0x04;
    pub const INCREMENT: u8 = 0x05;
    pub const DECREMENT: u8 = 0x06;
    pub const QUIT: u8 = 0x07;
    pub const FLUSH: u8 = 0x08;
    pub const GETQ: u8 = 0x09;
    pub const NOOP: u8 = 0x0a;
    pub const VERSION: u8 = 0x0b;
    pub const GETK: u8 = 0x0c;
    pub const GETKQ: u8 = 0x0d;
    pub const APPEND: u8 = 0x0e;
    pub const PREPEND: u8 = 0x0f;
    pub const STAT: u8 = 0x10;
    pub const SETQ: u8 = 0x11;
    pub const ADDQ: u8 = 0x12;
    pub const REPLACEQ: u8 = 0x13;
    pub const DELETEQ: u8 = 0x14;
    pub const INCREMENTQ: u8 = 0x15;
    pub const DECREMENTQ: u8 = 0x16;
    pub const QUITQ: u8 = 0x17;
    pub const FLUSHQ: u8 = 0x18;
    pub const APPENDQ: u8 = 0x19;
    pub const PREPENDQ: u8 = 0x1a;
    pub const VERBOSITY: u8 = 0x1b;
    pub const TOUCH: u8 = 0x1c;
    pub const GAT: u8 = 0x1d;
    pub const GATQ: u8 = 0x1e;
    pub const GATK: u8 = 0x23;
    pub const GATKQ: u8 = 0x24;
}

/// Response statuses, with memcached's texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0x0000.
    Ok,
    /// 0x0001 "Not found".
    KeyEnoent,
    /// 0x0002 "Data exists for key.".
    KeyEexists,
    /// 0x0003 "Too large.".
    E2big,
    /// 0x0004 "Invalid arguments".
    Einval,
    /// 0x0005 "Not stored.".
    NotStored,
    /// 0x0006 "Non-numeric server-side value for incr or decr".
    DeltaBadval,
    /// 0x0081 "Unknown command".
    UnknownCommand,
    /// 0x0082 "Out of memory".
    Enomem,
}

impl Status {
    /// The wire code.
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 0,
            Status::KeyEnoent => 1,
            Status::KeyEexists => 2,
            Status::E2big => 3,
            Status::Einval => 4,
            Status::NotStored => 5,
            Status::DeltaBadval => 6,
            Status::UnknownCommand => 0x81,
            Status::Enomem => 0x82,
        }
    }

    /// The text memcached sends as the body of an error response.
    pub fn text(self) -> &'static str {
        match self {
            Status::Ok => "",
            Status::KeyEnoent => "Not found",
            Status::KeyEexists => "Data exists for key.",
            Status::E2big => "Too large.",
            Status::Einval => "Invalid arguments",
            Status::NotStored => "Not stored.",
            Status::DeltaBadval => "Non-numeric server-side value for incr or decr",
            Status::UnknownCommand => "Unknown command",
            Status::Enomem => "Out of memory",
        }
    }
}

/// A header, request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// 0x80 request, 0x81 response.
    pub magic: u8,
    /// The opcode.
    pub opcode: u8,
    /// Key length.
    pub keylen: u16,
    /// Extras length.
    pub extlen: u8,
    /// Data type (0).
    pub datatype: u8,
    /// vbucket (request) or status (response).
    pub status: u16,
    /// Extras + key + value length.
    pub bodylen: u32,
    /// Echoed back.
    pub opaque: u32,
    /// CAS unique.
    pub cas: u64,
}

impl Header {
    /// Reads a header from the first 24 bytes of `b`; `None` if shorter.
    pub fn parse(b: &[u8]) -> Option<Header> {
        let b: &[u8; HEADER_LEN] = b.get(..HEADER_LEN)?.try_into().ok()?;
        let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Some(Header {
            magic: b[0],
            opcode: b[1],
            keylen: u16_at(2),
            extlen: b[4],
            datatype: b[5],
            status: u16_at(6),
            bodylen: u32_at(8),
            opaque: u32_at(12),
            cas: (u64::from(u32_at(16)) << 32) | u64::from(u32_at(20)),
        })
    }

    /// Writes the header's 24 bytes.
    pub fn emit(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0] = self.magic;
        b[1] = self.opcode;
        b[2..4].copy_from_slice(&self.keylen.to_be_bytes());
        b[4] = self.extlen;
        b[5] = self.datatype;
        b[6..8].copy_from_slice(&self.status.to_be_bytes());
        b[8..12].copy_from_slice(&self.bodylen.to_be_bytes());
        b[12..16].copy_from_slice(&self.opaque.to_be_bytes());
        b[16..24].copy_from_slice(&self.cas.to_be_bytes());
        b
    }

    /// Bytes of body after extras and key.
    pub fn value_len(&self) -> usize {
        (self.bodylen as usize).saturating_sub(usize::from(self.extlen) + usize::from(self.keylen))
    }

    /// A response header answering `self` with `status`.
    pub fn response(&self, status: Status) -> Header {
        Header {
            magic: RES_MAGIC,
            opcode: self.opcode,
            status: status.code(),
            opaque: self.opaque,
            ..Header::default()
        }
    }
}

/// What to read of a request's body before acting: storage commands stream their
/// value, everything else is read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyPlan {
    /// Read extras and key, then stream `value` bytes into the store.
    Storage {
        /// Value bytes after extras and key.
        value: usize,
    },
    /// Read the whole body.
    Whole,
    /// An opcode memcached does not implement: skip the body, answer "Unknown
    /// command".
    Unknown,
}

/// A malformed request: memcached answers "Invalid arguments" and closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid binary request")]
pub struct Invalid;

/// Whether the request's lengths fit its opcode (memcached's checks) and how to
/// read its body.
pub fn plan(h: &Header) -> Result<BodyPlan, Invalid> {
    let (ext, key, body) = (
        usize::from(h.extlen),
        usize::from(h.keylen),
        h.bodylen as usize,
    );
    let ok = |c: bool| if c { Ok(BodyPlan::Whole) } else { Err(Invalid) };
    if key > KEY_MAX || ext + key > body {
        return Err(Invalid);
    }
    match h.opcode {
        op::GET | op::GETQ | op::GETK | op::GETKQ => ok(ext == 0 && key > 0 && body == key),
        op::SET | op::SETQ | op::ADD | op::ADDQ | op::REPLACE | op::REPLACEQ => {
            if ext == 8 && key > 0 {
                Ok(BodyPlan::Storage {
                    value: h.value_len(),
                })
            } else {
                Err(Invalid)
            }
        }
        op::APPEND | op::APPENDQ | op::PREPEND | op::PREPENDQ => {
            if ext == 0 && key > 0 {
                Ok(BodyPlan::Storage {
                    value: h.value_len(),
                })
            } else {
                Err(Invalid)
            }
        }
        op::DELETE | op::DELETEQ => ok(ext == 0 && key > 0 && body == key),
        op::INCREMENT | op::INCREMENTQ | op::DECREMENT | op::DECREMENTQ => {
            ok(ext == 20 && key > 0 && body == key + 20)
        }
        op::QUIT | op::QUITQ | op::NOOP | op::VERSION => ok(ext == 0 && key == 0 && body == 0),
        op::FLUSH | op::FLUSHQ => ok((ext == 0 || ext == 4) && key == 0 && body == ext),
        op::STAT => ok(ext == 0 && body == key),
        // memcached 1.6.18 does not implement binary verbosity: "Unknown command".
        op::VERBOSITY => Ok(BodyPlan::Unknown),
        op::TOUCH | op::GAT | op::GATQ | op::GATK | op::GATKQ => {
            ok(ext == 4 && key > 0 && body == key + 4)
        }
        _ => Ok(BodyPlan::Unknown),
    }
}

/// A request, its body read (for storage commands: extras and key only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// get/getq/getk/getkq.
    Get {
        /// The key.
        key: &'a [u8],
        /// Misses are not answered.
        quiet: bool,
        /// The key is returned.
        with_key: bool,
    },
    /// set/add/replace/append/prepend (+q); the value follows.
    Store {
        /// The mode.
        mode: Mode,
        /// Success is not answered.
        quiet: bool,
        /// Flags (0 for append/prepend).
        flags: u32,
        /// exptime (client form).
        exptime: u32,
        /// The key.
        key: &'a [u8],
        /// Value bytes that follow.
        value_len: usize,
    },
    /// delete (+q).
    Delete {
        /// The key.
        key: &'a [u8],
        /// Success is not answered.
        quiet: bool,
    },
    /// increment/decrement (+q).
    Arith {
        /// incr (else decr).
        incr: bool,
        /// Success is not answered.
        quiet: bool,
        /// The key.
        key: &'a [u8],
        /// The amount.
        delta: u64,
        /// Stored when the key is absent.
        initial: u64,
        /// exptime; 0xffffffff: do not create.
        exptime: u32,
    },
    /// quit (+q).
    Quit {
        /// Not answered.
        quiet: bool,
    },
    /// flush (+q).
    Flush {
        /// Delay (client exptime form).
        delay: u32,
        /// Not answered.
        quiet: bool,
    },
    /// noop.
    Noop,
    /// version.
    Version,
    /// stat [group].
    Stat {
        /// The group (empty: general).
        key: &'a [u8],
    },
    /// verbosity.
    Verbosity,
    /// touch/gat/gatq/gatk/gatkq.
    Touch {
        /// The key.
        key: &'a [u8],
        /// The new exptime (client form).
        exptime: u32,
        /// Return the value (gat*).
        value: bool,
        /// Misses are not answered.
        quiet: bool,
        /// The key is returned.
        with_key: bool,
    },
}

fn be32(b: &[u8]) -> u32 {
    b.get(..4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_be_bytes)
}

fn be64(b: &[u8]) -> u64 {
    b.get(..8)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

/// Parses a request whose [`plan`] was `Whole` or `Storage`; `body` holds extras
/// and key (and, for `Whole`, the rest of the body).
pub fn parse<'a>(h: &Header, body: &'a [u8]) -> Result<Request<'a>, Invalid> {
    let plan = plan(h)?;
    let ext = usize::from(h.extlen);
    let need = match plan {
        BodyPlan::Storage { .. } => ext + usize::from(h.keylen),
        BodyPlan::Whole => h.bodylen as usize,
        BodyPlan::Unknown => return Err(Invalid),
    };
    if body.len() != need {
        return Err(Invalid);
    }
    let extras = &body[..ext];
    let key = &body[ext..ext + usize::from(h.keylen)];
    let o = h.opcode;
    Ok(match o {
        op::GET | op::GETQ | op::GETK | op::GETKQ => Request::Get {
            key,
            quiet: o == op::GETQ || o == op::GETKQ,
            with_key: o == op::GETK || o == op::GETKQ,
        },
        op::SET
        | op::SETQ
        | op::ADD
        | op::ADDQ
        | op::REPLACE
        | op::REPLACEQ
        | op::APPEND
        | op::APPENDQ
        | op::PREPEND
        | op::PREPENDQ => {
            let (mode, quiet) = match o {
                op::SET => (Mode::Set, false),
                op::SETQ => (Mode::Set, true),
                op::ADD => (Mode::Add, false),
                op::ADDQ => (Mode::Add, true),
                op::REPLACE => (Mode::Replace, false),
                op::REPLACEQ => (Mode::Replace, true),
                op::APPEND => (Mode::Append, false),
                op::APPENDQ => (Mode::Append, true),
                op::PREPEND => (Mode::Prepend, false),
                _ => (Mode::Prepend, true),
            };
            Request::Store {
                mode,
                quiet,
                flags: if ext == 8 { be32(extras) } else { 0 },
                exptime: if ext == 8 { be32(&extras[4..]) } else { 0 },
                key,
                value_len: h.value_len(),
            }
        }
        op::DELETE | op::DELETEQ => Request::Delete {
            key,
            quiet: o == op::DELETEQ,
        },
        op::INCREMENT | op::INCREMENTQ | op::DECREMENT | op::DECREMENTQ => Request::Arith {
            incr: o == op::INCREMENT || o == op::INCREMENTQ,
            quiet: o == op::INCREMENTQ || o == op::DECREMENTQ,
            key,
            delta: be64(extras),
            initial: be64(&extras[8..]),
            exptime: be32(&extras[16..]),
        },
        op::QUIT | op::QUITQ => Request::Quit {
            quiet: o == op::QUITQ,
        },
        op::FLUSH | op::FLUSHQ => Request::Flush {
            delay: if ext == 4 { be32(extras) } else { 0 },
            quiet: o == op::FLUSHQ,
        },
        op::NOOP => Request::Noop,
        op::VERSION => Request::Version,
        op::STAT => Request::Stat { key },
        op::VERBOSITY => Request::Verbosity,
        _ => Request::Touch {
            key,
            exptime: be32(extras),
            value: o != op::TOUCH,
            quiet: o == op::GATQ || o == op::GATKQ,
            with_key: o == op::GATK || o == op::GATKQ,
        },
    })
}

#[cfg(test)]
#[path = "binary_tests.rs"]
mod tests;
