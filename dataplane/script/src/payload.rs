//! Payload bytes as a script writes them.

use core::fmt;

/// The bytes carried by a packet (or, for `raw`, the whole frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadSpec {
    /// Exactly these bytes: `hex:00ff..`, `"text"`, or `len:N` (bytes 0, 1, 2, ...).
    Bytes(Vec<u8>),
    /// `*`: any bytes (expectations only).
    Any,
    /// `same`: the payload of the last injected packet, as the peer sent it.
    Same,
    /// `last-ip`: the IPv4 datagram of the last injected frame, header included (what
    /// an ICMP error quotes); `last-ip:N`: only its first `N` bytes.
    LastIp(Option<usize>),
}

impl PayloadSpec {
    /// Parses a payload value; the error says which forms exist.
    pub fn parse(text: &str) -> Result<PayloadSpec, String> {
        if text == "*" {
            Ok(PayloadSpec::Any)
        } else if text == "same" {
            Ok(PayloadSpec::Same)
        } else if text == "last-ip" {
            Ok(PayloadSpec::LastIp(None))
        } else if let Some(n) = text.strip_prefix("last-ip:") {
            let n: usize = n
                .parse()
                .map_err(|_| format!("bad length `{n}` in `last-ip:N`"))?;
            Ok(PayloadSpec::LastIp(Some(n)))
        } else if let Some(hex) = text.strip_prefix("hex:") {
            parse_hex(hex).map(PayloadSpec::Bytes)
        } else if let Some(n) = text.strip_prefix("len:") {
            let n: usize = n
                .parse()
                .map_err(|_| format!("bad length `{n}` in `len:N`"))?;
            // A counting pattern, so a reordered or shifted byte shows up in a diff.
            Ok(PayloadSpec::Bytes((0..n).map(|i| i as u8).collect()))
        } else if text.starts_with('"') {
            crate::lex::unquote(text).map(PayloadSpec::Bytes)
        } else {
            Err(format!(
                "bad payload `{text}` (want hex:.., \"text\", len:N, same, last-ip[:N] or *)"
            ))
        }
    }
}

impl fmt::Display for PayloadSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadSpec::Bytes(b) => write!(f, "hex:{}", to_hex(b)),
            PayloadSpec::Any => f.write_str("*"),
            PayloadSpec::Same => f.write_str("same"),
            PayloadSpec::LastIp(None) => f.write_str("last-ip"),
            PayloadSpec::LastIp(Some(n)) => write!(f, "last-ip:{n}"),
        }
    }
}

/// Parses hex digits, ignoring `_` and `:` separators; assumes nothing else.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| *b != b'_' && *b != b':').collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in `{text}`"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            core::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("bad hex digits in `{text}`"))
        })
        .collect()
}

/// Lower-case hex of `bytes`, no separators.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_forms() {
        assert_eq!(
            PayloadSpec::parse("hex:00_ff:10").unwrap(),
            PayloadSpec::Bytes(vec![0, 0xff, 0x10])
        );
        assert_eq!(
            PayloadSpec::parse("len:3").unwrap(),
            PayloadSpec::Bytes(vec![0, 1, 2])
        );
        assert_eq!(
            PayloadSpec::parse("\"hi\"").unwrap(),
            PayloadSpec::Bytes(b"hi".to_vec())
        );
        assert_eq!(PayloadSpec::parse("same").unwrap(), PayloadSpec::Same);
        assert_eq!(
            PayloadSpec::parse("last-ip:28").unwrap(),
            PayloadSpec::LastIp(Some(28))
        );
        assert!(PayloadSpec::parse("last-ip:x").is_err());
        assert!(PayloadSpec::parse("hex:123").is_err());
        assert!(PayloadSpec::parse("hex:zz").is_err());
        assert!(PayloadSpec::parse("bogus").is_err());
    }
}
