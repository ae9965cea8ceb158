//! A packetdrill-style conformance harness: one script, checked against ix's stack
//! and against Linux's, so every expectation is tested against a reference.
//!
//! A script plays the *peer* of a system under test (SUT): it injects Ethernet
//! frames at scripted times and states exactly which frames the SUT must send back,
//! and when. The same script runs on two [`Target`]s:
//!
//! - [`IxTarget`]: `ix-net` over `ix-fakenic`'s in-memory NIC with a virtual clock
//!   (deterministic: time moves only when the runner says, 100 µs per poll);
//! - [`LinuxTarget`]: the kernel's stack in a fresh network namespace behind a tap
//!   device, in real time with a tolerance (50 ms by default).
//!
//! Where Linux legitimately differs, the script says so on the line, with a reason.
//! Scripts live in `scripts/{arp,icmp,ipv4,udp,tcp}/*.pkt`; `tests/conformance.rs`
//! runs every one on both targets (the ix target's TCP is `ix-tcp`'s engine).
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
//! (the whole script), `tolerance TARGET SECONDS`, and for TCP (see below) `app
//! tcp-listen PORT [backlog N]`, `app tcp-echo PORT`, `ports PEER SUT`,
//! `tcp-config KEY=VALUE...` and `linux-sysctl NAME VALUE "reason"`.
//!
//! **Timed lines**: `TIME DIR FRAME [@only|@skip TARGET "reason"]`, or `TIME app
//! CALL [@only|@skip ...]` (an application call on the SUT, below).
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
//! | `tcp FLAGS` (`S`, `S.`, `.`, `P.`, `F.`, `R`, `R.`, ... or `*`) | `sport dport seq ack win urg off flags opts payload len csum` |
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
//! **TCP** (packetdrill-like, as `key=value` so a line stays tokens): flags are
//! letters `S` SYN, `.` ACK, `F` FIN, `R` RST, `P` PSH, `U` URG, `E` ECE, `W` CWR in
//! any order (`-` for none). `seq` and `ack` are absolute 32-bit numbers; a script
//! makes them relative by capturing the SUT's ISN (`> tcp S. seq=$isn ack=1001`)
//! and offsetting it (`< tcp . seq=1001 ack=$isn+1`, modulo 2^32), so Linux's
//! random ISNs and ix's are handled alike. `opts=` lists options without spaces:
//! `mss:N`, `wscale:N`, `sackOK`, `ts:VAL:ECR`, `sack:L:R[:L:R..]`, `nop`, `eol`,
//! `opt:KIND:HEX`, each number a value (`sack:$isn+1001:$isn+2001`); `opts=none`
//! (the default both ways), `opts=*`, or `opts=hex:..` for raw bytes. An expected
//! list without `nop`/`eol` matches the segment's other options in any order (order
//! and padding carry no meaning and stacks differ in both); naming either makes the
//! match exact. Data: `payload=` as everywhere, or `len=N`: N filler bytes (0, 1,
//! 2, ...) when injected, any N bytes when expected; an expectation with neither
//! wants no data. Ports default to `$peer_port`/`$sut_port`, bound by `ports PEER
//! SUT` (`*` leaves one to be captured from the SUT's first segment, as an active
//! open's ephemeral port is). An injected segment needs `seq=` (and `ack=` with the
//! ACK flag) and defaults to `win=65535`, no options; an expected one leaves `seq`,
//! `ack` and `win` free unless written, and wants `urg=0`, no options, no data.
//!
//! **Applications**: `app tcp-listen PORT [backlog N]` listens (`N`: listen(2)'s
//! argument, default 128; Linux admits N+1 and the ix target configures the same);
//! `app tcp-echo PORT` accepts everything and echoes it, closing after the peer
//! does. Timed calls act on the *current connection*, the last one accepted or
//! opened: `app accept`, `app connect IP:PORT [from PORT]`, `app write N` (bytes 0,
//! 1, 2, ... in one call), `app read N` (exactly N bytes), `app read eof`, `app
//! shutdown-write`, `app close`, `app abort` (RST), `app error
//! reset|refused|timeout` (how the connection failed). A call that waits (`accept`,
//! `read`, `error`) may take up to the target's tolerance. On Linux every socket
//! has TCP_NODELAY; on ix, calls map to `TcpEngine::{accept, connect, send, close,
//! abort}` and its events ([`ix_tcp`]).
//!
//! **TCP settings**: `tcp-config` keys (`syn-retries`, `synack-retries`,
//! `retries2`, `user-timeout`, `fin-timeout`, `keepalive=IDLE:INTERVAL:PROBES`,
//! `syncookies`, `timestamps`, `sack`, `wscale`; see [`tcp_config::TcpSettings`])
//! become namespace sysctls and socket options on Linux and `TcpConfig` fields on
//! ix, so timeout scripts run in seconds. `linux-sysctl net.ipv4.tcp_NAME VALUE
//! "why"` sets a Linux-only knob (its reason required, as for `@only`); every
//! sysctl write is checked not to have reached the host.
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
//! # Tracing
//!
//! With `IX_SCRIPT_TRACE` set, every matched frame and completed call is printed
//! with its actual and scripted time: how a timing line is written from what a
//! target does. `IX_SCRIPT=substring` makes `tests/conformance.rs` run only the
//! matching scripts.
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

pub mod app;
pub mod build;
mod build_tcp;
pub mod decode;
pub mod decode_tcp;
mod defaults;
pub mod error;
mod fields;
pub mod ix;
pub mod ix_tcp;
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
pub mod tcp_config;
pub mod tcp_flags;
pub mod tcp_opts;
pub mod value;

pub use error::{FieldDiff, ParseError, RunError};
pub use ix::IxTarget;
pub use linux::LinuxTarget;
pub use parse::parse;
pub use runner::{run, Outcome};
pub use script::{Script, Setup};
pub use target::{Captured, Target, TargetError, TargetKind};
