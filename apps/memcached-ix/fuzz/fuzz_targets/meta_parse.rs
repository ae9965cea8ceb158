//! The meta parser on arbitrary lines: never panics; base64 keys decode in bounds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use memcached_ix::meta::{base64_decode, parse};

fuzz_target!(|line: &[u8]| {
    if let Ok(m) = parse(line) {
        assert!(m.key.len() <= 250);
        let _ = m.flags.iter().count();
        let mut out = [0u8; 256];
        if let Some(n) = base64_decode(m.key, &mut out) {
            assert!(n <= out.len());
        }
    }
});
