//! Store tests on a fake clock: expiry, CAS, LRU eviction under the memory limit.

use super::ops::StoreReq;
use super::*;
use ix_nic::heap::{HeapPool, HeapShared};

fn store(limit: u64, blocks: usize) -> Store<HeapPool> {
    let cfg = StoreConfig {
        limit_bytes: limit,
        item_max: 1 << 20,
        shards: 4,
    };
    Store::new(
        HeapPool::new(blocks, 64),
        cfg,
        Clock {
            epoch_unix: 1_000_000_000,
        },
    )
}

fn set(
    s: &Store<HeapPool>,
    mode: Mode,
    key: &[u8],
    v: &[u8],
    exptime: u32,
    cas: u64,
    now: u32,
) -> StoreOutcome {
    let value: Value<HeapShared> = s.value_from(v, now).expect("value buffers");
    s.store(
        StoreReq {
            mode,
            key,
            flags: 7,
            exptime,
            value,
            cas,
        },
        now,
    )
}

fn get(s: &Store<HeapPool>, key: &[u8], now: u32) -> Option<Vec<u8>> {
    s.get(key, now).map(|h| h.item.value.to_vec())
}

#[test]
fn items_expire_at_their_time_and_touch_moves_it() {
    let s = store(1 << 20, 1024);
    let now = 100;
    let e = s.clock().expiry(10, now);
    assert!(matches!(
        set(&s, Mode::Set, b"k", b"v", e, 0, now),
        StoreOutcome::Stored(_)
    ));
    assert_eq!(get(&s, b"k", 109).as_deref(), Some(&b"v"[..]));
    assert_eq!(get(&s, b"k", 110), None, "expired at exptime");
    assert_eq!(s.counters().get_expired.load(Ordering::Relaxed), 1);
    assert_eq!(s.curr_items(), 0, "expired item reclaimed on access");
    set(&s, Mode::Set, b"t", b"v", s.clock().expiry(10, now), 0, now);
    assert!(s.touch(b"t", s.clock().expiry(100, 105), 105).is_some());
    assert!(get(&s, b"t", 150).is_some(), "touch extended the expiry");
    set(
        &s,
        Mode::Set,
        b"neg",
        b"v",
        s.clock().expiry(-1, now),
        0,
        now,
    );
    assert_eq!(
        get(&s, b"neg", now),
        None,
        "negative exptime: already expired"
    );
    let abs = s.clock().expiry(1_000_000_000 + 200, now);
    set(&s, Mode::Set, b"abs", b"v", abs, 0, now);
    assert!(get(&s, b"abs", 199).is_some());
    assert_eq!(get(&s, b"abs", 200), None, "absolute exptime");
}

#[test]
fn cas_uniques_guard_stores_and_deletes() {
    let s = store(1 << 20, 1024);
    let StoreOutcome::Stored(c1) = set(&s, Mode::Set, b"k", b"one", 0, 0, 5) else {
        panic!("not stored")
    };
    assert_eq!(
        set(&s, Mode::Set, b"k", b"two", 0, c1 + 100, 5),
        StoreOutcome::Exists
    );
    assert_eq!(
        set(&s, Mode::Set, b"nokey", b"two", 0, 1, 5),
        StoreOutcome::NotFound
    );
    let StoreOutcome::Stored(c2) = set(&s, Mode::Set, b"k", b"two", 0, c1, 5) else {
        panic!("cas with the right unique must store")
    };
    assert!(c2 > c1, "uniques increase");
    assert_eq!(s.delete(b"k", c1, 5), DeleteOutcome::Exists);
    assert_eq!(s.get(b"k", 5).map(|h| h.item.flags), Some(7));
    assert_eq!(
        set(&s, Mode::Add, b"k", b"x", 0, 0, 5),
        StoreOutcome::NotStored
    );
    assert_eq!(
        set(&s, Mode::Replace, b"zz", b"x", 0, 0, 5),
        StoreOutcome::NotStored
    );
    set(&s, Mode::Append, b"k", b"-a", 0, 0, 5);
    set(&s, Mode::Prepend, b"k", b"p-", 0, 0, 5);
    assert_eq!(get(&s, b"k", 5).as_deref(), Some(&b"p-two-a"[..]));
    assert_eq!(s.delete(b"k", 0, 5), DeleteOutcome::Deleted);
    assert_eq!(s.delete(b"k", 0, 5), DeleteOutcome::NotFound);
}

#[test]
fn arithmetic_wraps_pads_and_refuses_text() {
    let s = store(1 << 20, 1024);
    set(&s, Mode::Set, b"n", b"10", 0, 0, 1);
    assert!(matches!(
        s.arith(b"n", false, 1, 0, None, 1),
        ArithOutcome::Value(9, _)
    ));
    assert_eq!(
        get(&s, b"n", 1).as_deref(),
        Some(&b"9 "[..]),
        "padded as memcached"
    );
    set(&s, Mode::Set, b"n", b"18446744073709551615", 0, 0, 1);
    assert!(matches!(
        s.arith(b"n", true, 2, 0, None, 1),
        ArithOutcome::Value(1, _)
    ));
    assert!(matches!(
        s.arith(b"n", false, 5, 0, None, 1),
        ArithOutcome::Value(0, _)
    ));
    set(&s, Mode::Set, b"t", b"abc", 0, 0, 1);
    assert_eq!(s.arith(b"t", true, 1, 0, None, 1), ArithOutcome::NonNumeric);
    assert_eq!(
        s.arith(b"none", true, 1, 0, None, 1),
        ArithOutcome::NotFound
    );
    assert!(matches!(
        s.arith(b"new", true, 1, 0, Some((42, 0)), 1),
        ArithOutcome::Value(42, _)
    ));
}

#[test]
fn the_memory_limit_evicts_least_recently_used_items() {
    // Room for about 10 items of 100 bytes (+ overhead).
    let limit = 10 * item_size(2, 100) as u64;
    let s = store(limit, 4096);
    for i in 0..10u8 {
        set(&s, Mode::Set, &[b'k', b'0' + i], &[i; 100], 0, 0, 1);
    }
    assert_eq!(s.curr_items(), 10);
    // Touch k0 so it is recent everywhere it could be compared.
    assert!(s.get(b"k0", 2).is_some());
    for i in 10..30u8 {
        set(&s, Mode::Set, &[b'n', i], &[i; 100], 0, 0, 3);
        assert!(s.bytes() <= limit, "bytes {} over limit {limit}", s.bytes());
    }
    let evicted = s.counters().evictions.load(Ordering::Relaxed);
    assert!(evicted >= 20, "evictions counted: {evicted}");
    assert!(s.get(&[b'n', 29], 4).is_some(), "the newest item stays");
    assert!(s.curr_items() <= 10);
    assert!(!s.fits(1, (1 << 20) + 1), "over the item size limit");
}

#[test]
fn a_dry_value_pool_evicts_to_make_buffers() {
    // 8 buffers of 64 bytes, byte limit generous: the pool is the binding limit.
    let s = store(1 << 30, 8);
    for i in 0..20u8 {
        assert!(s.value_from(&[i; 64], 1).is_some_and(|v| {
            matches!(
                s.store(
                    StoreReq {
                        mode: Mode::Set,
                        key: &[i],
                        flags: 0,
                        exptime: 0,
                        value: v,
                        cas: 0
                    },
                    1
                ),
                StoreOutcome::Stored(_)
            )
        }));
    }
    assert!(s.curr_items() <= 8);
    assert!(s.counters().evictions.load(Ordering::Relaxed) >= 12);
    assert!(get(&s, &[19], 1).is_some());
}

#[test]
fn flush_all_now_and_later() {
    let s = store(1 << 20, 1024);
    set(&s, Mode::Set, b"a", b"1", 0, 0, 10);
    s.flush(0, 10);
    assert_eq!(get(&s, b"a", 10), None, "flushed now");
    set(&s, Mode::Set, b"b", b"2", 0, 0, 10);
    assert!(get(&s, b"b", 10).is_some(), "stored after the flush");
    s.flush(s.clock().expiry(5, 10), 10);
    assert!(get(&s, b"b", 13).is_some(), "before the delayed flush");
    assert_eq!(get(&s, b"b", 15), None, "after the delayed flush");
}

#[test]
fn a_held_shard_lock_is_counted_as_a_wait() {
    let s = store(1 << 20, 1024);
    set(&s, Mode::Set, b"k", b"v", 0, 0, 1);
    assert!(get(&s, b"k", 1).is_some());
    let waits = || s.counters().lock_waits.load(Ordering::Relaxed);
    assert_eq!(waits(), 0, "uncontended locks never wait");
    std::thread::scope(|sc| {
        let guard = s.lock(s.shard_of(b"k"));
        let reader = sc.spawn(|| get(&s, b"k", 1));
        // The reader finds the shard held (it cannot finish before the guard
        // drops); wait until it has counted that, then let it through.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while waits() == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        drop(guard);
        assert_eq!(reader.join().unwrap().as_deref(), Some(&b"v"[..]));
    });
    assert_eq!(waits(), 1);
}

#[test]
fn eviction_takes_the_oldest_of_several_shard_tails() {
    // Room for 8 items; "old" is accessed at time 1, everything else at 5.
    let limit = 8 * item_size(4, 100) as u64;
    let s = store(limit, 4096);
    set(&s, Mode::Set, b"old0", &[0; 100], 0, 0, 1);
    let old_shard = s.shard_of(b"old0");
    let mut keys = Vec::new();
    for i in 0..7u8 {
        let k = [b'n', b'e', b'w', b'0' + i];
        set(&s, Mode::Set, &k, &[i; 100], 0, 0, 5);
        keys.push(k);
    }
    assert_eq!(s.curr_items(), 8);
    // A key in another shard that holds an item: its own tail is recent.
    let other = keys
        .iter()
        .map(|k| s.shard_of(k))
        .find(|&sh| sh != old_shard)
        .expect("4 shards, 7 keys: some key is in another shard");
    let incoming = (0..=255u8)
        .map(|i| [b'x', b'x', b'x', i])
        .find(|k| s.shard_of(k) == other)
        .expect("some key lands in that shard");
    set(&s, Mode::Set, &incoming, &[9; 100], 0, 0, 6);
    assert_eq!(s.counters().evictions.load(Ordering::Relaxed), 1);
    assert!(s.peek(b"old0", 6).is_none(), "the least recently used went");
    for k in &keys {
        assert!(s.peek(k, 6).is_some(), "recent items stay");
    }
}

#[test]
fn a_lowered_memory_limit_evicts_on_the_next_stores() {
    let s = store(1 << 20, 4096);
    for i in 0..20u8 {
        set(&s, Mode::Set, &[b'k', i], &[i; 100], 0, 0, 1);
    }
    assert_eq!(s.curr_items(), 20);
    let limit = 5 * item_size(2, 100) as u64;
    s.set_limit(limit);
    assert_eq!(s.limit(), limit);
    assert!(
        s.fits(2, 100) && !s.fits(2, limit as usize),
        "fits follows the limit"
    );
    set(&s, Mode::Set, b"new", &[9; 100], 0, 0, 2);
    assert!(s.bytes() <= limit, "bytes {} over {limit}", s.bytes());
    assert!(get(&s, b"new", 2).is_some(), "the new item stays");
    assert!(s.counters().evictions.load(Ordering::Relaxed) >= 15);
}

#[test]
fn the_crawler_reclaims_expired_and_flushed_items_at_once() {
    let s = store(1 << 20, 1024);
    let now = 100;
    for i in 0..6u8 {
        set(
            &s,
            Mode::Set,
            &[b'e', i],
            b"v",
            s.clock().expiry(5, now),
            0,
            now,
        );
    }
    for i in 0..4u8 {
        set(&s, Mode::Set, &[b'l', i], b"v", 0, 0, now);
    }
    assert_eq!(s.crawl(now + 1), 0, "nothing expired yet");
    assert_eq!(s.crawl(now + 5), 6, "the six expired at their time");
    assert_eq!(s.curr_items(), 4, "reclaimed without being touched");
    s.flush(0, now + 6);
    assert_eq!(s.crawl(now + 6), 4, "flushed items too");
    assert_eq!(s.curr_items(), 0);
}
