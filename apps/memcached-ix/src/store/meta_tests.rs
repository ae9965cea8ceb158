//! Tests of the meta stale/win machinery ([`super::meta`]) on a fake clock,
//! each step as memcached 1.6.18 answered it by hand.

use super::ops::StoreReq;
use super::*;
use ix_nic::heap::HeapPool;

fn store() -> Store<HeapPool> {
    let cfg = StoreConfig {
        limit_bytes: 1 << 20,
        item_max: 1 << 16,
        shards: 4,
    };
    Store::new(
        HeapPool::new(256, 64),
        cfg,
        Clock {
            epoch_unix: 1_000_000_000,
        },
    )
}

fn set(
    s: &Store<HeapPool>,
    key: &[u8],
    v: &[u8],
    exptime: u32,
    cas: u64,
    stale: bool,
) -> StoreOutcome {
    let value = s.value_from(v, 10).expect("value buffers");
    let req = StoreReq {
        mode: Mode::Set,
        key,
        flags: 0,
        exptime,
        value,
        cas,
    };
    s.store_invalidating(req, stale, 10)
}

/// (won, token was sent, stale) of an `mg` with `steps` at time 10.
fn mg(s: &Store<HeapPool>, key: &[u8], steps: &[MetaStep]) -> Option<(bool, bool, bool)> {
    let vivify = steps.iter().any(|st| matches!(st, MetaStep::Vivify(_)));
    s.meta_get(key, steps, vivify, 10)
        .map(|m| (m.won, m.token_was_sent, m.stale))
}

#[test]
fn vivify_creates_an_empty_item_and_only_the_first_client_wins() {
    let s = store();
    assert!(mg(&s, b"k", &[]).is_none(), "no N: a plain miss");
    let m = s.meta_get(b"k", &[MetaStep::Vivify(40)], true, 10).unwrap();
    assert!(m.created && m.won && !m.token_was_sent);
    assert_eq!(
        (m.hit.item.value.len(), m.hit.exptime, m.hit.item.flags),
        (0, 40, 0)
    );
    assert_eq!((s.curr_items(), s.bytes()), (1, item_size(1, 0) as u64));
    assert_eq!(
        mg(&s, b"k", &[MetaStep::Vivify(40)]),
        Some((false, true, false)),
        "Z"
    );
    assert_eq!(mg(&s, b"k", &[]), Some((false, true, false)));
    let again = s.meta_get(b"k", &[], false, 11).unwrap();
    assert!(
        again.hit.fetched,
        "a vivified item counts as fetched after its first mg"
    );
}

#[test]
fn steps_apply_in_request_order() {
    let s = store();
    // `t` before N reports no TTL; after it, the vivified one.
    let m = s
        .meta_get(b"a", &[MetaStep::Report, MetaStep::Vivify(40)], true, 10)
        .unwrap();
    assert_eq!((m.reported_exptime, m.hit.exptime), (0, 40));
    set(&s, b"b", b"x", 110, 0, false);
    let m = s
        .meta_get(b"b", &[MetaStep::Report, MetaStep::Ttl(210)], false, 10)
        .unwrap();
    assert_eq!(
        (m.reported_exptime, m.hit.exptime, m.ttl_set),
        (110, 210, true)
    );
    // T first lowers the TTL below R's threshold: a win; R first: none.
    set(&s, b"c", b"x", 0, 0, false);
    assert_eq!(
        mg(&s, b"c", &[MetaStep::Recache(40)]),
        Some((false, false, false)),
        "no TTL: no win"
    );
    assert_eq!(
        mg(&s, b"c", &[MetaStep::Recache(40), MetaStep::Ttl(15)]),
        Some((false, false, false))
    );
    assert_eq!(
        mg(&s, b"c", &[MetaStep::Ttl(15), MetaStep::Recache(40)]),
        Some((true, false, false))
    );
    assert_eq!(
        mg(&s, b"c", &[MetaStep::Recache(40)]),
        Some((false, true, false)),
        "token already sent"
    );
}

#[test]
fn recache_wins_only_below_the_threshold_and_once() {
    let s = store();
    set(&s, b"r", b"x", 50, 0, false);
    assert_eq!(
        mg(&s, b"r", &[MetaStep::Recache(30)]),
        Some((false, false, false)),
        "50 is not below 30"
    );
    assert_eq!(
        mg(&s, b"r", &[MetaStep::Recache(60)]),
        Some((true, false, false))
    );
    assert_eq!(
        mg(&s, b"r", &[MetaStep::Recache(60)]),
        Some((false, true, false))
    );
    assert_eq!(s.marks(b"r", 10), Some((false, true)));
    // A new value clears the marks.
    set(&s, b"r", b"y", 50, 0, false);
    assert_eq!(s.marks(b"r", 10), Some((false, false)));
}

#[test]
fn md_invalidate_marks_stale_with_a_new_cas_and_the_next_fetcher_wins() {
    let s = store();
    let StoreOutcome::Stored(cas) = set(&s, b"d", b"x", 0, 0, false) else {
        panic!("stored");
    };
    assert_eq!(
        s.invalidate(b"d", cas + 100, None, 10),
        DeleteOutcome::Exists
    );
    assert_eq!(s.invalidate(b"nope", 0, None, 10), DeleteOutcome::NotFound);
    assert_eq!(
        s.invalidate(b"d", cas, Some(40), 10),
        DeleteOutcome::Deleted
    );
    let h = s.peek(b"d", 10).unwrap();
    assert!(h.item.cas > cas, "a new CAS");
    assert_eq!(
        (h.exptime, h.item.value.to_vec()),
        (40, b"x".to_vec()),
        "value kept, TTL set"
    );
    assert_eq!(s.curr_items(), 1);
    assert_eq!(mg(&s, b"d", &[]), Some((true, false, true)), "X W");
    assert_eq!(mg(&s, b"d", &[]), Some((false, true, true)), "Z X");
    // Invalidating again hands the token out again.
    s.invalidate(b"d", 0, None, 10);
    assert_eq!(mg(&s, b"d", &[]), Some((true, false, true)));
}

#[test]
fn ms_invalidate_with_an_older_cas_stores_stale_keeping_ttl_and_token() {
    let s = store();
    set(&s, b"first", b"x", 0, 0, false);
    set(&s, b"m", b"x", 100, 0, false); // CAS 2: 1 is older
    assert_eq!(
        mg(&s, b"m", &[MetaStep::Recache(200)]),
        Some((true, false, false))
    );
    // Without I an older CAS fails; with I it stores, stale.
    assert_eq!(set(&s, b"m", b"y", 5, 1, false), StoreOutcome::Exists);
    assert!(matches!(
        set(&s, b"m", b"y", 5, 1, true),
        StoreOutcome::Stored(_)
    ));
    let h = s.peek(b"m", 10).unwrap();
    assert_eq!(
        (h.item.value.to_vec(), h.exptime),
        (b"y".to_vec(), 100),
        "old TTL kept"
    );
    assert_eq!(
        s.marks(b"m", 10),
        Some((true, true)),
        "stale, token still sent"
    );
    assert_eq!(
        mg(&s, b"m", &[]),
        Some((false, true, true)),
        "Z X: no second winner"
    );
    // A higher CAS than the item's still fails, and a missing key is not found.
    assert_eq!(set(&s, b"m", b"z", 0, 1 << 40, true), StoreOutcome::Exists);
    assert_eq!(set(&s, b"gone", b"z", 0, 1, true), StoreOutcome::NotFound);
}
