//! The control socket: accepts ixctl connections (one thread each) and serves
//! JSON-line requests with [`crate::daemon::handle`].

use crate::daemon::handle;
use crate::proto::{ErrorKind, Request, Response};
use crate::supervisor::Supervisor;
use crate::Error;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::mpsc::Sender;
use std::sync::Arc;

/// Binds the control socket (mode 0600), replacing a stale one.
pub fn bind(sup: &Supervisor) -> Result<UnixListener, Error> {
    let path = sup.run.socket();
    let _ = std::fs::remove_file(&path);
    let l = UnixListener::bind(&path)
        .map_err(|e| Error::io(format!("binding {}", path.display()), e))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(format!("chmod {}", path.display()), e))?;
    Ok(l)
}

fn serve(sup: &Supervisor, stream: UnixStream, exit: &Sender<()>) {
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let reader = BufReader::new(stream);
    for line in reader.lines() {
        let Ok(line) = line else { return };
        if line.trim().is_empty() {
            continue;
        }
        let resp = match serde_json::from_str::<Request>(&line) {
            Ok(req) => {
                tracing::debug!(?req, "request");
                handle(sup, req)
            }
            Err(e) => Response::Error {
                error: ErrorKind::Failed,
                message: format!("bad request: {e}"),
            },
        };
        let exiting = matches!(
            resp,
            Response::Stopped {
                daemon_exiting: true,
                ..
            }
        );
        let Ok(mut text) = serde_json::to_string(&resp) else {
            return;
        };
        text.push('\n');
        let _ = out.write_all(text.as_bytes());
        if exiting {
            let _ = exit.send(());
            return;
        }
    }
}

/// Accepts connections until the process exits; `exit` is told when a request
/// stopped everything.
pub fn accept_loop(sup: Arc<Supervisor>, listener: UnixListener, exit: Sender<()>) {
    for stream in listener.incoming() {
        match stream {
            Ok(s) => {
                let sup = Arc::clone(&sup);
                let exit = exit.clone();
                std::thread::spawn(move || serve(&sup, s, &exit));
            }
            Err(e) => tracing::warn!("accept: {e}"),
        }
    }
}
