//! The line protocol between `l2bench` and its role processes: a role prints
//! `READY key=value ...` once it can be used and `RESULT key=value ...` with
//! its figures; everything else it prints (DPDK's logs) goes to stderr.

use std::collections::BTreeMap;

use anyhow::{anyhow, Context, Result};

/// Formats a tagged line: `TAG k1=v1 k2=v2`.
pub fn line(tag: &str, fields: &[(&str, String)]) -> String {
    let mut out = tag.to_owned();
    for (key, value) in fields {
        out.push(' ');
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// The fields of one tagged line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fields {
    tag: String,
    fields: BTreeMap<String, String>,
}

impl Fields {
    /// Parses `line` if it starts with `tag` (as a whole word); `None` otherwise.
    /// Words without `=` are ignored.
    pub fn parse(line: &str, tag: &str) -> Option<Fields> {
        let mut words = line.split_whitespace();
        if words.next()? != tag {
            return None;
        }
        let fields = words
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Some(Fields {
            tag: tag.to_owned(),
            fields,
        })
    }

    /// The raw value of `key`.
    pub fn str(&self, key: &str) -> Result<&str> {
        self.fields
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| anyhow!("{} line has no field {key:?}", self.tag))
    }

    /// `key` as an unsigned integer.
    pub fn u64(&self, key: &str) -> Result<u64> {
        let v = self.str(key)?;
        v.parse()
            .with_context(|| format!("{} field {key}={v:?} is not an integer", self.tag))
    }

    /// `key` as a float.
    pub fn f64(&self, key: &str) -> Result<f64> {
        let v = self.str(key)?;
        v.parse()
            .with_context(|| format!("{} field {key}={v:?} is not a number", self.tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let l = line(
            "RESULT",
            &[("received", "123".to_owned()), ("secs", "2.5".to_owned())],
        );
        assert_eq!(l, "RESULT received=123 secs=2.5");
        let f = Fields::parse(&l, "RESULT").unwrap();
        assert_eq!(f.u64("received").unwrap(), 123);
        assert_eq!(f.f64("secs").unwrap(), 2.5);
        assert!(f.u64("secs").is_err());
        let err = f.u64("missing").unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
    }

    #[test]
    fn other_lines_are_not_parsed() {
        assert!(Fields::parse("READY mac=x", "RESULT").is_none());
        assert!(Fields::parse("RESULTS a=1", "RESULT").is_none());
        assert!(Fields::parse("", "RESULT").is_none());
        let f = Fields::parse("READY mac=02:00:00:00:00:01 noise", "READY").unwrap();
        assert_eq!(f.str("mac").unwrap(), "02:00:00:00:00:01");
    }
}
