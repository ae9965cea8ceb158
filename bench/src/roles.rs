//! The role processes: each is one DPDK process pinned to one core, started
//! by `l2bench` as `l2bench --role ROLE ...`. A role prints `READY ...` once
//! usable and `RESULT ...` with its figures (see [`crate::kv`]), then keeps
//! going until it is told to stop: its stdin reaches EOF (the orchestrator
//! closes it, or died) or it gets SIGINT/SIGTERM. Then it stops and closes
//! its port and cleans up its EAL, so nothing is left behind.
//!
//! The roles by measurement are in [`tap`], [`pair`] and [`pingpong`]; what
//! they share is in [`control`] (stop flag, protocol lines), [`device`] (EAL,
//! pool, port), [`cpu`], [`sender`] and [`receiver`].

use std::time::Duration;

use anyhow::Result;

use crate::cli::{Role, RoleArgs};

mod control;
mod cpu;
mod device;
mod pair;
mod pingpong;
mod receiver;
mod sender;
mod tap;

/// Warm-up before any measured window.
pub const WARMUP: Duration = Duration::from_millis(300);
/// How long a role waits for its link or its first frame.
const SETUP_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs one role to completion; assumes `args` passed `cli::validate` for that role.
pub fn run(args: &RoleArgs) -> Result<()> {
    let stop = control::stop_flag()?;
    match args.role {
        Role::TapTx => tap::tap_tx(args, &stop),
        Role::TapRx => tap::tap_rx(args, &stop),
        Role::AfpGen => tap::afp_gen(args, &stop),
        Role::PairRx => pair::pair_rx(args, &stop),
        Role::PairTx => pair::pair_tx(args, &stop),
        Role::PpServer => pingpong::pp_server(args, &stop),
        Role::PpClient => pingpong::pp_client(args, &stop),
    }
}

/// TSC cycles in `d` at `hz`.
fn cycles(d: Duration, hz: u64) -> u64 {
    (d.as_secs_f64() * hz as f64) as u64
}

/// The measured window the orchestrator asked for (`--seconds`).
fn measured_window(args: &RoleArgs) -> Duration {
    Duration::from_secs_f64(args.seconds)
}
