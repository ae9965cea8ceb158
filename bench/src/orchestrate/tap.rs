//! (a) DPDK tap -> kernel and (b) kernel -> DPDK tap, in a network namespace
//! created for them.

use anyhow::{Context, Result};
use ix_hostlink::Netns;

use super::{mpps, none_failed, Bench, Results, TapRxRun, TapTxRun, READY_TIMEOUT};
use crate::child::Group;

impl Bench {
    /// (a) and (b), in a namespace created for them (deleted when done).
    pub(super) fn tap(&self, results: &mut Results) -> Result<()> {
        let ns_name = format!("ixl2b-{}", std::process::id());
        let iface = format!("ixb{}", std::process::id());
        let ns = Netns::create(&ns_name).context("creating the benchmark's network namespace")?;
        // No IPv6 in the namespace (so no router solicitations, MLD, DAD on the tap).
        ix_hostlink::run(
            "ip",
            &[
                "netns",
                "exec",
                ns.name(),
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1",
            ],
        )?;
        let mut failed = self.repeat(
            "tap tx",
            "tap tx ",
            || self.tap_tx_run(&ns, &iface),
            |r| mpps(r.rate()),
            |r| results.tap_tx.push(r),
        )?;
        failed.extend(self.repeat(
            "tap rx",
            "tap rx ",
            || self.tap_rx_run(&ns, &iface),
            |r| mpps(r.rate()),
            |r| results.tap_rx.push(r),
        )?);
        drop(ns);
        none_failed(failed)
    }

    /// One run of (a).
    fn tap_tx_run(&self, ns: &Netns, iface: &str) -> Result<TapTxRun> {
        let s = &self.settings;
        let tap_args = [("netns", ns.name().to_owned()), ("iface", iface.to_owned())];
        let mut tap = self.spawn("tap-tx", s.dataplane_core, &tap_args)?;
        tap.wait_for("READY", READY_TIMEOUT)?;
        let r = tap.wait_for("RESULT", self.result_timeout())?;
        tap.finish()?;
        TapTxRun::from_result(&r)
    }

    /// One run of (b).
    fn tap_rx_run(&self, ns: &Netns, iface: &str) -> Result<TapRxRun> {
        let s = &self.settings;
        let tap_args = [("netns", ns.name().to_owned()), ("iface", iface.to_owned())];
        // Stopped front to back: the generator (inserted at 0) before the tap
        // port, whose closing removes the interface the generator is bound to.
        let mut group: Group = Vec::new();
        group.push(self.spawn("tap-rx", s.dataplane_core, &tap_args)?);
        let ready = group[0].wait_for("READY", READY_TIMEOUT)?;
        let mac = ready.str("mac")?.to_owned();
        let mut gen_args = tap_args.to_vec();
        gen_args.push(("dst-mac", mac));
        group.insert(0, self.spawn("afp-gen", s.peer_core, &gen_args)?);
        group[0].wait_for("READY", READY_TIMEOUT)?;
        let r = group[1].wait_for("RESULT", self.result_timeout())?;
        let gen = group[0]
            .finish()?
            .context("the generator printed no RESULT")?;
        group[1].finish()?;
        TapRxRun::from_results(&r, &gen)
    }
}
