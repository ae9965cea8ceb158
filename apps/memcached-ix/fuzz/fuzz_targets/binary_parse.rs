//! The binary header and request parser: header parse/emit round-trips; requests
//! never panic and stay within their body.
#![no_main]
use libfuzzer_sys::fuzz_target;
use memcached_ix::binary::{parse, plan, Header};

fuzz_target!(|data: &[u8]| {
    let Some(h) = Header::parse(data) else { return };
    assert_eq!(Header::parse(&h.emit()), Some(h));
    if plan(&h).is_ok() {
        let _ = parse(&h, &data[24..]);
    }
});
