//! The send path: short sends against the connection's send room, partial writes
//! by the kernel, and `SharedBuf` references released once their bytes are taken.

use super::support::{drive, script, small, LOCAL};
use crate::kernel::{KernelConfig, KernelThread};
use crate::{CallError, Completion, Event};
use ix_nic::{BufPool, MutBuf, SharedBuf};
use std::cell::RefCell;
use std::io::Read;
use std::net::TcpStream;
use std::rc::Rc;
use std::time::Duration;

/// Sends against a small send room come up short (and later ones in the batch fail
/// in order), the kernel takes partial writes, the stream arrives byte-exact and
/// every queued reference is released.
#[test]
fn short_sends_partial_writes_and_references_released_when_taken() {
    const TOTAL: usize = 4 << 20;
    let cfg = KernelConfig {
        send_buf: 64 * 1024,
        ..small()
    };
    let pool_probe: Rc<RefCell<Option<ix_nic::heap::HeapShared>>> = Rc::default();
    let stats: Rc<RefCell<(usize, usize, usize, bool)>> = Rc::default(); // taken, acked, short, closed
    let (p2, s2) = (Rc::clone(&pool_probe), Rc::clone(&stats));
    let mut conn_id = None;
    let mut blocked = false;
    let h = script(
        |c| c.listen(0).unwrap(),
        move |batch, calls| {
            let mut st = s2.borrow_mut();
            for c in batch.completions() {
                if let Completion::Send {
                    requested, result, ..
                } = *c
                {
                    match result {
                        Ok(n) => {
                            st.0 += n;
                            if n < requested {
                                st.2 += 1;
                                blocked = true;
                            }
                        }
                        Err(CallError::EarlierSendShort) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            for ev in batch.drain() {
                match ev {
                    Event::Knock { conn, .. } => {
                        calls.accept(conn, 1).unwrap();
                        conn_id = Some(conn);
                    }
                    Event::Sent { acked, .. } => {
                        st.1 += acked;
                        blocked = false;
                    }
                    _ => {}
                }
            }
            let Some(conn) = conn_id else { return };
            if p2.borrow().is_none() {
                let mut m = calls.pool().alloc_mut().unwrap();
                let mut pat = vec![0u8; m.spare() / 251 * 251];
                for (i, b) in pat.iter_mut().enumerate() {
                    *b = (i % 251) as u8;
                }
                m.extend_from_slice(&pat);
                *p2.borrow_mut() = Some(m.freeze());
            }
            let buf = p2.borrow().clone().unwrap();
            // Several sends per batch; after a short one the rest fail in order.
            let mut offered = st.0;
            while !blocked && offered < TOTAL && calls.room() > 1 {
                // The buffer holds whole pattern periods: stream offset `offered` is
                // buffer offset `offered % len` (a short send resumes mid-buffer).
                let off = offered % buf.len();
                let n = (buf.len() - off).min(TOTAL - offered);
                calls.send(conn, &buf, off..off + n).unwrap();
                offered += n;
                if offered - st.0 > 8 * buf.len() {
                    break;
                }
            }
            if st.0 >= TOTAL && !st.3 {
                calls.close(conn).unwrap();
                st.3 = true;
            }
        },
    );
    let mut th = KernelThread::new(&cfg, 0, h).unwrap();
    th.start();
    let port = th.transport().listening()[0];
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect((LOCAL, port)).unwrap();
        std::thread::sleep(Duration::from_millis(300)); // a slow reader: writes go partial
        let mut got = Vec::with_capacity(TOTAL);
        s.read_to_end(&mut got).unwrap();
        got
    });
    drive(&mut th, |_| client.is_finished());
    let got = client.join().unwrap();
    assert_eq!(got.len(), TOTAL);
    assert!(
        got.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8),
        "byte-exact"
    );
    drive(&mut th, |t| t.transport().conn_count() == 0);
    let (taken, acked, short, closed) = *stats.borrow();
    assert!(closed);
    assert_eq!((taken, acked), (TOTAL, TOTAL));
    assert!(
        short > 0,
        "sends came up short against a 64 KiB send buffer"
    );
    assert!(
        th.stats().short_writes > 0,
        "the kernel took partial writes"
    );
    let buf = pool_probe.borrow_mut().take().unwrap();
    assert_eq!(buf.ref_count(), 1, "every queued reference released");
}
