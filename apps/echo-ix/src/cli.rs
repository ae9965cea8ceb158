//! Command-line pieces shared by the echo-ix binaries, as clap argument groups to
//! flatten into a binary's own: the services' ports and the echo client's load.

use crate::client::ClientConfig;
use crate::Services;
use std::net::SocketAddrV4;

/// The deepest pipeline the client accepts (TCP's per-connection send pieces).
pub const MAX_PIPELINE: usize = 1024;

/// The services' ports and the source's length (`--port`, `--sink-port`,
/// `--source-port`, `--source-bytes`).
#[derive(Debug, Clone, clap::Args)]
pub struct ServiceArgs {
    /// Echo port (0 = none).
    #[arg(long, default_value_t = 7)]
    pub port: u16,
    /// Sink port: discards and checks the pattern (0 = none).
    #[arg(long, default_value_t = 9)]
    pub sink_port: u16,
    /// Source port: sends --source-bytes of the pattern, then closes (0 = none).
    #[arg(long, default_value_t = 19)]
    pub source_port: u16,
    /// Bytes the source sends per connection.
    #[arg(long, default_value_t = 64 << 20)]
    pub source_bytes: u64,
}

impl ServiceArgs {
    /// The services asked for (a port of 0 turns its service off).
    pub fn services(&self) -> Services {
        let port = |p: u16| (p != 0).then_some(p);
        Services {
            echo: port(self.port),
            sink: port(self.sink_port),
            source: port(self.source_port),
            source_bytes: self.source_bytes,
        }
    }
}

/// The echo client's arguments: `--client SERVER_IP:PORT` and the load it puts
/// on the server.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// Run the echo client against this server instead of serving.
    #[arg(long, value_name = "SERVER_IP:PORT")]
    pub client: Option<SocketAddrV4>,
    /// Client: connections.
    #[arg(long, default_value_t = 1)]
    pub conns: u32,
    /// Client: requests per connection.
    #[arg(long, default_value_t = 10_000)]
    pub requests: u64,
    /// Client: bytes per request (at most one buffer, 2048).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Client: requests outstanding per connection (1 = ping-pong).
    #[arg(long, default_value_t = 1)]
    pub pipeline: usize,
    /// Client: requests per connection checked but not timed, at the start.
    #[arg(long, default_value_t = 0)]
    pub warmup: u64,
}

impl ClientArgs {
    /// The client's configuration, checked against [`MAX_PIPELINE`]; `None`
    /// without `--client` (serve instead); the offending flag named on error.
    pub fn config(&self) -> Result<Option<ClientConfig>, String> {
        let Some(server) = self.client else {
            return Ok(None);
        };
        let c = ClientConfig {
            server,
            conns: self.conns,
            requests: self.requests,
            size: self.size,
            pipeline: self.pipeline,
            warmup: self.warmup,
        };
        c.validate(MAX_PIPELINE)?;
        Ok(Some(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Both {
        #[command(flatten)]
        services: ServiceArgs,
        #[command(flatten)]
        client: ClientArgs,
    }

    #[test]
    fn port_zero_turns_a_service_off() {
        let a = Both::parse_from(["t", "--sink-port", "0", "--source-bytes", "10"]);
        let s = a.services.services();
        assert_eq!(
            (s.echo, s.sink, s.source, s.source_bytes),
            (Some(7), None, Some(19), 10)
        );
        assert_eq!(a.client.config(), Ok(None));
    }

    #[test]
    fn client_config_is_checked() {
        let a = Both::parse_from(["t", "--client", "10.0.0.1:7", "--conns", "3"]);
        let c = a.client.config().unwrap().unwrap();
        assert_eq!((c.server.port(), c.conns, c.requests), (7, 3, 10_000));
        let bad = Both::parse_from(["t", "--client", "10.0.0.1:7", "--pipeline", "1025"]);
        assert!(bad.client.config().is_err());
    }
}
