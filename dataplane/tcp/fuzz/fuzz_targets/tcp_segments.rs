//! Structure-aware fuzzing of live TCP connections: each input decodes (through
//! `arbitrary`) into a [`Script`]: an engine set-up (configuration, how many passive
//! and active connections to establish first) and a list of actions (inject segments
//! built from the grammar relative to each connection's state, advance virtual time,
//! application calls), played against an `ix_tcp::TcpEngine` under an
//! `ix_net::Interface` over a `FakeNic`, with every invariant checked after every step.

#![no_main]

use ix_tcp_fuzz::grammar::Script;
use ix_tcp_fuzz::world::World;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|script: Script| {
    World::run(&script.setup, &script.actions);
});
