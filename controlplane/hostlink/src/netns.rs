//! [`Netns`]: a network namespace, removed on drop if we created it.

use crate::{run, Error};
use std::fs::File;
use std::path::Path;
use std::process::Command;

/// A named network namespace (`/run/netns/NAME`).
#[derive(Debug)]
pub struct Netns {
    name: String,
    /// Whether dropping this guard deletes the namespace.
    owned: bool,
}

/// Whether `name` is a namespace name `ip netns` accepts and that stays inside
/// /run/netns.
pub fn valid_netns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

impl Netns {
    /// Creates namespace `name`, which must not exist yet; it is deleted on drop.
    pub fn create(name: &str) -> Result<Netns, Error> {
        if !valid_netns_name(name) {
            return Err(Error::BadName(name.to_owned()));
        }
        run("ip", &["netns", "add", name])?;
        let ns = Netns {
            name: name.to_owned(),
            owned: true,
        };
        // Loopback up: a namespace's own services should be reachable inside it.
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Uses namespace `name`, creating it (and owning it) if it does not exist.
    pub fn create_or_join(name: &str) -> Result<Netns, Error> {
        if !valid_netns_name(name) {
            return Err(Error::BadName(name.to_owned()));
        }
        if Self::exists(name) {
            Ok(Netns {
                name: name.to_owned(),
                owned: false,
            })
        } else {
            Self::create(name)
        }
    }

    /// Whether namespace `name` exists.
    pub fn exists(name: &str) -> bool {
        valid_netns_name(name) && Path::new("/run/netns").join(name).exists()
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether dropping this guard deletes the namespace.
    pub fn is_owned(&self) -> bool {
        self.owned
    }

    /// Runs `ip -n NAME args...`.
    pub fn ip(&self, args: &[&str]) -> Result<String, Error> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    /// A command that runs `program` inside the namespace (`ip netns exec`).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Moves the calling thread into the namespace; threads it starts afterwards
    /// inherit it. Assumes the caller means to stay there.
    pub fn enter_current_thread(&self) -> Result<(), Error> {
        let path = Path::new("/run/netns").join(&self.name);
        let file = File::open(&path).map_err(|e| Error::Enter {
            name: self.name.clone(),
            reason: e.to_string(),
        })?;
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| Error::Enter {
            name: self.name.clone(),
            reason: e.to_string(),
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if self.owned {
            // Nothing useful to do on failure while dropping; a leftover shows in `ip netns`.
            let _ = run("ip", &["netns", "del", &self.name]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(valid_netns_name("ix-default"));
        assert!(valid_netns_name("t_1.2"));
        for bad in ["", ".hidden", "a/b", "../x", "has space", &"x".repeat(65)] {
            assert!(!valid_netns_name(bad), "{bad:?}");
            assert!(matches!(Netns::create(bad), Err(Error::BadName(_))));
        }
    }

    #[test]
    fn created_namespace_is_removed_on_drop() {
        let name = format!("ixhl-test-{}", std::process::id());
        {
            let ns = Netns::create(&name).unwrap();
            assert!(Netns::exists(&name));
            let out = ns.ip(&["link", "show", "lo"]).unwrap();
            assert!(out.contains("UP"), "{out}");
            let joined = Netns::create_or_join(&name).unwrap();
            assert!(!joined.is_owned());
            drop(joined);
            assert!(Netns::exists(&name), "a joined guard does not delete");
            assert!(Netns::create(&name).is_err(), "already exists");
        }
        assert!(!Netns::exists(&name));
    }
}
