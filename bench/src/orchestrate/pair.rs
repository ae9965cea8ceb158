//! The pair throughput over a vhost-user/virtio_user pair, and the vhost-user
//! socket and server start it shares with the ping-pong.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{mpps, none_failed, Bench, PairRun, Results, READY_TIMEOUT};
use crate::child::{Group, Proc};

/// A socket file path, removed on drop.
pub(super) struct SocketFile(pub(super) PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Bench {
    /// The pair throughput, `settings.runs` times.
    pub(super) fn pair(&self, results: &mut Results) -> Result<()> {
        let failed = self.repeat(
            "pair",
            "",
            || self.pair_run(),
            |r| mpps(r.rate()),
            |r| results.pair.push(r),
        )?;
        none_failed(failed)
    }

    /// One run of the pair throughput.
    fn pair_run(&self) -> Result<PairRun> {
        let socket = self.socket();
        // Stopped front to back: the vhost side (which maps the virtio side's
        // memory) first.
        let mut group: Group = Vec::new();
        group.push(self.start_server("pair-rx", &socket.0)?);
        let sock = [("socket", socket.0.display().to_string())];
        group.push(self.spawn("pair-tx", self.settings.peer_core, &sock)?);
        group[1].wait_for("READY", READY_TIMEOUT)?;
        let r = group[0].wait_for("RESULT", self.result_timeout())?;
        group[0].finish()?;
        let sender = group[1].finish()?.context("the sender printed no RESULT")?;
        PairRun::from_results(&r, &sender)
    }

    /// A fresh vhost-user socket path (removed on drop).
    pub(super) fn socket(&self) -> SocketFile {
        let path = std::env::temp_dir().join(format!("{}.sock", self.unique("vhost")));
        let _ = std::fs::remove_file(&path);
        SocketFile(path)
    }

    /// Starts the vhost-user server role and waits for its socket.
    pub(super) fn start_server(&self, role: &str, socket: &Path) -> Result<Proc> {
        let mut server = self.spawn(
            role,
            self.settings.dataplane_core,
            &[("socket", socket.display().to_string())],
        )?;
        server.wait_for("READY", READY_TIMEOUT)?;
        if !socket.exists() {
            bail!(
                "{} is ready but its socket {} does not exist",
                server.name(),
                socket.display()
            );
        }
        Ok(server)
    }
}
