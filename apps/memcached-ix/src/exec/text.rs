//! Text protocol requests against the store.

use super::{stats, Ctx, Next, Origin, Pending};
use crate::stats::ThreadStats;
use crate::store::{ArithOutcome, DeleteOutcome, Mode, StoreOutcome};
use crate::text::{self, Command, StoreKind};
use ix_nic::BufPool;
use std::sync::atomic::Ordering;

/// "SERVER_ERROR object too large for cache".
pub const TOO_LARGE: &str = "SERVER_ERROR object too large for cache";
/// "SERVER_ERROR out of memory storing object".
pub const NO_MEMORY: &str = "SERVER_ERROR out of memory storing object";
/// "CLIENT_ERROR bad data chunk".
pub const BAD_CHUNK: &str = "CLIENT_ERROR bad data chunk";

/// Runs one text request line (without its line ending).
pub fn text_line<P, SP>(line: &[u8], cx: &mut Ctx<'_, P, SP>) -> Next<SP>
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let cmd = match text::parse(line) {
        Ok(c) => c,
        Err(r) => {
            if !r.noreply {
                cx.line(r.reply);
            }
            return r.swallow.map_or(Next::Continue, |n| Next::Swallow(n + 2));
        }
    };
    let now = cx.now;
    let clock = cx.store.clock();
    match cmd {
        Command::Get { keys, cas } => {
            for key in keys.iter() {
                let hit = cx.store.get(key, now);
                cx.stats.detail.record_get(key, hit.is_some());
                count_get(hit.is_some(), cx);
                get_one(key, hit, cas, cx);
            }
            cx.put(b"END\r\n");
        }
        Command::Gat { exptime, keys, cas } => {
            let e = clock.expiry(i64::from(exptime), now);
            for key in keys.iter() {
                ThreadStats::add(&cx.thread.cmd_touch, 1);
                let hit = cx.store.touch(key, e, now);
                cx.stats.detail.record_get(key, hit.is_some());
                let c = if hit.is_some() {
                    &cx.thread.touch_hits
                } else {
                    &cx.thread.touch_misses
                };
                ThreadStats::add(c, 1);
                get_one(key, hit, cas, cx);
            }
            cx.put(b"END\r\n");
        }
        Command::Store {
            kind,
            key,
            flags,
            exptime,
            bytes,
            noreply,
        } => {
            let (mode, cas) = match kind {
                StoreKind::Plain(m) => (m, 0),
                StoreKind::Cas(c) => (Mode::Set, c),
            };
            // memcached counts the command, whatever becomes of it.
            cx.stats.detail.record_set(key);
            if !cx.store.fits(key.len(), bytes) {
                ThreadStats::add(&cx.thread.store_too_large, 1);
                if !noreply {
                    cx.line(TOO_LARGE);
                }
                // memcached drops the old value rather than keep serving stale data.
                if mode == Mode::Set {
                    cx.store.delete(key, 0, now);
                }
                return Next::Swallow(bytes + 2);
            }
            let origin = Origin::Text {
                noreply,
                is_cas: matches!(kind, StoreKind::Cas(_)),
            };
            let e = clock.expiry(i64::from(exptime), now);
            let block = cx.store.pool().buf_capacity();
            return Next::Data(Pending::new(origin, key, mode, flags, e, cas, bytes, block));
        }
        Command::Delete { key, noreply } => {
            cx.stats.detail.record_delete(key);
            let r = cx.store.delete(key, 0, now);
            let (c, reply) = match r {
                DeleteOutcome::Deleted => (&cx.thread.delete_hits, "DELETED"),
                _ => (&cx.thread.delete_misses, "NOT_FOUND"),
            };
            ThreadStats::add(c, 1);
            if !noreply {
                cx.line(reply);
            }
        }
        Command::Arith {
            incr,
            key,
            delta,
            noreply,
        } => {
            let r = cx.store.arith(key, incr, delta, 0, None, now);
            let t = cx.thread;
            let (hits, misses) = if incr {
                (&t.incr_hits, &t.incr_misses)
            } else {
                (&t.decr_hits, &t.decr_misses)
            };
            match r {
                ArithOutcome::Value(v, _) => {
                    ThreadStats::add(hits, 1);
                    if !noreply {
                        cx.fmt(format_args!("{v}\r\n"));
                    }
                }
                ArithOutcome::NotFound => {
                    ThreadStats::add(misses, 1);
                    if !noreply {
                        cx.line("NOT_FOUND");
                    }
                }
                ArithOutcome::NonNumeric if !noreply => {
                    cx.line("CLIENT_ERROR cannot increment or decrement non-numeric value")
                }
                ArithOutcome::NonNumeric => {}
                ArithOutcome::Exists => cx.line("EXISTS"),
                ArithOutcome::NoMemory => cx.line(NO_MEMORY),
            }
        }
        Command::Touch {
            key,
            exptime,
            noreply,
        } => {
            ThreadStats::add(&cx.thread.cmd_touch, 1);
            let hit = cx
                .store
                .touch(key, clock.expiry(i64::from(exptime), now), now);
            let (c, reply) = if hit.is_some() {
                (&cx.thread.touch_hits, "TOUCHED")
            } else {
                (&cx.thread.touch_misses, "NOT_FOUND")
            };
            ThreadStats::add(c, 1);
            if !noreply {
                cx.line(reply);
            }
        }
        Command::FlushAll { delay, noreply } => {
            ThreadStats::add(&cx.thread.cmd_flush, 1);
            let at = if delay > 0 {
                clock.expiry(i64::from(delay), now)
            } else {
                0
            };
            cx.store.flush(at, now);
            if !noreply {
                cx.line("OK");
            }
        }
        Command::Version => cx.fmt(format_args!("VERSION {}\r\n", crate::VERSION)),
        Command::Verbosity { level, noreply } => {
            // memcached caps the level at its highest, 2.
            cx.stats.verbosity.store(level.min(2), Ordering::Relaxed);
            if !noreply {
                cx.line("OK");
            }
        }
        Command::Quit | Command::Close => return Next::Close,
        Command::Stats { group, arg } => stats::text(group, arg, cx),
        Command::Shutdown => cx.line("ERROR: shutdown not enabled"),
        Command::MemLimit { megabytes, noreply } => super::admin::memlimit(megabytes, noreply, cx),
        Command::Admin(line) => super::admin::run(line, cx),
        Command::Meta(line) => return super::meta::run(line, cx),
    }
    Next::Continue
}

/// Counts one key of a get/gets (gat/gats count as touches only, as memcached).
fn count_get<P, SP>(hit: bool, cx: &mut Ctx<'_, P, SP>)
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    ThreadStats::add(&cx.thread.cmd_get, 1);
    let c = if hit {
        &cx.thread.get_hits
    } else {
        &cx.thread.get_misses
    };
    ThreadStats::add(c, 1);
}

/// Answers one key of a get/gets/gat/gats: the header line, the value by
/// reference, "\r\n".
fn get_one<P, SP>(
    key: &[u8],
    hit: Option<crate::store::Hit<SP::Shared>>,
    cas: bool,
    cx: &mut Ctx<'_, P, SP>,
) where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let Some(hit) = hit else {
        return;
    };
    let it = &hit.item;
    cx.put(b"VALUE ");
    cx.put(key);
    if cas {
        cx.fmt(format_args!(
            " {} {} {}\r\n",
            it.flags,
            it.value.len(),
            it.cas
        ));
    } else {
        cx.fmt(format_args!(" {} {}\r\n", it.flags, it.value.len()));
    }
    cx.out.value(&it.value);
    cx.put(b"\r\n");
}

/// Answers a text storage command.
pub fn store_reply<P, SP>(
    outcome: Option<StoreOutcome>,
    noreply: bool,
    is_cas: bool,
    cx: &mut Ctx<'_, P, SP>,
) where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let _ = is_cas;
    let (reply, always) = match outcome {
        None => (BAD_CHUNK, false),
        Some(StoreOutcome::Stored(_)) => ("STORED", false),
        Some(StoreOutcome::NotStored) => ("NOT_STORED", false),
        Some(StoreOutcome::Exists) => ("EXISTS", false),
        Some(StoreOutcome::NotFound) => ("NOT_FOUND", false),
        Some(StoreOutcome::TooLarge) => (TOO_LARGE, false),
        Some(StoreOutcome::NoMemory) => (NO_MEMORY, true),
    };
    if !noreply || always {
        cx.line(reply);
    }
}
