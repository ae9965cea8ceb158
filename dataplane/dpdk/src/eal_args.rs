//! A builder for `rte_eal_init` command lines.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};

/// Builds the argument vector for [`Eal::init`](crate::Eal::init).
///
/// ```
/// let args = ix_dpdk::EalArgs::new("ix")
///     .no_huge(64)
///     .no_pci()
///     .unique_file_prefix("ix")
///     .vdev("net_ring0")
///     .lcores("0")
///     .build()
///     .unwrap();
/// assert!(args.contains(&"--no-huge".to_string()));
/// ```
#[derive(Debug, Clone, Default)]
pub struct EalArgs {
    program: String,
    memory_mb: Option<u32>,
    no_huge: bool,
    in_memory: bool,
    no_pci: bool,
    no_shconf: bool,
    single_file_segments: bool,
    file_prefix: Option<String>,
    lcores: Option<String>,
    main_lcore: Option<u32>,
    vdevs: Vec<String>,
    log_levels: Vec<String>,
    extra: Vec<String>,
}

impl EalArgs {
    /// Starts an argument list whose `argv[0]` is `program`; assumes nothing.
    pub fn new(program: &str) -> Self {
        EalArgs {
            program: program.to_owned(),
            ..EalArgs::default()
        }
    }

    /// Runs without hugepages (`--no-huge -m <memory_mb>`): EAL memory is
    /// anonymous/memfd-backed and limited to `memory_mb` megabytes.
    pub fn no_huge(mut self, memory_mb: u32) -> Self {
        self.no_huge = true;
        self.memory_mb = Some(memory_mb);
        self
    }

    /// Sets the amount of memory to preallocate (`-m`), in megabytes; assumes nothing.
    pub fn memory_mb(mut self, memory_mb: u32) -> Self {
        self.memory_mb = Some(memory_mb);
        self
    }

    /// Keeps all EAL state in process memory (`--in-memory`); cannot be
    /// combined with [`no_huge`](Self::no_huge) (`build` refuses it).
    pub fn in_memory(mut self) -> Self {
        self.in_memory = true;
        self
    }

    /// Skips PCI scanning (`--no-pci`); use it when only vdevs are wanted.
    pub fn no_pci(mut self) -> Self {
        self.no_pci = true;
        self
    }

    /// Disables the shared (multi-process) configuration files (`--no-shconf`).
    pub fn no_shconf(mut self) -> Self {
        self.no_shconf = true;
        self
    }

    /// Backs memory with one file per segment list (`--single-file-segments`).
    pub fn single_file_segments(mut self) -> Self {
        self.single_file_segments = true;
        self
    }

    /// Sets the runtime-directory prefix (`--file-prefix`); two DPDK processes
    /// that run at once must use different prefixes.
    pub fn file_prefix(mut self, prefix: &str) -> Self {
        self.file_prefix = Some(prefix.to_owned());
        self
    }

    /// Sets a file prefix unique to this process and call: `<base>-<pid>-<n>`.
    pub fn unique_file_prefix(self, base: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{base}-{}-{n}", std::process::id());
        self.file_prefix(&prefix)
    }

    /// Sets the lcore list (`-l`, e.g. `"0"`, `"0-1"`, `"1,3"`); assumes the cores exist.
    pub fn lcores(mut self, list: &str) -> Self {
        self.lcores = Some(list.to_owned());
        self
    }

    /// Sets the main lcore (`--main-lcore`); assumes it is in the lcore list.
    pub fn main_lcore(mut self, lcore: u32) -> Self {
        self.main_lcore = Some(lcore);
        self
    }

    /// Adds a virtual device (`--vdev=<spec>`, e.g. `net_tap0,iface=ix0`).
    pub fn vdev(mut self, spec: &str) -> Self {
        self.vdevs.push(spec.to_owned());
        self
    }

    /// Adds a log level (`--log-level=<spec>`, e.g. `"notice"` or `"pmd.net.tap:debug"`).
    pub fn log_level(mut self, spec: &str) -> Self {
        self.log_levels.push(spec.to_owned());
        self
    }

    /// Appends a raw EAL argument, verbatim; assumes EAL understands it.
    pub fn arg(mut self, arg: &str) -> Self {
        self.extra.push(arg.to_owned());
        self
    }

    /// Produces the argument vector (program name first); fails on
    /// contradictory options such as `--in-memory` with `--no-huge`.
    pub fn build(&self) -> Result<Vec<String>> {
        if self.in_memory && self.no_huge {
            return Err(Error::InvalidEalArgs(
                "--in-memory cannot be combined with --no-huge (EAL rejects it); \
                 use --no-huge with a --file-prefix instead"
                    .to_owned(),
            ));
        }
        let mut args = vec![self.program.clone()];
        if self.no_huge {
            args.push("--no-huge".to_owned());
        }
        if let Some(mb) = self.memory_mb {
            args.push("-m".to_owned());
            args.push(mb.to_string());
        }
        if self.in_memory {
            args.push("--in-memory".to_owned());
        }
        if self.no_pci {
            args.push("--no-pci".to_owned());
        }
        if self.no_shconf {
            args.push("--no-shconf".to_owned());
        }
        if self.single_file_segments {
            args.push("--single-file-segments".to_owned());
        }
        if let Some(prefix) = &self.file_prefix {
            args.push(format!("--file-prefix={prefix}"));
        }
        if let Some(lcores) = &self.lcores {
            args.push("-l".to_owned());
            args.push(lcores.clone());
        }
        if let Some(main) = self.main_lcore {
            args.push(format!("--main-lcore={main}"));
        }
        args.extend(self.vdevs.iter().map(|v| format!("--vdev={v}")));
        args.extend(self.log_levels.iter().map(|l| format!("--log-level={l}")));
        args.extend(self.extra.iter().cloned());
        Ok(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_no_huge_command_line() {
        let args = EalArgs::new("prog")
            .no_huge(64)
            .no_pci()
            .file_prefix("p")
            .vdev("net_ring0")
            .lcores("0")
            .build()
            .unwrap();
        assert_eq!(
            args,
            [
                "prog",
                "--no-huge",
                "-m",
                "64",
                "--no-pci",
                "--file-prefix=p",
                "-l",
                "0",
                "--vdev=net_ring0"
            ]
        );
    }

    #[test]
    fn refuses_in_memory_with_no_huge() {
        let err = EalArgs::new("p")
            .no_huge(64)
            .in_memory()
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("--in-memory"), "{err}");
    }

    #[test]
    fn unique_prefixes_differ() {
        let a = EalArgs::new("p").unique_file_prefix("x").build().unwrap();
        let b = EalArgs::new("p").unique_file_prefix("x").build().unwrap();
        assert_ne!(a, b);
    }
}
