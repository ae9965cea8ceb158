//! memcached-ix on libix's kernel transport: Linux sockets, epoll, one thread per
//! `-t` with its own `SO_REUSEPORT` listener, values in a heap pool of `-m` worth
//! of `--value-block` buffers.

use anyhow::{bail, Context, Result};
use ix_nic::heap::HeapPool;
use libix::ev::{Ev, EvConfig};
use libix::kernel::{KernelConfig, KernelRuntime};
use memcached_ix::args::Args;
use memcached_ix::handler::Memcached;
use memcached_ix::stats::Stats;
use memcached_ix::store::{Clock, Store};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Runs until SIGINT/SIGTERM; prints `READY` once every thread listens on `-p`.
pub fn run(args: Args) -> Result<()> {
    let level = match args.verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let store = Arc::new(Store::new(
        HeapPool::new(args.value_blocks(), args.value_block),
        args.store_config().context("bad command line")?,
        Clock::system(),
    ));
    let stats = Arc::new(Stats::new(
        args.settings(args.threads, args.listen.to_string())
            .context("bad command line")?,
    ));
    args.apply_detail(&stats).context("bad command line")?;
    let max_conns = args.conn_limit + 16;
    let cfg = KernelConfig {
        addr: args.listen,
        threads: args.threads,
        cores: args.cores.clone(),
        max_conns,
        backlog: 1024,
        pool_blocks: 2048,
        block_size: 16 * 1024,
        ..KernelConfig::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("signal handler")?;
    }
    let port = args.port;
    let (s2, st2) = (Arc::clone(&store), Arc::clone(&stats));
    let rt = KernelRuntime::spawn(
        cfg,
        move |t| {
            Ev::new(
                Memcached::<HeapPool, HeapPool>::new(Arc::clone(&s2), Arc::clone(&st2), t, port),
                EvConfig {
                    max_conns,
                    max_unsent: 256,
                    ..EvConfig::default()
                },
            )
        },
        |_t, _h: &mut Ev<HeapPool, Memcached<HeapPool, HeapPool>>| (),
    )
    .context("starting the kernel transport's threads")?;
    for (t, ports) in rt.listening().iter().enumerate() {
        if !ports.contains(&port) {
            bail!("thread {t} could not listen on {}:{port}", args.listen);
        }
    }
    tracing::info!(
        threads = args.threads,
        port,
        "memcached-ix on the kernel transport"
    );
    println!("READY");
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(20));
    }
    rt.join().context("a thread failed")?;
    Ok(())
}
