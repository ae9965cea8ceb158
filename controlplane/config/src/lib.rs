//! ix-config: the control plane's TOML configuration, parsed and validated.
//!
//! [`load`] reads a file, rejects unknown keys, and checks every rule the control
//! plane relies on before anything starts (addresses, cores, queues, binaries,
//! namespaces); every problem names the file, the key and the reason.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod app_path;
mod cidr;
mod model;
mod validate;

pub use app_path::{resolve_app, SearchPath};
pub use cidr::{parse_cidr, Cidr};
pub use model::{
    AfNic, Bridge, Config, Global, InstanceConfig, MemifNic, MemoryMode, NicConfig, PciNic,
    Protection, RestartPolicy, TapNic, VirtioRole, VirtioUserNic,
};
pub use validate::{validate, Environment, Problem};

use std::path::{Path, PathBuf};

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema (unknown key, bad
    /// type, unknown NIC kind).
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// The parser's message (it names the key and the line).
        message: String,
    },
    /// The file parsed but breaks rules; every problem found is listed.
    #[error("{file}: {}", problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n  "))]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Every problem, in file order.
        problems: Vec<Problem>,
    },
}

/// A configuration that passed validation, with its file and resolved binaries.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file it came from (absolute).
    pub file: PathBuf,
    /// The parsed configuration.
    pub config: Config,
    /// Each instance's application binary, resolved, in instance order.
    pub apps: Vec<PathBuf>,
}

/// Parses TOML text; `file` only names the source in errors.
pub fn parse(file: &Path, text: &str) -> Result<Config, Error> {
    toml::from_str(text).map_err(|e| Error::Parse {
        file: file.to_owned(),
        message: e.to_string().trim_end().replace('\n', "\n  "),
    })
}

/// Reads, parses and validates `file` against `env` (the host's cores, where
/// binaries are searched, what is already running).
pub fn load(file: &Path, env: &Environment) -> Result<Loaded, Error> {
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
    let text = std::fs::read_to_string(&file).map_err(|source| Error::Read {
        file: file.clone(),
        source,
    })?;
    let config = parse(&file, &text)?;
    let dir = file.parent().unwrap_or(Path::new("/")).to_owned();
    let apps = validate(&config, &dir, env).map_err(|problems| Error::Invalid {
        file: file.clone(),
        problems,
    })?;
    Ok(Loaded { file, config, apps })
}
