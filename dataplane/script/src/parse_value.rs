//! Parses one field value: a literal of the field's type, `*`, or `$var[+-N]`.

use crate::lex::Token;
use crate::parse_frame::{ColError, Dir};
use crate::payload::PayloadSpec;
use crate::spec::CsumSpec;
use crate::value::{Mac, Value};
use std::net::Ipv4Addr;

/// Parses a value: `*`, `$var[+-N]` or a literal `lit` accepts.
pub(crate) fn value<T>(
    tok: &Token<'_>,
    dir: Dir,
    lit: impl Fn(&str) -> Option<T>,
) -> Result<Value<T>, ColError> {
    let text = tok.text;
    if text == "*" {
        if dir == Dir::In {
            return Err((tok.col, "`*` cannot be sent: give a value".to_string()));
        }
        return Ok(Value::Any);
    }
    if let Some(var) = text.strip_prefix('$') {
        let split = var.find(['+', '-']).unwrap_or(var.len());
        let (name, off) = var.split_at(split);
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err((tok.col, format!("bad variable name in `{text}`")));
        }
        let offset = if off.is_empty() {
            0
        } else {
            let digits = &off[1..];
            let n: i64 = digits
                .parse()
                .map_err(|_| (tok.col, format!("bad offset in `{text}`")))?;
            if off.starts_with('-') {
                -n
            } else {
                n
            }
        };
        return Ok(Value::Var {
            name: name.to_string(),
            offset,
        });
    }
    lit(text)
        .map(Value::Exact)
        .ok_or_else(|| (tok.col, format!("bad value `{text}`")))
}

/// Parses a numeric value that must fit `bits` bits.
pub(crate) fn num(tok: &Token<'_>, dir: Dir, bits: u32) -> Result<Value<u64>, ColError> {
    value(tok, dir, |t| num_lit(t, bits)).map_err(|(col, msg)| {
        if msg.starts_with("bad value") {
            (
                col,
                format!("{msg} (want a number below 2^{bits}, `*` or `$var`)"),
            )
        } else {
            (col, msg)
        }
    })
}

/// A decimal or `0x` hexadecimal number that fits `bits` bits.
pub(crate) fn num_lit(text: &str, bits: u32) -> Option<u64> {
    let n = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => text.parse().ok()?,
    };
    (n <= crate::value::mask(bits)).then_some(n)
}

/// An Ethernet address literal.
pub(crate) fn mac_lit(text: &str) -> Option<Mac> {
    Mac::parse(text)
}

/// A dotted IPv4 address literal.
pub(crate) fn ip_lit(text: &str) -> Option<Ipv4Addr> {
    text.parse().ok()
}

/// Parses a payload value for direction `dir`.
pub(crate) fn payload(tok: &Token<'_>, dir: Dir) -> Result<PayloadSpec, ColError> {
    let p = PayloadSpec::parse(tok.text).map_err(|m| (tok.col, m))?;
    check_payload(&p, dir).map_err(|m| (tok.col, m))?;
    Ok(p)
}

/// Refuses `*` in an injected payload.
pub(crate) fn check_payload(p: &PayloadSpec, dir: Dir) -> Result<(), String> {
    if dir == Dir::In && *p == PayloadSpec::Any {
        return Err("`*` cannot be sent: give bytes".to_string());
    }
    Ok(())
}

/// Parses a checksum value: `valid`, `bad`, `zero`, `*` or a number.
pub(crate) fn csum(tok: &Token<'_>, dir: Dir) -> Result<CsumSpec, ColError> {
    Ok(match tok.text {
        "valid" => CsumSpec::Valid,
        "bad" => CsumSpec::Bad,
        "zero" => CsumSpec::Zero,
        "*" if dir == Dir::Out => CsumSpec::Any,
        t => CsumSpec::Exact(
            num_lit(t, 16)
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| {
                    (
                        tok.col,
                        format!("bad checksum `{t}` (want valid, bad, zero, a number, or * when expected)"),
                    )
                })?,
        ),
    })
}
