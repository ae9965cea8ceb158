//! The ping-pong round-trip times over a vhost-user/virtio_user pair.

use anyhow::{Context, Result};

use super::results::cpu_pct;
use super::{none_failed, Bench, PingRun, Results, READY_TIMEOUT};
use crate::child::Group;

impl Bench {
    /// The burst sizes the ping-pong times: 1 and `--burst`.
    pub fn ping_bursts(&self) -> Vec<usize> {
        if self.settings.burst == 1 {
            vec![1]
        } else {
            vec![1, self.settings.burst]
        }
    }

    /// The ping-pong, `settings.runs` times, each timing every burst size.
    pub(super) fn pingpong(&self, results: &mut Results) -> Result<()> {
        let bursts = self.ping_bursts();
        results.ping = bursts.iter().map(|&b| (b, Vec::new())).collect();
        let failed = self.repeat(
            "ping-pong",
            "",
            || self.pingpong_run(&bursts),
            |runs| {
                let figures: Vec<String> = runs
                    .iter()
                    .map(|r| format!("burst {}: p50 {:.2} µs", r.burst, r.rtt.p50_ns as f64 / 1e3))
                    .collect();
                figures.join(", ")
            },
            |runs| {
                for (slot, r) in results.ping.iter_mut().zip(runs) {
                    slot.1.push(r);
                }
            },
        )?;
        none_failed(failed)
    }

    /// One run of the ping-pong: one client timing each of `bursts` in turn.
    fn pingpong_run(&self, bursts: &[usize]) -> Result<Vec<PingRun>> {
        let socket = self.socket();
        let mut group: Group = Vec::new();
        group.push(self.start_server("pp-server", &socket.0)?);
        let list: Vec<String> = bursts.iter().map(usize::to_string).collect();
        let client_args = [
            ("socket", socket.0.display().to_string()),
            ("bursts", list.join(",")),
        ];
        group.push(self.spawn("pp-client", self.settings.peer_core, &client_args)?);
        group[1].wait_for("READY", READY_TIMEOUT)?;
        let mut runs = Vec::new();
        for &burst in bursts {
            let r = group[1].wait_for("RESULT", self.result_timeout())?;
            runs.push(PingRun::from_result(&r, burst)?);
        }
        let server = group[0]
            .finish()?
            .context("the reflector printed no RESULT")?;
        group[1].finish()?;
        for r in &mut runs {
            r.peer_cpu_pct = cpu_pct(&server);
        }
        Ok(runs)
    }
}
