//! memcached's administrative text commands: `cache_memlimit`, `lru_crawler`,
//! `slabs`, `lru`, with memcached 1.6.18's replies. What each one really does
//! here is said at each.

use super::Ctx;
use crate::num::{parse_i32, parse_u32};
use crate::text::{BAD_FORMAT, ERROR};
use crate::tunables::store_f64;
use ix_nic::BufPool;
use std::sync::atomic::Ordering;

/// `cache_memlimit MB [noreply]`: moves the store's memory limit (later stores
/// evict down to it).
pub fn memlimit<P, SP>(megabytes: &[u8], noreply: bool, cx: &mut Ctx<'_, P, SP>)
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let reply = match parse_u32(megabytes) {
        None => ERROR,
        Some(m) if m < 8 => "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m",
        Some(m) if m > 1_000_000_000 => "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes",
        Some(m) => {
            cx.store.set_limit(u64::from(m) << 20);
            "OK"
        }
    };
    if !noreply {
        cx.line(reply);
    }
}

/// `lru_crawler ...`, `slabs ...`, `lru ...` (the whole line).
pub fn run<P, SP>(line: &[u8], cx: &mut Ctx<'_, P, SP>)
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let toks: Vec<&[u8]> = line
        .split(|&b| b == b' ')
        .filter(|t| !t.is_empty())
        .take(24)
        .collect();
    // memcached's ntokens counts a final empty token.
    let ntokens = toks.len() + 1;
    let noreply = toks.len() >= 2 && toks[toks.len() - 1] == b"noreply";
    let reply = match toks[0] {
        b"lru_crawler" => crawler(&toks, ntokens, cx),
        b"slabs" => slabs(&toks, ntokens, cx),
        _ => lru(&toks, ntokens, cx),
    };
    if !noreply || toks[0] == b"lru_crawler" {
        cx.line(reply);
    }
}

fn crawler<P, SP>(toks: &[&[u8]], ntokens: usize, cx: &mut Ctx<'_, P, SP>) -> &'static str
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let t = &cx.stats.tunables;
    let enabled = t.crawler.load(Ordering::Relaxed);
    match (ntokens, toks.get(1).copied().unwrap_or_default()) {
        // A crawl runs at once over every shard, reclaiming expired and flushed
        // items (memcached's crawler does it in the background per slab class;
        // class ids are checked as memcached checks them).
        (4, b"crawl") if !enabled => "CLIENT_ERROR lru crawler disabled",
        (4, b"crawl") if !valid_classes(toks[2]) => "BADCLASS invalid class id",
        (4, b"crawl") => {
            cx.store.crawl(cx.now);
            "OK"
        }
        (4, b"metadump") if !enabled => "CLIENT_ERROR lru crawler disabled",
        (4, b"metadump") => "ERROR metadump not allowed",
        (4, b"tocrawl") => match parse_u32(toks[2]) {
            Some(n) => {
                t.crawler_tocrawl.store(n, Ordering::Relaxed);
                "OK"
            }
            None => BAD_FORMAT,
        },
        (4, b"sleep") => match parse_u32(toks[2]) {
            Some(n) if n > 1_000_000 => "CLIENT_ERROR sleep must be one second or less",
            Some(n) => {
                t.crawler_sleep.store(n, Ordering::Relaxed);
                "OK"
            }
            None => BAD_FORMAT,
        },
        (3, b"enable") if enabled => "ERROR failed to start lru crawler thread",
        (3, b"enable") => {
            t.crawler.store(true, Ordering::Relaxed);
            "OK"
        }
        (3, b"disable") => {
            t.crawler.store(false, Ordering::Relaxed);
            "OK"
        }
        _ => ERROR,
    }
}

/// memcached's class list: `all` or comma-separated ids 1..=63.
fn valid_classes(s: &[u8]) -> bool {
    s == b"all"
        || s.split(|&b| b == b',')
            .all(|c| parse_u32(c).is_some_and(|id| (1..64).contains(&id)))
}

fn slabs<P, SP>(toks: &[&[u8]], ntokens: usize, cx: &mut Ctx<'_, P, SP>) -> &'static str
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let sub = toks.get(1).copied().unwrap_or_default();
    if ntokens == 5 && sub == b"reassign" {
        let (Some(src), Some(dst)) = (parse_i32(toks[2]), parse_i32(toks[3])) else {
            return BAD_FORMAT;
        };
        // The store has no slab pages: no class ever has a spare one to move.
        return if src == dst {
            "SAME src and dst class are identical"
        } else if !(1..64).contains(&src) || !(0..64).contains(&dst) {
            "BADCLASS invalid src or dst class id"
        } else {
            "NOSPARE source class has no spare pages"
        };
    }
    if ntokens >= 4 && sub == b"automove" {
        let t = &cx.stats.tunables;
        if toks[2] == b"ratio" {
            let ratio = toks
                .get(3)
                .and_then(|r| std::str::from_utf8(r).ok())
                .and_then(|r| r.parse::<f64>().ok());
            return match ratio {
                Some(r) if ntokens >= 5 => {
                    store_f64(&t.slab_automove_ratio, r);
                    "OK"
                }
                _ => ERROR,
            };
        }
        return match parse_u32(toks[2]) {
            None => BAD_FORMAT,
            Some(level @ 0..=2) => {
                t.slab_automove.store(level, Ordering::Relaxed);
                "OK"
            }
            Some(_) => ERROR,
        };
    }
    ERROR
}

fn lru<P, SP>(toks: &[&[u8]], ntokens: usize, cx: &mut Ctx<'_, P, SP>) -> &'static str
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    if ntokens < 3 {
        return ERROR;
    }
    let t = &cx.stats.tunables;
    let f = |i: usize| {
        std::str::from_utf8(toks[i])
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
    };
    match toks[1] {
        b"tune" if ntokens >= 7 => {
            let (Some(hot), Some(warm), Some(hf), Some(wf)) =
                (parse_u32(toks[2]), parse_u32(toks[3]), f(4), f(5))
            else {
                return ERROR;
            };
            if hot.saturating_add(warm) > 80 {
                return "ERROR hot and warm pcts must not exceed 80";
            }
            if hf <= 0.0 || wf <= 0.0 {
                return "ERROR hot/warm age factors must be greater than 0";
            }
            t.hot_lru_pct.store(hot, Ordering::Relaxed);
            t.warm_lru_pct.store(warm, Ordering::Relaxed);
            store_f64(&t.hot_max_factor, hf);
            store_f64(&t.warm_max_factor, wf);
            "OK"
        }
        b"mode" if ntokens >= 4 => match toks[2] {
            b"flat" | b"segmented" => {
                t.lru_segmented
                    .store(toks[2] == b"segmented", Ordering::Relaxed);
                "OK"
            }
            _ => ERROR,
        },
        b"temp_ttl" if ntokens >= 4 => match parse_i32(toks[2]) {
            Some(ttl) => {
                t.temp_lru.store(ttl >= 0, Ordering::Relaxed);
                if ttl >= 0 {
                    t.temporary_ttl.store(ttl, Ordering::Relaxed);
                }
                "OK"
            }
            None => ERROR,
        },
        _ => ERROR,
    }
}
