//! ix-config: the control plane's TOML configuration, parsed and validated.

#![forbid(unsafe_code)]
