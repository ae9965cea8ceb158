//! Running the application's calls: each call to its handler, each result in the
//! completion named by what the call was about (one per call, in order).

use super::KernelTransport;
use crate::call::Call;
use crate::completion::Completion;
use ix_nic::heap::HeapPool;
use ix_nic::Clock;

impl KernelTransport {
    /// Runs one call and returns its completion; assumes it runs in the call batch
    /// numbered `call_batch` (see [`Transport::execute`](crate::Transport::execute)).
    pub(super) fn run(&mut self, call: Call<HeapPool>) -> Completion {
        match call {
            Call::Listen { port } => Completion::Listen {
                port,
                result: self.listen(port),
            },
            Call::Unlisten { port } => Completion::Unlisten {
                port,
                result: self.unlisten(port),
            },
            Call::Accept { conn, cookie } => Completion::Accept {
                conn,
                result: self.accept_knock(conn, cookie),
            },
            Call::Reject { conn } => Completion::Reject {
                conn,
                result: self.reject_knock(conn),
            },
            Call::Connect { remote, cookie } => Completion::Connect {
                remote,
                cookie,
                result: self.connect(remote, cookie),
            },
            Call::Send { conn, buf, range } => {
                let requested = range.len();
                Completion::Send {
                    conn,
                    requested,
                    result: self.send(conn, buf, range),
                }
            }
            Call::Close { conn } => Completion::Close {
                conn,
                result: self.close(conn),
            },
            Call::Abort { conn } => {
                let result = self.lookup(conn).map(|i| self.free_slot(i, true));
                Completion::Abort { conn, result }
            }
            Call::SetTimer { token, after } => {
                let deadline = self.clock.now() + after;
                Completion::SetTimer {
                    token,
                    result: self.timers.arm(token, deadline),
                }
            }
            Call::CancelTimer { id } => Completion::CancelTimer {
                id,
                result: self.timers.cancel(id),
            },
        }
    }
}
