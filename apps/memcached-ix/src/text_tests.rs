//! Tests of the text parser.
use super::*;

fn err(line: &[u8]) -> &'static str {
    parse(line).unwrap_err().reply
}

#[test]
fn storage_commands_parse_with_their_fields() {
    assert_eq!(
        parse(b"set k 5 100 3").unwrap(),
        Command::Store {
            kind: StoreKind::Plain(Mode::Set),
            key: b"k",
            flags: 5,
            exptime: 100,
            bytes: 3,
            noreply: false
        }
    );
    assert_eq!(
        parse(b"cas  k 0 -1 3 77 noreply").unwrap(),
        Command::Store {
            kind: StoreKind::Cas(77),
            key: b"k",
            flags: 0,
            exptime: -1,
            bytes: 3,
            noreply: true
        }
    );
    // A 7th token that is not "noreply" is ignored, as memcached does.
    assert!(matches!(
        parse(b"set s 0 0 1 1"),
        Ok(Command::Store { noreply: false, .. })
    ));
}

#[test]
fn errors_are_memcacheds() {
    assert_eq!(err(b""), ERROR);
    assert_eq!(err(b"bogus"), ERROR);
    assert_eq!(err(b"get"), ERROR);
    assert_eq!(err(b"set s 0 0"), ERROR);
    assert_eq!(err(b"set s -1 0 1"), BAD_FORMAT);
    assert_eq!(err(b"set s 18446744073709551616 0 1"), BAD_FORMAT);
    assert_eq!(err(b"set k 0 0 -1"), BAD_FORMAT);
    assert!(parse(b"set k 0 0 x noreply").unwrap_err().noreply);
    assert_eq!(
        err(b"incr k x"),
        "CLIENT_ERROR invalid numeric delta argument"
    );
    assert_eq!(err(b"touch k x"), "CLIENT_ERROR invalid exptime argument");
    assert_eq!(err(b"gat x k"), "CLIENT_ERROR invalid exptime argument");
    assert_eq!(err(b"flush_all x"), "CLIENT_ERROR invalid exptime argument");
    assert_eq!(err(b"verbosity"), ERROR);
    assert!(err(b"delete k 5").starts_with("CLIENT_ERROR bad command line format.  Usage"));
    let long = [b"get ".as_slice(), &[b'a'; 251]].concat();
    assert_eq!(err(&long), BAD_FORMAT);
    assert_eq!(err(b"mz foo"), ERROR);
}

#[test]
fn multi_get_keys_and_misc() {
    let Command::Get { keys, cas } = parse(b"gets a  bb ccc").unwrap() else {
        panic!("not a get")
    };
    assert!(cas);
    assert_eq!(
        keys.iter().collect::<Vec<_>>(),
        vec![&b"a"[..], b"bb", b"ccc"]
    );
    let Command::Gat { exptime, keys, .. } = parse(b"gat 10 x y").unwrap() else {
        panic!("not a gat")
    };
    assert_eq!((exptime, keys.count()), (10, 2));
    assert_eq!(
        parse(b"delete k 0 noreply").unwrap(),
        Command::Delete {
            key: b"k",
            noreply: true
        }
    );
    assert_eq!(
        parse(b"flush_all 10 noreply").unwrap(),
        Command::FlushAll {
            delay: 10,
            noreply: true
        }
    );
    assert_eq!(
        parse(b"flush_all noreply").unwrap(),
        Command::FlushAll {
            delay: 0,
            noreply: true
        }
    );
    assert_eq!(
        parse(b"stats items").unwrap(),
        Command::Stats {
            group: Some(b"items"),
            arg: None
        }
    );
    assert_eq!(
        parse(b"stats detail dump").unwrap(),
        Command::Stats {
            group: Some(b"detail"),
            arg: Some(b"dump")
        }
    );
    assert_eq!(parse(b"GET / HTTP/1.1").unwrap(), Command::Close);
    assert_eq!(parse(b"mn").unwrap(), Command::Meta(b"mn"));
    assert_eq!(trim_eol(b"get a\r\n"), b"get a");
    assert!(may_grow(b"  get a b c") && !may_grow(b"set x"));
}
