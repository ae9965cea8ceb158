//! [`Procs`]: child processes of one benchmark run, their output in files of a
//! private directory; everything is killed and removed on drop (also on error).

use anyhow::{bail, Context, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The children of one run and the directory holding their output.
pub struct Procs {
    dir: PathBuf,
    children: Vec<(&'static str, Child)>,
}

impl Procs {
    /// A fresh directory `/tmp/NAME` for the run's files.
    pub fn new(name: &str) -> Result<Procs> {
        let dir = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Procs {
            dir,
            children: Vec::new(),
        })
    }

    /// The run's directory (sockets go here too).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts `bin args` as `name`, its stdout and stderr in `name.out`/`name.err`.
    pub fn spawn(&mut self, name: &'static str, bin: &Path, args: &[&str]) -> Result<()> {
        let out = File::create(self.dir.join(format!("{name}.out")))?;
        let err = File::create(self.dir.join(format!("{name}.err")))?;
        let child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        self.children.push((name, child));
        Ok(())
    }

    fn read(&self, name: &str, ext: &str) -> String {
        std::fs::read_to_string(self.dir.join(format!("{name}.{ext}"))).unwrap_or_default()
    }

    /// Everything the children printed (for error messages).
    fn output(&self) -> String {
        self.children
            .iter()
            .map(|(n, _)| {
                format!(
                    "--- {n} stdout:\n{}--- {n} stderr:\n{}",
                    self.read(n, "out"),
                    self.read(n, "err")
                )
            })
            .collect()
    }

    fn child(&mut self, name: &str) -> Result<&mut Child> {
        self.children
            .iter_mut()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| c)
            .with_context(|| format!("no process {name}"))
    }

    /// Waits until `name` printed a line starting with `prefix`; fails if a child
    /// exits first or `timeout` passes.
    pub fn wait_line(&mut self, name: &str, prefix: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let find = |p: &Procs| {
                p.read(name, "out")
                    .lines()
                    .find(|l| l.starts_with(prefix))
                    .map(str::to_owned)
            };
            if let Some(l) = find(self) {
                return Ok(l);
            }
            let mut exited = None;
            for (n, c) in &mut self.children {
                if let Some(status) = c.try_wait()? {
                    exited = Some((*n, status));
                }
            }
            if let Some((n, status)) = exited {
                if let Some(l) = find(self) {
                    return Ok(l);
                }
                bail!(
                    "{n} exited ({status}) before {name} printed {prefix:?}\n{}",
                    self.output()
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "{name} did not print {prefix:?} within {timeout:?}\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM to `name` (if still running), then waits up to `timeout` for it.
    pub fn terminate(&mut self, name: &str, timeout: Duration) -> Result<()> {
        let child = self.child(name)?;
        if child.try_wait()?.is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.child(name)?;
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("{name} did not stop within {timeout:?}\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for (_, c) in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
