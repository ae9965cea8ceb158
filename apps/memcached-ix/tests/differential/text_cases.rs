//! Text-protocol exchanges: storage commands and every failure reply, retrieval,
//! arithmetic, touch, noreply, bad lines, framing.

use super::runner::{clocked, text, text_bytes, Case};

/// Storage commands and their replies, retrieval, cas.
pub fn storage() -> Vec<Case> {
    vec![
        text("set", &["set a 5 0 3\r\nabc\r\n"]),
        text("get hit", &["get a\r\n"]),
        text("get multi", &["set b 7 0 2\r\nbb\r\nget a b nope a\r\n"]),
        text("gets multi", &["gets a b nope\r\n"]),
        text("add existing", &["add a 0 0 1\r\nx\r\n"]),
        text("add new", &["add c 0 0 1\r\nc\r\nget c\r\n"]),
        text("replace missing", &["replace nope 0 0 1\r\nx\r\n"]),
        text("replace existing", &["replace c 9 0 2\r\ncc\r\ngets c\r\n"]),
        text("append missing", &["append nope 0 0 1\r\nx\r\n"]),
        text("append", &["append a 99 0 3\r\ndef\r\nget a\r\n"]),
        text("prepend", &["prepend a 0 0 2\r\n<<\r\ngets a\r\n"]),
        text("prepend missing", &["prepend nope 0 0 1\r\nx\r\n"]),
        text("cas missing", &["cas nope 0 0 1 1\r\nx\r\n"]),
        text("gets for cas", &["gets b\r\n"]),
        text("cas stale", &["cas b 0 0 1 {cas:1}\r\nx\r\nget b\r\n"]),
        text("cas right", &["gets b\r\n"]),
        text("cas ok", &["cas b 3 0 2 {cas:4}\r\nyy\r\ngets b\r\n"]),
        text("cas noreply", &["cas b 0 0 1 1 noreply\r\nz\r\nget b\r\n"]),
        text("set noreply", &["set n 0 0 1 noreply\r\n1\r\nget n\r\n"]),
        text(
            "add noreply fails",
            &["add n 0 0 1 noreply\r\n2\r\nget n\r\n"],
        ),
        text(
            "replace noreply",
            &["replace n 0 0 1 noreply\r\n3\r\nreplace nn 0 0 1 noreply\r\n4\r\nget n nn\r\n"],
        ),
        text(
            "append/prepend noreply",
            &["append n 0 0 1 noreply\r\nA\r\nprepend n 0 0 1 noreply\r\nP\r\nget n\r\n"],
        ),
        text("empty value", &["set e 0 0 0\r\n\r\nget e\r\n"]),
        text(
            "binary-ish value",
            &["set bv 0 0 5\r\na\r\nb\0\r\nget bv\r\n"],
        ),
        text("flags max", &["set f 4294967295 0 1\r\nx\r\nget f\r\n"]),
        text("flags over", &["set f 4294967296 0 1\r\nx\r\nget f\r\n"]),
        text("flags negative", &["set f -1 0 1\r\nx\r\nget f\r\n"]),
        text("negative exptime", &["set ne 0 -1 1\r\nx\r\nget ne\r\n"]),
        text("exptime junk", &["set ej 0 abc 1\r\nx\r\n"]),
        text("length negative", &["set ln 0 0 -1\r\nx\r\n"]),
        text("length junk", &["set lj 0 0 1x\r\nx\r\n"]),
        text("bad data chunk", &["set bc 0 0 3\r\nabcde\r\nget bc\r\n"]),
        text(
            "bad data chunk short",
            &["set bc 0 0 3\r\nab\r\n\r\nget bc\r\n"],
        ),
        text(
            "too large",
            &[
                "set big 0 0 2000000\r\n",
                &"x".repeat(2_000_000),
                "\r\nget big\r\n",
            ],
        ),
        text(
            "too large drops old",
            &[
                "set tl 0 0 1\r\nx\r\nset tl 0 0 2000000\r\n",
                &"x".repeat(2_000_000),
                "\r\nget tl\r\n",
            ],
        ),
        text(
            "too large noreply",
            &[
                "set big 0 0 1048577 noreply\r\n",
                &"y".repeat(1_048_577),
                "\r\nget big\r\n",
            ],
        ),
        text(
            "key 250",
            &[&format!(
                "set {} 0 0 1\r\nx\r\nget {}\r\n",
                "k".repeat(250),
                "k".repeat(250)
            )],
        ),
        text(
            "key 251 set",
            &[&format!("set {} 0 0 1\r\nx\r\n", "k".repeat(251))],
        ),
        text("key 251 get", &[&format!("get a {}\r\n", "k".repeat(251))]),
        text(
            "key 251 delete",
            &[&format!("delete {}\r\n", "k".repeat(251))],
        ),
        text(
            "key 251 incr",
            &[&format!("incr {} 1\r\n", "k".repeat(251))],
        ),
        text(
            "key 251 touch",
            &[&format!("touch {} 1\r\n", "k".repeat(251))],
        ),
        text("storage too few tokens", &["set a 0 0\r\n"]),
        text(
            "storage too many tokens",
            &["set a 0 0 1 noreply extra\r\nx\r\n"],
        ),
        text("cas too few", &["cas a 0 0 1\r\nx\r\n"]),
        text("cas junk unique", &["cas a 0 0 1 zz\r\nx\r\n"]),
        text(
            "split across writes",
            &["se", "t sp 1 0 4\r", "\nab", "cd\r", "\nget", " sp\r\n"],
        ),
        text(
            "pipelined",
            &["set p1 0 0 1\r\n1\r\nset p2 0 0 1\r\n2\r\nget p1 p2\r\ndelete p1\r\nget p1\r\n"],
        ),
        text("bare newline", &["set nl 0 0 2\nhi\r\nget nl\n"]),
        text(
            "multiple spaces",
            &["set   ms  0   0  1  \r\nx\r\nget  ms   \r\n"],
        ),
        text("tab separator", &["get\ta\r\n"]),
        text("get no key", &["get\r\n"]),
        text("get trailing space", &["get \r\n"]),
        text("gets no key", &["gets\r\n"]),
        text(
            "many keys",
            &[&format!(
                "get {}\r\n",
                (0..100)
                    .map(|i| format!("k{i}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )],
        ),
        text("delete", &["delete a\r\nget a\r\ndelete a\r\n"]),
        text(
            "delete noreply",
            &["delete b noreply\r\ndelete b noreply\r\nget b\r\n"],
        ),
        text("delete 0", &["set d 0 0 1\r\nx\r\ndelete d 0\r\n"]),
        text(
            "delete 0 noreply",
            &["set d 0 0 1\r\nx\r\ndelete d 0 noreply\r\nget d\r\n"],
        ),
        text("delete time", &["set d 0 0 1\r\nx\r\ndelete d 5\r\n"]),
        text("delete junk", &["delete d x y z\r\n"]),
        text("delete no key", &["delete\r\n"]),
        text("stats items extra", &["stats items extra\r\n"]),
    ]
}

/// incr/decr, touch, gat.
pub fn arith_touch() -> Vec<Case> {
    vec![
        text("incr missing", &["incr nope 1\r\n"]),
        text("incr", &["set i 0 0 2\r\n10\r\nincr i 5\r\nget i\r\n"]),
        text("decr shorter", &["set i 0 0 3\r\n100\r\ndecr i 1\r\nget i\r\n"]),
        text("decr below 0", &["decr i 1000\r\nget i\r\n"]),
        text("incr wrap", &["set w 0 0 20\r\n18446744073709551615\r\nincr w 2\r\nget w\r\n"]),
        text("incr huge delta", &["incr w 18446744073709551615\r\n"]),
        text("incr delta overflow", &["incr w 18446744073709551616\r\n"]),
        text("incr negative delta", &["incr w -1\r\n"]),
        text("incr junk delta", &["incr w x\r\n"]),
        text("incr non-numeric", &["set nn 0 0 3\r\nabc\r\nincr nn 1\r\ndecr nn 1\r\n"]),
        text("incr value too long", &["set nl 0 0 21\r\n123456789012345678901\r\nincr nl 1\r\n"]),
        text("incr leading spaces", &["set sp 0 0 3\r\n 12\r\nincr sp 1\r\n"]),
        text("incr trailing junk", &["set tj 0 0 3\r\n12a\r\nincr tj 1\r\n"]),
        text("incr empty value", &["set ev 0 0 0\r\n\r\nincr ev 1\r\n"]),
        text("incr noreply", &["set inr 0 0 1\r\n1\r\nincr inr 1 noreply\r\ndecr inr 1 noreply\r\nincr missing 1 noreply\r\nget inr\r\n"]),
        text("incr non-numeric noreply", &["incr nn 1 noreply\r\n"]),
        text("incr bad token count", &["incr i\r\nincr i 1 2 3\r\n"]),
        text("incr keeps flags and cas changes", &["set ic 42 0 1\r\n5\r\ngets ic\r\nincr ic 1\r\ngets ic\r\n"]),
        text("touch missing", &["touch nope 10\r\n"]),
        text("touch", &["set t 0 0 1\r\nx\r\ntouch t 100\r\nget t\r\n"]),
        text("touch noreply", &["touch t 100 noreply\r\ntouch nope 1 noreply\r\n"]),
        text("touch bad exptime", &["touch t abc\r\n"]),
        text("touch negative expires", &["set tn 0 0 1\r\nx\r\ntouch tn -1\r\nget tn\r\n"]),
        text("gat", &["set g 3 0 2\r\ngg\r\ngat 100 g nope\r\n"]),
        text("gats", &["gats 100 g g\r\n"]),
        text("gat bad exptime", &["gat x g\r\n"]),
        text("gat no key", &["gat 10\r\n"]),
        text("gat negative", &["set gn 0 0 1\r\nx\r\ngat -1 gn\r\nget gn\r\n"]),
    ]
}

/// Bad command lines, framing, flush_all, verbosity, version, quit.
pub fn misc() -> Vec<Case> {
    vec![
        text("unknown command", &["bogus\r\n"]),
        text("empty line", &["\r\n"]),
        text("spaces only", &["   \r\n"]),
        text("uppercase", &["GET a\r\n"]),
        text("version", &["version\r\n"]),
        text("version extra", &["version x\r\n"]),
        text("verbosity", &["verbosity 1\r\nverbosity 0 noreply\r\nverbosity\r\nverbosity a b c\r\n"]),
        text("verbosity junk", &["verbosity x\r\n"]),
        text("flush_all", &["set fa 0 0 1\r\nx\r\nflush_all\r\nget fa\r\n"]),
        text("flush_all noreply", &["set fa 0 0 1\r\nx\r\nflush_all noreply\r\nget fa\r\n"]),
        text("flush_all 0", &["set fa 0 0 1\r\nx\r\nflush_all 0\r\nget fa\r\n"]),
        text("flush_all junk", &["flush_all x\r\nflush_all 1 2 3\r\n"]),
        text("flush_all negative", &["set fa 0 0 1\r\nx\r\nflush_all -1\r\nget fa\r\n"]),
        clocked(text("flush_all delay", &["set fd 0 0 1\r\nx\r\nflush_all 2\r\nget fd\r\n"])),
        Case {
            name: "flush_all delay passes".into(),
            steps: vec![
                super::servers::Step::Pause(3100),
                super::servers::Step::Send(b"get fd\r\nset fe 0 0 1\r\ny\r\nget fe\r\n".to_vec()),
            ],
            binary: false,
            clock: false,
        },
        text("flush_all delay noreply", &["set fd 0 0 1\r\nx\r\nflush_all 100 noreply\r\nget fd\r\nflush_all\r\n"]),
        text("quit", &["quit\r\nget a\r\n"]),
        text("quit extra", &["quit now\r\n"]),
        text("http", &["GET / HTTP/1.1\r\n"]),
        text("long line", &[&format!("set {}\r\n", "x".repeat(3000))]),
        Case {
            name: "long line no newline".into(),
            steps: vec![
                super::servers::Step::Send(vec![b'y'; 5000]),
                super::servers::Step::Pause(200),
            ],
            binary: false,
            clock: false,
        },
        text("long get line", &[&format!("get {}\r\n", vec!["abcdefghij"; 400].join(" "))]),
        text("long token line", &[&format!("{}\r\n", "z".repeat(2100))]),
        text("nul in command", &["ge\0t a\r\n"]),
        text_bytes("high bytes", &[b"\xff\xfe\r\n".to_vec()]),
        text("cr only", &["get a\rget b\r\n"]),
        text("stats unknown group", &["stats bogus\r\n"]),
        text("stats reset", &["stats reset\r\n"]),
        text("stats detail", &["stats detail\r\nstats detail on\r\nstats detail dump\r\nstats detail off\r\n"]),
        text("stats sizes", &["stats sizes\r\n"]),
        // A pause first, so that the earlier cases' connections are closed on
        // both sides.
        conns_case("stats conns", "stats conns\r\n"),
        text("shutdown", &["shutdown\r\n"]),
        text("shutdown graceful", &["shutdown graceful\r\n"]),
        text("cache_memlimit", &["cache_memlimit\r\ncache_memlimit 100\r\ncache_memlimit x\r\ncache_memlimit 100 noreply\r\ncache_memlimit 64\r\n"]),
        text("lru_crawler", &["lru_crawler\r\nlru_crawler bogus\r\nlru_crawler enable\r\nlru_crawler crawl all\r\nlru_crawler crawl 0\r\nlru_crawler crawl 1,x\r\nlru_crawler sleep 2000000\r\nlru_crawler tocrawl x\r\nlru_crawler disable\r\nlru_crawler sleep 100\r\nlru_crawler tocrawl 10\r\n"]),
        text("lru_crawler metadump", &["set md 0 0 1\r\nx\r\nlru_crawler metadump all\r\n"]),
        text("misbehave", &["misbehave\r\n"]),
        text("slabs", &["slabs\r\nslabs reassign 1 2\r\nslabs automove 0\r\nslabs automove x\r\nslabs bogus\r\n"]),
        text("lru", &["lru\r\nlru tune 10 10 0.1 2\r\nlru mode flat\r\nlru mode segmented\r\nlru temp_ttl 0\r\nlru bogus\r\n"]),
        text("watch", &["watch bogus\r\n"]),
        text("debugtime", &["debugtime 1\r\n"]),
        text("extstore", &["extstore\r\n"]),
        text("me", &["me a\r\n"]),
        text("mget", &["mget a\r\n"]),
    ]
}

/// A text case that waits 300 ms before sending `line` (so earlier cases'
/// connections are gone from `stats conns` on both sides).
pub fn conns_case(name: &str, line: &str) -> Case {
    Case {
        name: name.to_string(),
        steps: vec![
            super::servers::Step::Pause(300),
            super::servers::Step::Send(line.as_bytes().to_vec()),
        ],
        binary: false,
        clock: false,
    }
}

/// Per-prefix stats (`stats detail`) and the connection list (`stats conns`),
/// on their own pair: which commands count for a prefix, the dump's order,
/// `stats reset`, `stats settings`.
pub fn detail_and_conns() -> Vec<Case> {
    vec![
        text("detail usage", &["stats detail\r\nstats detail x\r\nstats detail on off\r\nstats detail dump\r\n"]),
        text(
            "detail counts",
            &[concat!(
                "stats detail on\r\nset a:1 0 0 1\r\nx\r\nget a:1 a:2 b:1 c\r\nset c 0 0 1\r\nx\r\n",
                "delete b:1\r\ndelete a:1\r\nmg a:1 v\r\nms b:2 1\r\nx\r\nmd b:2\r\nincr a:1 1\r\n",
                "touch a:1 1\r\ngets b:2\r\ngat 1 b:2\r\nstats detail dump\r\n",
            )],
        ),
        text("detail settings", &["stats settings\r\n"]),
        text(
            "detail order",
            &[concat!(
                "stats reset\r\nstats detail dump\r\nset a:1 0 0 1\r\nx\r\nset b:1 0 0 1\r\nx\r\n",
                "set c:1 0 0 1\r\nx\r\nset d:1 0 0 1\r\nx\r\nset foo:1 0 0 1\r\nx\r\n",
                "set bar:1 0 0 1\r\nx\r\nset ab:1 0 0 1\r\nx\r\nset :1 0 0 1\r\nx\r\n",
                "add a:1 0 0 1\r\nx\r\nappend q:1 0 0 1\r\nx\r\ncas a:2 0 0 1 5\r\nx\r\n",
                "set x:1 0 0 2000000\r\n",
            ), &"x".repeat(2_000_000), "\r\nstats detail dump\r\n"],
        ),
        text(
            "detail off keeps counts",
            &["stats detail off\r\nget a:1\r\nstats detail dump\r\nstats settings\r\n"],
        ),
        conns_case("conns alone", "stats conns\r\n"),
    ]
}
