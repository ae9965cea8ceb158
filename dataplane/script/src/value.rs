//! Field values in a script: a literal, `*` (any value), or a `$variable`.
//!
//! Variables are how the format grows to TCP without a rewrite: an expectation that
//! names an unbound variable binds it to what the stack sent (`seq=$isn`), and later
//! lines use it with an offset (`ack=$isn+1`). The harness binds `$sut_mac`,
//! `$peer_mac`, `$sut_ip` and `$peer_ip` before a script starts.

use core::fmt;
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// An Ethernet address, shown as `02:00:00:00:00:01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// The broadcast address `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: Mac = Mac([0xff; 6]);
    /// The all-zero address, what ARP requests carry as the unknown target.
    pub const ZERO: Mac = Mac([0; 6]);

    /// Parses `aa:bb:cc:dd:ee:ff` (exactly six hex pairs); `None` otherwise.
    pub fn parse(text: &str) -> Option<Mac> {
        let mut out = [0u8; 6];
        let mut parts = text.split(':');
        for byte in &mut out {
            let part = parts.next()?;
            if part.len() != 2 {
                return None;
            }
            *byte = u8::from_str_radix(part, 16).ok()?;
        }
        parts.next().is_none().then_some(Mac(out))
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// A field value as written in a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<T> {
    /// Exactly this value.
    Exact(T),
    /// `*`: any value matches (only meaningful in expectations).
    Any,
    /// `$name` or `$name+offset`: a variable, bound by the harness or by the first
    /// expectation that matches it.
    Var {
        /// The variable's name, without the `$`.
        name: String,
        /// Added to the bound value (numbers only; wraps at the field's width).
        offset: i64,
    },
}

impl<T> Value<T> {
    /// The variable `$name` with no offset.
    pub fn var(name: &str) -> Self {
        Value::Var {
            name: name.to_string(),
            offset: 0,
        }
    }
}

impl<T: fmt::Display> fmt::Display for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Exact(v) => v.fmt(f),
            Value::Any => f.write_str("*"),
            Value::Var { name, offset: 0 } => write!(f, "${name}"),
            Value::Var { name, offset } => write!(f, "${name}{offset:+}"),
        }
    }
}

/// What a variable is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// A number (ports, sequence numbers, identifiers).
    Num(u64),
    /// An Ethernet address.
    Mac(Mac),
    /// An IPv4 address.
    Ip(Ipv4Addr),
}

/// A type a field can have: how it is bound, shown and offset.
pub trait FieldType: Copy + PartialEq + fmt::Display {
    /// What the type is called in error messages.
    const KIND: &'static str;
    /// The value as a binding.
    fn to_bound(self) -> Bound;
    /// The value of a binding, if it has this type.
    fn from_bound(b: Bound) -> Option<Self>;
    /// `self + offset` wrapped to `bits` bits; `None` if the type has no arithmetic.
    fn offset(self, offset: i64, bits: u32) -> Option<Self>;
}

impl FieldType for u64 {
    const KIND: &'static str = "number";
    fn to_bound(self) -> Bound {
        Bound::Num(self)
    }
    fn from_bound(b: Bound) -> Option<Self> {
        match b {
            Bound::Num(n) => Some(n),
            _ => None,
        }
    }
    fn offset(self, offset: i64, bits: u32) -> Option<Self> {
        // Two's-complement wrapping is exactly sequence-number arithmetic modulo 2^bits.
        Some(self.wrapping_add(offset as u64) & mask(bits))
    }
}

impl FieldType for Mac {
    const KIND: &'static str = "Ethernet address";
    fn to_bound(self) -> Bound {
        Bound::Mac(self)
    }
    fn from_bound(b: Bound) -> Option<Self> {
        match b {
            Bound::Mac(m) => Some(m),
            _ => None,
        }
    }
    fn offset(self, offset: i64, _bits: u32) -> Option<Self> {
        (offset == 0).then_some(self)
    }
}

impl FieldType for Ipv4Addr {
    const KIND: &'static str = "IPv4 address";
    fn to_bound(self) -> Bound {
        Bound::Ip(self)
    }
    fn from_bound(b: Bound) -> Option<Self> {
        match b {
            Bound::Ip(a) => Some(a),
            _ => None,
        }
    }
    fn offset(self, offset: i64, _bits: u32) -> Option<Self> {
        (offset == 0).then_some(self)
    }
}

/// The all-ones mask of a `bits`-wide field (`bits` ≤ 64).
pub fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// The variables of one run of a script.
#[derive(Debug, Clone, Default)]
pub struct Bindings(HashMap<String, Bound>);

impl Bindings {
    /// Binds `name` to `value`, replacing any earlier binding.
    pub fn bind(&mut self, name: &str, value: Bound) {
        self.0.insert(name.to_string(), value);
    }

    /// The binding of `name`, if any.
    pub fn get(&self, name: &str) -> Option<Bound> {
        self.0.get(name).copied()
    }

    /// The concrete value of `v` for a frame to inject; errors on `*` and on unbound or
    /// mistyped variables.
    pub fn resolve<T: FieldType>(&self, v: &Value<T>, bits: u32) -> Result<T, String> {
        match v {
            Value::Exact(x) => Ok(*x),
            Value::Any => Err("`*` has no value to send".to_string()),
            Value::Var { name, offset } => {
                let bound = self
                    .get(name)
                    .ok_or_else(|| format!("variable `${name}` is not bound yet"))?;
                let base = T::from_bound(bound)
                    .ok_or_else(|| format!("variable `${name}` is not a {}", T::KIND))?;
                base.offset(*offset, bits)
                    .ok_or_else(|| format!("`${name}` cannot take an offset"))
            }
        }
    }

    /// Whether `actual` satisfies `v`, binding an unbound variable to make it so.
    ///
    /// On a mismatch, returns the expected value as text for the diff.
    pub fn check<T: FieldType>(
        &mut self,
        v: &Value<T>,
        actual: T,
        bits: u32,
    ) -> Result<(), String> {
        match v {
            Value::Any => Ok(()),
            Value::Exact(x) if *x == actual => Ok(()),
            Value::Exact(x) => Err(x.to_string()),
            Value::Var { name, offset } => match self.get(name) {
                Some(bound) => {
                    let want = T::from_bound(bound)
                        .and_then(|b| b.offset(*offset, bits))
                        .ok_or_else(|| format!("${name} (not a {})", T::KIND))?;
                    if want == actual {
                        Ok(())
                    } else {
                        Err(format!("{want} (= {v})"))
                    }
                }
                None => {
                    // Bind so that `$name+offset` equals what was seen.
                    let base = actual
                        .offset(offset.wrapping_neg(), bits)
                        .ok_or_else(|| format!("${name} cannot take an offset"))?;
                    self.bind(name, base.to_bound());
                    Ok(())
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parse_and_show() {
        let m = Mac::parse("02:00:0a:ff:00:01").unwrap();
        assert_eq!(m.to_string(), "02:00:0a:ff:00:01");
        assert!(Mac::parse("02:00:0a:ff:00").is_none());
        assert!(Mac::parse("02:00:0a:ff:00:01:02").is_none());
        assert!(Mac::parse("2:00:0a:ff:00:01").is_none());
        assert!(Mac::parse("zz:00:0a:ff:00:01").is_none());
    }

    #[test]
    fn variables_bind_on_first_match_then_compare() {
        let mut b = Bindings::default();
        let isn_plus_1 = Value::<u64>::Var {
            name: "isn".into(),
            offset: 1,
        };
        b.check(&isn_plus_1, 0, 32).unwrap();
        assert_eq!(
            b.get("isn"),
            Some(Bound::Num(0xffff_ffff)),
            "wraps at 32 bits"
        );
        assert_eq!(
            b.resolve(&Value::<u64>::var("isn"), 32).unwrap(),
            0xffff_ffff
        );
        assert!(b.check(&isn_plus_1, 0, 32).is_ok());
        assert!(b.check(&isn_plus_1, 1, 32).is_err());
    }

    #[test]
    fn resolve_refuses_any_unbound_and_mistyped() {
        let mut b = Bindings::default();
        assert!(b.resolve(&Value::<u64>::Any, 8).is_err());
        assert!(b.resolve(&Value::<u64>::var("x"), 8).is_err());
        b.bind("m", Bound::Mac(Mac::ZERO));
        assert!(b.resolve(&Value::<u64>::var("m"), 8).is_err());
        assert_eq!(b.resolve(&Value::<Mac>::var("m"), 48).unwrap(), Mac::ZERO);
    }

    #[test]
    fn exact_mismatch_reports_expected_value() {
        let mut b = Bindings::default();
        assert_eq!(b.check(&Value::Exact(64u64), 255, 8), Err("64".to_string()));
        assert_eq!(
            Value::<u64>::Var {
                name: "a".into(),
                offset: -2
            }
            .to_string(),
            "$a-2"
        );
    }
}
