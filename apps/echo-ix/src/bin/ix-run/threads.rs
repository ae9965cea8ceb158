//! Running the elastic threads of one instance: thread 0 on the calling thread
//! (the EAL's main thread), threads 1.. on their own pinned threads, each on its
//! own queue of the port, ARP shared between them.

use crate::elastic::{Setup, Slot};
use crate::port::Device;
use crate::report::Outcome;
use anyhow::{Context, Result};
use ix_dpdk::nic::{DpdkNic, DpdkRx};
use ix_runtime::{arp_share, pin_current_thread};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// ARP frames waiting for one thread at most (ARP is rare).
const ARP_INBOX: usize = 64;

/// Runs `role` as thread 0 here and as threads 1.. on their own pinned threads,
/// one per queue in `nics`; their outcomes in thread order. Only thread 0 gets
/// the `device`; its failure stops the others.
pub fn run_threads(
    setup: &Setup,
    nics: Vec<DpdkNic>,
    device: &Device,
    stop: &Arc<AtomicBool>,
    role: impl Fn(&Setup, Slot<'_>) -> Result<Outcome> + Sync,
) -> Result<Vec<Outcome>> {
    let threads = nics.len();
    let mut shares = arp_share::<DpdkRx>(threads, ARP_INBOX).into_iter();
    let mut nics = nics.into_iter();
    let (nic0, share0) = nics.next().zip(shares.next()).context("no queue")?;
    let outcomes: Vec<Result<Outcome>> = std::thread::scope(|scope| {
        let others: Vec<_> = nics
            .zip(shares)
            .enumerate()
            .map(|(i, (nic, share))| {
                let t = i + 1;
                let core = setup.cores.get(i).copied().unwrap_or(0) as usize;
                let role = &role;
                std::thread::Builder::new()
                    .name(format!("ix-elastic-{t}"))
                    .spawn_scoped(scope, move || -> Result<Outcome> {
                        pin_current_thread(core)?;
                        let slot = Slot {
                            t,
                            nic,
                            share,
                            device: None,
                        };
                        role(setup, slot)
                    })
            })
            .collect();
        let slot0 = Slot {
            t: 0,
            nic: nic0,
            share: share0,
            device: Some(device),
        };
        let mut all = vec![role(setup, slot0)];
        if all[0].is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        for h in others {
            all.push(match h {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("elastic thread panicked"))),
                Err(e) => Err(e.into()),
            });
        }
        all
    });
    outcomes.into_iter().collect()
}
