//! The steering program: its structure, its refusals, and — run by the kernel's
//! own BPF test harness — its queue for many IPv4/TCP tuples against
//! `ix_runtime::FlowGroups`, the mapping the elastic threads use.

use super::*;
use ix_runtime::toeplitz::DEFAULT_KEY;
use ix_runtime::FlowGroups;
use std::net::{Ipv4Addr, SocketAddrV4};

/// A deterministic stream of numbers (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The owner table of `fg` as the program wants it.
fn owners(fg: &FlowGroups) -> Vec<u16> {
    (0..fg.groups()).map(|g| fg.owner(g) as u16).collect()
}

/// An Ethernet + IPv4 (with `options` 4-byte words) + 20-byte TCP frame from `src`
/// to `dst`, after the 14 bytes the kernel's test harness strips.
fn tcp_frame(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    options: usize,
    proto: u8,
    frag: u16,
) -> Vec<u8> {
    let mut f = vec![0xaa; 14];
    f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let ihl = 5 + options;
    let total = (ihl * 4 + 20) as u16;
    f.push(0x40 | ihl as u8);
    f.push(0);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 1]);
    f.extend_from_slice(&frag.to_be_bytes());
    f.extend_from_slice(&[64, proto, 0, 0]);
    f.extend_from_slice(&src.ip().octets());
    f.extend_from_slice(&dst.ip().octets());
    f.extend(std::iter::repeat_n(1u8, options * 4));
    f.extend_from_slice(&src.port().to_be_bytes());
    f.extend_from_slice(&dst.port().to_be_bytes());
    f.extend_from_slice(&[0u8; 16]);
    f
}

fn random_tuple(rng: &mut Rng) -> (SocketAddrV4, SocketAddrV4) {
    let r = rng.next();
    let s = rng.next();
    (
        SocketAddrV4::new(Ipv4Addr::from((r >> 32) as u32), r as u16),
        SocketAddrV4::new(Ipv4Addr::from(s as u32), (s >> 40) as u16),
    )
}

#[test]
fn program_is_straight_line_hashing_then_a_bounded_lookup() {
    let fg = FlowGroups::new(128, 2).unwrap();
    let owner = owners(&fg);
    let p = program(&SteeringTable {
        key: &DEFAULT_KEY,
        owner: &owner,
        queues: 2,
    })
    .unwrap();
    // 96 bits x 4-5 instructions (no key window of the default key is zero), plus
    // the header checks and one lookup block per 64 groups.
    let hashing = p
        .iter()
        .filter(|i| i.code == op::ALU | op::XOR | op::X)
        .count();
    assert_eq!(hashing, 96);
    assert!(p.len() < 700, "{} instructions", p.len());
    assert_eq!(p.last().map(|i| i.code), Some(op::JMP | op::EXIT));
    // Every jump goes forward and lands inside the program.
    for (at, i) in p.iter().enumerate() {
        let class = i.code & 0x07;
        if class == op::JMP && i.code != op::JMP | op::EXIT {
            let to = at as i64 + 1 + i64::from(i.off);
            assert!(
                i.off >= 0 && (to as usize) < p.len(),
                "jump at {at} to {to}"
            );
        }
    }
    // Two lookup blocks (128 groups), each with one queue-1 mask.
    let masks = p
        .iter()
        .filter(|i| i.code == op::LD | op::DW | op::IMM)
        .count();
    assert_eq!(masks, 2);
}

#[test]
fn unusable_tables_are_refused_with_a_reason() {
    let key = DEFAULT_KEY;
    let cases: [(&[u16], u16, &str); 4] = [
        (&[0, 1, 0], 2, "power of two"),
        (&[0, 2], 2, "group 1 belongs to queue 2"),
        (&[0, 0], 0, "queues"),
        (&[], 1, "power of two"),
    ];
    for (owner, queues, why) in cases {
        let err = program(&SteeringTable {
            key: &key,
            owner,
            queues,
        })
        .unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
    let err = attach("", &load_for(&[0], 1)).unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }), "{err}");
}

fn load_for(owner: &[u16], queues: u16) -> SocketFilter {
    let p = program(&SteeringTable {
        key: &DEFAULT_KEY,
        owner,
        queues,
    })
    .unwrap();
    SocketFilter::load("ix_steer_test", &p).expect("the kernel's verifier accepts the program")
}

#[test]
fn the_kernel_runs_it_to_the_runtime_s_flow_group_owner() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    // Round-robin over 2 and 3 queues, and a rebalanced table over 4 (some groups
    // moved, as the control plane does), on 128 and 1024 groups.
    let mut moved = FlowGroups::new(1024, 4).unwrap();
    for g in (0..1024).step_by(7) {
        moved.set_owner(g, (g / 7) % 4);
    }
    let tables = [
        (FlowGroups::new(128, 2).unwrap(), 2u16),
        (FlowGroups::new(128, 3).unwrap(), 3),
        (moved, 4),
    ];
    for (fg, queues) in tables {
        let owner = owners(&fg);
        let prog = load_for(&owner, queues);
        let mut seen = vec![0u32; usize::from(queues)];
        for n in 0..400 {
            let (src, dst) = random_tuple(&mut rng);
            let options = n % 3;
            let got = prog
                .test_run(&tcp_frame(src, dst, options, 6, 0x4000))
                .unwrap();
            let want = fg.owner(fg.group(src, dst));
            assert_eq!(
                got as usize, want,
                "{src} -> {dst} ({options} option words)"
            );
            seen[want] += 1;
        }
        assert!(seen.iter().all(|&n| n > 0), "every queue chosen: {seen:?}");
    }
}

#[test]
fn everything_but_unfragmented_ipv4_tcp_goes_to_queue_0() {
    let owner = [1u16; 128];
    let prog = load_for(&owner, 2);
    let a = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 1234);
    let b = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 7);
    assert_eq!(prog.test_run(&tcp_frame(a, b, 0, 6, 0)).unwrap(), 1);
    assert_eq!(prog.test_run(&tcp_frame(a, b, 0, 17, 0)).unwrap(), 0, "UDP");
    assert_eq!(
        prog.test_run(&tcp_frame(a, b, 0, 6, 0x2000)).unwrap(),
        0,
        "MF"
    );
    assert_eq!(
        prog.test_run(&tcp_frame(a, b, 0, 6, 0x0010)).unwrap(),
        0,
        "offset"
    );
    let mut arp = tcp_frame(a, b, 0, 6, 0);
    arp[26..28].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(prog.test_run(&arp).unwrap(), 0, "ARP");
    let mut bad_ihl = tcp_frame(a, b, 0, 6, 0);
    bad_ihl[28] = 0x44;
    assert_eq!(prog.test_run(&bad_ihl).unwrap(), 0, "IHL < 5");
    let short = &tcp_frame(a, b, 0, 6, 0)[..14 + 14 + 22];
    assert_eq!(
        prog.test_run(short).unwrap(),
        0,
        "truncated before the ports"
    );
}
