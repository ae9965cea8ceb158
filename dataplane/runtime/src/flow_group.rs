//! Flow groups (IX): every flow hashes into one of a fixed number of groups, and
//! each group belongs to one elastic thread. The control plane rebalances load by
//! moving groups between threads; a thread opening a connection picks a local port
//! whose *reply* traffic hashes into one of its own groups, so both directions of a
//! flow stay on one core without any cross-core lookup.
//!
//! The port is computed, not probed: the group is the low bits of a Toeplitz hash,
//! which is linear over GF(2), so the ports that land in a group form an affine
//! subspace of the 16-bit port space; Gaussian elimination finds one solution and a
//! basis of the rest, and candidates are enumerated from them.
//!
//! Multi-queue steering: on a NIC the groups are the entries of the RSS redirection
//! table (programmed with [`FlowGroups::key`] and [`FlowGroups::owners`]); on tap,
//! `ix_dpdk::tap_steering` attaches a `TUNSETSTEERINGEBPF` program computing the
//! same hash and table lookup, so queue `t` feeds thread `t`.

use crate::toeplitz::{self, DEFAULT_KEY};
use std::net::{Ipv4Addr, SocketAddrV4};

/// Bit offset of the destination port in the hash input.
const DST_PORT_BIT: usize = 80;

/// The flow-group table: key, group count and each group's owning thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowGroups {
    key: [u8; 40],
    mask: u32,
    owner: Vec<u16>,
}

impl FlowGroups {
    /// `groups` groups (a power of two, at most 65536) spread round-robin over
    /// `threads` threads, with [`DEFAULT_KEY`]; `None` if the sizes are unusable.
    pub fn new(groups: usize, threads: usize) -> Option<Self> {
        Self::with_key(groups, threads, DEFAULT_KEY)
    }

    /// As [`FlowGroups::new`] with another RSS key.
    pub fn with_key(groups: usize, threads: usize, key: [u8; 40]) -> Option<Self> {
        if !groups.is_power_of_two() || groups > 1 << 16 || threads == 0 || threads > groups {
            return None;
        }
        Some(FlowGroups {
            key,
            mask: (groups - 1) as u32,
            owner: (0..groups).map(|g| (g % threads) as u16).collect(),
        })
    }

    /// The Toeplitz (RSS) key the groups hash with.
    pub fn key(&self) -> &[u8; 40] {
        &self.key
    }

    /// Every group's owning thread, by group (what a NIC's redirection table or a
    /// tap steering program is programmed with).
    pub fn owners(&self) -> &[u16] {
        &self.owner
    }

    /// Number of groups.
    pub fn groups(&self) -> usize {
        self.owner.len()
    }

    /// The group of a packet from `src` to `dst`.
    pub fn group(&self, src: SocketAddrV4, dst: SocketAddrV4) -> usize {
        (toeplitz::hash(&self.key, &toeplitz::input(src, dst)) & self.mask) as usize
    }

    /// The thread owning `group` (0 for an out-of-range group).
    pub fn owner(&self, group: usize) -> usize {
        self.owner.get(group).map_or(0, |&t| usize::from(t))
    }

    /// Moves `group` to `thread` (the control plane's rebalancing); ignores bad input.
    pub fn set_owner(&mut self, group: usize, thread: usize) {
        if let (Some(o), Ok(t)) = (self.owner.get_mut(group), u16::try_from(thread)) {
            *o = t;
        }
    }

    /// Local ports in `lo..=hi` for a connection from `local` to `remote` whose
    /// reply packets (remote -> local) hash into a group of `thread`, in an order
    /// that rotates with `start`. Allocates nothing.
    pub fn local_ports(
        &self,
        local: Ipv4Addr,
        remote: SocketAddrV4,
        thread: usize,
        (lo, hi): (u16, u16),
        start: u32,
    ) -> PortCandidates<'_> {
        let base = toeplitz::hash(
            &self.key,
            &toeplitz::input(remote, SocketAddrV4::new(local, 0)),
        ) & self.mask;
        // Column i: how bit i of the port (i = 0 is the port's MSB) moves the group.
        let mut basis = [(0u32, 0u16); 16];
        let mut rank = 0usize;
        let mut null = [0u16; 16];
        let mut nulls = 0usize;
        for i in 0..16 {
            let mut v = toeplitz::window(&self.key, DST_PORT_BIT + i) & self.mask;
            let mut combo = 0x8000u16 >> i;
            for &(bv, bc) in &basis[..rank] {
                if v & top_bit(bv) != 0 {
                    v ^= bv;
                    combo ^= bc;
                }
            }
            if v == 0 {
                null[nulls] = combo;
                nulls += 1;
            } else {
                basis[rank] = (v, combo);
                rank += 1;
                // Keep the basis reduced: every pivot appears in one vector only.
                let pivot = top_bit(v);
                for b in basis.iter_mut().take(rank - 1) {
                    if b.0 & pivot != 0 {
                        b.0 ^= v;
                        b.1 ^= combo;
                    }
                }
            }
        }
        PortCandidates {
            groups: self,
            thread,
            base,
            basis,
            rank,
            null,
            nulls,
            lo,
            hi,
            group_step: 0,
            group_start: start as usize,
            k: 0,
            k_start: start.rotate_left(16),
            particular: None,
        }
    }
}

/// The highest set bit of `v` (0 for 0).
fn top_bit(v: u32) -> u32 {
    if v == 0 {
        0
    } else {
        1 << (31 - v.leading_zeros())
    }
}

/// Ports whose reply traffic lands in the calling thread's groups (see
/// [`FlowGroups::local_ports`]).
#[derive(Debug)]
pub struct PortCandidates<'a> {
    groups: &'a FlowGroups,
    thread: usize,
    base: u32,
    basis: [(u32, u16); 16],
    rank: usize,
    null: [u16; 16],
    nulls: usize,
    lo: u16,
    hi: u16,
    group_step: usize,
    group_start: usize,
    k: u64,
    k_start: u32,
    particular: Option<u16>,
}

impl PortCandidates<'_> {
    /// A port whose group is `g`, if any port is.
    fn solve(&self, g: u32) -> Option<u16> {
        let mut t = (g ^ self.base) & self.groups.mask;
        let mut p = 0u16;
        for &(bv, bc) in &self.basis[..self.rank] {
            if t & top_bit(bv) != 0 {
                t ^= bv;
                p ^= bc;
            }
        }
        (t == 0).then_some(p)
    }
}

impl Iterator for PortCandidates<'_> {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        let n = self.groups.groups();
        let per_group = 1u64 << self.nulls;
        loop {
            if self.group_step >= n {
                return None;
            }
            let g = (self.group_start + self.group_step) % n;
            if self.groups.owner(g) != self.thread {
                self.group_step += 1;
                continue;
            }
            if self.particular.is_none() {
                match self.solve(g as u32) {
                    Some(p) => self.particular = Some(p),
                    None => {
                        self.group_step += 1;
                        continue;
                    }
                }
            }
            if self.k >= per_group {
                self.k = 0;
                self.particular = None;
                self.group_step += 1;
                continue;
            }
            let k = (self.k + u64::from(self.k_start)) % per_group;
            self.k += 1;
            let mut p = self.particular.unwrap_or(0);
            for (j, &v) in self.null[..self.nulls].iter().enumerate() {
                if k & (1 << j) != 0 {
                    p ^= v;
                }
            }
            if (self.lo..=self.hi).contains(&p) {
                return Some(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_ports_send_replies_to_the_calling_thread() {
        let local = Ipv4Addr::new(10, 77, 0, 2);
        let remote = SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 1), 7);
        for threads in [1, 2, 3, 4] {
            let fg = FlowGroups::new(128, threads).unwrap();
            for thread in 0..threads {
                let ports: Vec<u16> = fg
                    .local_ports(local, remote, thread, (49152, 65535), thread as u32 * 7)
                    .take(300)
                    .collect();
                assert_eq!(ports.len(), 300, "enough candidates");
                for p in ports {
                    assert!(p >= 49152);
                    let reply = fg.group(remote, SocketAddrV4::new(local, p));
                    assert_eq!(fg.owner(reply), thread, "port {p}");
                }
            }
        }
    }

    #[test]
    fn candidates_are_distinct_and_cover_the_owned_share() {
        let fg = FlowGroups::new(128, 4).unwrap();
        let local = Ipv4Addr::new(192, 0, 2, 1);
        let remote = SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 9), 443);
        let all: Vec<u16> = fg.local_ports(local, remote, 2, (1024, 65535), 0).collect();
        let set: std::collections::HashSet<u16> = all.iter().copied().collect();
        assert_eq!(set.len(), all.len(), "no repeats");
        // A quarter of the ports belong to thread 2's quarter of the groups.
        let expected = (1024..=65535u32)
            .filter(|&p| fg.owner(fg.group(remote, SocketAddrV4::new(local, p as u16))) == 2)
            .count();
        assert_eq!(all.len(), expected);
    }

    #[test]
    fn bad_sizes_are_refused_and_owners_move() {
        assert!(FlowGroups::new(100, 1).is_none());
        assert!(FlowGroups::new(4, 5).is_none());
        let mut fg = FlowGroups::new(4, 2).unwrap();
        assert_eq!((fg.owner(0), fg.owner(1)), (0, 1));
        fg.set_owner(1, 0);
        assert_eq!(fg.owner(1), 0);
    }
}
