//! ix-instance: one dataplane instance as a process. It brings up the instance's
//! virtual NIC ([`tap`]: a DPDK tap port whose kernel side lives in a network
//! namespace; [`vhost`]: one end of a vhost-user/virtio_user shared-memory pair),
//! runs the application's handlers on elastic threads, and answers the control
//! plane.
//!
//! An application's `main` calls [`spec_from_env`] and then [`run`] with a closure
//! that builds its handler for each elastic thread; [`launch`] does the rest:
//! [`ports`] brings the port up (tap, vhost/virtio pair, or AF_PACKET/AF_XDP via
//! [`kernel_port`]), one elastic thread per core runs on one queue pair wrapped by
//! [`capture`], and [`agent`] answers the control plane ([`agent_proto`]) over
//! [`agent_socket`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod agent;
pub mod agent_proto;
pub mod agent_socket;
pub mod capture;
pub mod eal_settings;
pub mod kernel_port;
pub mod launch;
pub mod ports;
pub mod spec;
pub mod tap;
pub mod vhost;

pub use launch::{run, run_with_app_pool, spec_from_env, StopHandle, ThreadCtx};
