//! ixcp (the control-plane daemon) and ixctl (its command-line client).

#![forbid(unsafe_code)]
