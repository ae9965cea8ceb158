//! Compares a TCP segment with its expectation, options included.

use super::Matcher;
use crate::decode_tcp::Tcp;
use crate::spec::TcpSpec;
use crate::tcp_opts::{show_list, Opt, OptSpec, OptsSpec};
use crate::value::Value;

impl Matcher<'_, '_> {
    /// Compares a TCP segment.
    pub(super) fn tcp(&mut self, want: &TcpSpec, got: &Tcp<'_>) {
        self.num("sport", &want.sport, got.sport, 16);
        self.num("dport", &want.dport, got.dport, 16);
        if let Some(flags) = want.flags {
            if flags != got.flags {
                self.diff("flags", flags.to_string(), got.flags.to_string());
            }
        }
        self.num("seq", &want.seq, got.seq, 32);
        self.num("ack", &want.ack, got.ack, 32);
        self.num("win", &want.win, got.win, 16);
        self.num("urg", &want.urg, got.urg, 16);
        match &want.off {
            Some(off) => self.num("off", off, got.off, 4),
            None if got.bad_off => self.diff(
                "off",
                "a data offset within the segment",
                got.off.to_string(),
            ),
            None => {}
        }
        self.csum("csum", want.csum, got.csum, got.csum_ok);
        self.opts(&want.opts, got);
        if let Some(len) = &want.len {
            self.num("len", len, got.payload.len() as u64, 16);
        }
        self.payload("payload", &want.payload, got.payload);
    }

    /// Compares the options: exactly when the list pins padding, else as a set.
    fn opts(&mut self, want: &OptsSpec, got: &Tcp<'_>) {
        let list = match want {
            OptsSpec::Any => return,
            OptsSpec::Raw(p) => return self.payload("opts", p, got.opt_bytes),
            OptsSpec::List(list) => list,
        };
        let why = if OptsSpec::is_exact(list) {
            self.opts_exact(list, &got.opts)
        } else {
            self.opts_any_order(list, &got.opts)
        };
        if let Err(why) = why {
            self.diff(
                "opts",
                show_list(list),
                format!("{} ({why})", show_list(&got.opts)),
            );
        }
    }

    /// Item by item, padding included.
    fn opts_exact(&mut self, want: &[OptSpec], got: &[Opt]) -> Result<(), String> {
        if want.len() != got.len() {
            return Err(format!("{} options, not {}", got.len(), want.len()));
        }
        for (w, g) in want.iter().zip(got) {
            self.opt(w, g)?;
        }
        Ok(())
    }

    /// Every wanted option once, in any order; padding in the segment ignored.
    fn opts_any_order(&mut self, want: &[OptSpec], got: &[Opt]) -> Result<(), String> {
        let mut left: Vec<&Opt> = got.iter().filter(|o| !o.is_padding()).collect();
        for w in want {
            let Some(i) = left.iter().position(|g| same_kind(w, g)) else {
                return Err(format!("no {}", kind_name(w)));
            };
            let g = left.remove(i);
            self.opt(w, g)?;
        }
        match left.first() {
            None => Ok(()),
            Some(extra) => Err(format!("unexpected {extra}")),
        }
    }

    /// One option against its spec, binding variables on the way.
    fn opt(&mut self, want: &OptSpec, got: &Opt) -> Result<(), String> {
        let mut check = |name: &str, v: &Value<u64>, n: u64, bits: u32| {
            self.vars
                .check(v, n, bits)
                .map_err(|e| format!("{name}: expected {e}, got {n}"))
        };
        match (want, got) {
            (OptSpec::Nop, Opt::Nop)
            | (OptSpec::Eol, Opt::Eol)
            | (OptSpec::SackOk, Opt::SackOk) => Ok(()),
            (OptSpec::Mss(v), Opt::Mss(n)) => check("mss", v, u64::from(*n), 16),
            (OptSpec::Wscale(v), Opt::Wscale(n)) => check("wscale", v, u64::from(*n), 8),
            (OptSpec::Ts(v, e), Opt::Ts(gv, ge)) => {
                check("ts val", v, u64::from(*gv), 32)?;
                check("ts ecr", e, u64::from(*ge), 32)
            }
            (OptSpec::Sack(w), Opt::Sack(g)) => {
                if w.len() != g.len() {
                    return Err(format!("{} SACK blocks, not {}", g.len(), w.len()));
                }
                for ((wl, wr), (gl, gr)) in w.iter().zip(g) {
                    check("sack left", wl, u64::from(*gl), 32)?;
                    check("sack right", wr, u64::from(*gr), 32)?;
                }
                Ok(())
            }
            (OptSpec::Other(k, d), Opt::Other(gk, gd)) if k == gk && d == gd => Ok(()),
            (w, g) => Err(format!("{g} where {} was expected", kind_name(w))),
        }
    }
}

/// Whether a segment's option is of the kind a spec item names.
fn same_kind(want: &OptSpec, got: &Opt) -> bool {
    matches!(
        (want, got),
        (OptSpec::Nop, Opt::Nop)
            | (OptSpec::Eol, Opt::Eol)
            | (OptSpec::Mss(_), Opt::Mss(_))
            | (OptSpec::Wscale(_), Opt::Wscale(_))
            | (OptSpec::SackOk, Opt::SackOk)
            | (OptSpec::Ts(..), Opt::Ts(..))
            | (OptSpec::Sack(_), Opt::Sack(_))
    ) || matches!((want, got), (OptSpec::Other(k, _), Opt::Other(g, _)) if k == g)
}

/// The option's name, for messages.
fn kind_name(want: &OptSpec) -> String {
    match want {
        OptSpec::Other(k, _) => format!("option {k}"),
        other => other
            .to_string()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}
