//! Binary-protocol exchanges: every opcode, quiet variants, incr/decr initial
//! values and the 0xffffffff "do not create" exptime, bad magic and lengths.

use super::runner::{arith_ext, bin, req, req_full, store_ext, Case};
use super::servers::Step;

fn one(name: &str, frames: &[Vec<u8>]) -> Case {
    bin(name, vec![Step::Send(frames.concat())])
}

/// Every opcode and its failure replies.
pub fn all() -> Vec<Case> {
    let set = |k: &[u8], v: &[u8]| req(0x01, k, &store_ext(7, 0), v);
    vec![
        one("noop", &[req(0x0a, b"", b"", b"")]),
        one("version", &[req(0x0b, b"", b"", b"")]),
        one("set", &[set(b"b1", b"one")]),
        one("get hit", &[req(0x00, b"b1", b"", b"")]),
        one("get miss", &[req(0x00, b"nope", b"", b"")]),
        one(
            "getk",
            &[req(0x0c, b"b1", b"", b""), req(0x0c, b"nope", b"", b"")],
        ),
        one(
            "getq getkq",
            &[
                req(0x09, b"b1", b"", b""),
                req(0x09, b"nope", b"", b""),
                req(0x0d, b"b1", b"", b""),
                req(0x0d, b"nope", b"", b""),
            ],
        ),
        one("add existing", &[req(0x02, b"b1", &store_ext(0, 0), b"x")]),
        one(
            "add new",
            &[
                req(0x02, b"b2", &store_ext(1, 0), b"two"),
                req(0x00, b"b2", b"", b""),
            ],
        ),
        one(
            "replace missing",
            &[req(0x03, b"nope", &store_ext(0, 0), b"x")],
        ),
        one(
            "replace",
            &[
                req(0x03, b"b2", &store_ext(2, 0), b"TWO"),
                req(0x00, b"b2", b"", b""),
            ],
        ),
        one(
            "quiet stores",
            &[
                req(0x11, b"b3", &store_ext(0, 0), b"3"),
                req(0x12, b"b3", &store_ext(0, 0), b"x"),
                req(0x13, b"nope", &store_ext(0, 0), b"x"),
                req(0x12, b"b4", &store_ext(0, 0), b"4"),
            ],
        ),
        bin(
            "set with cas stale",
            vec![Step::Send(req_full(
                0x80,
                0x01,
                b"b1",
                &store_ext(0, 0),
                b"c",
                1,
                0,
            ))],
        ),
        bin(
            "set with cas right",
            vec![Step::SendBinCas(
                req_full(0x80, 0x01, b"b1", &store_ext(0, 0), b"C", 0, 0),
                1,
            )],
        ),
        bin(
            "set with cas missing",
            vec![Step::Send(req_full(
                0x80,
                0x01,
                b"nope",
                &store_ext(0, 0),
                b"c",
                5,
                0,
            ))],
        ),
        one(
            "delete",
            &[req(0x04, b"b4", b"", b""), req(0x04, b"b4", b"", b"")],
        ),
        one(
            "deleteq",
            &[req(0x14, b"b3", b"", b""), req(0x14, b"b3", b"", b"")],
        ),
        one("delete with extras", &[req(0x04, b"b2", b"abcd", b"")]),
        one(
            "incr initial",
            &[
                req(0x05, b"n1", &arith_ext(5, 100, 0), b""),
                req(0x05, b"n1", &arith_ext(5, 100, 0), b""),
                req(0x00, b"n1", b"", b""),
            ],
        ),
        one(
            "incr no create",
            &[req(0x05, b"n2", &arith_ext(1, 0, 0xffff_ffff), b"")],
        ),
        one(
            "decr below 0",
            &[req(0x06, b"n1", &arith_ext(1000, 0, 0), b"")],
        ),
        one(
            "incr wrap",
            &[
                req(0x01, b"n3", &store_ext(0, 0), b"18446744073709551615"),
                req(0x05, b"n3", &arith_ext(2, 0, 0), b""),
            ],
        ),
        one(
            "incr non-numeric",
            &[req(0x05, b"b1", &arith_ext(1, 0, 0), b"")],
        ),
        one(
            "incrq decrq",
            &[
                req(0x15, b"n1", &arith_ext(1, 0, 0), b""),
                req(0x16, b"n1", &arith_ext(1, 0, 0), b""),
                req(0x15, b"nope", &arith_ext(1, 0, 0xffff_ffff), b""),
            ],
        ),
        one("incr bad extras", &[req(0x05, b"n1", b"abc", b"")]),
        one(
            "append prepend",
            &[
                req(0x0e, b"b1", b"", b">>"),
                req(0x0f, b"b1", b"", b"<<"),
                req(0x00, b"b1", b"", b""),
            ],
        ),
        one(
            "append missing",
            &[req(0x0e, b"nope", b"", b"x"), req(0x0f, b"nope", b"", b"x")],
        ),
        one(
            "appendq prependq",
            &[
                req(0x19, b"b1", b"", b"a"),
                req(0x1a, b"b1", b"", b"p"),
                req(0x19, b"nope", b"", b"x"),
                req(0x00, b"b1", b"", b""),
            ],
        ),
        one(
            "append with extras",
            &[req(0x0e, b"b1", &store_ext(0, 0), b"x")],
        ),
        one(
            "touch",
            &[
                req(0x1c, b"b1", &100u32.to_be_bytes(), b""),
                req(0x1c, b"nope", &100u32.to_be_bytes(), b""),
            ],
        ),
        one("touch no extras", &[req(0x1c, b"b1", b"", b"")]),
        one(
            "gat gatq",
            &[
                req(0x1d, b"b1", &100u32.to_be_bytes(), b""),
                req(0x1e, b"b1", &100u32.to_be_bytes(), b""),
                req(0x1e, b"nope", &1u32.to_be_bytes(), b""),
            ],
        ),
        one(
            "gatk gatkq",
            &[
                req(0x23, b"b1", &100u32.to_be_bytes(), b""),
                req(0x24, b"b1", &100u32.to_be_bytes(), b""),
                req(0x23, b"nope", &1u32.to_be_bytes(), b""),
                req(0x24, b"nope", &1u32.to_be_bytes(), b""),
            ],
        ),
        one(
            "verbosity",
            &[
                req(0x1b, b"", &1u32.to_be_bytes(), b""),
                req(0x1b, b"", b"", b""),
            ],
        ),
        one("stat", &[req(0x10, b"", b"", b"")]),
        one("stat settings", &[req(0x10, b"settings", b"", b"")]),
        one("stat bogus", &[req(0x10, b"bogus", b"", b"")]),
        one("stat reset", &[req(0x10, b"reset", b"", b"")]),
        one(
            "unknown opcode",
            &[req(0x42, b"k", b"", b"v"), req(0x0a, b"", b"", b"")],
        ),
        one("sasl list", &[req(0x20, b"", b"", b"")]),
        one("get with value", &[req(0x00, b"b1", b"", b"junk")]),
        one("get no key", &[req(0x00, b"", b"", b"")]),
        one("set no extras", &[req(0x01, b"b9", b"", b"v")]),
        one("key too long", &[req(0x00, &[b'k'; 251], b"", b"")]),
        one(
            "set too large",
            &[
                req(0x01, b"big", &store_ext(0, 0), &vec![b'x'; 1_048_577]),
                req(0x00, b"big", b"", b""),
            ],
        ),
        one("bad magic", &[req_full(0x81, 0x00, b"b1", b"", b"", 0, 0)]),
        one(
            "bad magic later",
            &[
                req(0x0a, b"", b"", b""),
                req_full(0x42, 0x00, b"b1", b"", b"", 0, 0),
            ],
        ),
        one(
            "bodylen short",
            &[{
                let mut r = req(0x00, b"b1", b"", b"");
                r[11] = 1;
                r
            }],
        ),
        one("split header", &[req(0x00, b"b1", b"", b"")[..10].to_vec()]),
        bin(
            "split writes",
            vec![
                Step::Send(req(0x00, b"b1", b"", b"")[..10].to_vec()),
                Step::Pause(30),
                Step::Send(req(0x00, b"b1", b"", b"")[10..].to_vec()),
            ],
        ),
        one(
            "flush",
            &[req(0x08, b"", b"", b""), req(0x00, b"b1", b"", b"")],
        ),
        one(
            "flushq with delay",
            &[
                req(0x01, b"f1", &store_ext(0, 0), b"x"),
                req(0x18, b"", &100u32.to_be_bytes(), b""),
                req(0x00, b"f1", b"", b""),
                req(0x08, b"", b"", b""),
            ],
        ),
        one(
            "quit",
            &[req(0x07, b"", b"", b""), req(0x0a, b"", b"", b"")],
        ),
        one(
            "quitq",
            &[req(0x17, b"", b"", b""), req(0x0a, b"", b"", b"")],
        ),
        one(
            "text after binary",
            &[req(0x0a, b"", b"", b""), b"get b1\r\n".to_vec()],
        ),
    ]
}
