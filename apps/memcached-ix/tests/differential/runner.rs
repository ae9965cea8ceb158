//! Scripted exchanges ([`Case`]) run against both servers of a [`Pair`], each on
//! a fresh connection and in table order (so both stores see the same history),
//! and their normalised replies compared.

use super::normalize::{self, CasMap};
use super::servers::{exchange, Pair, Reply, Step};

/// One scripted exchange.
#[derive(Clone, Debug)]
pub struct Case {
    /// What it checks.
    pub name: String,
    /// What to send.
    pub steps: Vec<Step>,
    /// Binary protocol (the sentinel is a NOOP, not `mn`).
    pub binary: bool,
    /// Its replies carry clock readings in seconds (a TTL left, seconds since the
    /// last access): each server's clock ticks at its own phase, so a second may
    /// pass on one side only. Such a case is run again (up to [`CLOCK_TRIES`]
    /// times) before a difference counts.
    pub clock: bool,
}

/// Runs of a [`Case::clock`] case before its difference counts.
const CLOCK_TRIES: usize = 3;

/// `case`, marked as reading the clock ([`Case::clock`]).
pub fn clocked(mut case: Case) -> Case {
    case.clock = true;
    case
}

/// A text exchange: each string is one write, 30 ms apart (so a split request
/// arrives split).
pub fn text(name: &str, writes: &[&str]) -> Case {
    text_bytes(
        name,
        &writes
            .iter()
            .map(|w| w.as_bytes().to_vec())
            .collect::<Vec<_>>(),
    )
}

/// [`text`] over raw byte writes.
pub fn text_bytes(name: &str, writes: &[Vec<u8>]) -> Case {
    let mut steps = Vec::new();
    for (i, w) in writes.iter().enumerate() {
        if i > 0 {
            steps.push(Step::Pause(30));
        }
        steps.push(Step::Send(w.clone()));
    }
    Case {
        name: name.to_string(),
        steps,
        binary: false,
        clock: false,
    }
}

/// A binary exchange of these steps.
pub fn bin(name: &str, steps: Vec<Step>) -> Case {
    Case {
        name: name.to_string(),
        steps,
        binary: true,
        clock: false,
    }
}

/// A binary request frame.
pub fn req(op: u8, key: &[u8], ext: &[u8], val: &[u8]) -> Vec<u8> {
    req_full(0x80, op, key, ext, val, 0, 0xA1B2_C3D4)
}

/// A binary request frame with every header field chosen.
pub fn req_full(
    magic: u8,
    op: u8,
    key: &[u8],
    ext: &[u8],
    val: &[u8],
    cas: u64,
    opaque: u32,
) -> Vec<u8> {
    let body = ext.len() + key.len() + val.len();
    let mut v = vec![magic, op];
    v.extend_from_slice(&(key.len() as u16).to_be_bytes());
    v.push(ext.len() as u8);
    v.extend_from_slice(&[0, 0, 0]);
    v.extend_from_slice(&(body as u32).to_be_bytes());
    v.extend_from_slice(&opaque.to_be_bytes());
    v.extend_from_slice(&cas.to_be_bytes());
    v.extend_from_slice(ext);
    v.extend_from_slice(key);
    v.extend_from_slice(val);
    v
}

/// Storage extras: flags, exptime.
pub fn store_ext(flags: u32, exptime: u32) -> Vec<u8> {
    [flags.to_be_bytes(), exptime.to_be_bytes()].concat()
}

/// incr/decr extras: delta, initial, exptime.
pub fn arith_ext(delta: u64, initial: u64, exptime: u32) -> Vec<u8> {
    [
        &delta.to_be_bytes()[..],
        &initial.to_be_bytes()[..],
        &exptime.to_be_bytes()[..],
    ]
    .concat()
}

const NOOP_OPAQUE: u32 = 0x5E17_1AE1;

fn sentinel(binary: bool) -> (Vec<u8>, Vec<u8>) {
    if binary {
        let mut reply = vec![0x81, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        reply.extend_from_slice(&NOOP_OPAQUE.to_be_bytes());
        reply.extend_from_slice(&[0; 8]);
        (req_full(0x80, 0x0a, b"", b"", b"", 0, NOOP_OPAQUE), reply)
    } else {
        (b"mn\r\n".to_vec(), b"MN\r\n".to_vec())
    }
}

fn render(case: &Case, r: &Reply, cas: &mut CasMap) -> String {
    let body = if case.binary {
        normalize::binary(&r.bytes, cas)
    } else {
        normalize::text(&r.bytes, cas)
    };
    format!("{body}{}", if r.closed { "<closed>\n" } else { "" })
}

/// Runs `case` once on both servers; returns the report if their normalised
/// replies differ.
fn run_one(pair: &Pair, case: &Case, real_cas: &mut CasMap, ix_cas: &mut CasMap) -> Option<String> {
    let (sent, want) = sentinel(case.binary);
    let (a, b) = std::thread::scope(|s| {
        let (rc, ic) = (&*real_cas, &*ix_cas);
        let (rp, ip) = (pair.real.port, pair.ix.port);
        let (steps, sent, want) = (&case.steps, &sent, &want);
        // The script's own sentinel requests are answered too.
        let n = 1 + case
            .steps
            .iter()
            .map(|s| match s {
                Step::Send(b) | Step::SendBinCas(b, _) => super::servers::count(b, sent),
                _ => 0,
            })
            .sum::<usize>();
        let ha = s.spawn(move || exchange(rp, steps, sent, want, n, rc));
        let hb = s.spawn(move || exchange(ip, steps, sent, want, n, ic));
        (ha.join().expect("real side"), hb.join().expect("ix side"))
    });
    let ra = render(case, &a, real_cas);
    let rb = render(case, &b, ix_cas);
    if std::env::var_os("DIFF_DUMP").is_some() {
        eprintln!("=== {}\n{ra}", case.name);
    }
    (ra != rb).then(|| {
        format!(
            "=== {}\n--- memcached:\n{ra}--- memcached-ix:\n{rb}",
            case.name
        )
    })
}

/// Runs `cases` in order on both servers; returns (name, report) of every case
/// whose normalised replies differ (empty: indistinguishable).
pub fn run(pair: &mut Pair, cases: &[Case]) -> Vec<(String, String)> {
    let (mut real_cas, mut ix_cas) = (CasMap::default(), CasMap::default());
    let mut diffs = Vec::new();
    for case in cases {
        let tries = if case.clock { CLOCK_TRIES } else { 1 };
        let mut differs = None;
        for _ in 0..tries {
            differs = run_one(pair, case, &mut real_cas, &mut ix_cas);
            if differs.is_none() {
                break;
            }
        }
        if let Some(report) = differs {
            diffs.push((case.name.clone(), report));
        }
        if !pair.ix.alive() {
            diffs.push((
                case.name.clone(),
                format!("=== {}: memcached-ix died", case.name),
            ));
            break;
        }
    }
    diffs
}

/// Runs `cases` on a fresh pair started with `extra` flags and fails listing
/// every difference, except the cases named in `known` (known differences,
/// listed in the README), which must still differ: a fixed one fails the test
/// until it leaves the list.
pub fn check(extra: &[&str], cases: &[Case], known: &[&str]) {
    let mut pair = Pair::start(extra);
    let diffs = run(&mut pair, cases);
    let unexpected: Vec<&str> = diffs
        .iter()
        .filter(|(n, _)| !known.contains(&n.as_str()))
        .map(|(_, r)| r.as_str())
        .collect();
    assert!(
        unexpected.is_empty(),
        "{} of {} exchanges differ:\n{}",
        unexpected.len(),
        cases.len(),
        unexpected.join("\n")
    );
    for k in known {
        assert!(
            cases.iter().any(|c| c.name == *k),
            "known difference {k:?} names no case"
        );
        assert!(
            diffs.iter().any(|(n, _)| n == k),
            "known difference {k:?} no longer differs: take it off the list"
        );
    }
}
