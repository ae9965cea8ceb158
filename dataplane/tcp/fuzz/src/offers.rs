//! What the options on a peer's SYN offer the engine, read from the bytes on the
//! wire the way a TCP parser reads them (not from the grammar's option items: a
//! `BadLength { kind: 3, len: 3 }` item is a well-formed window scale option, and
//! an item cut at 40 bytes or by a short data offset is not there at all).

/// The offers a SYN's options make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// The MSS option's value (the last one), or 536 if there is none.
    pub mss: u16,
    /// The window shift offered, as an engine uses it (at most 14), if any.
    pub wscale: Option<u8>,
    /// SACK permitted.
    pub sack: bool,
}

/// The largest window shift RFC 7323 allows; a bigger one is used as 14.
const MAX_WSCALE: u8 = 14;

/// The option items of `opts` as RFC 9293 3.1 lays them out: `(kind, body)` for
/// each item with a length, NOPs skipped, ending at END or the bytes' end; an item
/// whose length is missing, below 2 or past the end yields `Err(())` and ends it.
pub fn option_items(opts: &[u8]) -> impl Iterator<Item = Result<(u8, &[u8]), ()>> {
    let mut b = opts;
    std::iter::from_fn(move || loop {
        match *b.first()? {
            0 => return None,
            1 => b = &b[1..],
            kind => {
                let len = b.get(1).map(|&l| usize::from(l));
                let Some(len) = len.filter(|&l| l >= 2 && l <= b.len()) else {
                    b = &[];
                    return Some(Err(()));
                };
                let body = &b[2..len];
                b = &b[len..];
                return Some(Ok((kind, body)));
            }
        }
    })
}

/// Walks the option bytes `opts`: `None` if they are malformed in a way an engine
/// may reject (a length below 2 or past the end, a known kind with the wrong
/// length); then the caller assumes the most the option items allow.
pub fn offer_in(opts: &[u8]) -> Option<Offer> {
    let mut offer = Offer {
        mss: 536,
        wscale: None,
        sack: false,
    };
    for item in option_items(opts) {
        let (kind, body) = item.ok()?;
        match (kind, body.len()) {
            (2, 2) => offer.mss = u16::from_be_bytes([body[0], body[1]]),
            (3, 1) => offer.wscale = Some(body[0].min(MAX_WSCALE)),
            (4, 0) => offer.sack = true,
            (5, n) if n > 0 && n % 8 == 0 => {}
            (8, 8) => {}
            (2..=5 | 8, _) => return None,
            _ => {}
        }
    }
    Some(offer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_takes_the_last_mss_and_doubts_malformed() {
        let mss = |o: &[u8]| offer_in(o).map(|x| x.mss);
        assert_eq!(mss(&[]), Some(536));
        assert_eq!(mss(&[2, 4, 0, 100, 1, 2, 4, 1, 0]), Some(256));
        assert_eq!(mss(&[0, 2, 4, 0, 100]), Some(536));
        assert_eq!(mss(&[2, 3, 1, 0]), None);
        assert_eq!(mss(&[7, 9, 0, 0]), None);
        assert_eq!(
            mss(&[3, 4, 1, 1]),
            None,
            "a window scale option 4 bytes long"
        );
    }

    #[test]
    fn window_scale_and_sack_permitted_are_read_from_the_bytes() {
        // What a `BadLength { kind: 3, len: 3 }` item writes: a good option.
        let o = offer_in(&[3, 3, 0x55, 0]).expect("well-formed");
        assert_eq!(o.wscale, Some(14), "a shift above 14 is used as 14");
        assert!(!o.sack);
        let o = offer_in(&[1, 1, 4, 2, 3, 3, 7, 0]).expect("well-formed");
        assert_eq!((o.wscale, o.sack), (Some(7), true));
        // After END nothing counts.
        let o = offer_in(&[0, 0, 4, 2]).expect("well-formed");
        assert_eq!((o.wscale, o.sack), (None, false));
    }
}
