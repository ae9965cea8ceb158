//! ARP across an instance's elastic threads, multikernel style: every thread keeps
//! its own `ix_net` interface and ARP cache, and the thread whose queue receives an
//! ARP frame passes a copy to every other thread as a message.
//!
//! Why: a multi-queue NIC (or a steered tap) hashes only IPv4/TCP flows; ARP lands
//! on one queue (queue 0 on tap). A thread that asked for a neighbour would never
//! see the reply, and a thread serving a flow whose SYN came with no ARP of its own
//! would have to ask again. With [`ArpSharingNic`] each thread's interface sees
//! every ARP frame as if it had arrived on its own queue.
//!
//! Forwarded requests are turned into replies first (same sender, same target):
//! the receiving interface learns the sender exactly as from the request (the
//! target is our address either way) but does not answer it a second time.
//!
//! Messages go through bounded crossbeam channels, checked without blocking at each
//! receive burst; a copy takes a buffer from the NIC's pool, never the heap. A full
//! channel or an empty pool drops the copy (counted): ARP retries.

use crossbeam_channel::{bounded, Receiver, Sender};
use ix_nic::{Batch, BufPool, FrameOf, Nic, RxBuf, RxOf};

/// EtherType of ARP.
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
/// Offset of the ARP operation in an Ethernet frame.
const ARP_OP: usize = 20;

/// One thread's end of the ARP exchange: senders to every other thread, its own
/// inbox, and counters.
#[derive(Debug)]
pub struct ArpShare<R> {
    peers: Vec<Sender<R>>,
    inbox: Option<Receiver<R>>,
    forwarded: u64,
    dropped: u64,
}

/// Ends for `threads` threads (index = thread), each inbox holding up to `depth`
/// frames. One thread gets an end that forwards nothing.
pub fn arp_share<R: Send>(threads: usize, depth: usize) -> Vec<ArpShare<R>> {
    if threads <= 1 {
        return (0..threads)
            .map(|_| ArpShare {
                peers: Vec::new(),
                inbox: None,
                forwarded: 0,
                dropped: 0,
            })
            .collect();
    }
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..threads).map(|_| bounded(depth.max(1))).unzip();
    rxs.into_iter()
        .enumerate()
        .map(|(me, rx)| ArpShare {
            peers: txs
                .iter()
                .enumerate()
                .filter(|&(t, _)| t != me)
                .map(|(_, tx)| tx.clone())
                .collect(),
            inbox: Some(rx),
            forwarded: 0,
            dropped: 0,
        })
        .collect()
}

impl<R> ArpShare<R> {
    /// ARP frames copied to other threads.
    pub fn forwarded(&self) -> u64 {
        self.forwarded
    }

    /// Copies lost (a full inbox, or no buffer for the copy).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Whether `frame` is an Ethernet ARP frame.
fn is_arp(frame: &[u8]) -> bool {
    frame.get(12..14) == Some(&ETHERTYPE_ARP[..]) && frame.len() >= ARP_OP + 2
}

/// A NIC that hands every other thread a copy of the ARP frames it receives, and
/// receives theirs before its own queue's frames.
pub struct ArpSharingNic<N: Nic> {
    inner: N,
    share: ArpShare<RxOf<N::Pool>>,
}

impl<N: Nic + core::fmt::Debug> core::fmt::Debug for ArpSharingNic<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ArpSharingNic")
            .field("inner", &self.inner)
            .field("peers", &self.share.peers.len())
            .field("forwarded", &self.share.forwarded)
            .field("dropped", &self.share.dropped)
            .finish()
    }
}

impl<N: Nic> ArpSharingNic<N> {
    /// Wraps `inner` with this thread's end of the exchange.
    pub fn new(inner: N, share: ArpShare<RxOf<N::Pool>>) -> Self {
        ArpSharingNic { inner, share }
    }

    /// The wrapped NIC.
    pub fn inner(&self) -> &N {
        &self.inner
    }

    /// The wrapped NIC, mutably.
    pub fn inner_mut(&mut self) -> &mut N {
        &mut self.inner
    }

    /// This thread's end of the exchange (counters).
    pub fn share(&self) -> &ArpShare<RxOf<N::Pool>> {
        &self.share
    }

    /// Sends a copy of `frame` (a request made a reply) to every other thread.
    fn forward(&mut self, frame: &RxOf<N::Pool>) {
        let pool = self.inner.pool();
        for peer in &self.share.peers {
            let Ok(mut copy) = pool.dup_rx(frame) else {
                self.share.dropped += 1;
                continue;
            };
            if let Some(op) = copy.data_mut().get_mut(ARP_OP..ARP_OP + 2) {
                if op == [0, 1] {
                    op[1] = 2;
                }
            }
            match peer.try_send(copy) {
                Ok(()) => self.share.forwarded += 1,
                Err(_) => self.share.dropped += 1,
            }
        }
    }
}

impl<N: Nic> Nic for ArpSharingNic<N> {
    type Pool = N::Pool;

    fn pool(&self) -> &N::Pool {
        self.inner.pool()
    }

    fn rx_burst(&mut self, out: &mut Batch<RxOf<N::Pool>>) -> usize {
        let before = out.len();
        if let Some(inbox) = &self.share.inbox {
            while !out.is_full() {
                match inbox.try_recv() {
                    Ok(f) => out.push(f),
                    Err(_) => break,
                }
            }
        }
        let own = out.len();
        self.inner.rx_burst(out);
        if !self.share.peers.is_empty() {
            for frame in &out[own..] {
                if is_arp(frame.data()) {
                    self.forward(frame);
                }
            }
        }
        out.len() - before
    }

    fn tx_burst(&mut self, frames: &mut Batch<FrameOf<N::Pool>>) -> usize {
        self.inner.tx_burst(frames)
    }

    fn mac(&self) -> [u8; 6] {
        self.inner.mac()
    }
}

#[cfg(test)]
#[path = "arp_share_tests.rs"]
mod tests;
