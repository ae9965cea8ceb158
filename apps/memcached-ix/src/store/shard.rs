//! One shard of the store: a hash map from key to node and an LRU list through the
//! nodes (most recently used at the head), nodes in a slab indexed by `u32`.

use super::item::Item;
use ix_nic::SharedBuf;
use std::collections::HashMap;
use std::sync::Arc;

const NIL: u32 = u32::MAX;

/// An entry: the item, its expiry (touch changes it without a new item) and links.
#[derive(Debug)]
pub struct Node<S: SharedBuf> {
    /// The key.
    pub key: Box<[u8]>,
    /// The item (shared with responses in flight).
    pub item: Arc<Item<S>>,
    /// Relative expiry time, 0 = never.
    pub exptime: u32,
    /// Relative time of the last access.
    pub atime: u32,
    /// Whether it was read since stored.
    pub fetched: bool,
    /// Marked stale (meta `md I`, or `ms I` with an older CAS): still served, but
    /// `mg` flags it (X) and hands one client the right to recache it (W).
    pub stale: bool,
    /// A client was handed the win token (W) for this item; later ones see Z.
    pub token_sent: bool,
    prev: u32,
    next: u32,
}

/// A shard: map, slab of nodes, LRU list.
#[derive(Debug)]
pub struct Shard<S: SharedBuf> {
    map: HashMap<Box<[u8]>, u32>,
    nodes: Vec<Option<Node<S>>>,
    free: Vec<u32>,
    head: u32,
    tail: u32,
}

impl<S: SharedBuf> Default for Shard<S> {
    fn default() -> Self {
        Shard {
            map: HashMap::new(),
            nodes: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
        }
    }
}

impl<S: SharedBuf> Shard<S> {
    /// Items in the shard.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the shard is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The node index of `key`.
    pub fn find(&self, key: &[u8]) -> Option<u32> {
        self.map.get(key).copied()
    }

    /// The node at `i`.
    pub fn node(&self, i: u32) -> Option<&Node<S>> {
        self.nodes.get(i as usize).and_then(Option::as_ref)
    }

    /// One past the highest node index (nodes are `0..slots()`, some empty).
    pub fn slots(&self) -> u32 {
        self.nodes.len() as u32
    }

    /// The node at `i`, mutably.
    pub fn node_mut(&mut self, i: u32) -> Option<&mut Node<S>> {
        self.nodes.get_mut(i as usize).and_then(Option::as_mut)
    }

    /// The least recently used node.
    pub fn tail(&self) -> Option<u32> {
        (self.tail != NIL).then_some(self.tail)
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = match self.node(i) {
            Some(n) => (n.prev, n.next),
            None => return,
        };
        match self.node_mut(prev) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.node_mut(next) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
    }

    fn link_front(&mut self, i: u32) {
        let old = self.head;
        if let Some(n) = self.node_mut(i) {
            n.prev = NIL;
            n.next = old;
        }
        match self.node_mut(old) {
            Some(o) => o.prev = i,
            None => self.tail = i,
        }
        self.head = i;
    }

    /// Moves node `i` to the head (most recently used).
    pub fn bump(&mut self, i: u32) {
        if self.head != i {
            self.unlink(i);
            self.link_front(i);
        }
    }

    /// Inserts or replaces `key`'s item at the head; returns the node it replaced.
    pub fn insert(
        &mut self,
        key: &[u8],
        item: Arc<Item<S>>,
        exptime: u32,
        now: u32,
    ) -> Option<Node<S>> {
        let old = self.find(key).and_then(|i| self.remove(i));
        let node = Node {
            key: key.into(),
            item,
            exptime,
            atime: now,
            fetched: false,
            stale: false,
            token_sent: false,
            prev: NIL,
            next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                if let Some(slot) = self.nodes.get_mut(i as usize) {
                    *slot = Some(node);
                }
                i
            }
            None => {
                self.nodes.push(Some(node));
                (self.nodes.len() - 1) as u32
            }
        };
        self.map.insert(key.into(), i);
        self.link_front(i);
        old
    }

    /// Removes node `i` and returns it.
    pub fn remove(&mut self, i: u32) -> Option<Node<S>> {
        self.node(i)?;
        self.unlink(i);
        let node = self.nodes.get_mut(i as usize)?.take()?;
        self.map.remove(&node.key);
        self.free.push(i);
        Some(node)
    }

    /// Removes every node; returns them (so the caller can account for them).
    pub fn clear(&mut self) -> Vec<Node<S>> {
        self.map.clear();
        self.free.clear();
        self.head = NIL;
        self.tail = NIL;
        self.nodes.drain(..).flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::value::Value;
    use ix_nic::heap::HeapShared;

    fn item(cas: u64) -> Arc<Item<HeapShared>> {
        Arc::new(Item {
            flags: 0,
            cas,
            time: 0,
            value: Value::default(),
            size: 10,
        })
    }

    #[test]
    fn lru_order_follows_inserts_and_bumps() {
        let mut s = Shard::<HeapShared>::default();
        s.insert(b"a", item(1), 0, 0);
        s.insert(b"b", item(2), 0, 0);
        s.insert(b"c", item(3), 0, 0);
        assert_eq!(s.node(s.tail().unwrap()).unwrap().key.as_ref(), b"a");
        let a = s.find(b"a").unwrap();
        s.bump(a);
        assert_eq!(s.node(s.tail().unwrap()).unwrap().key.as_ref(), b"b");
        let old = s.insert(b"b", item(4), 0, 0).unwrap();
        assert_eq!(old.item.cas, 2);
        assert_eq!(s.node(s.tail().unwrap()).unwrap().key.as_ref(), b"c");
        let t = s.tail().unwrap();
        s.remove(t);
        let t = s.tail().unwrap();
        s.remove(t);
        let t = s.tail().unwrap();
        assert_eq!(s.remove(t).unwrap().item.cas, 4);
        assert!(s.is_empty() && s.tail().is_none());
    }

    #[test]
    fn stale_and_token_marks_fit_in_the_node_padding() {
        // The marks share the padding after `fetched`: a node is no larger than
        // key box + item pointer + four u32 + one word of flags.
        assert!(core::mem::size_of::<Node<HeapShared>>() <= 16 + 8 + 4 * 4 + 8);
        let mut s = Shard::<HeapShared>::default();
        s.insert(b"a", item(1), 0, 0);
        let n = s.node(s.find(b"a").unwrap()).unwrap();
        assert!(
            !n.stale && !n.token_sent && !n.fetched,
            "a new item is unmarked"
        );
    }
}
