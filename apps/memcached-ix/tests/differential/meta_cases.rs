//! Meta-protocol exchanges: mg/ms/md/ma/mn/me with their flags and modes,
//! base64 keys, quiet mode, errors.

use super::runner::{clocked, text, Case};

/// Every meta command, flag and mode worth a client's notice.
pub fn all() -> Vec<Case> {
    vec![
        text("mn", &["mn\r\n"]),
        text("ms plain", &["ms mk 2\r\nhi\r\n"]),
        text("mg no flags", &["mg mk\r\n"]),
        text("mg v", &["mg mk v\r\n"]),
        text("mg miss", &["mg nope v\r\n"]),
        text("mg miss quiet", &["mg nope v q\r\nmg mk v q\r\n"]),
        text("mg k O", &["mg mk k Oabc v\r\n"]),
        text("mg f s t", &["ms mf 3 F77 T0\r\nabc\r\nmg mf f s t v\r\n"]),
        text("mg c", &["mg mk c\r\n"]),
        clocked(text("mg h l first", &["ms mh 1\r\nx\r\nmg mh h l\r\n"])),
        clocked(text("mg h l second", &["mg mh h l\r\n"])),
        clocked(text("mg t with ttl", &["ms mt 1 T100\r\nx\r\nmg mt t\r\n"])),
        clocked(text("mg T touches", &["mg mt T200 t\r\n"])),
        text("mg E", &["mg mk E5\r\n"]),
        text("mg u", &["mg mk u v\r\n"]),
        text("mg bad flag", &["mg mk !\r\n"]),
        text("mg dup flag", &["mg mk v v\r\n"]),
        text("mg no key", &["mg\r\n"]),
        text("mg long key", &[&format!("mg {} v\r\n", "k".repeat(251))]),
        text(
            "mg base64",
            &["ms bWI= 2 b\r\nb6\r\nmg bWI= b v k\r\nmg mb v\r\n"],
        ),
        text("mg bad base64", &["mg !!!! b v\r\n"]),
        text(
            "mg O too long",
            &[&format!("mg mk O{} v\r\n", "o".repeat(40))],
        ),
        text(
            "ms with flags",
            &["ms ms1 2 F5 T0 c k Oxy\r\nab\r\nmg ms1 f v\r\n"],
        ),
        text("ms q", &["ms msq 1 q\r\nx\r\nmn\r\n"]),
        text("ms invalid mode", &["ms mm 1 MZ\r\nx\r\n"]),
        text(
            "ms mode add",
            &["ms ms1 1 ME\r\nx\r\nms msadd 1 ME\r\ny\r\n"],
        ),
        text(
            "ms mode replace",
            &["ms nope 1 MR\r\nx\r\nms msadd 1 MR\r\nz\r\n"],
        ),
        text(
            "ms mode append prepend",
            &["ms msadd 1 MA\r\nA\r\nms msadd 1 MP\r\nP\r\nmg msadd v\r\nms nope 1 MA\r\nx\r\n"],
        ),
        text(
            "ms mode set lower",
            &["ms msadd 1 Ms\r\nS\r\nmg msadd v\r\n"],
        ),
        text("ms C compare", &["mg ms1 c\r\n"]),
        text("ms C stale", &["ms ms1 1 C1\r\nx\r\n"]),
        text(
            "ms C right",
            &["ms ms1 1 C{cas:4} c\r\nY\r\nmg ms1 v c\r\n"],
        ),
        text("ms C missing", &["ms nope 1 C5\r\nx\r\n"]),
        text("ms bad length", &["ms mx abc\r\nx\r\n"]),
        text("ms no length", &["ms mx\r\n"]),
        text("ms bad chunk", &["ms mx 2\r\nabc\r\nmg mx v\r\n"]),
        text(
            "ms too large",
            &[
                "ms mbig 2000000\r\n",
                &"x".repeat(2_000_000),
                "\r\nmg mbig v\r\n",
            ],
        ),
        text("ms bad flag token", &["ms mx 1 Fx\r\nx\r\n"]),
        text("ms T negative", &["ms mneg 1 T-1\r\nx\r\nmg mneg v\r\n"]),
        text("ms base64", &["ms bXM2NA== 1 b k\r\nx\r\nget ms64\r\n"]),
        text("md", &["ms md1 1\r\nx\r\nmd md1\r\nmd md1\r\n"]),
        text("md q", &["ms md2 1\r\nx\r\nmd md2 q\r\nmd md2 q\r\nmn\r\n"]),
        text("md k O", &["md nope k O1\r\n"]),
        text("md C", &["ms md4 1\r\nx\r\nmd md4 C1\r\n"]),
        text("md bad flag", &["md md4 !\r\n"]),
        text("ma miss", &["ma nope\r\n"]),
        text("ma N J", &["ma mac N0 J10 v\r\nma mac v\r\n"]),
        text("ma D", &["ma mac D5 v t c\r\n"]),
        text("ma MD", &["ma mac MD D100 v\r\n"]),
        text(
            "ma M- M+",
            &["ma mac M- D1 v\r\nma mac M+ D2 v\r\nma mac MI v\r\nma mac Md v\r\n"],
        ),
        text("ma bad mode", &["ma mac MX v\r\n"]),
        text("ma non-numeric", &["ms manum 1\r\nx\r\nma manum v\r\n"]),
        text("ma q", &["ma mac q\r\nma nope q\r\nmn\r\n"]),
        text(
            "ma wrap",
            &["ms mawrap 20\r\n18446744073709551615\r\nma mawrap v\r\n"],
        ),
        text("ma bad delta", &["ma mac Dx\r\n"]),
        text("ma C", &["ma mac C1 v\r\n"]),
        text("ma k O", &["ma mac k O9\r\n"]),
        clocked(text("me", &["ms medbg 1 T0\r\nx\r\nme medbg\r\n"])),
        text("me miss", &["me nope\r\n"]),
        text("me no key", &["me\r\n"]),
        text("mz unknown", &["mz foo\r\n"]),
        text(
            "meta pipeline",
            &["mg mk v q\r\nmg nope v q\r\nms mp 1 q\r\n1\r\nmd nope q\r\nmn\r\n"],
        ),
        text("mg then get", &["mg mk s v\r\nget mk\r\n"]),
    ]
}

/// Vivify-on-miss, recache and invalidation (the stale/win/Z flags): on their
/// own pair, as they create items and CAS values the other table does not.
/// Each was checked against memcached 1.6.18 by hand first.
pub fn stale_and_win() -> Vec<Case> {
    vec![
        text("mg N vivify", &["mg mviv N30 s t v c\r\nmg mviv s v\r\n"]),
        // No `t` here: the TTL left depends on when each side's clock ticked
        // since the vivify, which a rerun cannot undo.
        text("mg N vivified later", &["mg mviv s v c h\r\n"]),
        text(
            "mg R recache",
            &["ms mr 1 T10\r\nx\r\nmg mr R30 v\r\nmg mr R30 v\r\nmg mr v\r\n"],
        ),
        text(
            "ms append N vivify",
            &["ms msviv 1 MA N0\r\nV\r\nmg msviv v\r\n"],
        ),
        text("mg t before N", &["mg o1 t s N30 c\r\n"]),
        clocked(text(
            "mg t and T in order",
            &["ms o2 1 T100\r\nx\r\nmg o2 t T200\r\nmg o2 T300 t\r\n"],
        )),
        text(
            "mg N quiet and k",
            &["mg o3 N30 q\r\nmg o3 N30 q\r\nmg o3 N30 k\r\n"],
        ),
        clocked(text("mg N h l", &["mg o4 N30 h l\r\nmg o4 N30 h l\r\n"])),
        clocked(text(
            "mg T then R",
            &["ms o5 1\r\nx\r\nmg o5 R30 v\r\nmg o5 T5 R30 v\r\nmg o5 R30 T5 v\r\nmg o5 R30 v t\r\n"],
        )),
        text("mg N negative", &["mg o6 N-1 v\r\nmg o6 v\r\n"]),
        text("mg N0", &["mg o7 N0 t\r\nmg o7 t\r\n"]),
        text("mg R N bad tokens", &["mg o8 R\r\nmg o8 Rx\r\nmg o8 Nx\r\n"]),
        clocked(text(
            "mg N after md",
            &["mg o9 N30 f\r\nmd o9 q\r\nmg o9 N30\r\nmg o9 N30 T60 t\r\n"],
        )),
        text(
            "mg N R quiet value",
            &["mg p3 N30 q v\r\nmg p3 R30 q v\r\nmn\r\n"],
        ),
        text("mg R without ttl", &["ms p4 1 T0\r\nx\r\nmg p4 R30\r\n"]),
        text("mg N with R", &["mg p5 N30 R60\r\nmg p5 R60\r\n"]),
        text(
            "ms I invalidate",
            &["ms ms1 1\r\nx\r\nms ms1 1 I C1\r\nq\r\nmg ms1 v c\r\nmg ms1 v c\r\n"],
        ),
        clocked(text(
            "ms I keeps ttl",
            &["ms q1 1 T100\r\nx\r\nmg q1 c\r\nms q1 1 I C1 T5 c\r\ny\r\nmg q1 t c v\r\n"],
        )),
        text(
            "ms I higher CAS",
            &["ms q3 1\r\nx\r\nms q3 1 I C99999999\r\nz\r\nmg q3 v\r\nms q4 1 I C1\r\nz\r\n"],
        ),
        text(
            "ms I after a win",
            &["ms q5 1 T10\r\nx\r\nmg q5 R30\r\nms q5 1 I C1\r\ny\r\nmg q5 v\r\n"],
        ),
        text(
            "ms I modes",
            &["ms q6 1\r\nx\r\nms q6 1 I C1 MA\r\ny\r\nms q6 1 I C1 MR\r\ny\r\nmg q6 v\r\nms q6 1 I C1 ME\r\ny\r\n"],
        ),
        text(
            "ms I quiet and without C",
            &["ms q7 1\r\nx\r\nms q7 1 I\r\ny\r\nmg q7 v\r\nms q7 1 I C1 q\r\nw\r\nmg q7 v\r\n"],
        ),
        clocked(text(
            "md I T",
            &["ms md3 1\r\nx\r\nmd md3 I T30\r\nmg md3 v c t\r\nmg md3 v\r\n"],
        )),
        text(
            "md I twice",
            &["ms p6 1\r\nx\r\nmg p6 c\r\nmd p6 I\r\nmg p6 c t\r\nmd p6 I\r\nmg p6 c t\r\nmg p6 c\r\n"],
        ),
        text(
            "md I T0 then md T",
            &["ms p7 1 T50\r\nx\r\nmd p7 I T0\r\nmg p7 t\r\nmd p7 T9\r\nmg p7 t\r\n"],
        ),
        text(
            "md I misses",
            &["ms g3 1\r\nx\r\nmd g3 I C1\r\nmd g9 I\r\nmd g9 I q\r\nms g3 1 I q\r\ny\r\nmn\r\n"],
        ),
        text(
            "stale item to get",
            &["ms g1 1\r\nx\r\nmd g1 I\r\nget g1\r\ngets g1\r\nmg g1 v\r\n"],
        ),
        text(
            "set clears stale",
            &["ms g2 1\r\nx\r\nmd g2 I\r\nset g2 0 0 1\r\ny\r\nmg g2 v\r\n"],
        ),
    ]
}
