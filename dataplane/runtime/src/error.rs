//! Why an elastic thread could not start or stopped abnormally.

/// An elastic thread's failure.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The runtime configuration is unusable (what is wrong is named).
    #[error("runtime configuration: {0}")]
    Config(&'static str),
    /// The interface configuration is unusable.
    #[error("interface configuration: {0}")]
    Net(#[from] ix_net::ConfigError),
    /// The TCP configuration is unusable.
    #[error("TCP configuration: {0}")]
    Tcp(#[from] ix_tcp::ConfigError),
    /// Building the thread's parts (NIC, application) failed on the thread.
    #[error("building the elastic thread: {0}")]
    Build(String),
    /// The OS thread could not be started.
    #[error("spawning the elastic thread: {0}")]
    Spawn(#[from] std::io::Error),
    /// The thread could not be pinned to its core.
    #[error("could not pin the elastic thread to core {0}")]
    Pin(usize),
    /// The application panicked and the policy is to fail the instance.
    #[error("the application panicked ({0} times); instance marked failed")]
    Failed(u64),
    /// The thread died outside the contained application boundary.
    #[error("the elastic thread panicked")]
    Panicked,
}
