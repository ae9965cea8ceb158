//! Binary protocol requests against the store.

use super::{stats, Ctx, Next, Origin, Pending};
use crate::binary::{self, Header, Request, Status};
use crate::stats::ThreadStats;
use crate::store::{ArithOutcome, DeleteOutcome, Mode, StoreOutcome, Value};
use ix_nic::BufPool;
use std::sync::atomic::Ordering;

/// Writes one response: header, extras, key, text body, then `value` by reference.
#[allow(clippy::too_many_arguments)]
fn respond<P, SP>(
    cx: &mut Ctx<'_, P, SP>,
    req: &Header,
    status: Status,
    extras: &[u8],
    key: &[u8],
    body: &[u8],
    value: Option<&Value<SP::Shared>>,
    cas: u64,
) where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let vlen = value.map_or(0, Value::len);
    let mut h = req.response(status);
    h.extlen = extras.len() as u8;
    h.keylen = key.len() as u16;
    h.bodylen = (extras.len() + key.len() + body.len() + vlen) as u32;
    h.cas = cas;
    cx.put(&h.emit());
    cx.put(extras);
    cx.put(key);
    cx.put(body);
    if let Some(v) = value {
        cx.out.value(v);
    }
}

/// Answers `req` with an error status and memcached's text for it.
pub fn bin_error<P, SP>(req: &Header, status: Status, cx: &mut Ctx<'_, P, SP>) -> Next<SP>
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    respond(cx, req, status, &[], &[], status.text().as_bytes(), None, 0);
    Next::Continue
}

/// Runs a binary request whose body (for storage: extras and key) has arrived.
pub fn binary<P, SP>(h: &Header, body: &[u8], cx: &mut Ctx<'_, P, SP>) -> Next<SP>
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let Ok(req) = binary::parse(h, body) else {
        return bin_error(h, Status::Einval, cx).then_close();
    };
    let now = cx.now;
    let clock = cx.store.clock();
    let t = cx.thread;
    match req {
        Request::Get {
            key,
            quiet,
            with_key,
        } => {
            ThreadStats::add(&t.cmd_get, 1);
            let hit = cx.store.get(key, now);
            cx.stats.detail.record_get(key, hit.is_some());
            match hit {
                Some(hit) => {
                    ThreadStats::add(&t.get_hits, 1);
                    let k: &[u8] = if with_key { key } else { &[] };
                    let flags = hit.item.flags.to_be_bytes();
                    respond(
                        cx,
                        h,
                        Status::Ok,
                        &flags,
                        k,
                        &[],
                        Some(&hit.item.value),
                        hit.item.cas,
                    );
                }
                None => {
                    ThreadStats::add(&t.get_misses, 1);
                    if !quiet {
                        if with_key {
                            respond(cx, h, Status::KeyEnoent, &[], key, &[], None, 0);
                        } else {
                            bin_error(h, Status::KeyEnoent, cx);
                        }
                    }
                }
            }
        }
        Request::Touch {
            key,
            exptime,
            value,
            quiet,
            with_key,
        } => {
            ThreadStats::add(&t.cmd_touch, 1);
            let hit = cx
                .store
                .touch(key, clock.expiry(i64::from(exptime), now), now);
            // memcached's binary touch and gat go through its get path.
            cx.stats.detail.record_get(key, hit.is_some());
            match hit {
                Some(hit) => {
                    ThreadStats::add(&t.touch_hits, 1);
                    let k: &[u8] = if with_key { key } else { &[] };
                    let flags = hit.item.flags.to_be_bytes();
                    let v = value.then_some(&hit.item.value);
                    respond(cx, h, Status::Ok, &flags, k, &[], v, hit.item.cas);
                }
                None => {
                    ThreadStats::add(&t.touch_misses, 1);
                    // gatk answers a miss with the key, as getk does.
                    if !quiet && with_key && value {
                        respond(cx, h, Status::KeyEnoent, &[], key, &[], None, 0);
                    } else if !quiet {
                        bin_error(h, Status::KeyEnoent, cx);
                    }
                }
            }
        }
        Request::Store {
            mode,
            quiet,
            flags,
            exptime,
            key,
            value_len,
        } => {
            cx.stats.detail.record_set(key);
            if !cx.store.fits(key.len(), value_len) {
                ThreadStats::add(&cx.thread.store_too_large, 1);
                if mode == Mode::Set {
                    cx.store.delete(key, 0, now);
                }
                bin_error(h, Status::E2big, cx);
                return Next::Swallow(value_len);
            }
            let e = clock.expiry(i64::from(exptime), now);
            let block = cx.store.pool().buf_capacity();
            let p = Pending::new(
                Origin::Binary { header: *h, quiet },
                key,
                mode,
                flags,
                e,
                h.cas,
                value_len,
                block,
            );
            if value_len == 0 {
                return super::finish_store(*p, cx);
            }
            return Next::Data(p);
        }
        Request::Delete { key, quiet } => {
            cx.stats.detail.record_delete(key);
            match cx.store.delete(key, h.cas, now) {
                DeleteOutcome::Deleted => {
                    ThreadStats::add(&t.delete_hits, 1);
                    if !quiet {
                        respond(cx, h, Status::Ok, &[], &[], &[], None, 0);
                    }
                }
                DeleteOutcome::NotFound => {
                    ThreadStats::add(&t.delete_misses, 1);
                    bin_error(h, Status::KeyEnoent, cx);
                }
                DeleteOutcome::Exists => {
                    bin_error(h, Status::KeyEexists, cx);
                }
            }
        }
        Request::Arith {
            incr,
            quiet,
            key,
            delta,
            initial,
            exptime,
        } => {
            let create =
                (exptime != u32::MAX).then(|| (initial, clock.expiry(i64::from(exptime), now)));
            let (hits, misses) = if incr {
                (&t.incr_hits, &t.incr_misses)
            } else {
                (&t.decr_hits, &t.decr_misses)
            };
            match cx.store.arith(key, incr, delta, h.cas, create, now) {
                ArithOutcome::Value(v, cas) => {
                    ThreadStats::add(hits, 1);
                    if !quiet {
                        respond(cx, h, Status::Ok, &[], &[], &v.to_be_bytes(), None, cas);
                    }
                }
                ArithOutcome::NotFound => {
                    ThreadStats::add(misses, 1);
                    bin_error(h, Status::KeyEnoent, cx);
                }
                ArithOutcome::NonNumeric => {
                    bin_error(h, Status::DeltaBadval, cx);
                }
                ArithOutcome::Exists => {
                    bin_error(h, Status::KeyEexists, cx);
                }
                ArithOutcome::NoMemory => {
                    bin_error(h, Status::Enomem, cx);
                }
            }
        }
        Request::Quit { quiet } => {
            if !quiet {
                respond(cx, h, Status::Ok, &[], &[], &[], None, 0);
            }
            return Next::Close;
        }
        Request::Flush { delay, quiet } => {
            ThreadStats::add(&t.cmd_flush, 1);
            let at = if delay > 0 {
                clock.expiry(i64::from(delay), now)
            } else {
                0
            };
            cx.store.flush(at, now);
            if !quiet {
                respond(cx, h, Status::Ok, &[], &[], &[], None, 0);
            }
        }
        Request::Noop => respond(cx, h, Status::Ok, &[], &[], &[], None, 0),
        Request::Version => respond(
            cx,
            h,
            Status::Ok,
            &[],
            &[],
            crate::VERSION.as_bytes(),
            None,
            0,
        ),
        Request::Verbosity => {
            let level = u32::from_be_bytes(
                body.get(..4)
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or([0; 4]),
            );
            cx.stats.verbosity.store(level, Ordering::Relaxed);
            respond(cx, h, Status::Ok, &[], &[], &[], None, 0);
        }
        Request::Stat { key } => {
            if key == b"reset" {
                for t in cx.stats.threads.iter() {
                    t.reset();
                }
            } else {
                let group = (!key.is_empty()).then_some(key);
                let Some(lines) = stats::collect(group, cx) else {
                    return bin_error(h, Status::KeyEnoent, cx);
                };
                for (k, v) in lines {
                    respond(cx, h, Status::Ok, &[], k.as_bytes(), v.as_bytes(), None, 0);
                }
            }
            respond(cx, h, Status::Ok, &[], &[], &[], None, 0);
        }
    }
    Next::Continue
}

/// Answers a binary storage command whose value has arrived.
pub fn store_reply<P, SP>(
    h: &Header,
    mode: Mode,
    quiet: bool,
    outcome: Option<StoreOutcome>,
    cx: &mut Ctx<'_, P, SP>,
) -> Next<SP>
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let status = match outcome {
        Some(StoreOutcome::Stored(cas)) => {
            if !quiet {
                respond(cx, h, Status::Ok, &[], &[], &[], None, cas);
            }
            return Next::Continue;
        }
        Some(StoreOutcome::NotStored) => match mode {
            Mode::Add => Status::KeyEexists,
            Mode::Replace => Status::KeyEnoent,
            _ => Status::NotStored,
        },
        Some(StoreOutcome::Exists) => Status::KeyEexists,
        Some(StoreOutcome::NotFound) => Status::KeyEnoent,
        Some(StoreOutcome::TooLarge) => Status::E2big,
        Some(StoreOutcome::NoMemory) | None => Status::Enomem,
    };
    bin_error(h, status, cx)
}
