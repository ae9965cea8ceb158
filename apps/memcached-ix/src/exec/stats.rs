//! `stats` and its groups (`settings`, `items`, `slabs`, `sizes`, `reset`), with
//! memcached's field names; shared by the text and binary protocols.

use super::Ctx;
use crate::stats::{rusage, unix_time};
use crate::tunables::load_f64;
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
            put("store_too_large", t("store_too_large"));
            put("store_no_memory", load(&c.outofmemory));
            put("auth_cmds", "0".to_string());
            put("auth_errors", "0".to_string());
            put("limit_maxbytes", store.limit().to_string());
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
            put("maxbytes", store.limit().to_string());
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
            let tu = &st.tunables;
            let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
            let u = |a: &std::sync::atomic::AtomicU32| a.load(Ordering::Relaxed).to_string();
            let f2 = |a: &std::sync::atomic::AtomicU64| format!("{:.2}", load_f64(a));
            // memcached's other settings, with the values that hold here (no
            // UDP, SASL, TLS, extstore or unix socket; the crawler and LRU
            // settings as `lru_crawler`, `slabs` and `lru` left them).
            for (k, v) in [
                ("oldest", "0".to_string()),
                ("domain_socket", "NULL".to_string()),
                ("umask", "700".to_string()),
                ("shutdown_command", "no".to_string()),
                ("growth_factor", "1.25".to_string()),
                ("chunk_size", "48".to_string()),
                ("num_threads_per_udp", s.threads.to_string()),
                (
                    "stat_key_prefix",
                    char::from(st.detail.delimiter()).to_string(),
                ),
                ("detail_enabled", yes(st.detail.enabled())),
                ("reqs_per_event", "20".to_string()),
                ("tcp_backlog", "1024".to_string()),
                ("auth_enabled_sasl", "no".to_string()),
                ("auth_enabled_ascii", "no".to_string()),
                ("maxconns_fast", "yes".to_string()),
                ("hashpower_init", "0".to_string()),
                ("slab_reassign", "yes".to_string()),
                ("slab_automove", u(&tu.slab_automove)),
                ("slab_automove_ratio", f2(&tu.slab_automove_ratio)),
                ("slab_automove_window", "30".to_string()),
                ("slab_automove_freeratio", "0.010".to_string()),
                ("slab_chunk_max", (s.item_size_max / 2).to_string()),
                ("lru_crawler", yes(tu.crawler.load(Ordering::Relaxed))),
                ("lru_crawler_sleep", u(&tu.crawler_sleep)),
                ("lru_crawler_tocrawl", u(&tu.crawler_tocrawl)),
                ("tail_repair_time", "0".to_string()),
                ("dump_enabled", "yes".to_string()),
                ("hash_algorithm", "murmur3".to_string()),
                ("lru_maintainer_thread", "yes".to_string()),
                (
                    "lru_segmented",
                    yes(tu.lru_segmented.load(Ordering::Relaxed)),
                ),
                ("hot_lru_pct", u(&tu.hot_lru_pct)),
                ("warm_lru_pct", u(&tu.warm_lru_pct)),
                ("hot_max_factor", f2(&tu.hot_max_factor)),
                ("warm_max_factor", f2(&tu.warm_max_factor)),
                ("temp_lru", yes(tu.temp_lru.load(Ordering::Relaxed))),
                (
                    "temporary_ttl",
                    tu.temporary_ttl.load(Ordering::Relaxed).to_string(),
                ),
                ("idle_timeout", "0".to_string()),
                ("watcher_logbuf_size", "262144".to_string()),
                ("worker_logbuf_size", "65536".to_string()),
                ("read_buf_mem_limit", "0".to_string()),
                ("track_sizes", "no".to_string()),
                ("inline_ascii_response", "no".to_string()),
                ("ssl_enabled", "no".to_string()),
                ("num_napi_ids", "(null)".to_string()),
                ("memory_file", "(null)".to_string()),
            ] {
                put(k, v);
            }
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

/// The lines of `stats conns`: the listener, then every open connection in
/// number order (see [`crate::conns`]).
fn conns<P, SP>(cx: &mut Ctx<'_, P, SP>) -> Vec<Stat>
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    let s = &cx.stats.settings;
    let listen = format!("tcp:{}:{}", s.inter, s.tcpport);
    let l = crate::conns::LISTENER;
    let mut v: Vec<Stat> = vec![
        (format!("{l}:addr"), listen.clone()),
        (format!("{l}:state"), "conn_listening".to_string()),
        (
            format!("{l}:secs_since_last_cmd"),
            cx.stats.uptime().to_string(),
        ),
    ];
    for c in cx.stats.conns.snapshot() {
        let n = c.number();
        v.push((format!("{n}:addr"), format!("tcp:{}", c.remote())));
        v.push((format!("{n}:listen_addr"), listen.clone()));
        v.push((format!("{n}:state"), c.state().name().to_string()));
        v.push((
            format!("{n}:secs_since_last_cmd"),
            cx.now.saturating_sub(c.last_cmd()).to_string(),
        ));
    }
    v
}

/// Answers a text `stats [group [arg]]`.
pub fn text<P, SP>(group: Option<&[u8]>, arg: Option<&[u8]>, cx: &mut Ctx<'_, P, SP>)
where
    P: BufPool<Shared = SP::Shared>,
    SP: BufPool,
{
    if group == Some(b"reset") {
        for t in cx.stats.threads.iter() {
            t.reset();
        }
        cx.stats.detail.clear();
        cx.line("RESET");
        return;
    }
    if group == Some(b"detail") {
        let d = &cx.stats.detail;
        match arg {
            Some(b"on") => {
                d.set_enabled(true);
                cx.line("OK");
            }
            Some(b"off") => {
                d.set_enabled(false);
                cx.line("OK");
            }
            Some(b"dump") => {
                let dump = d.dump();
                cx.put(dump.as_bytes());
            }
            _ => cx.line("CLIENT_ERROR usage: stats detail on|off|dump"),
        }
        return;
    }
    if group == Some(b"conns") {
        for (k, v) in conns(cx) {
            cx.fmt(format_args!("STAT {k} {v}\r\n"));
        }
        cx.line("END");
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
