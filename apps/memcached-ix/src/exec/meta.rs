//! Meta protocol requests (mg, ms, md, ma, mn, me) against the store. Return
//! flags are echoed in the order the request gave them.

use super::text::{BAD_CHUNK, NO_MEMORY, TOO_LARGE};
use super::{Ctx, Next, Origin, Pending};
use crate::meta::{self, Flags, Kind};
use crate::stats::ThreadStats;
use crate::store::{ArithOutcome, DeleteOutcome, Hit, MetaHit, MetaStep, Mode, StoreOutcome};
use ix_nic::BufPool;

/// What the return flags can report about an item.
#[derive(Debug, Default, Clone, Copy)]
struct Info {
    cas: Option<u64>,
    flags: Option<u32>,
    size: Option<usize>,
    ttl: Option<i64>,
    hit_before: Option<bool>,
    last_access: Option<u32>,
}

fn ttl_of(exptime: u32, now: u32) -> i64 {
    if exptime == 0 {
        -1
    } else {
        i64::from(exptime) - i64::from(now)
    }
}

fn info_of<S: ix_nic::SharedBuf>(h: &Hit<S>, now: u32) -> Info {
    Info {
        cas: Some(h.item.cas),
        flags: Some(h.item.flags),
        size: Some(h.item.value.len()),
        ttl: Some(ttl_of(h.exptime, now)),
        hit_before: Some(h.fetched),
        last_access: Some(now.saturating_sub(h.last_access)),
    }
}

/// Writes the return flags (each preceded by a space) and "\r\n".
fn ret_flags<P, SP>(flags: &Flags<'_>, key: &[u8], info: Info, cx: &mut Ctx<'_, P, SP>)
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    ret_flags_marked(flags, key, info, None, cx);
}

/// [`ret_flags`], then mg's marks in memcached's order: Z (a token went to an
/// earlier client), X (stale), W (this client won the token).
fn ret_flags_marked<P, SP>(
    flags: &Flags<'_>,
    key: &[u8],
    info: Info,
    marks: Option<&MetaHit<SP::Shared>>,
    cx: &mut Ctx<'_, P, SP>,
) where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    for f in flags.iter() {
        match f.letter {
            b'O' => {
                cx.put(b" O");
                cx.put(f.token);
            }
            // A base64 key is echoed encoded, followed by memcached's " b".
            b'k' if flags.base64 => {
                let mut enc = [0u8; 344];
                let n = meta::base64_encode(key, &mut enc);
                cx.put(b" k");
                cx.put(&enc[..n]);
                cx.put(b" b");
            }
            b'k' => {
                cx.put(b" k");
                cx.put(key);
            }
            b'c' if info.cas.is_some() => cx.fmt(format_args!(" c{}", info.cas.unwrap_or(0))),
            b'f' if info.flags.is_some() => cx.fmt(format_args!(" f{}", info.flags.unwrap_or(0))),
            b's' if info.size.is_some() => cx.fmt(format_args!(" s{}", info.size.unwrap_or(0))),
            b't' if info.ttl.is_some() => cx.fmt(format_args!(" t{}", info.ttl.unwrap_or(-1))),
            b'h' if info.hit_before.is_some() => cx.fmt(format_args!(
                " h{}",
                u8::from(info.hit_before.unwrap_or(false))
            )),
            b'l' if info.last_access.is_some() => {
                cx.fmt(format_args!(" l{}", info.last_access.unwrap_or(0)))
            }
            _ => {}
        }
    }
    if let Some(m) = marks {
        if m.token_was_sent {
            cx.put(b" Z");
        }
        if m.stale {
            cx.put(b" X");
        }
        if m.won {
            cx.put(b" W");
        }
    }
    cx.put(b"\r\n");
}

/// The key to look up: decoded when the `b` flag says it is base64.
fn lookup_key<'k>(m: &meta::MetaCmd<'k>, buf: &'k mut [u8; 256]) -> Option<&'k [u8]> {
    if !m.flags.base64 {
        return Some(m.key);
    }
    let n = meta::base64_decode(m.key, buf)?;
    Some(&buf[..n])
}

/// Runs one meta request line.
pub fn run<P, SP>(line: &[u8], cx: &mut Ctx<'_, P, SP>) -> Next<SP>
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let m = match meta::parse(line) {
        Ok(m) => m,
        Err(e) => {
            cx.line(e.reply);
            return e.swallow.map_or(Next::Continue, |n| Next::Swallow(n + 2));
        }
    };
    ThreadStats::add(&cx.thread.cmd_meta, 1);
    let now = cx.now;
    let clock = cx.store.clock();
    let f = m.flags;
    let mut buf = [0u8; 256];
    let Some(key) = lookup_key(&m, &mut buf) else {
        cx.line("CLIENT_ERROR error decoding key");
        return match m.kind {
            Kind::Set => Next::Swallow(m.datalen + 2),
            _ => Next::Continue,
        };
    };
    match m.kind {
        Kind::Noop => cx.put(b"MN\r\n"),
        Kind::Get => return get(&m, key, cx),
        Kind::Set => {
            if !cx.store.fits(key.len(), m.datalen) {
                ThreadStats::add(&cx.thread.store_too_large, 1);
                cx.line(TOO_LARGE);
                return Next::Swallow(m.datalen + 2);
            }
            let mode = f.mode.and_then(meta::set_mode).unwrap_or(Mode::Set);
            let e = clock.expiry(i64::from(f.ttl.unwrap_or(0)), now);
            let origin = Origin::Meta {
                line: line.to_vec(),
            };
            let block = cx.store.pool().buf_capacity();
            let flags = f.client_flags.unwrap_or(0);
            let cas = f.compare_cas.unwrap_or(0);
            let mut p = Pending::new(origin, key, mode, flags, e, cas, m.datalen, block);
            p.invalidate(f.invalidate);
            return Next::Data(p);
        }
        Kind::Delete => {
            let cas = f.compare_cas.unwrap_or(0);
            let outcome = if f.invalidate {
                // Marked stale, not deleted: memcached counts no delete hit.
                let ttl = f.ttl.map(|t| clock.expiry(i64::from(t), now));
                cx.store.invalidate(key, cas, ttl, now)
            } else {
                cx.store.delete(key, cas, now)
            };
            let (c, reply) = match outcome {
                DeleteOutcome::Deleted => (&cx.thread.delete_hits, "HD"),
                DeleteOutcome::NotFound => (&cx.thread.delete_misses, "NF"),
                DeleteOutcome::Exists => (&cx.thread.delete_misses, "EX"),
            };
            if !(f.invalidate && reply == "HD") {
                ThreadStats::add(c, 1);
            }
            if !(f.quiet && reply == "HD") {
                cx.put(reply.as_bytes());
                ret_flags(&f, key, Info::default(), cx);
            }
        }
        Kind::Arith => arith(&m, key, cx),
        Kind::Debug => match cx.store.peek(key, now) {
            None => cx.put(b"EN\r\n"),
            Some(h) => {
                cx.put(b"ME ");
                cx.put(m.key);
                cx.fmt(format_args!(
                    " exp={} la={} cas={} fetch={} cls=1 size={}\r\n",
                    ttl_of(h.exptime, now),
                    now.saturating_sub(h.last_access),
                    h.item.cas,
                    if h.fetched { "yes" } else { "no" },
                    h.item.size
                ));
            }
        },
    }
    Next::Continue
}

/// `mg`: T, N, R and `t` in request order; a miss without N is EN.
fn get<P, SP>(m: &meta::MetaCmd<'_>, key: &[u8], cx: &mut Ctx<'_, P, SP>) -> Next<SP>
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let f = m.flags;
    let now = cx.now;
    let clock = cx.store.clock();
    let expiry = |t: Option<i32>| clock.expiry(i64::from(t.unwrap_or(0)), now);
    // Each letter appears at most once (duplicates are refused): four steps.
    let mut steps = [MetaStep::Report; 4];
    let mut n = 0;
    for fl in f.iter() {
        let step = match fl.letter {
            b'T' => MetaStep::Ttl(expiry(f.ttl)),
            b'N' => MetaStep::Vivify(expiry(f.vivify)),
            b'R' => MetaStep::Recache(expiry(f.recache)),
            b't' => MetaStep::Report,
            _ => continue,
        };
        if let Some(slot) = steps.get_mut(n) {
            *slot = step;
            n += 1;
        }
    }
    let Some(mh) = cx.store.meta_get(key, &steps[..n], f.vivify.is_some(), now) else {
        // memcached 1.6.18 counts a miss as a get miss, T or not.
        ThreadStats::add(&cx.thread.cmd_get, 1);
        ThreadStats::add(&cx.thread.get_misses, 1);
        if !f.quiet {
            cx.put(b"EN\r\n");
        }
        return Next::Continue;
    };
    // A hit with T counts as a touch only (not a get), as in memcached 1.6.18.
    if mh.ttl_set {
        ThreadStats::add(&cx.thread.cmd_touch, 1);
        ThreadStats::add(&cx.thread.touch_hits, 1);
    } else {
        ThreadStats::add(&cx.thread.cmd_get, 1);
        ThreadStats::add(&cx.thread.get_hits, 1);
    }
    let mut info = info_of(&mh.hit, now);
    // memcached prints the TTL as an unsigned difference: one already past (an
    // N or T of -1) shows as a large number.
    info.ttl = Some(match mh.reported_exptime {
        0 => -1,
        e => i64::from(e.wrapping_sub(now)),
    });
    let value = &mh.hit.item.value;
    if f.value {
        cx.fmt(format_args!("VA {}", value.len()));
        ret_flags_marked(&f, key, info, Some(&mh), cx);
        cx.out.value(value);
        cx.put(b"\r\n");
    } else {
        cx.put(b"HD");
        ret_flags_marked(&f, key, info, Some(&mh), cx);
    }
    Next::Continue
}

fn arith<P, SP>(m: &meta::MetaCmd<'_>, key: &[u8], cx: &mut Ctx<'_, P, SP>)
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let f = m.flags;
    let now = cx.now;
    let clock = cx.store.clock();
    let incr = meta::arith_incr(f.mode);
    let create = f
        .vivify
        .map(|ttl| (f.initial.unwrap_or(0), clock.expiry(i64::from(ttl), now)));
    let r = cx.store.arith(
        key,
        incr,
        f.delta.unwrap_or(1),
        f.compare_cas.unwrap_or(0),
        create,
        now,
    );
    let t = cx.thread;
    let (hits, misses) = if incr {
        (&t.incr_hits, &t.incr_misses)
    } else {
        (&t.decr_hits, &t.decr_misses)
    };
    match r {
        ArithOutcome::Value(v, cas) => {
            ThreadStats::add(hits, 1);
            if let Some(ttl) = f.ttl {
                cx.store.touch(key, clock.expiry(i64::from(ttl), now), now);
            }
            let exptime = cx.store.peek(key, now).map_or(0, |h| h.exptime);
            let info = Info {
                cas: Some(cas),
                ttl: Some(ttl_of(exptime, now)),
                ..Info::default()
            };
            if f.value {
                let mut digits = [0u8; 20];
                let n = crate::num::write_u64(&mut digits, v);
                cx.fmt(format_args!("VA {n}"));
                ret_flags(&f, key, info, cx);
                cx.put(&digits[..n]);
                cx.put(b"\r\n");
            } else if !f.quiet {
                cx.put(b"HD");
                ret_flags(&f, key, info, cx);
            }
        }
        ArithOutcome::NotFound => {
            ThreadStats::add(misses, 1);
            cx.put(b"NF");
            ret_flags(&f, key, Info::default(), cx);
        }
        ArithOutcome::NonNumeric => {
            cx.line("CLIENT_ERROR cannot increment or decrement non-numeric value")
        }
        ArithOutcome::Exists => {
            cx.put(b"EX");
            ret_flags(&f, key, Info::default(), cx);
        }
        ArithOutcome::NoMemory => cx.line(NO_MEMORY),
    }
}

/// Answers an `ms` whose value has arrived.
pub fn store_reply<P, SP>(
    line: &[u8],
    key: &[u8],
    outcome: Option<StoreOutcome>,
    cx: &mut Ctx<'_, P, SP>,
) where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let _ = key;
    let Ok(m) = meta::parse(line) else {
        return;
    };
    let (reply, info) = match outcome {
        None => return cx.line(BAD_CHUNK),
        Some(StoreOutcome::TooLarge) => return cx.line(TOO_LARGE),
        Some(StoreOutcome::NoMemory) => return cx.line(NO_MEMORY),
        Some(StoreOutcome::Stored(cas)) => (
            "HD",
            Info {
                cas: Some(cas),
                ..Info::default()
            },
        ),
        // memcached echoes `c` with 0 when nothing was stored.
        Some(o @ (StoreOutcome::NotStored | StoreOutcome::Exists | StoreOutcome::NotFound)) => (
            match o {
                StoreOutcome::NotStored => "NS",
                StoreOutcome::Exists => "EX",
                _ => "NF",
            },
            Info {
                cas: Some(0),
                ..Info::default()
            },
        ),
    };
    if m.flags.quiet && reply == "HD" {
        return;
    }
    cx.put(reply.as_bytes());
    let mut buf = [0u8; 256];
    let key = lookup_key(&m, &mut buf).unwrap_or(m.key);
    ret_flags(&m.flags, key, info, cx);
}
