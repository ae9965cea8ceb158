//! The alternative structure, for comparison only: per-thread partitions with
//! message passing. Each thread owns the `Store` of the keys that hash to it (one
//! shard, its lock never contended); an op on another thread's key is sent to the
//! owner on a channel and the sender waits for the answer, answering requests
//! sent to it meanwhile. This is what a shared-nothing design costs when the
//! connection (chosen by the NIC's RSS, not by key) is not on the key's thread.

use super::run::Worker;
use super::shared::{new_store, set, ValueSource, Values, NOW};
use super::workload::Keys;
use ix_nic::heap::{HeapPool, HeapShared};
use memcached_ix::store::{Hit, Store, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};

enum Req {
    Get(usize),
    Set(usize, Value<HeapShared>),
}

enum Reply {
    // The hit itself crosses back, as a server would need it to send the value.
    Got(Option<Hit<HeapShared>>),
    Stored(bool),
}

/// The owner of key `k` among `n` partitions: FNV-1a of the key, as the store's
/// shard choice.
pub fn owner(key: &[u8], n: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    (h % n as u64) as usize
}

/// The partitions' stores, each preloaded with its own keys.
pub fn new_partitions(keys: &Keys, n: usize, values: Values, room: f64) -> Vec<Store<HeapPool>> {
    (0..n)
        .map(|p| {
            let mine = |i: usize| owner(&keys.keys[i], n) == p;
            let s = new_store(keys, 1, values, n, room, mine);
            super::shared::preload(&s, keys, &ValueSource::new(values), mine);
            s
        })
        .collect()
}

/// One thread's end: its partition, its inbox, the way to every peer.
pub struct PartWorker<'a> {
    id: usize,
    stores: &'a [Store<HeapPool>],
    keys: &'a Keys,
    values: ValueSource,
    inbox: Receiver<(usize, Req)>,
    replies: Receiver<Reply>,
    peers: Vec<Sender<(usize, Req)>>,
    reply_to: Vec<Sender<Reply>>,
    done: &'a AtomicUsize,
}

/// One worker per partition, wired to each other.
pub fn workers<'a>(
    stores: &'a [Store<HeapPool>],
    keys: &'a Keys,
    values: Values,
    done: &'a AtomicUsize,
) -> Vec<PartWorker<'a>> {
    let n = stores.len();
    let (peers, inboxes): (Vec<_>, Vec<_>) = (0..n).map(|_| channel()).unzip();
    let (reply_to, replies): (Vec<_>, Vec<_>) = (0..n).map(|_| channel()).unzip();
    inboxes
        .into_iter()
        .zip(replies)
        .enumerate()
        .map(|(id, (inbox, replies))| PartWorker {
            id,
            stores,
            keys,
            values: ValueSource::new(values),
            inbox,
            replies,
            peers: peers.clone(),
            reply_to: reply_to.clone(),
            done,
        })
        .collect()
}

impl PartWorker<'_> {
    fn local(&self, req: Req) -> Reply {
        let store = &self.stores[self.id];
        match req {
            Req::Get(k) => Reply::Got(store.get(&self.keys.keys[k], NOW)),
            Req::Set(k, v) => Reply::Stored(set(store, &self.keys.keys[k], v)),
        }
    }

    /// Answers every request waiting in the inbox.
    fn serve(&self) {
        while let Ok((from, req)) = self.inbox.try_recv() {
            let r = self.local(req);
            let _ = self.reply_to[from].send(r);
        }
    }

    fn call(&self, k: usize, req: Req) -> Reply {
        let p = owner(&self.keys.keys[k], self.stores.len());
        self.serve();
        if p == self.id {
            return self.local(req);
        }
        if self.peers[p].send((self.id, req)).is_err() {
            return Reply::Stored(false);
        }
        let mut spins = 0u32;
        loop {
            self.serve();
            match self.replies.try_recv() {
                Ok(r) => return r,
                Err(TryRecvError::Disconnected) => return Reply::Stored(false),
                Err(TryRecvError::Empty) => {
                    // Spin briefly, then give the core away (oversubscribed runs).
                    spins += 1;
                    if spins < 64 {
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now();
                    }
                }
            }
        }
    }
}

impl Worker for PartWorker<'_> {
    fn get(&mut self, k: usize) -> bool {
        matches!(self.call(k, Req::Get(k)), Reply::Got(Some(_)))
    }

    fn set(&mut self, k: usize) -> bool {
        let p = owner(&self.keys.keys[k], self.stores.len());
        let Some(v) = self
            .values
            .value(&self.stores[p], usize::from(self.keys.class[k]))
        else {
            return false;
        };
        matches!(self.call(k, Req::Set(k, v)), Reply::Stored(true))
    }

    fn finish(&mut self) {
        // Peers may still wait for answers from this partition: serve until all
        // threads have finished their own ops (then nothing is outstanding).
        self.done.fetch_add(1, Ordering::SeqCst);
        while self.done.load(Ordering::SeqCst) < self.stores.len() {
            self.serve();
            std::thread::yield_now();
        }
        self.serve();
    }
}
