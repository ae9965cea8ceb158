//! Namespace sysctls: what a script's `tcp-config` and `linux-sysctl` lines set.
//!
//! Every write happens on a thread inside the test namespace, and is checked not to
//! have reached the host: the host's value is read before and after, and a change
//! is undone and reported (a knob that is not per namespace must never be used).

use super::netns::Netns;
use crate::target::TargetError;
use crate::tcp_config::TcpSettings;
use std::path::PathBuf;
use std::time::Duration;

/// The `/proc/sys` path of a dotted sysctl name.
fn path(name: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(name.replace('.', "/"))
}

/// The sysctls `tcp` implies, as (name, value).
pub fn from_settings(tcp: &TcpSettings) -> Result<Vec<(String, String)>, TargetError> {
    let mut out = Vec::new();
    let mut set = |name: &str, value: String| out.push((format!("net.ipv4.{name}"), value));
    if let Some(n) = tcp.syn_retries {
        set("tcp_syn_retries", n.to_string());
    }
    if let Some(n) = tcp.synack_retries {
        set("tcp_synack_retries", n.to_string());
    }
    if let Some(n) = tcp.retries2 {
        set("tcp_retries2", n.to_string());
    }
    if let Some(d) = tcp.fin_timeout {
        set(
            "tcp_fin_timeout",
            whole_seconds(d, "fin-timeout")?.to_string(),
        );
    }
    if let Some(n) = tcp.syncookies {
        set("tcp_syncookies", n.to_string());
    }
    let flag = |b: bool| if b { "1" } else { "0" }.to_string();
    if let Some(b) = tcp.timestamps {
        set("tcp_timestamps", flag(b));
    }
    if let Some(b) = tcp.sack {
        set("tcp_sack", flag(b));
    }
    if let Some(b) = tcp.window_scaling {
        set("tcp_window_scaling", flag(b));
    }
    Ok(out)
}

/// `d` in whole seconds, as Linux takes it; an error names the setting otherwise.
pub fn whole_seconds(d: Duration, what: &str) -> Result<u32, TargetError> {
    if d.subsec_nanos() != 0 {
        return Err(TargetError::Setup(format!(
            "{what}: Linux takes whole seconds, not {d:?}"
        )));
    }
    u32::try_from(d.as_secs()).map_err(|_| TargetError::Setup(format!("{what}: {d:?} is too long")))
}

/// Writes each sysctl inside `ns`, checking the host's value did not change.
pub fn apply(ns: &Netns, knobs: &[(String, String)]) -> Result<(), TargetError> {
    for (name, value) in knobs {
        let p = path(name);
        let host_before = std::fs::read_to_string(&p).ok();
        let inside = p.clone();
        let v = value.clone();
        ns.enter(move || std::fs::write(&inside, v))
            .map_err(|e| TargetError::Setup(format!("sysctl {name}={value}: {e}")))?;
        let host_after = std::fs::read_to_string(&p).ok();
        if host_before != host_after {
            if let Some(old) = &host_before {
                // Best effort: put the host back as it was before failing loudly.
                let _ = std::fs::write(&p, old);
            }
            return Err(TargetError::Setup(format!(
                "sysctl {name} is not per network namespace: writing it changed the host \
                 (restored)"
            )));
        }
    }
    Ok(())
}
