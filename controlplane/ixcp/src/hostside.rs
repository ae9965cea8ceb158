//! The host side of links that ixcp itself creates (namespaces, bridges, veth
//! pairs), each held for the instances that use it and removed when the last of
//! them stops. Namespaces that existed before ixcp are used, never removed.

use crate::journal::CreatedItem;
use crate::plan::HostItem;
use crate::Error;
use ix_hostlink::{run, Netns};
use std::collections::BTreeSet;

/// Runs `ip [-n netns] args...`.
fn ip(netns: &str, args: &[&str]) -> Result<String, ix_hostlink::Error> {
    let mut full = Vec::new();
    if !netns.is_empty() {
        full.extend(["-n", netns]);
    }
    full.extend_from_slice(args);
    run("ip", &full)
}

/// Runs `ethtool args...` in `netns` ("" = current).
fn ethtool(netns: &str, args: &[&str]) -> Result<String, ix_hostlink::Error> {
    if netns.is_empty() {
        return run("ethtool", args);
    }
    let mut full = vec!["netns", "exec", netns, "ethtool"];
    full.extend_from_slice(args);
    run("ip", &full)
}

struct Held {
    item: HostItem,
    users: BTreeSet<String>,
    /// For a namespace: its guard (deletes it on drop if ixcp created it).
    netns: Option<Netns>,
}

impl Held {
    /// Removes what this item created (links explicitly; a namespace by its guard).
    fn remove(mut self) {
        match &self.item {
            HostItem::Netns(_) => drop(self.netns.take()),
            HostItem::Bridge { netns, name, .. } => {
                let _ = ip(netns, &["link", "del", name]);
            }
            HostItem::Veth { netns, iface, .. } => {
                let _ = ip(netns, &["link", "del", iface]);
            }
        }
    }
}

/// Every host-side resource ixcp holds, with its users.
#[derive(Default)]
pub struct HostSide {
    held: Vec<Held>,
}

impl std::fmt::Debug for HostSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.held.iter().map(|h| (&h.item, &h.users)))
            .finish()
    }
}

fn create(item: &HostItem) -> Result<Option<Netns>, Error> {
    match item {
        HostItem::Netns(name) => Ok(Some(Netns::create_or_join(name)?)),
        HostItem::Bridge { netns, name, addr } => {
            ip(netns, &["link", "add", "name", name, "type", "bridge"])?;
            let set_up = || -> Result<(), ix_hostlink::Error> {
                if let Some(a) = addr {
                    ip(netns, &["addr", "add", &a.to_string(), "dev", name])?;
                }
                ip(netns, &["link", "set", name, "up"])?;
                Ok(())
            };
            if let Err(e) = set_up() {
                let _ = ip(netns, &["link", "del", name]);
                return Err(e.into());
            }
            Ok(None)
        }
        HostItem::Veth {
            netns,
            iface,
            peer,
            addr,
        } => {
            ip(
                netns,
                &["link", "add", iface, "type", "veth", "peer", "name", peer],
            )?;
            let set_up = || -> Result<(), ix_hostlink::Error> {
                if let Some(a) = addr {
                    ip(netns, &["addr", "add", &a.to_string(), "dev", peer])?;
                }
                ip(netns, &["link", "set", peer, "up"])?;
                ip(netns, &["link", "set", iface, "up"])?;
                // The kernel would hand the instance TCP segments whose checksum
                // is left for a NIC to fill in (veth offloads it), which ix
                // drops: the host end computes full checksums instead.
                ethtool(netns, &["-K", peer, "tx", "off"])?;
                Ok(())
            };
            if let Err(e) = set_up() {
                let _ = ip(netns, &["link", "del", iface]);
                return Err(e.into());
            }
            Ok(None)
        }
    }
}

impl HostSide {
    /// Creates each item not held yet (in order) and records `users` on all of
    /// them. On failure, what this call created is removed again.
    pub fn acquire(&mut self, items: &[HostItem], users: &[String]) -> Result<(), Error> {
        let before = self.held.len();
        for item in items {
            if let Some(h) = self.held.iter_mut().find(|h| &h.item == item) {
                h.users.extend(users.iter().cloned());
                continue;
            }
            match create(item) {
                Ok(netns) => self.held.push(Held {
                    item: item.clone(),
                    users: users.iter().cloned().collect(),
                    netns,
                }),
                Err(e) => {
                    for h in self.held.drain(before..).rev() {
                        h.remove();
                    }
                    for h in &mut self.held {
                        for u in users {
                            h.users.remove(u);
                        }
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Drops `user` from every item; items nobody uses any more are removed
    /// (links before namespaces).
    pub fn release(&mut self, user: &str) {
        for h in &mut self.held {
            h.users.remove(user);
        }
        let mut i = self.held.len();
        while i > 0 {
            i -= 1;
            if self.held[i].users.is_empty() {
                self.held.remove(i).remove();
            }
        }
    }

    /// Removes everything.
    pub fn release_all(&mut self) {
        while let Some(h) = self.held.pop() {
            h.remove();
        }
    }

    /// What ixcp created and still holds, in creation order (for the journal):
    /// namespaces only if created here, not joined.
    pub fn created(&self) -> Vec<CreatedItem> {
        self.held
            .iter()
            .filter_map(|h| match &h.item {
                HostItem::Netns(name) => h
                    .netns
                    .as_ref()
                    .filter(|n| n.is_owned())
                    .map(|_| CreatedItem::Netns { name: name.clone() }),
                HostItem::Bridge { netns, name, .. } => Some(CreatedItem::Link {
                    netns: netns.clone(),
                    name: name.clone(),
                }),
                HostItem::Veth { netns, iface, .. } => Some(CreatedItem::Link {
                    netns: netns.clone(),
                    name: iface.clone(),
                }),
            })
            .collect()
    }

    /// Namespaces currently held.
    pub fn namespaces(&self) -> Vec<String> {
        self.held
            .iter()
            .filter_map(|h| match &h.item {
                HostItem::Netns(n) => Some(n.clone()),
                _ => None,
            })
            .collect()
    }
}

impl Drop for HostSide {
    fn drop(&mut self) {
        self.release_all();
    }
}
