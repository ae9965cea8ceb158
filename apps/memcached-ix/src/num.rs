//! Numbers as memcached reads and writes them (its `safe_strto*` over C's
//! `strtoull`/`strtol`): leading white space and a sign allowed, at least one
//! digit, then the end or white space; overflow refused.

/// What C's `isspace` accepts.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Parses like `strtoull` followed by memcached's checks: `(value, negative)`,
/// `None` without digits, on overflow, or when something other than white space
/// follows. `end_is_space`: the end of `s` counts as white space (item data,
/// which memcached stores followed by "\r\n").
fn strtou(s: &[u8]) -> Option<(u64, bool)> {
    let mut i = 0;
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let digits = i;
    let mut v: u64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = v.checked_mul(10)?.checked_add(u64::from(s[i] - b'0'))?;
        i += 1;
    }
    if i == digits {
        return None;
    }
    if i < s.len() && !is_space(s[i]) {
        return None;
    }
    Some((v, neg))
}

/// memcached's `safe_strtoull`: an unsigned 64-bit number; a negative one is
/// refused unless it is -0 ... or small enough that C wraps it below 2^63, which
/// memcached then accepts as the wrapped value.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    let (v, neg) = strtou(s)?;
    if !neg {
        return Some(v);
    }
    let wrapped = v.wrapping_neg();
    // memcached only rejects a '-' when the result looks negative as signed.
    if (wrapped as i64) < 0 {
        return None;
    }
    Some(wrapped)
}

/// A stored value as incr/decr reads it (the value followed by memcached's
/// "\r\n", so its end counts as white space).
pub fn parse_stored_u64(value: &[u8]) -> Option<u64> {
    parse_u64(value)
}

/// memcached 1.6's `safe_strtoul` for flags: parsed as a 64-bit unsigned number
/// (negative refused as in [`parse_u64`]), then truncated to 32 bits.
pub fn parse_u32(s: &[u8]) -> Option<u32> {
    parse_u64(s).map(|v| v as u32)
}

/// memcached's `safe_strtol`: a signed 32-bit number.
pub fn parse_i32(s: &[u8]) -> Option<i32> {
    let (v, neg) = strtou(s)?;
    let v = i64::try_from(v).ok()?;
    i32::try_from(if neg { -v } else { v }).ok()
}

/// Writes `v` in decimal at the front of `buf` (at least 20 bytes); returns the
/// length.
pub fn write_u64(buf: &mut [u8], mut v: u64) -> usize {
    let mut tmp = [0u8; 20];
    let mut n = 0;
    loop {
        tmp[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let n = n.min(buf.len());
    for (i, d) in tmp[..n].iter().rev().enumerate() {
        buf[i] = *d;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_as_memcached_does() {
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b"12abc"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_stored_u64(b"9 "), Some(9));
        assert_eq!(parse_stored_u64(b" 42"), Some(42));
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967297"), Some(1), "truncated, as memcached");
        assert_eq!(parse_u32(b"18446744073709551616"), None);
        assert_eq!(parse_u32(b"-1"), None);
        assert_eq!(parse_i32(b"-5"), Some(-5));
        assert_eq!(parse_i32(b"x"), None);
        let mut b = [0u8; 20];
        let n = write_u64(&mut b, u64::MAX);
        assert_eq!(&b[..n], b"18446744073709551615");
        let n = write_u64(&mut b, 0);
        assert_eq!(&b[..n], b"0");
    }
}
