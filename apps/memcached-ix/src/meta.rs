//! memcached's meta protocol (`mg`, `ms`, `md`, `ma`, `mn`, `me`): a request line
//! to a typed [`MetaCmd`] whose flags keep their order (responses echo them in
//! the order given), with memcached 1.6's error replies.

use crate::num::{parse_i32, parse_u32, parse_u64};
use crate::store::Mode;
use crate::text::{BAD_FORMAT, ERROR, KEY_MAX};

/// Which meta command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// mg: get.
    Get,
    /// ms: set (data follows).
    Set,
    /// md: delete.
    Delete,
    /// ma: arithmetic.
    Arith,
    /// mn: no-op (answers "MN").
    Noop,
    /// me: debug dump of an item.
    Debug,
}

/// One flag: its letter and token (empty when none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag<'a> {
    /// The letter.
    pub letter: u8,
    /// The token after it.
    pub token: &'a [u8],
}

/// The flags of a request, in order, with the common ones decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags<'a> {
    raw: &'a [u8],
    /// q: quiet.
    pub quiet: bool,
    /// v: return the value.
    pub value: bool,
    /// b: the key is base64.
    pub base64: bool,
    /// C: compare CAS.
    pub compare_cas: Option<u64>,
    /// F: client flags to store.
    pub client_flags: Option<u32>,
    /// T: TTL to set.
    pub ttl: Option<i32>,
    /// N: vivify on miss with this TTL (mg).
    pub vivify: Option<i32>,
    /// R: win the recache token when the TTL left is below this (mg).
    pub recache: Option<i32>,
    /// M: mode letter.
    pub mode: Option<u8>,
    /// J: initial value (ma).
    pub initial: Option<u64>,
    /// D: delta (ma).
    pub delta: Option<u64>,
    /// I: invalidate (ms: a lower CAS stores the value as stale; md: mark stale
    /// instead of deleting).
    pub invalidate: bool,
}

impl<'a> Flags<'a> {
    /// Every flag, in request order.
    pub fn iter(&self) -> impl Iterator<Item = Flag<'a>> + 'a {
        self.raw
            .split(|&b| b == b' ')
            .filter(|t| !t.is_empty())
            .map(|t| Flag {
                letter: t[0],
                token: &t[1..],
            })
    }
}

/// A parsed meta request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaCmd<'a> {
    /// Which command.
    pub kind: Kind,
    /// The key as sent (base64 when `flags.base64`; empty for `mn`).
    pub key: &'a [u8],
    /// ms: bytes of data that follow.
    pub datalen: usize,
    /// The flags.
    pub flags: Flags<'a>,
}

/// A refused meta request: the reply, and for `ms`, data to swallow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaError {
    /// The reply line.
    pub reply: &'static str,
    /// Data bytes (plus "\r\n") to skip.
    pub swallow: Option<usize>,
}

/// md's and ma's one reply for any bad flag.
const INVALID_OR_DUP: &str = "CLIENT_ERROR invalid or duplicate flag";

fn fail(reply: &'static str) -> MetaError {
    MetaError {
        reply,
        swallow: None,
    }
}

/// Flag letters memcached's meta commands accept (others: "invalid flag").
/// (`E`, an explicit CAS, came after 1.6.18: refused as memcached 1.6.18 does.)
const KNOWN: &[u8] = b"bcfhklqstuvxCDFIJMNOPLRSTa";

/// The longest opaque (`O`) token memcached echoes.
pub const OPAQUE_MAX: usize = 32;

/// Parses a meta request line (without its line ending).
pub fn parse(line: &[u8]) -> Result<MetaCmd<'_>, MetaError> {
    let mut toks = line.split(|&b| b == b' ').filter(|t| !t.is_empty());
    let cmd = toks.next().unwrap_or_default();
    let kind = match cmd {
        b"mg" => Kind::Get,
        b"ms" => Kind::Set,
        b"md" => Kind::Delete,
        b"ma" => Kind::Arith,
        b"mn" => Kind::Noop,
        b"me" => Kind::Debug,
        _ => return Err(fail(ERROR)),
    };
    if kind == Kind::Noop {
        return Ok(MetaCmd {
            kind,
            key: b"",
            datalen: 0,
            flags: Flags::default(),
        });
    }
    let Some(key) = toks.next() else {
        return Err(fail(if matches!(kind, Kind::Set | Kind::Debug) {
            BAD_FORMAT
        } else {
            ERROR
        }));
    };
    if key.len() > KEY_MAX {
        return Err(fail(BAD_FORMAT));
    }
    let mut datalen = 0;
    if kind == Kind::Set {
        let t = toks.next().ok_or(fail(BAD_FORMAT))?;
        let n = parse_i32(t).filter(|&n| n >= 0).ok_or(fail(BAD_FORMAT))?;
        datalen = n as usize;
    }
    let swallow = (kind == Kind::Set).then_some(datalen);
    let err = |reply| MetaError { reply, swallow };
    // Flags start where the tokens so far end.
    let used = key.as_ptr() as usize - line.as_ptr() as usize + key.len();
    let mut raw = &line[used.min(line.len())..];
    if kind == Kind::Set {
        let skip = raw.iter().take_while(|&&b| b == b' ').count();
        raw = &raw[skip..];
        let tok = raw.iter().take_while(|&&b| b != b' ').count();
        raw = &raw[tok..];
    }
    let mut flags = Flags {
        raw,
        ..Flags::default()
    };
    let mut seen = [false; 128];
    // memcached 1.6.18's words differ by command: md and ma have one for all.
    let (invalid, duplicate, bad_token) = match kind {
        Kind::Delete | Kind::Arith => (INVALID_OR_DUP, INVALID_OR_DUP, INVALID_OR_DUP),
        Kind::Set => (
            "CLIENT_ERROR invalid flag",
            "CLIENT_ERROR duplicate flag",
            BAD_FORMAT,
        ),
        _ => (
            "CLIENT_ERROR invalid flag",
            "CLIENT_ERROR duplicate flag",
            "CLIENT_ERROR bad token in command line format",
        ),
    };
    for f in flags.iter() {
        let l = f.letter;
        if !KNOWN.contains(&l) {
            return Err(err(invalid));
        }
        if std::mem::replace(&mut seen[usize::from(l & 0x7f)], true) {
            return Err(err(duplicate));
        }
        if l == b'O' && f.token.len() > OPAQUE_MAX {
            return Err(err("CLIENT_ERROR opaque token too long"));
        }
        let bad = || err(bad_token);
        match l {
            b'q' => flags.quiet = true,
            b'v' => flags.value = true,
            b'b' => flags.base64 = true,
            b'I' => flags.invalidate = true,
            b'C' => flags.compare_cas = Some(parse_u64(f.token).ok_or_else(bad)?),
            b'F' => flags.client_flags = Some(parse_u32(f.token).ok_or_else(bad)?),
            b'T' => flags.ttl = Some(parse_i32(f.token).ok_or_else(bad)?),
            b'N' => flags.vivify = Some(parse_i32(f.token).ok_or_else(bad)?),
            b'R' => flags.recache = Some(parse_i32(f.token).ok_or_else(bad)?),
            b'J' => flags.initial = Some(parse_u64(f.token).ok_or_else(bad)?),
            b'D' => flags.delta = Some(parse_u64(f.token).ok_or_else(bad)?),
            b'M' => flags.mode = Some(f.token.first().copied().ok_or_else(bad)?),
            _ => {}
        }
    }
    if kind == Kind::Set {
        if let Some(m) = flags.mode {
            if set_mode(m).is_none() {
                return Err(err("CLIENT_ERROR invalid mode for ms M token"));
            }
        }
    }
    if kind == Kind::Arith {
        if let Some(m) = flags.mode {
            if !matches!(m, b'I' | b'+' | b'D' | b'-') {
                return Err(err("CLIENT_ERROR invalid mode for ma M token"));
            }
        }
    }
    Ok(MetaCmd {
        kind,
        key,
        datalen,
        flags,
    })
}

/// The storage mode of an `ms` M token.
pub fn set_mode(m: u8) -> Option<Mode> {
    match m {
        b'S' => Some(Mode::Set),
        b'E' => Some(Mode::Add),
        b'R' => Some(Mode::Replace),
        b'A' => Some(Mode::Append),
        b'P' => Some(Mode::Prepend),
        _ => None,
    }
}

/// Whether an `ma` M token means incr.
pub fn arith_incr(m: Option<u8>) -> bool {
    !matches!(m, Some(b'D' | b'-'))
}

/// Encodes `s` as standard base64 (with padding) into `out`; returns the length
/// (truncated to whole groups if `out` is too small).
pub fn base64_encode(s: &[u8], out: &mut [u8]) -> usize {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut n = 0;
    for chunk in s.chunks(3) {
        if n + 4 > out.len() {
            break;
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let acc = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out[n + i] = if i <= chunk.len() {
                A[((acc >> (18 - 6 * i)) & 63) as usize]
            } else {
                b'='
            };
        }
        n += 4;
    }
    n
}

/// Decodes standard base64 (with padding) into `out`; `None` if malformed or too
/// long.
pub fn base64_decode(s: &[u8], out: &mut [u8]) -> Option<usize> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    if s.is_empty() || !s.len().is_multiple_of(4) {
        return None;
    }
    let mut n = 0;
    for chunk in s.chunks(4) {
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut acc = 0u32;
        for &c in &chunk[..4 - pad] {
            acc = (acc << 6) | val(c)?;
        }
        acc <<= 6 * pad as u32;
        let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        for &b in &bytes[..3 - pad] {
            *out.get_mut(n)? = b;
            n += 1;
        }
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_keep_order_and_decode() {
        let m = parse(b"mg mk v c f s t k O123 h l q").unwrap();
        assert_eq!(m.kind, Kind::Get);
        assert_eq!(m.key, b"mk");
        assert!(m.flags.value && m.flags.quiet);
        let letters: Vec<u8> = m.flags.iter().map(|f| f.letter).collect();
        assert_eq!(letters, b"vcfstkOhlq");
        assert_eq!(
            m.flags.iter().find(|f| f.letter == b'O').unwrap().token,
            b"123"
        );
        let s = parse(b"ms k 5 T10 F3 MA C99").unwrap();
        assert_eq!((s.kind, s.datalen), (Kind::Set, 5));
        assert_eq!(s.flags.ttl, Some(10));
        assert_eq!(s.flags.client_flags, Some(3));
        assert_eq!(s.flags.mode.and_then(set_mode), Some(Mode::Append));
        assert_eq!(s.flags.compare_cas, Some(99));
        assert_eq!(parse(b"mn").unwrap().kind, Kind::Noop);
    }

    #[test]
    fn stale_and_win_flags_decode() {
        let m = parse(b"mg k N30 R-5 t v").unwrap();
        assert_eq!((m.flags.vivify, m.flags.recache), (Some(30), Some(-5)));
        let letters: Vec<u8> = m.flags.iter().map(|f| f.letter).collect();
        assert_eq!(
            letters, b"NRtv",
            "order kept: t reports the TTL where it stands"
        );
        assert!(parse(b"ms k 1 I C5").unwrap().flags.invalidate);
        let d = parse(b"md k I T30 q").unwrap();
        assert!(d.flags.invalidate && d.flags.quiet);
        assert_eq!(d.flags.ttl, Some(30));
        for bad in [&b"mg k R"[..], b"mg k Rx", b"mg k Nx", b"mg k N"] {
            assert_eq!(
                parse(bad).unwrap_err().reply,
                "CLIENT_ERROR bad token in command line format",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn errors_are_memcacheds() {
        assert_eq!(
            parse(b"mg mk zz").unwrap_err().reply,
            "CLIENT_ERROR invalid flag"
        );
        assert_eq!(parse(b"mg").unwrap_err().reply, ERROR);
        assert_eq!(parse(b"ms mk").unwrap_err().reply, BAD_FORMAT);
        assert_eq!(parse(b"ms mk x").unwrap_err().reply, BAD_FORMAT);
        let e = parse(b"ms mk 2 MZ").unwrap_err();
        assert_eq!(
            (e.reply, e.swallow),
            ("CLIENT_ERROR invalid mode for ms M token", Some(2))
        );
        assert_eq!(
            parse(b"mg mk f f").unwrap_err().reply,
            "CLIENT_ERROR duplicate flag"
        );
    }

    #[test]
    fn base64_keys_decode() {
        let mut out = [0u8; 16];
        let n = base64_decode(b"bWs=", &mut out).unwrap();
        assert_eq!(&out[..n], b"mk");
        assert_eq!(base64_decode(b"mk", &mut out), None);
        let mut enc = [0u8; 16];
        for k in [&b"m"[..], b"mb", b"ms6", b"ms64"] {
            let n = base64_encode(k, &mut enc);
            let m = base64_decode(&enc[..n], &mut out).unwrap();
            assert_eq!(&out[..m], k);
        }
        let n = base64_encode(b"mb", &mut enc);
        assert_eq!(&enc[..n], b"bWI=");
    }
}
