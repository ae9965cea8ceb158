//! The tap device the Linux target talks through, via `tun-rs`'s safe API.

use crate::target::TargetError;
use std::io::ErrorKind;
use tun_rs::{DeviceBuilder, Layer, SyncDevice};

/// A non-blocking tap device (Ethernet frames, no packet-information header).
///
/// Not persistent: closing it (on drop) destroys the interface, in whatever
/// namespace it is by then.
pub struct Tap {
    dev: SyncDevice,
    name: String,
}

impl Tap {
    /// Creates tap `name` with address `mac`, left down so it sends nothing before it
    /// is configured. Assumes `name` fits IFNAMSIZ and CAP_NET_ADMIN.
    pub fn create(name: &str, mac: [u8; 6]) -> Result<Tap, TargetError> {
        let what = |e: std::io::Error| {
            TargetError::Setup(format!("creating tap {name} via /dev/net/tun: {e}"))
        };
        let dev = DeviceBuilder::new()
            .name(name)
            .layer(Layer::L2)
            .mac_addr(mac)
            .enable(false)
            .build_sync()
            .map_err(what)?;
        dev.set_nonblocking(true).map_err(what)?;
        Ok(Tap {
            dev,
            name: name.to_string(),
        })
    }

    /// The interface's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Hands `frame` to the kernel as if it had arrived on the wire.
    pub fn send(&self, frame: &[u8]) -> Result<(), TargetError> {
        self.dev
            .send(frame)
            .map(drop)
            .map_err(|e| TargetError::Io(format!("writing to tap {}: {e}", self.name)))
    }

    /// Reads one frame the kernel sent into `buf`; `None` if there is none now.
    pub fn recv(&self, buf: &mut [u8]) -> Result<Option<usize>, TargetError> {
        match self.dev.recv(buf) {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(TargetError::Io(format!("reading tap {}: {e}", self.name))),
        }
    }
}
