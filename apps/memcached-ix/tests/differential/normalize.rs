//! What may legitimately differ between the two servers, normalised away: CAS
//! uniques (each distinct value becomes its ordinal of first appearance, per
//! side), the version string, and stats values (only the set of field names is
//! compared here; chosen counters are compared exactly elsewhere). Replies are
//! rendered as readable text for the comparison and its report.

use std::collections::{BTreeSet, HashMap};

/// Stats fields left out of the name comparison, with why: memcached's
/// internals memcached-ix has no counterpart for (libevent, its buffer and
/// response-object pools, hash table, slab mover, LRU maintainer and crawler
/// threads, logger, extstore and TLS settings), and memcached-ix's own
/// additions (the copy counter, shard lock waits, value pool geometry).
const NOT_COMPARED: &[&str] = &[
    "libevent",
    "response_obj_",
    "read_buf_",
    "reserved_fds",
    "hash_",
    "slab_reassign_",
    "slabs_moved",
    "lru_crawler_running",
    "lru_crawler_starts",
    "lru_maintainer_juggles",
    "malloc_fails",
    "log_",
    "unexpected_napi_ids",
    "round_robin_fallback",
    "slab_global_page_pool",
    "evicted_active",
    "crawler_",
    "lrutail_reflocked",
    "moves_",
    "direct_reclaims",
    "lru_bumps_dropped",
    "listen_disabled_num",
    "time_in_listen_disabled_us",
    "ext_",
    "ssl_c",
    "ssl_k",
    "ssl_v",
    "ssl_w",
    "ssl_s",
    "ssl_m",
    "ix_copied_bytes",
    "store_lock_waits",
    "outofmemory",
    "value_block",
    "store_shards",
];

fn compared(name: &str) -> bool {
    !NOT_COMPARED.iter().any(|p| name.starts_with(p))
}

/// One side's CAS uniques, numbered in order of first appearance (from 1).
#[derive(Default, Debug)]
pub struct CasMap {
    seen: HashMap<u64, usize>,
    order: Vec<u64>,
}

impl CasMap {
    /// The ordinal of `cas` (0 stays 0).
    pub fn ordinal(&mut self, cas: u64) -> usize {
        if cas == 0 {
            return 0;
        }
        let next = self.order.len() + 1;
        *self.seen.entry(cas).or_insert_with(|| {
            self.order.push(cas);
            next
        })
    }

    /// The CAS value of ordinal `n` (unknown ordinals: a value never handed out).
    pub fn value(&self, n: usize) -> u64 {
        n.checked_sub(1)
            .and_then(|i| self.order.get(i))
            .copied()
            .unwrap_or(999_999_999)
    }

    /// `text` with every `{cas:N}` replaced by ordinal N's value.
    pub fn substitute(&self, text: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            if text[i..].starts_with(b"{cas:") {
                if let Some(end) = text[i..].iter().position(|&b| b == b'}') {
                    let n: usize = std::str::from_utf8(&text[i + 5..i + end])
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    out.extend_from_slice(self.value(n).to_string().as_bytes());
                    i += end + 1;
                    continue;
                }
            }
            out.push(text[i]);
            i += 1;
        }
        out
    }
}

/// Printable text with control bytes escaped.
pub fn escape(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n\n"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s
}

/// A text-protocol reply, normalised (line by line; value blocks kept verbatim).
pub fn text(reply: &[u8], cas: &mut CasMap) -> String {
    let mut out = String::new();
    let mut stats: BTreeSet<String> = BTreeSet::new();
    let mut conns = HashMap::new();
    let mut rest = reply;
    while !rest.is_empty() {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(rest.len(), |i| i + 2);
        let (line, tail) = rest.split_at(end);
        rest = tail;
        let body = line.strip_suffix(b"\r\n").unwrap_or(line);
        let toks: Vec<&[u8]> = body.split(|&b| b == b' ').collect();
        if toks[0] == b"STAT" && toks.len() >= 2 {
            let name = String::from_utf8_lossy(toks[1]).into_owned();
            let value = toks.get(2).map(|v| String::from_utf8_lossy(v).into_owned());
            let name = conn_stat(&name, value.as_deref(), &mut conns).unwrap_or(name);
            // Settings whose values the tests set and compare.
            let name = if VALUE_COMPARED.contains(&name.as_str()) {
                format!("{name}={}", value.unwrap_or_default())
            } else {
                name
            };
            if compared(&name) {
                stats.insert(name);
            }
            continue;
        }
        flush_stats(&mut stats, &mut out);
        let mut data_len = None;
        let mut toks: Vec<String> = toks
            .iter()
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect();
        match toks[0].as_str() {
            "VALUE" if toks.len() >= 4 => {
                data_len = toks[3].parse::<usize>().ok();
                if toks.len() == 5 {
                    if let Ok(v) = toks[4].parse() {
                        toks[4] = format!("cas#{}", cas.ordinal(v));
                    }
                }
            }
            "VERSION" if toks.len() == 2 => toks[1] = "*".into(),
            "VA" | "HD" | "EN" | "NF" | "NS" | "EX" | "ME" => {
                let first_flag = if toks[0] == "VA" {
                    data_len = toks.get(1).and_then(|n| n.parse().ok());
                    2
                } else {
                    1
                };
                for t in toks.iter_mut().skip(first_flag) {
                    if let Some(Ok(v)) = t.strip_prefix('c').map(str::parse::<u64>) {
                        *t = format!("c#{}", cas.ordinal(v));
                    }
                }
            }
            _ => {}
        }
        out.push_str(&toks.join(" "));
        out.push_str(if line.ends_with(b"\r\n") {
            "\\r\\n\n"
        } else {
            "<no crlf>\n"
        });
        if let Some(n) = data_len {
            let k = (n + 2).min(rest.len());
            out.push_str(&format!("<data {}>\n", escape(&rest[..k])));
            rest = &rest[k..];
        }
    }
    flush_stats(&mut stats, &mut out);
    out
}

/// `stats settings` fields whose values are compared too (per-prefix stats).
const VALUE_COMPARED: &[&str] = &["detail_enabled", "stat_key_prefix"];

/// The fields `stats conns` gives each connection (`STAT <fd>:<field> value`).
const CONN_FIELDS: &[&str] = &["addr", "listen_addr", "state", "secs_since_last_cmd", "UDP"];

/// A `stats conns` name with its fd replaced by the fd's ordinal in this reply
/// (fds differ between the servers, as CAS values do), the state's value kept
/// (`conn#2:state=conn_parse_cmd`); `None` for any other stat.
fn conn_stat(name: &str, value: Option<&str>, fds: &mut HashMap<String, usize>) -> Option<String> {
    let (fd, field) = name.split_once(':')?;
    if fd.is_empty() || !fd.bytes().all(|b| b.is_ascii_digit()) || !CONN_FIELDS.contains(&field) {
        return None;
    }
    let next = fds.len() + 1;
    let n = *fds.entry(fd.to_string()).or_insert(next);
    Some(match field {
        "state" => format!("conn#{n}:state={}", value.unwrap_or("")),
        _ => format!("conn#{n}:{field}"),
    })
}

fn flush_stats(stats: &mut BTreeSet<String>, out: &mut String) {
    if !stats.is_empty() {
        out.push_str(&format!(
            "<STAT names: {}>\n",
            stats.iter().cloned().collect::<Vec<_>>().join(" ")
        ));
        stats.clear();
    }
}

/// A binary-protocol reply as one line per frame; CAS as ordinals, version and
/// stat values hidden, stat frames as a sorted set of names.
pub fn binary(reply: &[u8], cas: &mut CasMap) -> String {
    let mut out = String::new();
    let mut stats: BTreeSet<String> = BTreeSet::new();
    let mut rest = reply;
    while rest.len() >= 24 {
        let h = &rest[..24];
        let keylen = u16::from_be_bytes([h[2], h[3]]) as usize;
        let extlen = h[4] as usize;
        let bodylen = u32::from_be_bytes([h[8], h[9], h[10], h[11]]) as usize;
        let casv = u64::from_be_bytes(h[16..24].try_into().expect("8 bytes"));
        if rest.len() < 24 + bodylen || extlen + keylen > bodylen {
            break;
        }
        let body = &rest[24..24 + bodylen];
        let (ext, key, val) = (
            &body[..extlen],
            &body[extlen..extlen + keylen],
            &body[extlen + keylen..],
        );
        let op = h[1];
        if op == 0x10 && !key.is_empty() {
            let name = String::from_utf8_lossy(key).into_owned();
            if compared(&name) {
                stats.insert(name);
            }
        } else {
            if !stats.is_empty() {
                out.push_str(&format!(
                    "<stat names: {}>\n",
                    stats.iter().cloned().collect::<Vec<_>>().join(" ")
                ));
                stats.clear();
            }
            let val = if op == 0x0b && h[6..8] == [0, 0] {
                "*".to_string()
            } else {
                escape(val)
            };
            out.push_str(&format!(
                "magic={:02x} op={op:02x} keylen={keylen} extlen={extlen} dt={:02x} status={:02x}{:02x} \
                 bodylen={} opaque={} cas=#{} ext={} key={} val={}\n",
                h[0],
                h[5],
                h[6],
                h[7],
                if op == 0x0b { 0 } else { bodylen },
                escape(&h[12..16]),
                cas.ordinal(casv),
                escape(ext),
                escape(key),
                val
            ));
        }
        rest = &rest[24 + bodylen..];
    }
    if !stats.is_empty() {
        out.push_str(&format!(
            "<stat names: {}>\n",
            stats.iter().cloned().collect::<Vec<_>>().join(" ")
        ));
    }
    if !rest.is_empty() {
        out.push_str(&format!("<trailing {}>\n", escape(rest)));
    }
    out
}
