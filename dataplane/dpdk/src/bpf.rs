//! Just enough eBPF to load a socket-filter program: instruction encoding, the
//! `bpf(2)` calls that load a program and test-run it in the kernel, and the
//! loaded program's file descriptor.
//!
//! Used by [`crate::tap_steering`], whose program picks a tap queue per packet.
//! No libbpf: the programs are generated in Rust, a few hundred instructions.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::error::{Errno, Error, Result};

/// One eBPF instruction (the kernel's `struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// Opcode: class | size/op | mode/source.
    pub code: u8,
    /// Destination register in the low nibble, source register in the high one.
    pub regs: u8,
    /// Jump offset (instructions after the next one) or memory offset.
    pub off: i16,
    /// Immediate operand.
    pub imm: i32,
}

/// Opcode parts (linux/bpf_common.h, linux/bpf.h).
pub mod op {
    /// Class: legacy packet loads and 64-bit immediates.
    pub const LD: u8 = 0x00;
    /// Class: 32-bit arithmetic (results zero-extended).
    pub const ALU: u8 = 0x04;
    /// Class: jumps.
    pub const JMP: u8 = 0x05;
    /// Class: 64-bit arithmetic.
    pub const ALU64: u8 = 0x07;
    /// Size: 32 bits.
    pub const W: u8 = 0x00;
    /// Size: 16 bits.
    pub const H: u8 = 0x08;
    /// Size: 8 bits.
    pub const B: u8 = 0x10;
    /// Size: 64 bits.
    pub const DW: u8 = 0x18;
    /// Mode: immediate.
    pub const IMM: u8 = 0x00;
    /// Mode: packet load at a constant offset.
    pub const ABS: u8 = 0x20;
    /// Mode: packet load at a register plus a constant offset.
    pub const IND: u8 = 0x40;
    /// Source: the immediate.
    pub const K: u8 = 0x00;
    /// Source: the source register.
    pub const X: u8 = 0x08;
    /// ALU: or.
    pub const OR: u8 = 0x40;
    /// ALU: and.
    pub const AND: u8 = 0x50;
    /// ALU: left shift.
    pub const LSH: u8 = 0x60;
    /// ALU: logical right shift.
    pub const RSH: u8 = 0x70;
    /// ALU: multiply.
    pub const MUL: u8 = 0x20;
    /// ALU: exclusive or.
    pub const XOR: u8 = 0xa0;
    /// ALU: move.
    pub const MOV: u8 = 0xb0;
    /// ALU: arithmetic right shift.
    pub const ARSH: u8 = 0xc0;
    /// Jump: unconditional.
    pub const JA: u8 = 0x00;
    /// Jump: if not equal.
    pub const JNE: u8 = 0x50;
    /// Jump: if less than (unsigned).
    pub const JLT: u8 = 0xa0;
    /// Jump: return r0.
    pub const EXIT: u8 = 0x90;
}

impl Insn {
    /// `dst = dst OP imm` (64-bit when `wide`, else 32-bit zero-extended).
    pub fn alu_imm(wide: bool, alu: u8, dst: u8, imm: i32) -> Insn {
        let class = if wide { op::ALU64 } else { op::ALU };
        Insn {
            code: class | alu | op::K,
            regs: dst & 0x0f,
            off: 0,
            imm,
        }
    }

    /// `dst = dst OP src` (64-bit when `wide`, else 32-bit zero-extended).
    pub fn alu_reg(wide: bool, alu: u8, dst: u8, src: u8) -> Insn {
        let class = if wide { op::ALU64 } else { op::ALU };
        Insn {
            code: class | alu | op::X,
            regs: (dst & 0x0f) | (src << 4),
            off: 0,
            imm: 0,
        }
    }

    /// `r0 = ntoh(packet[imm])` of `size` (op::W, H or B); r6 must hold the context.
    pub fn ld_abs(size: u8, imm: i32) -> Insn {
        Insn {
            code: op::LD | size | op::ABS,
            regs: 0,
            off: 0,
            imm,
        }
    }

    /// `r0 = ntoh(packet[src + imm])` of `size`; r6 must hold the context.
    pub fn ld_ind(size: u8, src: u8, imm: i32) -> Insn {
        Insn {
            code: op::LD | size | op::IND,
            regs: src << 4,
            off: 0,
            imm,
        }
    }

    /// `dst = imm` (64 bits): two instructions.
    pub fn ld_imm64(dst: u8, imm: u64) -> [Insn; 2] {
        [
            Insn {
                code: op::LD | op::DW | op::IMM,
                regs: dst & 0x0f,
                off: 0,
                imm: imm as u32 as i32,
            },
            Insn {
                code: 0,
                regs: 0,
                off: 0,
                imm: (imm >> 32) as u32 as i32,
            },
        ]
    }

    /// `if dst JOP imm: skip off instructions` (64-bit compare).
    pub fn jmp_imm(jop: u8, dst: u8, imm: i32, off: i16) -> Insn {
        Insn {
            code: op::JMP | jop | op::K,
            regs: dst & 0x0f,
            off,
            imm,
        }
    }

    /// Return r0.
    pub fn exit() -> Insn {
        Insn {
            code: op::JMP | op::EXIT,
            regs: 0,
            off: 0,
            imm: 0,
        }
    }
}

/// `bpf(2)` commands used here.
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_TEST_RUN: libc::c_long = 10;
/// `BPF_PROG_TYPE_SOCKET_FILTER`, the type tun's steering programs must have.
const SOCKET_FILTER: u32 = 1;
/// Verifier log kept when a load fails.
const LOG_SIZE: usize = 1 << 20;

/// `union bpf_attr` for `BPF_PROG_LOAD` (fields up to `expected_attach_type`).
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `union bpf_attr` for `BPF_PROG_TEST_RUN`.
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// One `BPF_PROG_LOAD` of a socket filter, with the verifier's log in `log` if
/// given; the new descriptor, or the error number.
fn prog_load(
    name: &str,
    insns: &[Insn],
    insn_cnt: u32,
    log: Option<&mut Vec<u8>>,
) -> std::result::Result<RawFd, Errno> {
    let license = c"GPL";
    let mut attr = ProgLoadAttr {
        prog_type: SOCKET_FILTER,
        insn_cnt,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..ProgLoadAttr::default()
    };
    if let Some(log) = log {
        attr.log_level = 1;
        attr.log_size = u32::try_from(log.len()).unwrap_or(u32::MAX);
        attr.log_buf = log.as_mut_ptr() as u64;
    }
    for (d, s) in attr.prog_name.iter_mut().zip(name.bytes().take(15)) {
        *d = s;
    }
    // SAFETY: `attr` is a valid bpf_attr prefix whose pointers (insn_cnt
    // instructions, the license, a log buffer of log_size bytes) outlive the call;
    // the kernel only reads the instructions and license and writes at most
    // log_size bytes of log.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &mut attr as *mut ProgLoadAttr,
            std::mem::size_of::<ProgLoadAttr>(),
        )
    };
    if fd < 0 {
        return Err(Errno::last_os());
    }
    RawFd::try_from(fd).map_err(|_| Errno::from_code(libc::EBADF))
}

/// A loaded socket-filter program; closing the descriptor (drop) unloads it unless
/// something (a tun device) holds a reference of its own.
#[derive(Debug)]
pub struct SocketFilter {
    fd: OwnedFd,
    insns: usize,
}

impl SocketFilter {
    /// Loads `insns` as a `BPF_PROG_TYPE_SOCKET_FILTER` program named `name` (up to
    /// 15 bytes kept); a verifier rejection comes back with the verifier's log.
    /// Needs CAP_BPF (or root).
    pub fn load(name: &str, insns: &[Insn]) -> Result<SocketFilter> {
        let insn_cnt = u32::try_from(insns.len()).map_err(|_| Error::Bpf {
            what: "BPF_PROG_LOAD",
            errno: Errno::from_code(libc::E2BIG),
            log: format!("{} instructions", insns.len()),
        })?;
        // Quietly first; on a rejection, again with the verifier's log (a log
        // of a successful load can be too big for any buffer: ENOSPC).
        let fd = match prog_load(name, insns, insn_cnt, None) {
            Ok(fd) => fd,
            Err(errno) => {
                let mut log = vec![0u8; LOG_SIZE];
                let errno = prog_load(name, insns, insn_cnt, Some(&mut log))
                    .err()
                    .unwrap_or(errno);
                let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                let text = String::from_utf8_lossy(&log[..end]);
                // The end of the log says why; keep it readable.
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(12)..].join("\n");
                return Err(Error::Bpf {
                    what: "BPF_PROG_LOAD",
                    errno,
                    log: tail,
                });
            }
        };
        // SAFETY: the kernel just returned this new descriptor; nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(SocketFilter {
            fd,
            insns: insns.len(),
        })
    }

    /// Runs the program once in the kernel on `packet` and returns its result.
    /// The kernel's test harness pulls an Ethernet header off the input before the
    /// program sees it, so pass 14 bytes of anything before the packet the program
    /// should see at offset 0.
    pub fn test_run(&self, packet: &[u8]) -> Result<u32> {
        let mut attr = TestRunAttr {
            prog_fd: self.fd.as_raw_fd() as u32,
            data_size_in: u32::try_from(packet.len()).unwrap_or(u32::MAX),
            data_in: packet.as_ptr() as u64,
            repeat: 1,
            ..TestRunAttr::default()
        };
        // SAFETY: a valid bpf_attr for BPF_PROG_TEST_RUN; data_in points at
        // data_size_in readable bytes for the duration of the call; no output
        // buffers are given.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_PROG_TEST_RUN,
                &mut attr as *mut TestRunAttr,
                std::mem::size_of::<TestRunAttr>(),
            )
        };
        if ret < 0 {
            return Err(Error::Bpf {
                what: "BPF_PROG_TEST_RUN",
                errno: Errno::last_os(),
                log: String::new(),
            });
        }
        Ok(attr.retval)
    }

    /// The program's descriptor.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Number of instructions loaded.
    pub fn len(&self) -> usize {
        self.insns
    }

    /// Whether the program is empty (never: the kernel refuses empty programs).
    pub fn is_empty(&self) -> bool {
        self.insns == 0
    }
}
