//! How an instance's EAL is started: memory, runtime-file prefix, extra arguments.
//! Shared by every port kind, so each instance gets its own files and memory.

use ix_dpdk::EalArgs;

/// EAL settings common to every port kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EalSettings {
    /// `--file-prefix` (`None`: a unique one from the program name and pid).
    pub file_prefix: Option<String>,
    /// EAL memory in MiB.
    pub memory_mb: u32,
    /// Back the memory with hugepages (otherwise `--no-huge`).
    pub hugepages: bool,
    /// Further EAL arguments, appended last.
    pub extra: Vec<String>,
}

impl Default for EalSettings {
    /// 256 MiB without hugepages, a unique file prefix, nothing extra.
    fn default() -> Self {
        EalSettings {
            file_prefix: None,
            memory_mb: 256,
            hugepages: false,
            extra: Vec::new(),
        }
    }
}

impl EalSettings {
    /// Applies these settings to `args` (`base` names a unique file prefix).
    pub fn apply(&self, mut args: EalArgs, base: &str) -> EalArgs {
        args = if self.hugepages {
            args.memory_mb(self.memory_mb)
        } else {
            args.no_huge(self.memory_mb)
        };
        args = match &self.file_prefix {
            Some(p) => args.file_prefix(p),
            None => args.unique_file_prefix(base),
        };
        for a in &self.extra {
            args = args.arg(a);
        }
        args
    }
}
