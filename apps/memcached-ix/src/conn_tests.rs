//! Connection state machine tests: requests split at every byte give the same
//! responses as requests in one piece; flow control; bad input.

use crate::conn::Conn;
use crate::exec::Ctx;
use crate::out::Out;
use crate::stats::{Settings, Stats};
use crate::store::{Clock, Store, StoreConfig};
use ix_nic::heap::HeapPool;

struct Rig {
    store: Store<HeapPool>,
    pool: HeapPool,
    stats: Stats,
}

fn rig() -> Rig {
    let settings = Settings {
        maxbytes: 64 << 20,
        maxconns: 10,
        tcpport: 0,
        inter: "127.0.0.1".into(),
        threads: 1,
        item_size_max: 1 << 20,
        value_block: 100,
        value_blocks: 100_000,
    };
    Rig {
        store: Store::new(
            HeapPool::new(100_000, 100),
            StoreConfig::default(),
            Clock::system(),
        ),
        pool: HeapPool::new(4096, 512),
        stats: Stats::new(settings),
    }
}

/// Feeds `chunks` in order (re-feeding what was not consumed) and returns every
/// response byte and whether the connection closed.
fn run(r: &Rig, chunks: &[&[u8]]) -> (Vec<u8>, bool) {
    let mut conn = Conn::<HeapPool>::default();
    let mut out = Out::<HeapPool>::default();
    let mut got = Vec::new();
    let mut closed = false;
    for chunk in chunks {
        let mut rest = *chunk;
        while !rest.is_empty() && !closed {
            let mut cx = Ctx {
                store: &r.store,
                pool: &r.pool,
                out: &mut out,
                stats: &r.stats,
                thread: r.stats.thread(0),
                now: r.store.clock().now(),
            };
            let fed = conn.feed(rest, &mut cx);
            rest = &rest[fed.consumed..];
            closed = fed.close;
            // The peer reads everything queued: flow control releases.
            got.extend(out.drain_bytes());
        }
    }
    got.extend(out.drain_bytes());
    (got, closed)
}

fn script() -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(
        b"set a 5 0 3\r\nabc\r\nget a b\r\ngets a\r\nappend a 0 0 2 noreply\r\nde\r\n",
    );
    s.extend_from_slice(b"incr n 1\r\nset n 0 0 2\r\n41\r\nincr n 1\r\ndelete a\r\nget a\r\n");
    s.extend_from_slice(b"ms m 4 T0 F3\r\nmeta\r\nmg m v f s\r\nmn\r\nset big 0 0 700\r\n");
    s.extend(std::iter::repeat_n(b'z', 700));
    s.extend_from_slice(b"\r\nget big\r\nversion\r\n");
    s
}

#[test]
fn requests_split_at_every_byte_answer_the_same() {
    let whole_rig = rig();
    let (whole, _) = run(&whole_rig, &[&script()]);
    let text = String::from_utf8_lossy(&whole);
    assert!(
        text.starts_with("STORED\r\nVALUE a 5 3\r\nabc\r\nEND\r\nVALUE a 5 3 "),
        "{text}"
    );
    assert!(text.contains(
        "NOT_FOUND\r\nSTORED\r\n42\r\nDELETED\r\nEND\r\nHD\r\nVA 4 f3 s4\r\nmeta\r\nMN\r\n"
    ));
    assert!(text.ends_with(&format!(
        "VALUE big 0 700\r\n{}\r\nEND\r\nVERSION 1.6.18\r\n",
        "z".repeat(700)
    )));
    let s = script();
    let bytes: Vec<&[u8]> = s.chunks(1).collect();
    let r = rig();
    let (split, _) = run(&r, &bytes);
    // CAS uniques are per store: both stores saw the same sequence.
    assert_eq!(String::from_utf8_lossy(&split), text);
    for cut in [7, 100, 777] {
        let r = rig();
        let (a, b) = s.split_at(cut.min(s.len()));
        assert_eq!(run(&r, &[a, b]).0, whole, "split at {cut}");
    }
}

#[test]
fn binary_requests_split_anywhere() {
    let mut req = Vec::new();
    // SET "k" = "hello", flags 9.
    req.extend_from_slice(&[
        0x80, 0x01, 0, 1, 8, 0, 0, 0, 0, 0, 0, 14, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    req.extend_from_slice(&[0, 0, 0, 9, 0, 0, 0, 0, b'k', b'h', b'e', b'l', b'l', b'o']);
    // GETK "k".
    req.extend_from_slice(&[
        0x80, 0x0c, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, b'k',
    ]);
    // NOOP.
    req.extend_from_slice(&[
        0x80, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    let (whole, _) = run(&rig(), &[&req]);
    let chunks: Vec<&[u8]> = req.chunks(1).collect();
    let (split, _) = run(&rig(), &chunks);
    assert_eq!(whole.len(), 24 + (24 + 4 + 1 + 5) + 24);
    assert_eq!(&whole[24 + 24 + 4..24 + 24 + 4 + 6], b"khello");
    assert_eq!(whole[24 + 24..24 + 28], [0, 0, 0, 9]);
    // Headers equal except CAS values, which match too (same sequence).
    assert_eq!(split, whole);
}

#[test]
fn bad_input_gets_memcacheds_replies_and_nothing_panics() {
    let r = rig();
    let (got, closed) = run(&r, &[b"set k 0 0 1\r\nabc\r\nget k\r\n"]);
    assert_eq!(got, b"CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n");
    assert!(!closed);
    // A declared length far too large: refused, its bytes skipped, nothing allocated.
    let in_use = r.store.pool().stats().in_use();
    let mut big = b"set k 0 0 2000000\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'x', 2_000_000));
    big.extend_from_slice(b"\r\nget k\r\n");
    let (got, _) = run(&r, &[&big]);
    assert_eq!(got, b"SERVER_ERROR object too large for cache\r\nEND\r\n");
    assert_eq!(r.store.pool().stats().in_use(), in_use);
    // An endless line closes the connection, as memcached.
    let (_, closed) = run(&r, &[&[b'x'; 3000]]);
    assert!(closed);
    // A binary set with nonsense lengths: "Invalid arguments", then closed.
    let (got, closed) = run(&r, &[&[0x80, 0x01, 0, 0], &[0x42; 40]]);
    assert!(closed);
    assert_eq!((got[0], got[7]), (0x81, 0x04));
    assert!(got.ends_with(b"Invalid arguments"));
    let (got, closed) = run(&r, &[b"quit\r\nget k\r\n"]);
    assert!(closed && got.is_empty());
}

#[test]
fn stats_report_store_contention() {
    let r = rig();
    let (out, _) = run(&r, &[b"set k 0 0 1\r\nv\r\nstats\r\nstats settings\r\n"]);
    let text = String::from_utf8_lossy(&out);
    // One thread never finds a shard held.
    assert!(text.contains("STAT store_lock_waits 0\r\n"), "{text}");
    let shards = format!("STAT store_shards {}\r\n", StoreConfig::default().shards);
    assert!(text.contains(&shards), "{text}");
}

#[test]
fn phase_and_command_count_follow_the_requests() {
    use crate::conns::ConnState;
    let r = rig();
    let mut conn = Conn::<HeapPool>::default();
    let mut out = Out::<HeapPool>::default();
    assert_eq!((conn.phase(), conn.commands()), (ConnState::New, 0));
    let mut feed = |conn: &mut Conn<HeapPool>, bytes: &[u8]| {
        let mut cx = Ctx {
            store: &r.store,
            pool: &r.pool,
            out: &mut out,
            stats: &r.stats,
            thread: r.stats.thread(0),
            now: r.store.clock().now(),
        };
        conn.feed(bytes, &mut cx)
    };
    feed(&mut conn, b"get fo");
    assert_eq!(
        (conn.phase(), conn.commands()),
        (ConnState::Read, 0),
        "mid-line"
    );
    feed(&mut conn, b"o\r\nset k 0 0 10\r\nabc");
    assert_eq!(
        (conn.phase(), conn.commands()),
        (ConnState::Nread, 2),
        "mid-value"
    );
    feed(&mut conn, b"defghij\r\nset big 0 0 2000000\r\nxy");
    assert_eq!(
        (conn.phase(), conn.commands()),
        (ConnState::Swallow, 3),
        "refused value"
    );
    let mut big = vec![b'x'; 2_000_000 - 2];
    big.extend_from_slice(b"\r\nquit\r\n");
    feed(&mut conn, &big);
    assert_eq!((conn.phase(), conn.commands()), (ConnState::Closing, 4));
}
