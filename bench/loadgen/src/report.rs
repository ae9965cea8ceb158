//! mutilate's output: the latency table (µs), QPS, misses, skipped requests, bytes;
//! and the `--scan` table, whose header names its columns correctly.

use crate::histogram::Hist;
use crate::stats::{Counts, Stats};
use std::fmt::Write;

/// Column names after `#type`: mutilate's, then the two HDR tail percentiles.
pub const COLUMNS: [&str; 10] = [
    "avg", "std", "min", "5th", "10th", "90th", "95th", "99th", "99.9th", "99.99th",
];

/// The percentiles printed after avg, std and min.
const PERCENTILES: [f64; 7] = [5.0, 10.0, 90.0, 95.0, 99.0, 99.9, 99.99];

/// The header line of the latency table.
pub fn header() -> String {
    let mut s = format!("{:<7}", "#type");
    for c in COLUMNS {
        let _ = write!(s, " {c:>7}");
    }
    s
}

/// One row: `tag` then the columns; latencies (ns) are shown in µs when `ns` is true,
/// raw values (queue depths) otherwise.
pub fn row(tag: &str, h: &Hist, ns: bool) -> String {
    let unit = if ns { 1e-3 } else { 1.0 };
    let mut values = vec![h.mean() * unit, h.stdev() * unit, h.min() as f64 * unit];
    values.extend(PERCENTILES.iter().map(|&p| h.percentile(p) as f64 * unit));
    let mut s = format!("{tag:<7}");
    for v in values {
        let _ = write!(s, " {v:>7.1}");
    }
    s
}

/// The whole report of a run: the table, then QPS, misses, skipped, RX/TX. `counts`
/// are every participant's (master and agents); latencies are the master's.
pub fn report(stats: &Stats, counts: &Counts, peak_qps: Option<f64>) -> String {
    let secs = stats.seconds();
    let total = counts.total();
    let pct = |n: u64, of: u64| {
        if of == 0 {
            0.0
        } else {
            n as f64 * 100.0 / of as f64
        }
    };
    let mut s = String::new();
    let _ = writeln!(s, "{}", header());
    let _ = writeln!(s, "{}", row("read", &stats.get, true));
    let _ = writeln!(s, "{}", row("update", &stats.set, true));
    let _ = writeln!(s, "{}", row("op_q", &stats.op_q, false));
    let _ = writeln!(s, "{}", row("read_tx", &stats.get_from_send, true));
    let _ = writeln!(
        s,
        "(latencies in µs from each request's scheduled send time; read_tx: the same gets \
         timed from the actual send, as mutilate does)"
    );
    let _ = writeln!(
        s,
        "\nTotal QPS = {:.1} ({} / {:.1}s)",
        total as f64 / secs,
        total,
        secs
    );
    if let Some(peak) = peak_qps {
        let _ = writeln!(s, "Peak QPS  = {peak:.1}");
    }
    let _ = writeln!(
        s,
        "\nMisses = {} ({:.1}%)",
        counts.misses,
        pct(counts.misses, counts.gets)
    );
    let _ = writeln!(
        s,
        "Skipped TXs = {} ({:.1}%)",
        counts.skipped,
        pct(counts.skipped, total + counts.skipped)
    );
    if counts.errors > 0 {
        let _ = writeln!(s, "Errors = {}", counts.errors);
    }
    let mb = |b: u64| b as f64 / 1024.0 / 1024.0 / secs;
    let _ = writeln!(
        s,
        "\nRX {:>10} bytes : {:>6.1} MB/s",
        counts.rx_bytes,
        mb(counts.rx_bytes)
    );
    let _ = writeln!(
        s,
        "TX {:>10} bytes : {:>6.1} MB/s",
        counts.tx_bytes,
        mb(counts.tx_bytes)
    );
    s
}

/// The `--scan` header: the latency columns, then achieved and target QPS. (mutilate
/// prints "min 1st" over what are std and min.)
pub fn scan_header() -> String {
    format!("{} {:>8} {:>8}", header(), "QPS", "target")
}

/// One `--scan` line: read latencies, achieved QPS, target QPS.
pub fn scan_row(stats: &Stats, achieved_qps: f64, target: u64) -> String {
    format!(
        "{} {:>8.1} {:>8}",
        row("read", &stats.get, true),
        achieved_qps,
        target
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_rows_line_up() {
        let mut stats = Stats::new(0, 2_000_000_000, false);
        for v in 1..=1000u64 {
            stats.get.record(v * 1000);
        }
        stats.counts = Counts {
            gets: 1000,
            sets: 0,
            misses: 250,
            rx_bytes: 2 << 20,
            ..Counts::default()
        };
        let counts = stats.counts;
        let out = report(&stats, &counts, None);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>()[1..],
            COLUMNS
        );
        let read: Vec<f64> = lines[1]
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect();
        assert_eq!(read.len(), COLUMNS.len());
        assert_eq!(lines[0].len(), lines[1].len(), "columns are aligned");
        assert!((read[0] - 500.5).abs() < 1.0, "avg µs {}", read[0]);
        assert_eq!(read[2], 1.0, "min");
        assert!((read[7] - 990.0).abs() < 1.5, "99th {}", read[7]);
        assert!(out.contains("Total QPS = 500.0 (1000 / 2.0s)"), "{out}");
        assert!(out.contains("Misses = 250 (25.0%)"));
        assert!(out.contains("RX    2097152 bytes :    1.0 MB/s"));
        let scan = scan_header();
        let names: Vec<&str> = scan.split_whitespace().collect();
        assert_eq!(
            names[1..4],
            ["avg", "std", "min"],
            "std and min where their values are"
        );
        assert_eq!(names[names.len() - 2..], ["QPS", "target"]);
        assert_eq!(
            scan_row(&stats, 500.0, 500).split_whitespace().count(),
            names.len()
        );
    }
}
