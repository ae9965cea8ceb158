//! [`Running`]: a child process whose standard output is collected line by line,
//! started once it printed `READY`, killed on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long lines may still trickle out of the pipe after the process exited.
const DRAIN: Duration = Duration::from_secs(2);

/// A running child process; dropping it kills it.
pub struct Running {
    name: String,
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    printed: Vec<String>,
}

impl Running {
    /// Spawns `cmd` (its stdout piped here) and waits up to `ready_within` for it
    /// to print `READY`; panics, with what it printed, if it does not.
    pub fn start(name: &str, cmd: &mut Command, ready_within: Duration) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut run = Running {
            name: name.to_owned(),
            child: Some(child),
            lines,
            printed: Vec::new(),
        };
        loop {
            match run.lines.recv_timeout(ready_within) {
                Ok(l) => {
                    let ready = l == "READY";
                    run.printed.push(l);
                    if ready {
                        break;
                    }
                }
                Err(e) => panic!("{name} not ready ({e}): {:?}", run.printed),
            }
        }
        run
    }

    /// Waits for the process to exit (after SIGTERM if `terminate`), prints and
    /// returns every line it printed; panics unless it exited successfully.
    pub fn finish(mut self, terminate: bool) -> Vec<String> {
        let mut child = self.child.take().expect("running");
        if terminate {
            send_sigterm(child.id());
        }
        let status = child.wait().expect("wait");
        // The reader thread may still be draining the pipe.
        while let Ok(l) = self.lines.recv_timeout(DRAIN) {
            self.printed.push(l);
        }
        println!("{} printed:\n{}", self.name, self.printed.join("\n"));
        assert!(status.success(), "{} exit: {status:?}", self.name);
        std::mem::take(&mut self.printed)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Sends SIGTERM to process `pid` (a child of this test); panics if `kill` fails.
pub fn send_sigterm(pid: u32) {
    let ok = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(ok.success(), "kill -TERM {pid}: {ok}");
}
