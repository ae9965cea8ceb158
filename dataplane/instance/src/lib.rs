//! ix-instance: one dataplane instance as a process. It brings up the instance's
//! virtual NIC ([`tap`]: a DPDK tap port whose kernel side lives in a network
//! namespace; [`vhost`]: one end of a vhost-user/virtio_user shared-memory pair),
//! runs the application's handlers on elastic threads, and answers the control
//! plane.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod agent_proto;
pub mod eal_settings;
pub mod spec;
pub mod tap;
pub mod vhost;
