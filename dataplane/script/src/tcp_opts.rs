//! TCP options: as a script writes them (`opts=mss:1460,sackOK,ts:1:0,nop,wscale:7`),
//! as bytes to send, and as read back from a segment.
//!
//! The list has no spaces, so it stays one `key=value` token like every other field.
//! Items: `mss:N`, `wscale:N`, `sackOK`, `ts:VAL:ECR`, `sack:L:R[:L:R...]` (up to four
//! blocks), `nop`, `eol`, and `opt:KIND:HEX` for any other kind. Every number may be
//! `*` (expectations) or `$var[+-N]`, so `sack:$isn+1001:$isn+2001` names a block
//! relative to a captured sequence number.

use crate::lex::Token;
use crate::parse_frame::{ColError, Dir};
use crate::parse_value::num;
use crate::payload::{parse_hex, to_hex, PayloadSpec};
use crate::value::Value;
use core::fmt;

/// Option kinds.
const EOL: u8 = 0;
const NOP: u8 = 1;
const MSS: u8 = 2;
const WSCALE: u8 = 3;
const SACK_OK: u8 = 4;
const SACK: u8 = 5;
const TS: u8 = 8;

/// One option in a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptSpec {
    /// `nop`: padding.
    Nop,
    /// `eol`: end of the list.
    Eol,
    /// `mss:N`: maximum segment size.
    Mss(Value<u64>),
    /// `wscale:N`: window scale shift.
    Wscale(Value<u64>),
    /// `sackOK`: SACK permitted.
    SackOk,
    /// `ts:VAL:ECR`: timestamps.
    Ts(Value<u64>, Value<u64>),
    /// `sack:L:R...`: SACK blocks, left and right edges.
    Sack(Vec<(Value<u64>, Value<u64>)>),
    /// `opt:KIND:HEX`: any other option, its data bytes after kind and length.
    Other(u8, Vec<u8>),
}

/// A segment's options as a script states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptsSpec {
    /// `opts=*`: anything (expectations only).
    Any,
    /// A list (empty: no options). An expectation that lists no `nop` or `eol`
    /// compares the segment's other options in any order, since padding and order
    /// carry no meaning and stacks differ in both; one that does compares exactly.
    List(Vec<OptSpec>),
    /// `opts=hex:..`: these exact bytes (padded with zeros to a multiple of 4 when
    /// sent), for malformed options.
    Raw(PayloadSpec),
}

impl OptsSpec {
    /// Whether the list pins padding and order (it names `nop` or `eol`).
    pub fn is_exact(list: &[OptSpec]) -> bool {
        list.iter()
            .any(|o| matches!(o, OptSpec::Nop | OptSpec::Eol))
    }
}

/// Parses an `opts=` value for direction `dir`.
pub(crate) fn parse_opts(tok: &Token<'_>, dir: Dir) -> Result<OptsSpec, ColError> {
    match tok.text {
        "*" if dir == Dir::Out => return Ok(OptsSpec::Any),
        "*" => return Err((tok.col, "`*` cannot be sent: list the options".to_string())),
        "" | "none" => return Ok(OptsSpec::List(Vec::new())),
        t if t.starts_with("hex:") => {
            let p = PayloadSpec::parse(t).map_err(|m| (tok.col, m))?;
            return Ok(OptsSpec::Raw(p));
        }
        _ => {}
    }
    let mut list = Vec::new();
    let mut col = tok.col;
    for item in tok.text.split(',') {
        list.push(parse_item(item, col, dir)?);
        col += item.chars().count() + 1;
    }
    Ok(OptsSpec::List(list))
}

/// Parses one list item starting at column `col`.
fn parse_item(item: &str, col: usize, dir: Dir) -> Result<OptSpec, ColError> {
    let mut parts = item.split(':');
    let name = parts.next().unwrap_or_default();
    let args: Vec<&str> = parts.collect();
    // Each argument as a token, columns pointing into the script line.
    let mut arg_col = col + name.chars().count() + 1;
    let mut toks = Vec::new();
    for a in &args {
        toks.push(Token {
            text: a,
            col: arg_col,
        });
        arg_col += a.chars().count() + 1;
    }
    let arity = |n: usize, usage: &str| -> Result<(), ColError> {
        if toks.len() == n {
            Ok(())
        } else {
            Err((col, format!("usage: {usage}")))
        }
    };
    Ok(match name {
        "nop" => {
            arity(0, "nop")?;
            OptSpec::Nop
        }
        "eol" => {
            arity(0, "eol")?;
            OptSpec::Eol
        }
        "sackOK" | "sack-ok" => {
            arity(0, "sackOK")?;
            OptSpec::SackOk
        }
        "mss" => {
            arity(1, "mss:N")?;
            OptSpec::Mss(num(&toks[0], dir, 16)?)
        }
        "wscale" => {
            arity(1, "wscale:N")?;
            OptSpec::Wscale(num(&toks[0], dir, 8)?)
        }
        "ts" | "TS" => {
            arity(2, "ts:VAL:ECR")?;
            OptSpec::Ts(num(&toks[0], dir, 32)?, num(&toks[1], dir, 32)?)
        }
        "sack" => {
            if toks.is_empty() || toks.len() % 2 != 0 || toks.len() > 8 {
                return Err((
                    col,
                    "usage: sack:LEFT:RIGHT[:LEFT:RIGHT...] (1 to 4 blocks)".into(),
                ));
            }
            let mut blocks = Vec::new();
            for pair in toks.chunks(2) {
                blocks.push((num(&pair[0], dir, 32)?, num(&pair[1], dir, 32)?));
            }
            OptSpec::Sack(blocks)
        }
        "opt" => {
            arity(2, "opt:KIND:HEX")?;
            let kind = toks[0]
                .text
                .parse::<u8>()
                .map_err(|_| (toks[0].col, format!("bad option kind `{}`", toks[0].text)))?;
            let data = parse_hex(toks[1].text).map_err(|m| (toks[1].col, m))?;
            if data.len() > 38 {
                return Err((toks[1].col, "option data longer than 38 bytes".into()));
            }
            OptSpec::Other(kind, data)
        }
        other => {
            return Err((
                col,
                format!(
                    "unknown TCP option `{other}` (want mss:N, wscale:N, sackOK, ts:VAL:ECR, \
                     sack:L:R.., nop, eol, opt:KIND:HEX; or opts=*, opts=none, opts=hex:..)"
                ),
            ))
        }
    })
}

/// One option read from a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opt {
    /// No-operation.
    Nop,
    /// End of option list (whatever follows is padding and not read).
    Eol,
    /// Maximum segment size.
    Mss(u16),
    /// Window scale shift.
    Wscale(u8),
    /// SACK permitted.
    SackOk,
    /// Timestamp value and echo reply.
    Ts(u32, u32),
    /// SACK blocks.
    Sack(Vec<(u32, u32)>),
    /// Another kind, or a known kind with the wrong length: kind and data.
    Other(u8, Vec<u8>),
    /// Bytes that do not parse as an option (a length running past the end).
    Malformed(Vec<u8>),
}

impl Opt {
    /// Whether the option is padding (`nop`, `eol`).
    pub fn is_padding(&self) -> bool {
        matches!(self, Opt::Nop | Opt::Eol)
    }
}

/// Reads the option bytes of a segment; never fails, malformed tails are kept.
pub fn decode_opts(bytes: &[u8]) -> Vec<Opt> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            EOL => {
                out.push(Opt::Eol);
                break;
            }
            NOP => {
                out.push(Opt::Nop);
                i += 1;
            }
            kind => {
                let len = bytes.get(i + 1).map_or(0, |l| usize::from(*l));
                if len < 2 || i + len > bytes.len() {
                    out.push(Opt::Malformed(bytes[i..].to_vec()));
                    break;
                }
                out.push(known(kind, &bytes[i + 2..i + len]));
                i += len;
            }
        }
    }
    out
}

/// A known option from its kind and data, or `Other` if the length is wrong.
fn known(kind: u8, d: &[u8]) -> Opt {
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    match (kind, d.len()) {
        (MSS, 2) => Opt::Mss(u16::from_be_bytes([d[0], d[1]])),
        (WSCALE, 1) => Opt::Wscale(d[0]),
        (SACK_OK, 0) => Opt::SackOk,
        (TS, 8) => Opt::Ts(be32(&d[0..4]), be32(&d[4..8])),
        (SACK, n) if n > 0 && n % 8 == 0 => Opt::Sack(
            d.chunks(8)
                .map(|b| (be32(&b[0..4]), be32(&b[4..8])))
                .collect(),
        ),
        _ => Opt::Other(kind, d.to_vec()),
    }
}

/// The bytes of `opts` with every value resolved by `resolve`, before padding.
pub fn encode_opts(
    opts: &[OptSpec],
    mut resolve: impl FnMut(&Value<u64>, u32) -> Result<u64, String>,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for o in opts {
        match o {
            OptSpec::Nop => out.push(NOP),
            OptSpec::Eol => out.push(EOL),
            OptSpec::SackOk => out.extend_from_slice(&[SACK_OK, 2]),
            OptSpec::Mss(v) => {
                out.extend_from_slice(&[MSS, 4]);
                out.extend_from_slice(&(resolve(v, 16)? as u16).to_be_bytes());
            }
            OptSpec::Wscale(v) => out.extend_from_slice(&[WSCALE, 3, resolve(v, 8)? as u8]),
            OptSpec::Ts(val, ecr) => {
                out.extend_from_slice(&[TS, 10]);
                out.extend_from_slice(&(resolve(val, 32)? as u32).to_be_bytes());
                out.extend_from_slice(&(resolve(ecr, 32)? as u32).to_be_bytes());
            }
            OptSpec::Sack(blocks) => {
                out.extend_from_slice(&[SACK, (2 + 8 * blocks.len()) as u8]);
                for (l, r) in blocks {
                    out.extend_from_slice(&(resolve(l, 32)? as u32).to_be_bytes());
                    out.extend_from_slice(&(resolve(r, 32)? as u32).to_be_bytes());
                }
            }
            OptSpec::Other(kind, data) => {
                out.extend_from_slice(&[*kind, (2 + data.len()) as u8]);
                out.extend_from_slice(data);
            }
        }
    }
    Ok(out)
}

impl fmt::Display for Opt {
    /// Shows the option in script syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Opt::Nop => f.write_str("nop"),
            Opt::Eol => f.write_str("eol"),
            Opt::Mss(n) => write!(f, "mss:{n}"),
            Opt::Wscale(n) => write!(f, "wscale:{n}"),
            Opt::SackOk => f.write_str("sackOK"),
            Opt::Ts(v, e) => write!(f, "ts:{v}:{e}"),
            Opt::Sack(blocks) => {
                f.write_str("sack")?;
                for (l, r) in blocks {
                    write!(f, ":{l}:{r}")?;
                }
                Ok(())
            }
            Opt::Other(kind, d) => write!(f, "opt:{kind}:{}", to_hex(d)),
            Opt::Malformed(b) => write!(f, "malformed:{}", to_hex(b)),
        }
    }
}

impl fmt::Display for OptSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptSpec::Nop => f.write_str("nop"),
            OptSpec::Eol => f.write_str("eol"),
            OptSpec::Mss(n) => write!(f, "mss:{n}"),
            OptSpec::Wscale(n) => write!(f, "wscale:{n}"),
            OptSpec::SackOk => f.write_str("sackOK"),
            OptSpec::Ts(v, e) => write!(f, "ts:{v}:{e}"),
            OptSpec::Sack(blocks) => {
                f.write_str("sack")?;
                for (l, r) in blocks {
                    write!(f, ":{l}:{r}")?;
                }
                Ok(())
            }
            OptSpec::Other(kind, d) => write!(f, "opt:{kind}:{}", to_hex(d)),
        }
    }
}

/// A list shown as a script writes it: `none`, or items joined by commas.
pub fn show_list<T: fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "none".to_string();
    }
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(text: &str, dir: Dir) -> Result<OptsSpec, ColError> {
        parse_opts(&Token { text, col: 10 }, dir)
    }

    fn list(text: &str) -> Vec<OptSpec> {
        match opts(text, Dir::In).unwrap() {
            OptsSpec::List(l) => l,
            other => panic!("not a list: {other:?}"),
        }
    }

    #[test]
    fn linux_syn_options_round_trip() {
        let l = list("mss:1460,sackOK,ts:7:0,nop,wscale:7");
        assert!(OptsSpec::is_exact(&l));
        let bytes = encode_opts(&l, |v, _| match v {
            Value::Exact(n) => Ok(*n),
            _ => Err("unbound".into()),
        })
        .unwrap();
        assert_eq!(bytes.len(), 20);
        let back = decode_opts(&bytes);
        assert_eq!(
            back,
            vec![
                Opt::Mss(1460),
                Opt::SackOk,
                Opt::Ts(7, 0),
                Opt::Nop,
                Opt::Wscale(7)
            ]
        );
        assert_eq!(show_list(&back), "mss:1460,sackOK,ts:7:0,nop,wscale:7");
    }

    #[test]
    fn sack_blocks_with_variables() {
        let l = list("sack:$isn+1:$isn+101:5:6");
        let OptSpec::Sack(blocks) = &l[0] else {
            panic!("not sack")
        };
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            blocks[0].1,
            Value::Var {
                name: "isn".into(),
                offset: 101
            }
        );
        assert!(!OptsSpec::is_exact(&l));
    }

    #[test]
    fn special_forms_and_errors() {
        assert_eq!(opts("*", Dir::Out).unwrap(), OptsSpec::Any);
        assert!(opts("*", Dir::In).is_err());
        assert_eq!(opts("none", Dir::In).unwrap(), OptsSpec::List(vec![]));
        assert_eq!(opts("", Dir::In).unwrap(), OptsSpec::List(vec![]));
        assert!(matches!(
            opts("hex:0101", Dir::In).unwrap(),
            OptsSpec::Raw(_)
        ));
        let e = opts("mss:1460,bogus", Dir::In).unwrap_err();
        assert_eq!(e.0, 19, "points at the item");
        assert!(e.1.contains("unknown TCP option `bogus`"));
        assert!(opts("mss", Dir::In).unwrap_err().1.contains("mss:N"));
        assert!(opts("mss:70000", Dir::In).unwrap_err().1.contains("2^16"));
        assert!(opts("sack:1", Dir::In).unwrap_err().1.contains("blocks"));
        assert!(opts("ts:*:0", Dir::In)
            .unwrap_err()
            .1
            .contains("cannot be sent"));
        assert_eq!(list("opt:30:0102"), vec![OptSpec::Other(30, vec![1, 2])]);
    }

    #[test]
    fn decoding_is_lenient() {
        assert_eq!(
            decode_opts(&[1, 1, 0, 9]),
            vec![Opt::Nop, Opt::Nop, Opt::Eol]
        );
        assert_eq!(decode_opts(&[2, 9, 0]), vec![Opt::Malformed(vec![2, 9, 0])]);
        assert_eq!(decode_opts(&[2, 3, 0]), vec![Opt::Other(2, vec![0])]);
        assert_eq!(decode_opts(&[2, 0]), vec![Opt::Malformed(vec![2, 0])]);
        assert_eq!(
            decode_opts(&[5, 10, 0, 0, 0, 1, 0, 0, 0, 2]),
            vec![Opt::Sack(vec![(1, 2)])]
        );
    }
}
