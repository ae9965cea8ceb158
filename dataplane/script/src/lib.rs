//! A packetdrill-style conformance harness: one script, checked against ix's stack
//! and against Linux's, so every expectation is tested against a reference.
//!
//! A script plays the *peer* of a system under test (SUT): it injects Ethernet
//! frames at scripted times and states exactly which frames the SUT must send back,
//! and when. The same script runs on two [`Target`]s:
//!
//! - [`IxTarget`]: `ix-net` over `ix-fakenic`'s in-memory NIC with a virtual clock
//!   (deterministic: time moves only when the runner says, 1 ms per poll);
//! - [`LinuxTarget`]: the kernel's stack in a fresh network namespace behind a tap
//!   device, in real time with a tolerance (50 ms by default).
//!
//! Where Linux legitimately differs, the script says so on the line, with a reason.
//! Scripts live in `scripts/{arp,icmp,ipv4,udp}/*.pkt`; `tests/conformance.rs` runs
//! every one on both targets.
//!
//! # The format
//!
//! ```text
//! # Echo a ping byte for byte.                 <- `#` starts a comment
//! sut  10.0.0.2/24                             # the SUT's address and subnet
//! peer 10.0.0.1 02:00:00:00:00:01              # the peer the script plays
//! neighbor static                              # SUT starts knowing the peer's MAC
//! app udp-echo 7                               # the SUT echoes UDP on port 7
//!
//! 0.000 < icmp echo-request id=7 seq=1 payload="ping"
//! +0    > icmp echo-reply id=7 seq=1 payload=same
//! +0    < udp sport=4000 dport=7 payload=len:3
//! +0    > udp sport=7 dport=4000 payload=same
//! +0    < ipv4 proto=253 payload=len:8
//! +0    > icmp dest-unreachable code=protocol-unreachable payload=last-ip @only linux "Linux sends protocol unreachable"
//! +0    > none for 0.2
//! ```
//!
//! **Header** (before the first timed line): `sut IP/PREFIX` and `peer IP MAC` are
//! required. Optional: `neighbor static|empty` (does the SUT start with the peer in
//! its ARP cache; default `static`), `app udp-echo PORT`, `skip TARGET "reason"`
//! (the whole script), `tolerance TARGET SECONDS`.
//!
//! **Timed lines**: `TIME DIR FRAME [@only|@skip TARGET "reason"]`.
//! `TIME` is seconds since the start (`0.5`) or since the previous line ended
//! (`+0.1`): an injection ends when it is sent, `none for D` when its window closes,
//! and an expectation when its frame actually came (as in packetdrill: a real
//! target's allowed lateness does not pile up along a chain of retransmissions).
//! `<` injects at `TIME`; `>` expects the SUT's next
//! frame within the tolerance of `TIME`; `> none for D` expects silence for `D`.
//! Any frame no line accounts for fails the run: before an injection, during a
//! silence, or by the end of the script. `@only T "why"` runs a line only on target
//! `T`, `@skip T "why"` everywhere else; the reason is required, so every difference
//! is documented where it is allowed.
//!
//! **Frames**:
//!
//! | frame | fields (`key=value`) |
//! |---|---|
//! | `arp request [who-has IP tell IP]`, `arp reply [IP is-at MAC]` | `op sha spa tha tpa` |
//! | `icmp TYPE`: `echo-request`, `echo-reply`, `dest-unreachable`, `time-exceeded`, `param-problem`, a number, or `*` | `type code id seq payload csum` |
//! | `udp` | `sport dport len payload csum` |
//! | `ipv4` (payload opaque to the harness) | `proto payload`, and the IP fields unprefixed |
//! | `raw BYTES` | none: the whole frame, Ethernet header included |
//!
//! Lower layers are reached with prefixes: `ip.src ip.dst ip.ttl ip.tos ip.id ip.df
//! ip.mf ip.off` (in bytes, a multiple of 8) `ip.version ip.ihl ip.len ip.proto
//! ip.options ip.csum`, and `eth.src eth.dst eth.type eth.pad` (bytes after the
//! body). ICMP codes have names too: `port-unreachable`, `protocol-unreachable`,
//! `host-unreachable`, `net-unreachable`, `frag-needed`, `ttl-exceeded`,
//! `reassembly-timeout`.
//!
//! **Values**: numbers (`64`, `0x40`), addresses, `*` (any value; expectations
//! only), and variables: `$sut_mac $peer_mac $sut_ip $peer_ip $bcast_ip` are bound
//! by the harness; any other `$name` is bound by the first expectation it appears in
//! and may carry an offset (`$isn+1`, modulo the field's width). Payloads:
//! `hex:0a0b`, `"text"` (with `\"`, `\\`, `\n`, `\t`, `\xNN`), `len:N` (bytes
//! 0,1,2,...), `same` (the last injected packet's payload), `last-ip` (the last
//! injected IPv4 datagram, as ICMP errors quote it), `last-ip:N` (its first `N`
//! bytes), `*`. Checksums: `valid` (the default both ways), `bad`, `zero`, a number,
//! or `*`.
//!
//! **Defaults** a line need not write: an injected frame goes from the peer
//! (`$peer_mac`, `$peer_ip`) to the SUT, TTL 64, TOS 0, id 0, no options, no flags,
//! valid checksums and true lengths; an ARP request goes to the broadcast address
//! with a zero target MAC. An expected frame comes from the SUT to the peer with
//! valid checksums, lengths that agree with the frame, no fragmentation, and the
//! line's type (code 0 for echo). Not checked unless written: TTL, TOS, IP id, DF,
//! IP options, ICMP id/seq and non-echo codes, ports, payloads, the target MAC of an
//! ARP request, and link padding.
//!
//! Errors: a bad script fails to parse with `file:line:column: what`, and a run that
//! differs from its script fails with the line and every differing field, e.g.
//! `line 7: expected icmp echo-reply id=1 seq=1, got icmp echo-reply code=0 id=1
//! seq=2 ... (field seq: expected 1, got 2)`.
//!
//! ```
//! use ix_script::{parse, run, IxTarget};
//!
//! let script = parse("ping.pkt", "\
//! sut  10.0.0.2/24
//! peer 10.0.0.1 02:00:00:00:00:01
//! 0 < icmp echo-request id=7 seq=1 payload=\"ping\"
//! +0 > icmp echo-reply id=7 seq=1 payload=same
//! ")?;
//! let mut ix = IxTarget::new(&script.setup)?;
//! let outcome = run(&script, &mut ix)?;
//! assert_eq!(outcome.lines_run, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Growing to TCP
//!
//! A `tcp` frame kind slots in beside `udp` ([`spec::L4Spec`], the parser's field
//! table, the builder and the matcher): flags (`flags=SA`), `seq`/`ack` as numbers
//! with variables bound at first sight (`> tcp flags=SA seq=$isn ack=1001`, then
//! `< tcp flags=A seq=1001 ack=$isn+1`, wrapping modulo 2^32), options as a list
//! (`opts=mss:1460,sack-ok,wscale:7`, or `opts=*`), `win`, and SACK blocks relative
//! to a variable. Timing (retransmission timeouts) is already expressible (`+0.2 >
//! ...` against the virtual clock), as are per-target differences; an `app` for a
//! TCP listener joins `udp-echo`. Nothing in the line grammar, timing or runner
//! changes.
//!
//! # Frames Linux sends on its own
//!
//! The Linux target disables IPv6 in its namespace before the tap exists, so no
//! router solicitation, MLD report or DAD probe is ever sent; as a backstop it drops
//! every IPv6 frame it reads (and counts them, [`LinuxTarget::ipv6_dropped`]).
//! Nothing else is filtered. Both targets discard what the SUT sends while being set
//! up (ix-net's gratuitous ARP announcement), so a script starts from a quiet SUT.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod build;
pub mod decode;
mod defaults;
pub mod error;
mod fields;
pub mod ix;
pub mod lex;
pub mod linux;
pub mod matcher;
pub mod parse;
pub mod parse_frame;
mod parse_value;
pub mod payload;
pub mod runner;
pub mod script;
pub mod spec;
pub mod target;
pub mod value;

pub use error::{FieldDiff, ParseError, RunError};
pub use ix::IxTarget;
pub use linux::LinuxTarget;
pub use parse::parse;
pub use runner::{run, Outcome};
pub use script::{Script, Setup};
pub use target::{Captured, Target, TargetError, TargetKind};
