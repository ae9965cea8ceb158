//! Unstructured fuzzing of ix-net's receive path: the input is one frame, injected
//! as it is into an interface with UDP ports 7 and 53 bound and its gateway (peer 0)
//! resolved, then polled; what it transmits and every buffer are checked as in
//! `stack_frames`.

#![no_main]

use ix_net_fuzz::grammar::Action;
use ix_net_fuzz::setup::Setup;
use ix_net_fuzz::world::World;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &[u8]| {
    let mut w = World::new(Setup::PLAIN);
    w.bind(7);
    w.bind(53);
    w.inject(frame);
    w.step(&Action::Poll);
    w.finish();
});
