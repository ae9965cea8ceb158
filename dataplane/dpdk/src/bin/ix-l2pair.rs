//! `ix-l2pair`: one end of a two-process DPDK link over shared memory.
//!
//! The server process owns a vhost-user port (`net_vhost0`) listening on a
//! unix socket; the client process owns a `virtio_user0` port connected to
//! it, so frames move between the two processes through virtio rings in
//! shared memory. One side sends `--frames` numbered frames whose payload
//! derives from the sequence number; the other checks every one, then
//! answers with an acknowledgement frame carrying the count.
//!
//! Shutdown order matters: the vhost side maps the virtio side's memory, so
//! the server stops polling and closes first, and the client waits for its
//! link to go down (the server gone) before it closes.
//!
//! Prints one `RESULT key=value ...` line and exits 0 on success.
//!
//! ```text
//! ix-l2pair --role server|client --socket PATH [--send|--recv] [--frames N]
//!           [--frame-size BYTES] [--burst N] [--lcore N] [--memory-mb MB]
//!           [--prefix NAME] [--timeout-secs S] [--eal-arg ARG]...
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use ix_dpdk::{Burst, Eal, EalArgs, Mempool, Port, PortConfig, BURST_MAX};

/// Ethertype of data frames (IEEE local experimental).
const ETHERTYPE_DATA: u16 = 0x88b5;
/// Ethertype of the acknowledgement frame.
const ETHERTYPE_ACK: u16 = 0x88b6;
/// Offset of the sequence number (after the Ethernet header).
const SEQ_OFFSET: usize = 14;
/// Offset of the payload (after the sequence number).
const PAYLOAD_OFFSET: usize = SEQ_OFFSET + 8;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    Server,
    Client,
}

#[derive(Debug, Clone)]
struct Options {
    role: Role,
    socket: String,
    send: bool,
    frames: u64,
    frame_size: usize,
    burst: usize,
    lcore: u32,
    memory_mb: u32,
    prefix: String,
    timeout: Duration,
    eal_args: Vec<String>,
}

fn usage() -> String {
    "usage: ix-l2pair --role server|client --socket PATH [--send|--recv] [--frames N] \
     [--frame-size BYTES] [--burst N] [--lcore N] [--memory-mb MB] [--prefix NAME] \
     [--timeout-secs S] [--eal-arg ARG]..."
        .to_owned()
}

fn parse_options() -> Result<Options, String> {
    let mut role = None;
    let mut socket = None;
    let mut send = None;
    let mut opts = Options {
        role: Role::Server,
        socket: String::new(),
        send: false,
        frames: 1_000_000,
        frame_size: 64,
        burst: 32,
        lcore: 0,
        memory_mb: 256,
        prefix: String::new(),
        timeout: Duration::from_secs(120),
        eal_args: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))
        };
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--role" => {
                role = Some(match value()?.as_str() {
                    "server" => Role::Server,
                    "client" => Role::Client,
                    other => return Err(format!("unknown role {other:?}\n{}", usage())),
                })
            }
            "--socket" => socket = Some(value()?),
            "--send" => send = Some(true),
            "--recv" => send = Some(false),
            "--frames" => opts.frames = number(value()?)?,
            "--frame-size" => opts.frame_size = number(value()?)? as usize,
            "--burst" => opts.burst = number(value()?)? as usize,
            "--lcore" => opts.lcore = number(value()?)? as u32,
            "--memory-mb" => opts.memory_mb = number(value()?)? as u32,
            "--prefix" => opts.prefix = value()?,
            "--timeout-secs" => opts.timeout = Duration::from_secs(number(value()?)?),
            "--eal-arg" => opts.eal_args.push(value()?),
            "--help" | "-h" => return Err(usage()),
            other => return Err(format!("unknown argument {other:?}\n{}", usage())),
        }
    }
    opts.role = role.ok_or_else(|| format!("--role is required\n{}", usage()))?;
    opts.socket = socket.ok_or_else(|| format!("--socket is required\n{}", usage()))?;
    // By default the client sends and the server receives.
    opts.send = send.unwrap_or(opts.role == Role::Client);
    if opts.prefix.is_empty() {
        let role = if opts.role == Role::Server {
            "srv"
        } else {
            "cli"
        };
        opts.prefix = format!("ix-l2pair-{role}-{}", std::process::id());
    }
    if !(PAYLOAD_OFFSET..=1500).contains(&opts.frame_size) {
        return Err(format!("--frame-size must be in {PAYLOAD_OFFSET}..=1500"));
    }
    if !(1..=BURST_MAX).contains(&opts.burst) {
        return Err(format!("--burst must be in 1..={BURST_MAX}"));
    }
    Ok(opts)
}

/// Payload word `i` of frame `seq`: depends on both, so a swapped, shifted
/// or stale frame is noticed. Checked a word at a time, so that even an
/// unoptimized build keeps up with the link.
fn payload_word(seq: u64, i: usize) -> [u8; 8] {
    (seq ^ ((i as u64) << 40))
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .to_le_bytes()
}

/// Writes the Ethernet header (broadcast destination, local source) with `ethertype`.
fn write_header(frame: &mut [u8], ethertype: u16) {
    frame[..6].copy_from_slice(&[0xff; 6]);
    frame[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    frame[12..14].copy_from_slice(&ethertype.to_be_bytes());
}

/// Fills a data frame for `seq`.
fn fill_frame(frame: &mut [u8], seq: u64) {
    write_header(frame, ETHERTYPE_DATA);
    frame[SEQ_OFFSET..PAYLOAD_OFFSET].copy_from_slice(&seq.to_le_bytes());
    for (i, chunk) in frame[PAYLOAD_OFFSET..].chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&payload_word(seq, i)[..chunk.len()]);
    }
}

/// Checks a received data frame; returns its sequence number if intact.
fn check_frame(frame: &[u8], size: usize, frames: u64) -> Option<u64> {
    if frame.len() != size || frame[12..14] != ETHERTYPE_DATA.to_be_bytes() {
        return None;
    }
    let seq = u64::from_le_bytes(frame[SEQ_OFFSET..PAYLOAD_OFFSET].try_into().ok()?);
    if seq >= frames {
        return None;
    }
    let intact = frame[PAYLOAD_OFFSET..]
        .chunks(8)
        .enumerate()
        .all(|(i, chunk)| chunk == &payload_word(seq, i)[..chunk.len()]);
    intact.then_some(seq)
}

fn main() -> ExitCode {
    let opts = match parse_options() {
        Ok(opts) => opts,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("ix-l2pair ({:?}): error: {msg}", opts.role);
            ExitCode::FAILURE
        }
    }
}

fn run(opts: &Options) -> Result<(), String> {
    let (vdev, port_name) = match opts.role {
        Role::Server => (
            format!("net_vhost0,iface={},queues=1", opts.socket),
            "net_vhost0",
        ),
        Role::Client => (
            format!("virtio_user0,path={},queues=1", opts.socket),
            "virtio_user0",
        ),
    };
    let mut builder = EalArgs::new("ix-l2pair")
        .no_huge(opts.memory_mb)
        .no_pci()
        .file_prefix(&opts.prefix)
        .lcores(&opts.lcore.to_string())
        .vdev(&vdev)
        .log_level("notice");
    for arg in &opts.eal_args {
        builder = builder.arg(arg);
    }
    let args = builder.build().map_err(|e| e.to_string())?;
    let eal = Eal::init(&args).map_err(|e| e.to_string())?;

    let pool = Mempool::new(
        &eal,
        "l2pair",
        8191,
        256,
        ix_dpdk::mempool::DEFAULT_DATA_ROOM,
    )
    .map_err(|e| e.to_string())?;
    let config = PortConfig {
        queues: 1,
        rx_desc: 1024,
        tx_desc: 1024,
        rss: false,
        mtu: None,
    };
    let mut port =
        Port::configure_by_name(&eal, port_name, &config, &pool).map_err(|e| e.to_string())?;
    port.start().map_err(|e| e.to_string())?;
    eprintln!(
        "ix-l2pair ({:?}): port {port_name} started, waiting for link",
        opts.role
    );
    let deadline = Instant::now() + opts.timeout;
    port.wait_link_up(opts.timeout).map_err(|e| e.to_string())?;

    let outcome = if opts.send {
        send(opts, &mut port, &pool, deadline)
    } else {
        receive(opts, &mut port, &pool, deadline)
    };
    let stats = port.stats().map_err(|e| e.to_string())?;
    eprintln!("ix-l2pair ({:?}): port stats {stats:?}", opts.role);

    if opts.role == Role::Client {
        // Let the server (vhost side, which maps our memory) stop and go first.
        let until = Instant::now() + Duration::from_secs(10);
        while port.link().map(|l| l.up).unwrap_or(false) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    port.stop().map_err(|e| e.to_string())?;
    drop(port);
    let result = outcome?;
    println!("RESULT {result}");
    drop(pool);
    drop(eal);
    Ok(())
}

/// Sends `opts.frames` data frames, retrying whatever the tx ring refuses,
/// then waits for the receiver's acknowledgement.
fn send(
    opts: &Options,
    port: &mut Port,
    pool: &Mempool,
    deadline: Instant,
) -> Result<String, String> {
    let start = Instant::now();
    let mut next_seq = 0u64;
    let mut retries = 0u64;
    let mut tx = Burst::<BURST_MAX>::new();
    let mut rx = Burst::<BURST_MAX>::new();
    while next_seq < opts.frames || !tx.is_empty() {
        let want = opts
            .burst
            .saturating_sub(tx.len())
            .min((opts.frames - next_seq) as usize);
        if want > 0 && pool.alloc_bulk(&mut tx, want).is_ok() {
            let first_new = tx.len() - want;
            for m in &mut tx[first_new..] {
                let frame = m.append(opts.frame_size).map_err(|e| e.to_string())?;
                fill_frame(frame, next_seq);
                next_seq += 1;
            }
        }
        let offered = tx.len();
        let sent = port.tx_burst(0, &mut tx).map_err(|e| e.to_string())?;
        if sent < offered {
            retries += 1;
            if Instant::now() > deadline {
                return Err(format!(
                    "timed out sending: {next_seq} frames built, {} unsent",
                    tx.len()
                ));
            }
        }
        // Drain anything that arrives meanwhile (nothing should).
        port.rx_burst(0, &mut rx).map_err(|e| e.to_string())?;
        rx.clear();
    }
    let send_time = start.elapsed();
    loop {
        port.rx_burst(0, &mut rx).map_err(|e| e.to_string())?;
        for m in rx.drain(..) {
            let data = m.data();
            if data.len() >= 22 && data[12..14] == ETHERTYPE_ACK.to_be_bytes() {
                let count = u64::from_le_bytes(
                    data[SEQ_OFFSET..PAYLOAD_OFFSET]
                        .try_into()
                        .unwrap_or_default(),
                );
                let secs = send_time.as_secs_f64().max(1e-9);
                return Ok(format!(
                    "role=sender sent={} acked={count} tx_retries={retries} elapsed_ms={} mpps={:.3}",
                    opts.frames,
                    send_time.as_millis(),
                    opts.frames as f64 / secs / 1e6
                ));
            }
        }
        if Instant::now() > deadline {
            return Err(format!(
                "sent {} frames but no acknowledgement arrived",
                opts.frames
            ));
        }
    }
}

/// Receives and checks frames until `opts.frames` distinct ones arrived (or
/// the deadline passes), then sends the acknowledgement.
fn receive(
    opts: &Options,
    port: &mut Port,
    pool: &Mempool,
    deadline: Instant,
) -> Result<String, String> {
    let mut seen = vec![0u64; opts.frames.div_ceil(64) as usize];
    let (mut received, mut corrupt, mut duplicates, mut out_of_order) = (0u64, 0u64, 0u64, 0u64);
    let mut expected = 0u64;
    let mut rx = Burst::<BURST_MAX>::new();
    let mut start = None;
    let mut polls = 0u64;
    while received < opts.frames {
        let n = port
            .rx_burst_max(0, &mut rx, opts.burst)
            .map_err(|e| e.to_string())?;
        if n > 0 && start.is_none() {
            start = Some(Instant::now());
        }
        for m in rx.drain(..) {
            match check_frame(m.data(), opts.frame_size, opts.frames) {
                Some(seq) => {
                    let (word, bit) = ((seq / 64) as usize, 1u64 << (seq % 64));
                    if seen[word] & bit != 0 {
                        duplicates += 1;
                        continue;
                    }
                    seen[word] |= bit;
                    received += 1;
                    if seq != expected {
                        out_of_order += 1;
                    }
                    expected = seq + 1;
                }
                None => corrupt += 1,
            }
        }
        polls += 1;
        if polls.is_multiple_of(1024) && Instant::now() > deadline {
            break;
        }
    }
    let elapsed = start.map(|s| s.elapsed()).unwrap_or_default();

    // Acknowledge with the count (only if everything arrived).
    if received == opts.frames {
        let mut ack = Burst::<1>::new();
        let mut m = pool.alloc().map_err(|e| e.to_string())?;
        let frame = m.append(60).map_err(|e| e.to_string())?;
        frame.fill(0);
        write_header(frame, ETHERTYPE_ACK);
        frame[SEQ_OFFSET..PAYLOAD_OFFSET].copy_from_slice(&received.to_le_bytes());
        ack.push(m);
        while !ack.is_empty() {
            port.tx_burst(0, &mut ack).map_err(|e| e.to_string())?;
            if Instant::now() > deadline + Duration::from_secs(5) {
                return Err("could not send the acknowledgement".to_owned());
            }
        }
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    let summary = format!(
        "role=receiver received={received} expected={} corrupt={corrupt} duplicates={duplicates} \
         out_of_order={out_of_order} lost={} elapsed_ms={} mpps={:.3}",
        opts.frames,
        opts.frames - received,
        elapsed.as_millis(),
        received as f64 / secs / 1e6
    );
    if received == opts.frames {
        Ok(summary)
    } else {
        Err(format!("timed out: {summary}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_corruption_is_caught() {
        let mut frame = vec![0u8; 64];
        fill_frame(&mut frame, 12345);
        assert_eq!(check_frame(&frame, 64, 1_000_000), Some(12345));
        frame[40] ^= 1;
        assert_eq!(check_frame(&frame, 64, 1_000_000), None);
        fill_frame(&mut frame, 7);
        assert_eq!(check_frame(&frame, 64, 5), None, "seq out of range");
        assert_eq!(check_frame(&frame[..63], 64, 100), None, "short frame");
    }
}
