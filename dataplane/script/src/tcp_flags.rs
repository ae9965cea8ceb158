//! TCP flags as scripts write them, packetdrill style: `S` (SYN), `.` (ACK), `F`
//! (FIN), `R` (RST), `P` (PSH), `U` (URG), `E` (ECE), `W` (CWR), in any
//! combination (`S.`, `F.`, `R.`, `P.`, `FP.`), or `*` in an expectation.

use core::fmt;

/// FIN.
pub const FIN: u8 = 0x01;
/// SYN.
pub const SYN: u8 = 0x02;
/// RST.
pub const RST: u8 = 0x04;
/// PSH.
pub const PSH: u8 = 0x08;
/// ACK.
pub const ACK: u8 = 0x10;
/// URG.
pub const URG: u8 = 0x20;
/// ECE.
pub const ECE: u8 = 0x40;
/// CWR.
pub const CWR: u8 = 0x80;

/// Each flag's letter, in the order [`TcpFlags`] shows them (ACK last, as `S.`).
const LETTERS: [(char, u8); 8] = [
    ('S', SYN),
    ('F', FIN),
    ('R', RST),
    ('P', PSH),
    ('U', URG),
    ('E', ECE),
    ('W', CWR),
    ('.', ACK),
];

/// The eight flag bits of a TCP header (byte 13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// Parses letters such as `S.`; `-` alone means no flag at all. The error names
    /// the bad or repeated letter.
    pub fn parse(text: &str) -> Result<TcpFlags, String> {
        if text == "-" {
            return Ok(TcpFlags(0));
        }
        if text.is_empty() {
            return Err("empty TCP flags (want letters of S . F R P U E W, or -)".to_string());
        }
        let mut bits = 0u8;
        for c in text.chars() {
            let (_, bit) = LETTERS.iter().find(|(l, _)| *l == c).ok_or_else(|| {
                format!("unknown TCP flag `{c}` in `{text}` (want S . F R P U E W, or -)")
            })?;
            if bits & bit != 0 {
                return Err(format!("TCP flag `{c}` given twice in `{text}`"));
            }
            bits |= bit;
        }
        Ok(TcpFlags(bits))
    }

    /// Whether every bit of `bits` is set.
    pub fn has(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("-");
        }
        for (c, bit) in LETTERS {
            if self.0 & bit != 0 {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_show_round_trip() {
        for (text, bits) in [
            ("S", SYN),
            ("S.", SYN | ACK),
            ("F.", FIN | ACK),
            ("R.", RST | ACK),
            ("R", RST),
            ("P.", PSH | ACK),
            (".", ACK),
            ("-", 0),
        ] {
            let f = TcpFlags::parse(text).unwrap();
            assert_eq!(f.0, bits, "{text}");
            assert_eq!(f.to_string(), text);
        }
        assert_eq!(TcpFlags::parse(".PF").unwrap().to_string(), "FP.");
        assert!(TcpFlags(SYN | ACK).has(ACK));
        assert!(!TcpFlags(SYN).has(SYN | ACK));
    }

    #[test]
    fn errors_name_the_letter() {
        assert!(TcpFlags::parse("SX").unwrap_err().contains("`X`"));
        assert!(TcpFlags::parse("SS").unwrap_err().contains("twice"));
        assert!(TcpFlags::parse("").is_err());
    }
}
