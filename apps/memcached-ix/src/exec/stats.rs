//! `stats` and its groups (`settings`, `items`, `slabs`, `sizes`, `reset`), with
//! memcached's field names; shared by the text and binary protocols.

use super::Ctx;
use crate::stats::{rusage, unix_time};
use ix_nic::BufPool;
use std::sync::atomic::Ordering;

/// One `STAT name value` line.
pub type Stat = (String, String);

/// The lines of `group` (`None`: general stats); `None` for an unknown group.
pub fn collect<P, SP>(group: Option<&[u8]>, cx: &mut Ctx<'_, P, SP>) -> Option<Vec<Stat>>
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let mut v: Vec<Stat> = Vec::with_capacity(64);
    let mut put = |k: &str, val: String| v.push((k.to_string(), val));
    let st = cx.stats;
    let store = cx.store;
    let c = store.counters();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed).to_string();
    match group {
        None => {
            let totals = st.totals();
            let t = |name: &str| {
                totals
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map_or(0, |(_, v)| *v)
                    .to_string()
            };
            let (user, sys) = rusage();
            put("pid", std::process::id().to_string());
            put("uptime", st.uptime().to_string());
            put("time", unix_time().to_string());
            put("version", crate::VERSION.to_string());
            put("pointer_size", (usize::BITS).to_string());
            put("rusage_user", format!("{user:.6}"));
            put("rusage_system", format!("{sys:.6}"));
            put("max_connections", st.settings.maxconns.to_string());
            for k in [
                "curr_connections",
                "total_connections",
                "rejected_connections",
            ] {
                put(k, t(k));
            }
            put("connection_structures", t("curr_connections"));
            for k in [
                "cmd_get",
                "cmd_set",
                "cmd_flush",
                "cmd_touch",
                "cmd_meta",
                "get_hits",
                "get_misses",
            ] {
                put(k, t(k));
            }
            put("get_expired", load(&c.get_expired));
            put("get_flushed", load(&c.get_flushed));
            for k in [
                "delete_misses",
                "delete_hits",
                "incr_misses",
                "incr_hits",
                "decr_misses",
                "decr_hits",
                "cas_misses",
                "cas_hits",
                "cas_badval",
                "touch_hits",
                "touch_misses",
                "bytes_read",
                "bytes_written",
            ] {
                put(k, t(k));
            }
            put("limit_maxbytes", st.settings.maxbytes.to_string());
            put("accepting_conns", "1".to_string());
            put("threads", st.settings.threads.to_string());
            put("conn_yields", t("conn_yields"));
            put("bytes", store.bytes().to_string());
            put("curr_items", store.curr_items().to_string());
            put("total_items", load(&c.total_items));
            put("expired_unfetched", load(&c.expired_unfetched));
            put("evicted_unfetched", load(&c.evicted_unfetched));
            put("evictions", load(&c.evictions));
            put("reclaimed", load(&c.reclaimed));
            put("outofmemory", load(&c.outofmemory));
            put("ix_copied_bytes", t("ix_copied_bytes"));
            put("store_lock_waits", load(&c.lock_waits));
        }
        Some(b"settings") => {
            let s = &st.settings;
            put("maxbytes", s.maxbytes.to_string());
            put("maxconns", s.maxconns.to_string());
            put("tcpport", s.tcpport.to_string());
            put("udpport", "0".to_string());
            put("inter", s.inter.clone());
            put(
                "verbosity",
                st.verbosity.load(Ordering::Relaxed).to_string(),
            );
            put("evictions", "on".to_string());
            put("num_threads", s.threads.to_string());
            put("cas_enabled", "yes".to_string());
            put("binding_protocol", "auto-negotiate".to_string());
            put("item_size_max", s.item_size_max.to_string());
            put("flush_enabled", "yes".to_string());
            put("value_block_size", s.value_block.to_string());
            put("value_blocks", s.value_blocks.to_string());
            put("store_shards", store.config().shards.to_string());
        }
        Some(b"items") => {
            let n = store.curr_items();
            if n > 0 {
                let age = store.oldest_age(cx.now);
                put("items:1:number", n.to_string());
                put("items:1:age", age.to_string());
                put("items:1:mem_requested", store.bytes().to_string());
                put("items:1:evicted", load(&c.evictions));
                put("items:1:evicted_unfetched", load(&c.evicted_unfetched));
                put("items:1:outofmemory", load(&c.outofmemory));
                put("items:1:reclaimed", load(&c.reclaimed));
                put("items:1:expired_unfetched", load(&c.expired_unfetched));
            }
        }
        Some(b"slabs") => {
            // One "slab class": the store's value buffers.
            let s = &st.settings;
            let used = store.buffers_in_use();
            let n = store.curr_items();
            if n > 0 {
                put("1:chunk_size", s.value_block.to_string());
                put("1:total_chunks", s.value_blocks.to_string());
                put("1:used_chunks", used.to_string());
                put(
                    "1:free_chunks",
                    (s.value_blocks as u64).saturating_sub(used).to_string(),
                );
                put("1:mem_requested", store.bytes().to_string());
            }
            put("active_slabs", u64::from(n > 0).to_string());
            put(
                "total_malloced",
                (s.value_blocks as u64 * s.value_block as u64).to_string(),
            );
        }
        Some(b"sizes") => put("sizes_status", "disabled".to_string()),
        _ => return None,
    }
    Some(v)
}

/// Answers a text `stats [group]`.
pub fn text<P, SP>(group: Option<&[u8]>, cx: &mut Ctx<'_, P, SP>)
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    if group == Some(b"reset") {
        for t in cx.stats.threads.iter() {
            t.reset();
        }
        cx.line("RESET");
        return;
    }
    if group == Some(b"detail") {
        cx.line("CLIENT_ERROR usage: stats detail on|off|dump");
        return;
    }
    match collect(group, cx) {
        Some(lines) => {
            for (k, v) in lines {
                cx.fmt(format_args!("STAT {k} {v}\r\n"));
            }
            cx.line("END");
        }
        None => cx.line("ERROR"),
    }
}
