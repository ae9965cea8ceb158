//! What the elastic threads did, as ix-run's output lines: `stat NAME VALUE`,
//! `fault rx|tx ...`, the role's own lines and `RESULT key=value ...`; with several
//! threads each thread's lines prefixed `tN ` and a last `RESULT threads=N ok=...`
//! line summing them up.

use crate::elastic::Thread;
use ix_dpdk::nic::DpdkPool;
use ix_runtime::Snapshot;
use libix::ev::App;

/// What one elastic thread did: its output lines, its `RESULT` fields, whether
/// it succeeded, and numbers to sum over threads.
pub struct Outcome {
    /// Output lines, without the thread prefix.
    pub lines: Vec<String>,
    /// The `RESULT` line's fields.
    pub result: String,
    /// Whether the thread did its job.
    pub ok: bool,
    /// Numbers to sum over threads, in `RESULT` order.
    pub totals: Vec<(&'static str, u64)>,
    /// Already printed (by a thread that had to wait after printing).
    pub printed: bool,
}

/// The thread's statistics and the fault injector's, as output lines.
pub fn stat_lines<A: App<DpdkPool>>(thread: &Thread<A>, snap: &Snapshot) -> Vec<String> {
    let mut lines: Vec<String> = snap
        .to_string()
        .lines()
        .map(|l| format!("stat {l}"))
        .collect();
    let nic = thread.transport().iface().nic().inner();
    lines.push(format!("stat arp_forwarded {}", nic.share().forwarded()));
    lines.push(format!(
        "stat arp_forward_dropped {}",
        nic.share().dropped()
    ));
    if let Some((rx, tx)) = nic.inner().fault_stats() {
        lines.push(format!("fault rx {rx:?}"));
        lines.push(format!("fault tx {tx:?}"));
    }
    lines
}

/// `key=value` pairs, space-separated.
pub fn key_values<K: std::fmt::Display, V: std::fmt::Display>(pairs: &[(K, V)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints the threads' outcomes (one thread: its lines and `RESULT`, unless
/// already printed; several: each thread's prefixed `tN `, then the sums); whether
/// every thread succeeded.
pub fn print(outcomes: &[Outcome]) -> bool {
    if let [one] = outcomes {
        if one.printed {
            return one.ok;
        }
        for l in &one.lines {
            println!("{l}");
        }
        println!("RESULT {}", one.result);
        return one.ok;
    }
    let mut sums: Vec<(&str, u64)> = Vec::new();
    for (t, o) in outcomes.iter().enumerate() {
        for l in &o.lines {
            println!("t{t} {l}");
        }
        println!("t{t} RESULT {}", o.result);
        if sums.is_empty() {
            sums = o.totals.iter().map(|&(k, _)| (k, 0)).collect();
        }
        for (s, (_, v)) in sums.iter_mut().zip(&o.totals) {
            s.1 += v;
        }
    }
    let ok = outcomes.iter().all(|o| o.ok);
    println!(
        "RESULT threads={} ok={ok} {}",
        outcomes.len(),
        key_values(&sums)
    );
    ok
}
