//! The text parser on arbitrary lines: never panics; what it accepts is sane.
#![no_main]
use libfuzzer_sys::fuzz_target;
use memcached_ix::text::{parse, Command, KEY_MAX};

fuzz_target!(|line: &[u8]| {
    match parse(line) {
        Ok(Command::Get { keys, .. }) | Ok(Command::Gat { keys, .. }) => {
            assert!(keys.iter().all(|k| !k.is_empty() && k.len() <= KEY_MAX));
        }
        Ok(Command::Store { key, bytes, .. }) => {
            assert!(key.len() <= KEY_MAX && bytes <= i32::MAX as usize);
        }
        Ok(_) => {}
        Err(r) => assert!(r.reply.starts_with("ERROR") || r.reply.contains("_ERROR")),
    }
});
