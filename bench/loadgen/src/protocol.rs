//! memcached's ASCII and binary protocols, as much as a load generator needs: encoding
//! get and set, and parsing their replies (hit, miss, stored, error).

use crate::error::{LoadgenError, Result};

/// Which memcached protocol to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// The text protocol (`get k`, `set k 0 0 n`).
    Ascii,
    /// The binary protocol (`--binary`).
    Binary,
}

/// One reply from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A get found its key.
    Hit,
    /// A get did not find its key.
    Miss,
    /// A set was stored.
    Stored,
    /// Anything else (an error, or a set that was not stored); the text or status.
    Error(String),
}

const BIN_REQUEST: u8 = 0x80;
const BIN_RESPONSE: u8 = 0x81;
const OP_GET: u8 = 0x00;
const OP_SET: u8 = 0x01;
const HEADER: usize = 24;

impl Protocol {
    /// Appends a get of `key` to `out`. Assumes a key of at most 250 bytes, no spaces.
    pub fn encode_get(self, key: &[u8], out: &mut Vec<u8>) {
        match self {
            Protocol::Ascii => {
                out.extend_from_slice(b"get ");
                out.extend_from_slice(key);
                out.extend_from_slice(b"\r\n");
            }
            Protocol::Binary => binary_header(OP_GET, key, 0, &[], out),
        }
    }

    /// Appends a set of `key` to `value` (flags 0, no expiry) to `out`.
    pub fn encode_set(self, key: &[u8], value: &[u8], out: &mut Vec<u8>) {
        match self {
            Protocol::Ascii => {
                out.extend_from_slice(b"set ");
                out.extend_from_slice(key);
                out.extend_from_slice(format!(" 0 0 {}\r\n", value.len()).as_bytes());
                out.extend_from_slice(value);
                out.extend_from_slice(b"\r\n");
            }
            Protocol::Binary => binary_header(OP_SET, key, 8, value, out),
        }
    }

    /// Parses one reply at the start of `buf`: `Ok(None)` if it is not complete yet,
    /// else its length and what it says.
    pub fn parse_reply(self, buf: &[u8]) -> Result<Option<(usize, Reply)>> {
        match self {
            Protocol::Ascii => parse_ascii(buf),
            Protocol::Binary => parse_binary(buf),
        }
    }
}

fn binary_header(opcode: u8, key: &[u8], extras: u8, value: &[u8], out: &mut Vec<u8>) {
    let body = extras as usize + key.len() + value.len();
    out.push(BIN_REQUEST);
    out.push(opcode);
    out.extend_from_slice(&(key.len() as u16).to_be_bytes());
    out.push(extras);
    out.push(0); // data type
    out.extend_from_slice(&[0, 0]); // vbucket
    out.extend_from_slice(&(body as u32).to_be_bytes());
    out.extend_from_slice(&[0; 4]); // opaque
    out.extend_from_slice(&[0; 8]); // cas
    out.extend_from_slice(&vec![0u8; extras as usize]); // flags 0, expiry 0
    out.extend_from_slice(key);
    out.extend_from_slice(value);
}

fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

fn parse_ascii(buf: &[u8]) -> Result<Option<(usize, Reply)>> {
    let Some(eol) = line_end(buf, 0) else {
        if buf.len() > 4096 {
            return Err(LoadgenError::Protocol(
                "reply line longer than 4096 bytes".into(),
            ));
        }
        return Ok(None);
    };
    let line = &buf[..eol];
    let after = eol + 2;
    if line.starts_with(b"VALUE ") {
        // VALUE <key> <flags> <bytes> [<cas>]\r\n<data>\r\nEND\r\n
        let text = String::from_utf8_lossy(line);
        let bytes: usize = text
            .split(' ')
            .nth(3)
            .and_then(|b| b.parse().ok())
            .ok_or_else(|| LoadgenError::Protocol(format!("bad VALUE line '{text}'")))?;
        let end_of_data = after + bytes;
        let total = end_of_data + 2 + 5;
        if buf.len() < total {
            return Ok(None);
        }
        if &buf[end_of_data..total] != b"\r\nEND\r\n" {
            return Err(LoadgenError::Protocol(
                "VALUE data not followed by END (only single-key gets are sent)".into(),
            ));
        }
        return Ok(Some((total, Reply::Hit)));
    }
    let reply = match line {
        b"END" => Reply::Miss,
        b"STORED" => Reply::Stored,
        other => Reply::Error(String::from_utf8_lossy(other).into_owned()),
    };
    Ok(Some((after, reply)))
}

fn parse_binary(buf: &[u8]) -> Result<Option<(usize, Reply)>> {
    if buf.len() < HEADER {
        return Ok(None);
    }
    if buf[0] != BIN_RESPONSE {
        return Err(LoadgenError::Protocol(format!(
            "binary reply has magic {:#04x}, want 0x81",
            buf[0]
        )));
    }
    let body = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]) as usize;
    let total = HEADER + body;
    if buf.len() < total {
        return Ok(None);
    }
    let status = u16::from_be_bytes([buf[6], buf[7]]);
    let reply = match (buf[1], status) {
        (OP_GET, 0) => Reply::Hit,
        (OP_GET, 1) => Reply::Miss,
        (OP_SET, 0) => Reply::Stored,
        (op, st) => Reply::Error(format!("binary opcode {op:#04x} status {st:#06x}")),
    };
    Ok(Some((total, reply)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_encoding() {
        let mut out = Vec::new();
        Protocol::Ascii.encode_get(b"key1", &mut out);
        Protocol::Ascii.encode_set(b"k", b"abc", &mut out);
        assert_eq!(out, b"get key1\r\nset k 0 0 3\r\nabc\r\n");
    }

    #[test]
    fn ascii_replies_whole_and_split() {
        let stream =
            b"VALUE k 0 3\r\nabc\r\nEND\r\nEND\r\nSTORED\r\nSERVER_ERROR out of memory\r\n";
        let mut replies = Vec::new();
        let mut at = 0;
        while let Some((n, r)) = Protocol::Ascii.parse_reply(&stream[at..]).unwrap() {
            // Every proper prefix of a reply is incomplete, never an error.
            for cut in 0..n {
                assert_eq!(
                    Protocol::Ascii.parse_reply(&stream[at..at + cut]).unwrap(),
                    None
                );
            }
            replies.push(r);
            at += n;
        }
        assert_eq!(at, stream.len());
        assert_eq!(
            replies,
            vec![
                Reply::Hit,
                Reply::Miss,
                Reply::Stored,
                Reply::Error("SERVER_ERROR out of memory".into())
            ]
        );
        // A value containing "\r\nEND\r\n" is skipped by its length.
        let tricky = b"VALUE k 0 7\r\n\r\nEND\r\n\r\nEND\r\n";
        assert_eq!(
            Protocol::Ascii.parse_reply(tricky).unwrap(),
            Some((tricky.len(), Reply::Hit))
        );
        assert!(Protocol::Ascii.parse_reply(b"VALUE k 0 x\r\n").is_err());
    }

    #[test]
    fn binary_round_trip() {
        let mut req = Vec::new();
        Protocol::Binary.encode_set(b"key", b"value", &mut req);
        assert_eq!(req.len(), 24 + 8 + 3 + 5);
        assert_eq!((req[0], req[1], req[4]), (0x80, 0x01, 8));
        assert_eq!(u32::from_be_bytes([req[8], req[9], req[10], req[11]]), 16);

        let reply = |op: u8, status: u16, body: &[u8]| {
            let mut r = vec![0x81, op, 0, 0, 0, 0];
            r.extend_from_slice(&status.to_be_bytes());
            r.extend_from_slice(&(body.len() as u32).to_be_bytes());
            r.extend_from_slice(&[0; 12]);
            r.extend_from_slice(body);
            r
        };
        let hit = reply(0x00, 0, b"\0\0\0\0value");
        assert_eq!(Protocol::Binary.parse_reply(&hit[..30]).unwrap(), None);
        assert_eq!(
            Protocol::Binary.parse_reply(&hit).unwrap(),
            Some((hit.len(), Reply::Hit))
        );
        let miss = reply(0x00, 1, b"Not found");
        assert_eq!(
            Protocol::Binary.parse_reply(&miss).unwrap().unwrap().1,
            Reply::Miss
        );
        let stored = reply(0x01, 0, b"");
        assert_eq!(
            Protocol::Binary.parse_reply(&stored).unwrap().unwrap().1,
            Reply::Stored
        );
        let too_big = reply(0x01, 3, b"Too large");
        assert!(matches!(
            Protocol::Binary.parse_reply(&too_big).unwrap().unwrap().1,
            Reply::Error(_)
        ));
        assert!(Protocol::Binary.parse_reply(&[0x80; 24]).is_err());
    }
}
