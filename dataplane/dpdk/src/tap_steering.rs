//! Deterministic queue choice for frames the kernel sends into a multi-queue tap.
//!
//! Left alone, tun picks the queue that last *wrote* a flow and forgets it after
//! about 3 s of silence, so an idle outgoing connection's replies can land on a
//! thread that does not know it. [`install`] attaches (`TUNSETSTEERINGEBPF`) an
//! eBPF socket-filter program computing exactly the runtime's flow-group mapping
//! instead: the Toeplitz hash of (source address, destination address, source port,
//! destination port) of an IPv4/TCP packet as the kernel sends it (source = the
//! peer, destination = the instance, the order `ix_runtime::FlowGroups::group` uses
//! for received packets), masked to the group, then the group's queue. Anything
//! else (ARP, fragments, other protocols) goes to queue 0.
//!
//! The hash is unrolled with no branches: for each of the 96 input bits, the bit
//! (0 or 1) is multiplied by the 32-bit key window for that bit and xored in. The group-to-queue table is
//! one 64-bit bitmask per (queue, 64 groups), each ANDed with the group's bit and
//! scaled by the queue number; the masks are disjoint, so their sum is the queue.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::bpf::{op, Insn, SocketFilter};
use crate::error::{Errno, Error, Result};

/// The context register (LD_ABS/LD_IND read the packet through it).
const CTX: u8 = 6;
/// The hash being accumulated.
const HASH: u8 = 7;
/// The 32 bits of input being hashed.
const WORD: u8 = 8;
/// The IPv4 header length in bytes.
const IHL: u8 = 9;
/// Ethernet header length; the IPv4 header follows.
const ETH: i32 = 14;
/// Largest number of queues (tun's limit is 256 queues).
pub const MAX_QUEUES: u16 = 256;
/// Largest number of flow groups (a power of two).
pub const MAX_GROUPS: usize = 1 << 16;

/// What the program computes: queue = `owner[toeplitz(key, tuple) & (len - 1)]`.
#[derive(Debug, Clone, Copy)]
pub struct SteeringTable<'a> {
    /// The 40-byte Toeplitz (RSS) key.
    pub key: &'a [u8; 40],
    /// Each flow group's queue; the length (the group count) is a power of two.
    pub owner: &'a [u16],
    /// The tap's queue count; every owner is below it.
    pub queues: u16,
}

/// The 32 key bits starting at bit `bit` (bit 0 is the key's first MSB).
fn window(key: &[u8; 40], bit: usize) -> u32 {
    let byte = bit / 8;
    let mut w = 0u64;
    for i in 0..5 {
        w = (w << 8) | u64::from(key.get(byte + i).copied().unwrap_or(0));
    }
    ((w << (bit % 8)) >> 8) as u32
}

/// Hashes the 32 bits in WORD as input bits `base..base + 32` into HASH.
fn hash_word(p: &mut Vec<Insn>, key: &[u8; 40], base: usize) {
    for b in 0..32 {
        let w = window(key, base + b);
        if w == 0 {
            continue;
        }
        // r1 = bit b (from the MSB) of WORD, times the window. (Not a 0/-1 mask
        // ANDed with it: recent verifiers fork on `x & y` with x in [-1, 0], and
        // 96 forks in a row never finish verifying.)
        p.push(Insn::alu_reg(true, op::MOV, 1, WORD));
        if b < 31 {
            p.push(Insn::alu_imm(true, op::RSH, 1, 31 - b as i32));
        }
        p.push(Insn::alu_imm(true, op::AND, 1, 1));
        // The immediate is sign-extended; only the low 32 bits matter (32-bit xor).
        p.push(Insn::alu_imm(true, op::MUL, 1, w as i32));
        p.push(Insn::alu_reg(false, op::XOR, HASH, 1));
    }
}

/// Checks a table and returns the group mask.
fn check(t: &SteeringTable<'_>) -> Result<u32> {
    let groups = t.owner.len();
    if !groups.is_power_of_two() || groups > MAX_GROUPS {
        return Err(Error::Steering(format!(
            "{groups} groups: need a power of two up to {MAX_GROUPS}"
        )));
    }
    if t.queues == 0 || t.queues > MAX_QUEUES {
        return Err(Error::Steering(format!(
            "{} queues: need 1..={MAX_QUEUES}",
            t.queues
        )));
    }
    if let Some((g, q)) = t.owner.iter().enumerate().find(|(_, &q)| q >= t.queues) {
        return Err(Error::Steering(format!(
            "group {g} belongs to queue {q}, but the tap has {} queues",
            t.queues
        )));
    }
    Ok((groups - 1) as u32)
}

/// The steering program for `table` (see the module docs); fails on a table it
/// cannot express.
pub fn program(table: &SteeringTable<'_>) -> Result<Vec<Insn>> {
    let mask = check(table)?;
    let mut p = Vec::with_capacity(600);
    // Every early exit returns queue 0: r0 = 0 is set right before each jump.
    let mut to_zero: Vec<usize> = Vec::new();
    let mut jump_to_zero = |p: &mut Vec<Insn>, insn: Insn| {
        to_zero.push(p.len());
        p.push(insn);
    };
    p.push(Insn::alu_reg(true, op::MOV, CTX, 1));
    // IPv4?
    p.push(Insn::ld_abs(op::H, 12));
    jump_to_zero(&mut p, Insn::jmp_imm(op::JNE, 0, 0x0800, 0));
    // Header length, and a sane one.
    p.push(Insn::ld_abs(op::B, ETH));
    p.push(Insn::alu_reg(true, op::MOV, IHL, 0));
    p.push(Insn::alu_imm(true, op::AND, IHL, 0x0f));
    p.push(Insn::alu_imm(true, op::LSH, IHL, 2));
    jump_to_zero(&mut p, Insn::jmp_imm(op::JLT, IHL, 20, 0));
    // TCP?
    p.push(Insn::ld_abs(op::B, ETH + 9));
    jump_to_zero(&mut p, Insn::jmp_imm(op::JNE, 0, 6, 0));
    // Not a fragment (no ports in later fragments; MF or an offset).
    p.push(Insn::ld_abs(op::H, ETH + 6));
    p.push(Insn::alu_imm(true, op::AND, 0, 0x3fff));
    jump_to_zero(&mut p, Insn::jmp_imm(op::JNE, 0, 0, 0));
    // Toeplitz over saddr, daddr, sport:dport. A load past the end exits with 0.
    p.push(Insn::alu_imm(true, op::MOV, HASH, 0));
    for (i, load) in [
        Insn::ld_abs(op::W, ETH + 12),
        Insn::ld_abs(op::W, ETH + 16),
        Insn::ld_ind(op::W, IHL, ETH),
    ]
    .into_iter()
    .enumerate()
    {
        p.push(load);
        p.push(Insn::alu_reg(true, op::MOV, WORD, 0));
        hash_word(&mut p, table.key, i * 32);
    }
    // group = hash & mask; r2 = group / 64, r3 = group % 64.
    p.push(Insn::alu_imm(true, op::AND, HASH, mask as i32));
    p.push(Insn::alu_imm(true, op::MOV, 0, 0));
    p.push(Insn::alu_reg(true, op::MOV, 2, HASH));
    p.push(Insn::alu_imm(true, op::RSH, 2, 6));
    p.push(Insn::alu_reg(true, op::MOV, 3, HASH));
    p.push(Insn::alu_imm(true, op::AND, 3, 63));
    for (w, chunk) in table.owner.chunks(64).enumerate() {
        let mut block = Vec::new();
        for q in 1..table.queues {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, &o)| o == q)
                .fold(0u64, |m, (i, _)| m | 1 << i);
            if bits == 0 {
                continue;
            }
            block.extend(Insn::ld_imm64(1, bits));
            block.push(Insn::alu_reg(true, op::RSH, 1, 3));
            block.push(Insn::alu_imm(true, op::AND, 1, 1));
            block.push(Insn::alu_imm(true, op::MUL, 1, i32::from(q)));
            block.push(Insn::alu_reg(true, op::OR, 0, 1));
        }
        block.push(Insn::exit());
        let skip = i16::try_from(block.len())
            .map_err(|_| Error::Steering("too many queues for one jump".into()))?;
        p.push(Insn::jmp_imm(op::JNE, 2, w as i32, skip));
        p.extend(block);
    }
    p.push(Insn::exit());
    // The shared "queue 0" exit.
    let zero = p.len();
    p.push(Insn::alu_imm(true, op::MOV, 0, 0));
    p.push(Insn::exit());
    for at in to_zero {
        let off =
            i16::try_from(zero - at - 1).map_err(|_| Error::Steering("program too long".into()))?;
        p[at].off = off;
    }
    Ok(p)
}

/// `_IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
/// `_IOR('T', 224, int)`.
const TUNSETSTEERINGEBPF: libc::c_ulong = 0x8004_54e0;
/// `IFF_TAP`.
const IFF_TAP: libc::c_short = 0x0002;
/// `IFF_MULTI_QUEUE`.
const IFF_MULTI_QUEUE: libc::c_short = 0x0100;

/// `struct ifreq` with the flags member (40 bytes).
#[repr(C)]
struct IfReq {
    name: [u8; 16],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Loads the program for `table` and attaches it to the multi-queue tap `iface`
/// (in the calling thread's network namespace), replacing any earlier one.
///
/// Assumes every queue of the tap is already open (the DPDK port is configured):
/// the program is set through a queue of our own, attached last and closed again,
/// which leaves the others' order alone; tun keeps the program until the device
/// goes or another is set. Its queue is attached for a moment, so call this before
/// traffic flows. Only `IFF_TAP | IFF_MULTI_QUEUE` are passed: joining a
/// multi-queue device that has queues leaves its other flags (`IFF_NO_PI`, ...) as
/// they are.
pub fn install(iface: &str, table: &SteeringTable<'_>) -> Result<SocketFilter> {
    let prog = SocketFilter::load("ix_steer", &program(table)?)?;
    attach(iface, &prog)?;
    Ok(prog)
}

/// Attaches `prog` to tap `iface` (see [`install`]).
pub fn attach(iface: &str, prog: &SocketFilter) -> Result<()> {
    let tun_err = |what: &'static str, errno: Errno| Error::Tun {
        iface: iface.to_owned(),
        what,
        errno,
    };
    if iface.is_empty() || iface.len() > 15 {
        return Err(Error::InvalidName {
            what: "tap interface",
            name: iface.to_owned(),
            reason: "must be 1-15 bytes".to_owned(),
        });
    }
    let path = CString::new("/dev/net/tun").map_err(|_| Error::Steering("path".into()))?;
    // SAFETY: a valid C string; the returned descriptor is checked below.
    let raw = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if raw < 0 {
        return Err(tun_err("open /dev/net/tun", Errno::last_os()));
    }
    // SAFETY: a new descriptor nothing else owns; closing it detaches our queue.
    let tun = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut req = IfReq {
        name: [0; 16],
        flags: IFF_TAP | IFF_MULTI_QUEUE,
        _pad: [0; 22],
    };
    req.name[..iface.len()].copy_from_slice(iface.as_bytes());
    // SAFETY: TUNSETIFF reads (and may write back) one struct ifreq, which `req` is.
    if unsafe { libc::ioctl(tun.as_raw_fd(), TUNSETIFF, &mut req as *mut IfReq) } < 0 {
        return Err(tun_err("TUNSETIFF (joining the tap)", Errno::last_os()));
    }
    let prog_fd: libc::c_int = prog.raw_fd();
    // SAFETY: TUNSETSTEERINGEBPF reads one int (the program's descriptor).
    if unsafe { libc::ioctl(tun.as_raw_fd(), TUNSETSTEERINGEBPF, &prog_fd as *const i32) } < 0 {
        return Err(tun_err("TUNSETSTEERINGEBPF", Errno::last_os()));
    }
    drop(tun);
    Ok(())
}

#[cfg(test)]
#[path = "tap_steering_tests.rs"]
mod tests;
