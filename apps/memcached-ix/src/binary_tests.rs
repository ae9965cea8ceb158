//! Tests of the binary parser.
use super::*;

fn req(opcode: u8, extlen: u8, key: &[u8], value: usize) -> Header {
    Header {
        magic: REQ_MAGIC,
        opcode,
        keylen: key.len() as u16,
        extlen,
        bodylen: (usize::from(extlen) + key.len() + value) as u32,
        opaque: 0xdead_beef,
        cas: 7,
        ..Header::default()
    }
}

#[test]
fn header_round_trips() {
    let h = req(op::SET, 8, b"key", 5);
    let b = h.emit();
    assert_eq!(Header::parse(&b), Some(h));
    assert_eq!(b[0], 0x80);
    assert_eq!(&b[8..12], &16u32.to_be_bytes());
    assert_eq!(Header::parse(&b[..23]), None);
}

#[test]
fn requests_parse_and_bad_lengths_are_invalid() {
    let h = req(op::SET, 8, b"key", 5);
    assert_eq!(plan(&h), Ok(BodyPlan::Storage { value: 5 }));
    let body = [&1u32.to_be_bytes()[..], &60u32.to_be_bytes(), b"key"].concat();
    assert_eq!(
        parse(&h, &body),
        Ok(Request::Store {
            mode: Mode::Set,
            quiet: false,
            flags: 1,
            exptime: 60,
            key: b"key",
            value_len: 5
        })
    );
    assert_eq!(
        plan(&req(op::GET, 0, b"", 0)),
        Err(Invalid),
        "get without key"
    );
    assert_eq!(
        plan(&req(op::SET, 4, b"k", 0)),
        Err(Invalid),
        "set with short extras"
    );
    assert_eq!(plan(&req(op::NOOP, 0, b"k", 0)), Err(Invalid));
    assert_eq!(plan(&req(0x40, 0, b"", 3)), Ok(BodyPlan::Unknown));
    let h = req(op::INCREMENTQ, 20, b"n", 0);
    let body = [
        &5u64.to_be_bytes()[..],
        &9u64.to_be_bytes(),
        &u32::MAX.to_be_bytes(),
        b"n",
    ]
    .concat();
    assert_eq!(
        parse(&h, &body),
        Ok(Request::Arith {
            incr: true,
            quiet: true,
            key: b"n",
            delta: 5,
            initial: 9,
            exptime: u32::MAX
        })
    );
    assert_eq!(
        parse(&req(op::GETKQ, 0, b"a", 0), b"a"),
        Ok(Request::Get {
            key: b"a",
            quiet: true,
            with_key: true
        })
    );
    let mut long = req(op::GET, 0, &[b'a'; 251], 0);
    long.bodylen = 251;
    assert_eq!(plan(&long), Err(Invalid));
}
