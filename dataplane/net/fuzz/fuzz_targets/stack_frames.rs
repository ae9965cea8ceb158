//! Structure-aware fuzzing of the whole ix-net receive and transmit path: each input
//! decodes (through `arbitrary`) into a [`Script`], an interface setup and a list of
//! actions (inject frames built from the grammar, advance virtual time, poll,
//! bind/unbind/send UDP, drain), played against a fresh `Interface` over a `FakeNic`
//! with every invariant checked after every step.

#![no_main]

use ix_net_fuzz::grammar::Script;
use ix_net_fuzz::world::World;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|script: Script| {
    World::run(script.setup, &script.actions);
});
