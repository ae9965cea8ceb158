//! The printed report: settings, the throughput and round-trip tables, and
//! per-run details.

use std::fmt::Write as _;

use crate::cli::Settings;
use crate::orchestrate::{PingRun, Results};
use crate::roles::WARMUP;
use crate::stats::Summary;

/// Lays out rows as aligned columns (first row is the header).
pub fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (k, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths[i] - cell.chars().count();
            line.push_str(cell);
            line.push_str(&" ".repeat(pad));
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if k == 0 {
            let total = widths.iter().sum::<usize>() + 2 * n.saturating_sub(1);
            out.push_str(&"-".repeat(total));
            out.push('\n');
        }
    }
    out
}

/// Frames per second as Mpps with three decimals.
pub fn mpps(fps: f64) -> String {
    format!("{:.3} Mpps", fps / 1e6)
}

/// Nanoseconds as microseconds with two decimals.
pub fn us(ns: f64) -> String {
    format!("{:.2}", ns / 1e3)
}

/// `YYYY-MM-DD HH:MM:SS UTC` for seconds since the Unix epoch.
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Median of the known values, as a whole percentage ("-" if none).
fn pct(values: &[Option<f64>]) -> String {
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    Summary::of(&known).map_or_else(|| "-".to_owned(), |s| format!("{:.0}", s.median))
}

/// `dp / peer` CPU shares, percent.
pub fn cpu_cell(dp: &[Option<f64>], peer: &[Option<f64>]) -> String {
    format!("{} / {}", pct(dp), pct(peer))
}

fn throughput_row(
    name: &str,
    path: &str,
    counted: &str,
    rates: &[f64],
    cpu: String,
) -> Vec<String> {
    match Summary::of(rates) {
        Some(s) => vec![
            name.to_owned(),
            path.to_owned(),
            counted.to_owned(),
            mpps(s.median),
            format!("{:.3} - {:.3}", s.min / 1e6, s.max / 1e6),
            format!("{:.1} %", s.spread_pct()),
            s.runs.to_string(),
            cpu,
        ],
        None => vec![
            name.to_owned(),
            path.to_owned(),
            counted.to_owned(),
            "failed".to_owned(),
        ],
    }
}

/// `median [min - max]` of one round-trip figure over the runs, in µs.
fn rtt_cell(runs: &[PingRun], figure: impl Fn(&PingRun) -> u64) -> String {
    let values: Vec<f64> = runs.iter().map(|r| figure(r) as f64).collect();
    match Summary::of(&values) {
        Some(s) if s.runs > 1 => format!("{} [{} - {}]", us(s.median), us(s.min), us(s.max)),
        Some(s) => us(s.median),
        None => "-".to_owned(),
    }
}

/// The whole report.
pub fn report(settings: &Settings, results: &Results, command: &str, machine: &str) -> String {
    let s = settings;
    let (dp, peer) = (s.dataplane_core, s.peer_core);
    let mut out = String::new();
    let _ = writeln!(out, "l2bench: raw L2 limits of this machine's virtual NICs");
    let _ = writeln!(out, "command:  {command}");
    let _ = writeln!(out, "machine:  {machine}");
    let _ = writeln!(
        out,
        "settings: burst {}, frame {} B (as handed to the NIC, no FCS), {} s measured per run \
         after {} ms warm-up, {} runs per figure (fresh processes each)",
        s.burst,
        s.frame_size,
        s.seconds,
        WARMUP.as_millis(),
        s.runs
    );
    let _ = writeln!(
        out,
        "cores:    data-plane side on core {dp}; the other DPDK process on core {peer}, which it \
         shares with the kernel and l2bench (two busy-pollers is all 2 cores allow)"
    );

    let _ = writeln!(
        out,
        "\nThroughput, {}-byte frames per second: median over runs, range (min - max, Mpps), \
         spread = (max - min) / median",
        s.frame_size
    );
    let header = [
        "test",
        "path",
        "counted at",
        "median",
        "range Mpps",
        "spread",
        "runs",
        "CPU got % dp/peer",
    ];
    let mut rows = vec![header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()];
    let want_tap = !results.tap_tx.is_empty() || !results.tap_rx.is_empty();
    let failed_tap = results.failures.iter().any(|f| f.starts_with("tap"));
    if want_tap || failed_tap {
        let tx: Vec<f64> = results.tap_tx.iter().map(|r| r.rate()).collect();
        let cpu: Vec<_> = results.tap_tx.iter().map(|r| r.cpu_pct).collect();
        rows.push(throughput_row(
            "tap tx (a)",
            &format!("DPDK tap PMD (core {dp}) -> kernel"),
            "kernel rx_packets",
            &tx,
            cpu_cell(&cpu, &[]),
        ));
        let rx: Vec<f64> = results.tap_rx.iter().map(|r| r.rate()).collect();
        let cpu: Vec<_> = results.tap_rx.iter().map(|r| r.cpu_pct).collect();
        let gen: Vec<_> = results.tap_rx.iter().map(|r| r.peer_cpu_pct).collect();
        rows.push(throughput_row(
            "tap rx (b)",
            &format!("kernel (af_packet gen, core {peer}) -> DPDK tap PMD (core {dp})"),
            "tap PMD rx_burst",
            &rx,
            cpu_cell(&cpu, &gen),
        ));
    }
    if !results.pair.is_empty() || results.failures.iter().any(|f| f.starts_with("pair")) {
        let pair: Vec<f64> = results.pair.iter().map(|r| r.rate()).collect();
        let cpu: Vec<_> = results.pair.iter().map(|r| r.cpu_pct).collect();
        let sender: Vec<_> = results.pair.iter().map(|r| r.peer_cpu_pct).collect();
        rows.push(throughput_row(
            "pair",
            &format!("virtio_user (core {peer}) -> vhost-user (core {dp})"),
            "vhost rx_burst",
            &pair,
            cpu_cell(&cpu, &sender),
        ));
    }
    if rows.len() > 1 {
        out.push_str(&columns(&rows));
        let _ = writeln!(
            out,
            "CPU got: the share of its core each busy-polling loop actually ran during the \
             measurement (median over runs;\n100 = had the core to itself; less = other work \
             on that core took the rest). Peer shares cover the peer's whole run."
        );
    }

    if !results.ping.is_empty() {
        let _ = writeln!(
            out,
            "\nPing-pong round trip, µs: virtio_user client (core {peer}, timing with the TSC) \
             <-> vhost-user reflector (core {dp});\none ping = a burst of N {}-byte frames out, \
             all N back. Cells: median over runs [min - max].",
            s.frame_size
        );
        let mut rows = vec![[
            "frames/ping",
            "pings/run",
            "min",
            "p50",
            "p99",
            "p99.9",
            "lost",
            "CPU got % dp/peer",
        ]
        .iter()
        .map(|h| (*h).to_owned())
        .collect::<Vec<_>>()];
        for (burst, runs) in &results.ping {
            if runs.is_empty() {
                rows.push(vec![burst.to_string(), "failed".to_owned()]);
                continue;
            }
            let pings: Vec<f64> = runs.iter().map(|r| r.rtt.count as f64).collect();
            let min_of_mins = runs.iter().map(|r| r.rtt.min_ns).min().unwrap_or(0);
            rows.push(vec![
                burst.to_string(),
                format!("{:.0}", Summary::of(&pings).map_or(0.0, |p| p.median)),
                us(min_of_mins as f64),
                rtt_cell(runs, |r| r.rtt.p50_ns),
                rtt_cell(runs, |r| r.rtt.p99_ns),
                rtt_cell(runs, |r| r.rtt.p999_ns),
                runs.iter().map(|r| r.lost).sum::<u64>().to_string(),
                cpu_cell(
                    &runs.iter().map(|r| r.peer_cpu_pct).collect::<Vec<_>>(),
                    &runs.iter().map(|r| r.cpu_pct).collect::<Vec<_>>(),
                ),
            ]);
        }
        out.push_str(&columns(&rows));
    }

    let _ = writeln!(out, "\nPer run:");
    for (i, r) in results.tap_tx.iter().enumerate() {
        let _ = writeln!(
            out,
            "  tap tx #{}: {} over {:.2} s; tx_burst accepted {}, PMD opackets {} oerrors {}, \
             kernel rx_packets {} rx_dropped {}; CPU got {} %",
            i + 1,
            mpps(r.rate()),
            r.secs,
            r.accepted,
            r.pmd_opackets,
            r.pmd_oerrors,
            r.kernel_rx,
            r.kernel_rx_dropped,
            pct(&[r.cpu_pct])
        );
    }
    for (i, r) in results.tap_rx.iter().enumerate() {
        let _ = writeln!(
            out,
            "  tap rx #{}: {} over {:.2} s ({} frames, {} lost); generator accepted {} in all; \
             kernel tap tx_packets {} tx_dropped {} (refused while the tap queue was full; \
             af_packet retries them); CPU got {} / {} %",
            i + 1,
            mpps(r.rate()),
            r.secs,
            r.received,
            r.lost,
            r.gen_accepted,
            r.kernel_tx,
            r.kernel_tx_dropped,
            pct(&[r.cpu_pct]),
            pct(&[r.peer_cpu_pct])
        );
    }
    for (i, r) in results.pair.iter().enumerate() {
        let _ = writeln!(
            out,
            "  pair   #{}: {} over {:.2} s ({} frames, {} missing sequence numbers); \
             CPU got {} / {} %",
            i + 1,
            mpps(r.rate()),
            r.secs,
            r.received,
            r.missing,
            pct(&[r.cpu_pct]),
            pct(&[r.peer_cpu_pct])
        );
    }
    for (burst, runs) in &results.ping {
        for (i, r) in runs.iter().enumerate() {
            let _ = writeln!(
                out,
                "  ping {burst:>2} #{}: {} pings, min {} p50 {} p99 {} p99.9 {} max {} µs, lost {}; \
                 CPU got {} / {} %",
                i + 1,
                r.rtt.count,
                us(r.rtt.min_ns as f64),
                us(r.rtt.p50_ns as f64),
                us(r.rtt.p99_ns as f64),
                us(r.rtt.p999_ns as f64),
                us(r.rtt.max_ns as f64),
                r.lost,
                pct(&[r.peer_cpu_pct]),
                pct(&[r.cpu_pct])
            );
        }
    }
    if !results.failures.is_empty() {
        let _ = writeln!(out, "\nFAILED:");
        for f in &results.failures {
            let _ = writeln!(out, "  {f}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Mode;
    use crate::orchestrate::{PairRun, TapTxRun};
    use crate::stats::RttSummary;

    #[test]
    fn columns_align() {
        let rows = vec![
            vec!["a".to_owned(), "bb".to_owned()],
            vec!["ccc".to_owned(), "d".to_owned()],
        ];
        assert_eq!(columns(&rows), "a    bb\n-------\nccc  d\n");
    }

    #[test]
    fn units() {
        assert_eq!(mpps(1_234_567.0), "1.235 Mpps");
        assert_eq!(us(2_345.0), "2.35");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_767_225_599), "2025-12-31 23:59:59 UTC");
    }

    #[test]
    fn report_shows_medians_and_failures() {
        let settings = Settings {
            mode: Mode::All,
            burst: 32,
            frame_size: 64,
            seconds: 2.0,
            runs: 3,
            dataplane_core: 1,
            peer_core: 0,
            memory_mb: 256,
        };
        let tx = |kernel_rx| TapTxRun {
            secs: 1.0,
            accepted: kernel_rx,
            pmd_opackets: kernel_rx,
            pmd_oerrors: 0,
            kernel_rx,
            kernel_rx_dropped: 0,
            cpu_pct: Some(99.0),
        };
        let rtt = |p50_ns| RttSummary {
            count: 10,
            min_ns: 1_000,
            p50_ns,
            p99_ns: 5_000,
            p999_ns: 9_000,
            max_ns: 10_000,
        };
        let results = Results {
            tap_tx: vec![tx(1_000_000), tx(1_200_000), tx(1_100_000)],
            pair: vec![PairRun {
                secs: 2.0,
                received: 20_000_000,
                missing: 0,
                cpu_pct: None,
                peer_cpu_pct: Some(50.0),
            }],
            ping: vec![(
                1,
                vec![
                    PingRun {
                        burst: 1,
                        lost: 0,
                        rtt: rtt(2_000),
                        cpu_pct: Some(40.0),
                        peer_cpu_pct: Some(100.0),
                    },
                    PingRun {
                        burst: 1,
                        lost: 1,
                        rtt: rtt(3_000),
                        cpu_pct: Some(60.0),
                        peer_cpu_pct: Some(100.0),
                    },
                ],
            )],
            failures: vec!["tap: tap rx run 1: no frame".to_owned()],
            ..Results::default()
        };
        let text = report(&settings, &results, "l2bench all", "test machine");
        assert!(text.contains("1.100 Mpps"), "{text}");
        assert!(text.contains("1.000 - 1.200"), "{text}");
        assert!(text.contains("18.2 %"), "{text}");
        assert!(text.contains("10.000 Mpps"), "{text}");
        assert!(text.contains("2.50 [2.00 - 3.00]"), "{text}");
        assert!(text.contains("tap rx (b)"), "{text}");
        assert!(text.contains("FAILED:\n  tap: tap rx run 1"), "{text}");
        assert!(text.contains("core 1"), "{text}");
        assert!(text.contains("99 / -"), "tap tx CPU: {text}");
        assert!(text.contains("- / 50"), "pair CPU: {text}");
        assert!(text.contains("100 / 50"), "ping CPU: {text}");
    }
}
