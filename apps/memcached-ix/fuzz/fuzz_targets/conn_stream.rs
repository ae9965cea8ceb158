//! The connection state machine on an arbitrary byte stream cut at arbitrary
//! places: never panics, and the same stream in one piece gives the same
//! responses (unless a cut closed the connection or `stats` reported times).
#![no_main]
use ix_nic::heap::HeapPool;
use libfuzzer_sys::fuzz_target;
use memcached_ix::conn::Conn;
use memcached_ix::exec::Ctx;
use memcached_ix::out::Out;
use memcached_ix::stats::{Settings, Stats};
use memcached_ix::store::{Clock, Store, StoreConfig};

fn run(stream: &[u8], cuts: &[usize]) -> (Vec<u8>, bool) {
    let settings = Settings {
        maxbytes: 1 << 20,
        maxconns: 4,
        tcpport: 0,
        inter: String::new(),
        threads: 1,
        item_size_max: 16 << 10,
        value_block: 64,
        value_blocks: 512,
    };
    let store = Store::new(
        HeapPool::new(512, 64),
        StoreConfig { limit_bytes: 32 << 10, item_max: 16 << 10, shards: 2 },
        Clock { epoch_unix: 1_700_000_000 },
    );
    let stats = Stats::new(settings);
    let pool = HeapPool::new(256, 256);
    let mut conn = Conn::<HeapPool>::default();
    let mut out = Out::<HeapPool>::default();
    let mut got = Vec::new();
    let mut closed = false;
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
        let end = cut.clamp(start, stream.len());
        let mut rest = &stream[start..end];
        start = end;
        while !rest.is_empty() && !closed {
            let mut cx = Ctx { store: &store, pool: &pool, out: &mut out, stats: &stats, thread: stats.thread(0), now: 10 };
            let fed = conn.feed(rest, &mut cx);
            rest = &rest[fed.consumed..];
            closed = fed.close;
            got.extend(out.drain_bytes());
        }
    }
    got.extend(out.drain_bytes());
    (got, closed)
}

fuzz_target!(|data: &[u8]| {
    let split = data.len().min(8);
    let (cuts, stream) = data.split_at(split);
    let cuts: Vec<usize> = {
        let mut c: Vec<usize> = cuts.iter().map(|&b| b as usize * stream.len() / 256).collect();
        c.sort_unstable();
        c
    };
    let (a, ca) = run(stream, &cuts);
    let (b, cb) = run(stream, &[]);
    // Where the stream is cut decides whether an over-long line closes the
    // connection (as in memcached), and `stats` reports times: compare otherwise.
    let timed = |o: &[u8]| o.windows(6).any(|w| w == b"rusage");
    if !ca && !cb && !timed(&a) && !timed(&b) {
        assert_eq!(a, b);
    }
});
