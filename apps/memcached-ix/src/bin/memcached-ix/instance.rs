//! memcached-ix as a dataplane instance: started by the control plane (`ixctl
//! start CONFIG` -> `ixcp`), which names the instance spec in `IX_INSTANCE_SPEC`.
//!
//! `ix_instance::run_with_app_pool` brings up the spec's port and runs one elastic
//! thread per core of the spec; each listens on `-p` at the spec's address. The
//! store's values live in an application pool on the instance's EAL (2 KiB DPDK
//! buffers, so a GET attaches them to frames by reference), `-m` worth of them
//! plus slack ([`Args::instance_pool_buffers`]). The store is made once, from the
//! first thread's pool, and shared by every thread.
//!
//! Memory: the EAL's `memory_mb` (the config's `[global] memory_mb`) must hold the
//! NIC's pool and this one. Without hugepages DPDK puts each 2 KiB buffer (2.3 KiB
//! with its header) on a 4 KiB page of its own, so a buffer with its indirect twin
//! costs about 4.25 KiB: `-m 64` needs `memory_mb` of about 176 (measured: 160
//! fails, 176 starts), and 256 holds up to about `-m 90`. With 2 MiB hugepages a
//! buffer costs about 2.5 KiB. Too little is refused before the port comes up,
//! naming the numbers ([`check_memory`]); DPDK has the last word.
//!
//! `-l`, `-t` and `--cores` belong to the kernel transport: an instance's address
//! and cores are the spec's, and so is its log level (`-v` is not used).

use anyhow::{bail, Context, Result};
use ix_dpdk::mempool::{DEFAULT_DATA_ROOM, HEADROOM};
use ix_dpdk::nic::DpdkPool;
use ix_instance::spec::InstanceSpec;
use ix_instance::ThreadCtx;
use libix::ev::{Ev, EvConfig};
use libix::{Calls, EventBatch, Handler};
use memcached_ix::args::Args;
use memcached_ix::handler::Memcached;
use memcached_ix::stats::Stats;
use memcached_ix::store::{Clock, Store, StoreConfig};
use std::sync::{Arc, OnceLock};

/// EAL memory one buffer takes without hugepages (measured): a 4 KiB page for the
/// direct mbuf (objects do not cross pages) and a share of one for its indirect twin.
const BYTES_PER_BUFFER_4K_PAGES: u64 = 4352;

/// EAL memory one buffer takes on hugepages: the mbuf header (128 B), its data
/// room, the mempool's object header, and the indirect mbuf made alongside it.
const BYTES_PER_BUFFER_HUGEPAGES: u64 = 2560;

/// The handler of one elastic thread.
type Server = Ev<DpdkPool, Memcached<DpdkPool, DpdkPool>>;

/// Runs the instance the spec in `IX_INSTANCE_SPEC` describes until the agent or a
/// signal stops it.
pub fn run(args: Args) -> Result<()> {
    let Some(spec) = ix_instance::spec_from_env() else {
        bail!("IX_INSTANCE_SPEC is not set: not started by the control plane");
    };
    let spec = spec?;
    let block = usize::from(DEFAULT_DATA_ROOM - HEADROOM);
    if args.value_block != block {
        bail!(
            "--value-block {} cannot be used as a dataplane instance: values live in \
             the instance's DPDK buffers of {block} bytes (leave --value-block out)",
            args.value_block
        );
    }
    let threads = spec.cores.len();
    let buffers = args
        .instance_pool_buffers(threads)
        .context("bad command line")?;
    check_memory(&spec, &args, buffers)?;
    let store_cfg = args.store_config().context("bad command line")?;
    let stats = Arc::new(Stats::new(
        args.settings(threads, spec.addr.to_string())
            .context("bad command line")?,
    ));
    args.apply_detail(&stats).context("bad command line")?;
    let store: Arc<OnceLock<Arc<Store<DpdkPool>>>> = Arc::new(OnceLock::new());
    let (port, max_conns) = (args.port, spec.max_conns);
    ix_instance::run_with_app_pool(spec, buffers, move |ctx: ThreadCtx| {
        let Some(store) = shared_store(&store, ctx.app_pool, store_cfg) else {
            return Instance::NoPool;
        };
        Instance::Serving(Box::new(Ev::new(
            Memcached::new(store, Arc::clone(&stats), ctx.thread, port),
            EvConfig {
                max_conns,
                max_unsent: 256,
                ..EvConfig::default()
            },
        )))
    })
}

/// The store every thread shares: made from the first thread's application pool.
fn shared_store(
    cell: &OnceLock<Arc<Store<DpdkPool>>>,
    pool: Option<DpdkPool>,
    cfg: StoreConfig,
) -> Option<Arc<Store<DpdkPool>>> {
    if let Some(s) = cell.get() {
        return Some(Arc::clone(s));
    }
    let pool = pool?;
    Some(Arc::clone(cell.get_or_init(|| {
        Arc::new(Store::new(pool, cfg, Clock::system()))
    })))
}

/// Refuses a spec whose EAL memory cannot hold the NIC's pool and `buffers`
/// application buffers (a slightly generous estimate: DPDK has the last word when
/// it makes them).
fn check_memory(spec: &InstanceSpec, args: &Args, buffers: u32) -> Result<()> {
    let queues = spec.cores.len();
    let nic = u64::from(ix_instance::ports::mbufs_for(spec.memory_mb, queues));
    let per_buffer = if spec.hugepages {
        BYTES_PER_BUFFER_HUGEPAGES
    } else {
        BYTES_PER_BUFFER_4K_PAGES
    };
    let need_mb = (u64::from(buffers) + nic) * per_buffer / (1 << 20);
    if u64::from(spec.memory_mb) < need_mb {
        bail!(
            "memory_mb = {} is too small for -m {}: its {buffers} value buffers and the \
             NIC's {nic} need about {need_mb} MiB of EAL memory; raise [global] memory_mb \
             or lower -m",
            spec.memory_mb,
            args.memory_mb
        );
    }
    Ok(())
}

/// One thread's handler: memcached, or (never in practice: `run_with_app_pool`
/// always hands a pool) nothing, refusing to listen rather than panicking.
enum Instance {
    Serving(Box<Server>),
    NoPool,
}

impl Handler<DpdkPool> for Instance {
    fn start(&mut self, calls: &mut Calls<'_, DpdkPool>) {
        match self {
            Instance::Serving(h) => h.start(calls),
            Instance::NoPool => {
                tracing::error!("no application pool for the store: this thread does not listen")
            }
        }
    }

    fn events(&mut self, batch: &mut EventBatch<DpdkPool>, calls: &mut Calls<'_, DpdkPool>) {
        if let Instance::Serving(h) = self {
            h.events(batch, calls);
        }
    }
}
