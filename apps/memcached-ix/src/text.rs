//! memcached's text protocol: one complete request line (without its "\r\n") to a
//! typed [`Command`], with memcached 1.6's exact error replies.
//!
//! Tokens are split on spaces (runs collapse); a storage command's data block is
//! not part of the line: [`Command::Store`] says how many bytes follow.

use crate::num::{parse_i32, parse_u32, parse_u64};
use crate::store::Mode;

/// The longest key memcached accepts.
pub const KEY_MAX: usize = 250;

/// Bytes of a line without a newline after which memcached gives up on it (unless
/// it is a multi-get, whose lines may be long).
pub const LINE_SOFT_MAX: usize = 2048;

/// Storage commands: the five modes, or `cas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// set/add/replace/append/prepend.
    Plain(Mode),
    /// cas: store only if the unique matches.
    Cas(u64),
}

/// The keys of a multi-key command, in order (validated: each 1..=250 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys<'a> {
    rest: &'a [u8],
}

impl<'a> Keys<'a> {
    /// The keys, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.rest.split(|&b| b == b' ').filter(|t| !t.is_empty())
    }

    /// How many keys.
    pub fn count(&self) -> usize {
        self.iter().count()
    }
}

/// A parsed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command<'a> {
    /// get / gets (`cas`: report CAS uniques).
    Get {
        /// The keys.
        keys: Keys<'a>,
        /// gets.
        cas: bool,
    },
    /// gat / gats: get and set the expiry.
    Gat {
        /// The new exptime (client form).
        exptime: i32,
        /// The keys.
        keys: Keys<'a>,
        /// gats.
        cas: bool,
    },
    /// A storage command; `bytes` of data and "\r\n" follow the line.
    Store {
        /// Which.
        kind: StoreKind,
        /// The key.
        key: &'a [u8],
        /// Client flags.
        flags: u32,
        /// exptime (client form).
        exptime: i32,
        /// Data length.
        bytes: usize,
        /// No reply wanted.
        noreply: bool,
    },
    /// delete.
    Delete {
        /// The key.
        key: &'a [u8],
        /// No reply wanted.
        noreply: bool,
    },
    /// incr / decr.
    Arith {
        /// incr (else decr).
        incr: bool,
        /// The key.
        key: &'a [u8],
        /// The amount.
        delta: u64,
        /// No reply wanted.
        noreply: bool,
    },
    /// touch.
    Touch {
        /// The key.
        key: &'a [u8],
        /// The new exptime (client form).
        exptime: i32,
        /// No reply wanted.
        noreply: bool,
    },
    /// flush_all [delay].
    FlushAll {
        /// Delay (client exptime form), 0 = now.
        delay: i32,
        /// No reply wanted.
        noreply: bool,
    },
    /// version.
    Version,
    /// verbosity N.
    Verbosity {
        /// The level asked for.
        level: u32,
        /// No reply wanted.
        noreply: bool,
    },
    /// shutdown [graceful]: refused, as memcached started without `-A`.
    Shutdown,
    /// cache_memlimit MB [noreply].
    MemLimit {
        /// The megabytes token (checked when run: memcached answers "ERROR").
        megabytes: &'a [u8],
        /// No reply wanted.
        noreply: bool,
    },
    /// lru_crawler / slabs / lru: the whole line, for [`crate::exec`]'s admin.
    Admin(&'a [u8]),
    /// quit: close the connection.
    Quit,
    /// stats [group].
    Stats {
        /// The group asked for (`settings`, `items`, `slabs`...), if any.
        group: Option<&'a [u8]>,
        /// The token after the group (`stats detail on`), if any.
        arg: Option<&'a [u8]>,
    },
    /// A meta command (mg, ms, md, ma, mn, me): the whole line, for [`crate::meta`].
    Meta(&'a [u8]),
    /// Something memcached answers by closing the connection (an HTTP request).
    Close,
}

/// A request memcached refuses, and the reply it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The reply line (without "\r\n").
    pub reply: &'static str,
    /// The request said noreply: memcached sends nothing.
    pub noreply: bool,
    /// A storage command whose data block (this many bytes plus "\r\n") must be
    /// swallowed.
    pub swallow: Option<usize>,
}

/// "ERROR".
pub const ERROR: &str = "ERROR";
/// "CLIENT_ERROR bad command line format".
pub const BAD_FORMAT: &str = "CLIENT_ERROR bad command line format";

fn refuse(reply: &'static str, noreply: bool) -> Refusal {
    Refusal {
        reply,
        noreply,
        swallow: None,
    }
}

/// Strips the line ending: "\n", and a "\r" before it.
pub fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Whether a line that has no newline yet may keep growing past
/// [`LINE_SOFT_MAX`]: memcached allows that only for `get`/`gets`.
pub fn may_grow(partial: &[u8]) -> bool {
    let start = partial
        .iter()
        .position(|&b| b != b' ')
        .unwrap_or(partial.len());
    if start > 100 {
        return false;
    }
    let p = &partial[start..];
    p.starts_with(b"get ") || p.starts_with(b"gets ")
}

/// Parses one request line (without its line ending).
pub fn parse(line: &[u8]) -> Result<Command<'_>, Refusal> {
    let mut toks: [&[u8]; 8] = [&[]; 8];
    let mut n = 0;
    let mut it = line.split(|&b| b == b' ').filter(|t| !t.is_empty());
    for t in it.by_ref() {
        toks[n] = t;
        n += 1;
        if n == toks.len() {
            break;
        }
    }
    let more = it.next().is_some();
    // memcached's ntokens counts a final empty token.
    let ntokens = if more { 9 } else { n + 1 };
    if n == 0 {
        return Err(refuse(ERROR, false));
    }
    let cmd = toks[0];
    let noreply = ntokens >= 3 && toks[n - 1] == b"noreply";
    let want = |ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(refuse(ERROR, false))
        }
    };
    if cmd.len() == 2 && cmd[0] == b'm' {
        return match cmd[1] {
            b'g' | b's' | b'd' | b'a' | b'n' | b'e' => Ok(Command::Meta(line)),
            _ => Err(refuse(ERROR, false)),
        };
    }
    match cmd {
        b"get" | b"gets" | b"bget" => {
            want(ntokens >= 3)?;
            let keys = rest_after(line, 1);
            check_keys(keys)?;
            Ok(Command::Get {
                keys: Keys { rest: keys },
                cas: cmd == b"gets",
            })
        }
        b"gat" | b"gats" => {
            want(ntokens >= 3)?;
            let exptime =
                parse_i32(toks[1]).ok_or(refuse("CLIENT_ERROR invalid exptime argument", false))?;
            let keys = rest_after(line, 2);
            check_keys(keys)?;
            Ok(Command::Gat {
                exptime,
                keys: Keys { rest: keys },
                cas: cmd == b"gats",
            })
        }
        b"set" | b"add" | b"replace" | b"append" | b"prepend" => {
            want(ntokens == 6 || ntokens == 7)?;
            let mode = match cmd {
                b"set" => Mode::Set,
                b"add" => Mode::Add,
                b"replace" => Mode::Replace,
                b"append" => Mode::Append,
                _ => Mode::Prepend,
            };
            storage(&toks, StoreKind::Plain(mode), noreply)
        }
        b"cas" => {
            want(ntokens == 7 || ntokens == 8)?;
            storage(&toks, StoreKind::Cas(0), noreply)
        }
        b"delete" => {
            want((3..=5).contains(&ntokens))?;
            let key = toks[1];
            if key.len() > KEY_MAX {
                return Err(refuse(BAD_FORMAT, false));
            }
            if ntokens > 3 {
                let hold_is_zero = toks[2] == b"0";
                let valid = (ntokens == 4 && (hold_is_zero || noreply))
                    || (ntokens == 5 && hold_is_zero && noreply);
                if !valid {
                    return Err(refuse(
                        "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]",
                        false,
                    ));
                }
            }
            Ok(Command::Delete { key, noreply })
        }
        b"incr" | b"decr" => {
            want(ntokens == 4 || ntokens == 5)?;
            let key = toks[1];
            if key.len() > KEY_MAX {
                return Err(refuse(BAD_FORMAT, noreply));
            }
            let delta = parse_u64(toks[2]).ok_or(refuse(
                "CLIENT_ERROR invalid numeric delta argument",
                noreply,
            ))?;
            Ok(Command::Arith {
                incr: cmd == b"incr",
                key,
                delta,
                noreply,
            })
        }
        b"touch" => {
            want(ntokens == 4 || ntokens == 5)?;
            let key = toks[1];
            if key.len() > KEY_MAX {
                return Err(refuse(BAD_FORMAT, noreply));
            }
            let exptime = parse_i32(toks[2])
                .ok_or(refuse("CLIENT_ERROR invalid exptime argument", noreply))?;
            Ok(Command::Touch {
                key,
                exptime,
                noreply,
            })
        }
        b"flush_all" => {
            want((2..=4).contains(&ntokens))?;
            let delay = if ntokens != if noreply { 3 } else { 2 } {
                parse_i32(toks[1])
                    .ok_or(refuse("CLIENT_ERROR invalid exptime argument", noreply))?
            } else {
                0
            };
            Ok(Command::FlushAll { delay, noreply })
        }
        b"version" => Ok(Command::Version),
        b"quit" => Ok(Command::Quit),
        b"verbosity" => {
            want(ntokens == 3 || ntokens == 4)?;
            let level = parse_u32(toks[1]).ok_or(refuse(BAD_FORMAT, noreply))?;
            Ok(Command::Verbosity { level, noreply })
        }
        b"shutdown" => Ok(Command::Shutdown),
        b"cache_memlimit" => {
            want(ntokens == 3 || ntokens == 4)?;
            Ok(Command::MemLimit {
                megabytes: toks[1],
                noreply,
            })
        }
        b"lru_crawler" | b"slabs" | b"lru" => Ok(Command::Admin(line)),
        b"stats" => Ok(Command::Stats {
            group: (n >= 2).then_some(toks[1]),
            arg: (n >= 3).then_some(toks[2]),
        }),
        _ if ntokens >= 3 && toks[n - 1].starts_with(b"HTTP/") => Ok(Command::Close),
        _ => Err(refuse(ERROR, false)),
    }
}

/// The line after its first `skip` tokens.
fn rest_after(line: &[u8], skip: usize) -> &[u8] {
    let mut i = 0;
    for _ in 0..skip {
        while i < line.len() && line[i] == b' ' {
            i += 1;
        }
        while i < line.len() && line[i] != b' ' {
            i += 1;
        }
    }
    &line[i..]
}

fn check_keys(keys: &[u8]) -> Result<(), Refusal> {
    if keys.split(|&b| b == b' ').any(|k| k.len() > KEY_MAX) {
        return Err(refuse(BAD_FORMAT, false));
    }
    Ok(())
}

fn storage<'a>(
    toks: &[&'a [u8]; 8],
    kind: StoreKind,
    noreply: bool,
) -> Result<Command<'a>, Refusal> {
    let key = toks[1];
    if key.len() > KEY_MAX {
        return Err(refuse(BAD_FORMAT, noreply));
    }
    let (Some(flags), Some(exptime), Some(vlen)) =
        (parse_u32(toks[2]), parse_i32(toks[3]), parse_i32(toks[4]))
    else {
        return Err(refuse(BAD_FORMAT, noreply));
    };
    let kind = match kind {
        StoreKind::Cas(_) => StoreKind::Cas(parse_u64(toks[5]).ok_or(refuse(BAD_FORMAT, noreply))?),
        k => k,
    };
    if !(0..=i32::MAX - 2).contains(&vlen) {
        return Err(refuse(BAD_FORMAT, noreply));
    }
    Ok(Command::Store {
        kind,
        key,
        flags,
        exptime,
        bytes: vlen as usize,
        noreply,
    })
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
