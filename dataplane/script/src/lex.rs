//! Splits one script line into tokens, remembering each token's column so that every
//! error can point at the exact place in the script.

/// One whitespace-separated word of a script line.
///
/// A word may contain a double-quoted section with spaces in it (`payload="a b"`);
/// the quotes stay in `text` and are removed by [`unquote`] where a string is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// The word as written.
    pub text: &'a str,
    /// 1-based column of the word's first character.
    pub col: usize,
}

/// Splits `line` into tokens, dropping a `#` comment outside quotes.
///
/// Returns the column and message of the first lexical error (an unterminated quote).
pub fn tokenize(line: &str) -> Result<Vec<Token<'_>>, (usize, String)> {
    let mut tokens = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote_start: Option<usize> = None;
    let mut escaped = false;
    let mut end = line.len();
    for (i, c) in line.char_indices() {
        if quote_start.is_some() {
            // Inside quotes only a closing quote is special (after a backslash, not even that).
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quote_start = None;
            }
            continue;
        }
        match c {
            '#' => {
                end = i;
                break;
            }
            '"' => {
                start.get_or_insert(i);
                quote_start = Some(i);
            }
            c if c.is_whitespace() => {
                if let Some(s) = start.take() {
                    tokens.push(token(line, s, i));
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    if let Some(q) = quote_start {
        return Err((column(line, q), "unterminated string".to_string()));
    }
    if let Some(s) = start {
        tokens.push(token(line, s, end));
    }
    Ok(tokens)
}

/// Builds the token for `line[start..end]`.
fn token(line: &str, start: usize, end: usize) -> Token<'_> {
    Token {
        text: &line[start..end],
        col: column(line, start),
    }
}

/// The 1-based column (in characters) of byte offset `byte` in `line`.
pub fn column(line: &str, byte: usize) -> usize {
    line[..byte].chars().count() + 1
}

/// The string a `"..."` literal denotes, with `\"`, `\\`, `\n`, `\t` and `\xNN` escapes;
/// assumes `text` starts and ends with a quote. Errors name the offending escape.
pub fn unquote(text: &str) -> Result<Vec<u8>, String> {
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(|| format!("expected a quoted string, got `{text}`"))?;
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('"') => out.push(b'"'),
            Some('\\') => out.push(b'\\'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 2)
                    .ok_or_else(|| format!("bad escape `\\x{hex}` (want two hex digits)"))?;
                out.push(byte);
            }
            Some(other) => return Err(format!("unknown escape `\\{other}`")),
            None => return Err("string ends with a lone backslash".to_string()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<(&str, usize)> {
        tokenize(line)
            .unwrap()
            .into_iter()
            .map(|t| (t.text, t.col))
            .collect()
    }

    #[test]
    fn words_columns_and_comments() {
        assert_eq!(
            texts("+0.1  < icmp  # trailing"),
            vec![("+0.1", 1), ("<", 7), ("icmp", 9)]
        );
        assert_eq!(texts("   # only a comment"), vec![]);
        assert_eq!(texts("a#b"), vec![("a", 1)]);
        assert_eq!(
            texts(r#"p="x#y" # c"#),
            vec![(r#"p="x#y""#, 1)],
            "a # inside quotes is not a comment"
        );
    }

    #[test]
    fn quotes_keep_spaces_and_hashes() {
        assert_eq!(
            texts(r#"payload="a # b" @only ix "why not""#),
            vec![
                (r#"payload="a # b""#, 1),
                ("@only", 17),
                ("ix", 23),
                (r#""why not""#, 26)
            ]
        );
    }

    #[test]
    fn unterminated_quote_is_an_error_at_the_quote() {
        assert_eq!(
            tokenize(r#"x payload="abc"#).unwrap_err().0,
            11,
            "column of the opening quote"
        );
    }

    #[test]
    fn unquote_escapes() {
        assert_eq!(unquote(r#""a\"b\\\n\x41""#).unwrap(), b"a\"b\\\nA");
        assert!(unquote(r#""\q""#).is_err());
        assert!(unquote(r#""\x4""#).is_err());
        assert!(unquote("noquotes").is_err());
    }
}
