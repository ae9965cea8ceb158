//! Parses a whole script: header directives, then timed lines with annotations.

use crate::app::{parse_action, port_of};
use crate::error::ParseError;
use crate::lex::{tokenize, unquote, Token};
use crate::parse_frame::{parse_frame, ColError, Dir};
use crate::script::{Action, App, Event, Neighbor, Scope, Script, Setup, DEFAULT_BACKLOG};
use crate::target::TargetKind;
use crate::tcp_config::TcpSettings;
use crate::value::Mac;
use std::net::Ipv4Addr;
use std::time::Duration;

/// Parses `text` as a script called `name` (used in error messages).
pub fn parse(name: &str, text: &str) -> Result<Script, ParseError> {
    let mut header = Header::default();
    let mut events: Vec<Event> = Vec::new();
    let mut last_at = Duration::ZERO;
    for (index, line) in text.lines().enumerate() {
        let lineno = index + 1;
        let at_line = |(col, msg): ColError| ParseError {
            file: name.to_string(),
            line: lineno,
            col,
            msg,
        };
        let tokens = tokenize(line).map_err(at_line)?;
        let Some(first) = tokens.first() else {
            continue;
        };
        if starts_time(first.text) {
            let event = parse_event(line, lineno, &tokens, last_at).map_err(at_line)?;
            // A silence occupies its window: the next line follows its end.
            last_at = match event.action {
                Action::Silence(d) => event.at + d,
                _ => event.at,
            };
            events.push(event);
        } else if events.is_empty() {
            header.directive(&tokens).map_err(at_line)?;
        } else {
            return Err(at_line((
                first.col,
                format!(
                    "`{}` is not a timed line; directives go before the first timed line",
                    first.text
                ),
            )));
        }
    }
    let setup = header.finish().map_err(|msg| ParseError {
        file: name.to_string(),
        line: 1,
        col: 1,
        msg,
    })?;
    Ok(Script {
        name: name.to_string(),
        setup,
        skips: header.skips,
        tolerances: header.tolerances,
        events,
    })
}

/// Whether a line's first word is a time (`+0.1`, `0.5`).
fn starts_time(word: &str) -> bool {
    word.starts_with('+') || word.starts_with(|c: char| c.is_ascii_digit())
}

/// Header directives seen so far.
#[derive(Default)]
struct Header {
    sut: Option<(Ipv4Addr, u8)>,
    peer: Option<(Ipv4Addr, Mac)>,
    neighbor: Option<Neighbor>,
    apps: Vec<App>,
    ports: Option<(Option<u16>, Option<u16>)>,
    tcp: TcpSettings,
    linux_sysctls: Vec<(String, String, String)>,
    skips: Vec<(TargetKind, String)>,
    tolerances: Vec<(TargetKind, Duration)>,
}

impl Header {
    /// Applies one directive line.
    fn directive(&mut self, tokens: &[Token<'_>]) -> Result<(), ColError> {
        let (kw, args) = tokens
            .split_first()
            .ok_or((1, "empty directive".to_string()))?;
        let arity = |n: usize, usage: &str| -> Result<(), ColError> {
            if args.len() == n {
                Ok(())
            } else {
                Err((kw.col, format!("usage: {usage}")))
            }
        };
        match kw.text {
            "sut" => {
                arity(1, "sut IP/PREFIX")?;
                let (ip, prefix) = args[0]
                    .text
                    .split_once('/')
                    .ok_or((args[0].col, "want IP/PREFIX, e.g. 10.0.0.2/24".to_string()))?;
                let ip = parse_ip(&args[0], ip)?;
                let prefix = prefix
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= 32)
                    .ok_or((args[0].col, format!("bad prefix length `{prefix}`")))?;
                once(&mut self.sut, (ip, prefix), kw)?;
            }
            "peer" => {
                arity(2, "peer IP MAC")?;
                let ip = parse_ip(&args[0], args[0].text)?;
                let mac = Mac::parse(args[1].text).ok_or((
                    args[1].col,
                    format!("bad Ethernet address `{}`", args[1].text),
                ))?;
                once(&mut self.peer, (ip, mac), kw)?;
            }
            "neighbor" => {
                arity(1, "neighbor static|empty")?;
                let mode = match args[0].text {
                    "static" => Neighbor::Static,
                    "empty" => Neighbor::Empty,
                    other => {
                        return Err((args[0].col, format!("want static or empty, got `{other}`")))
                    }
                };
                once(&mut self.neighbor, mode, kw)?;
            }
            "app" => self.apps.push(parse_app(kw, args)?),
            "ports" => {
                arity(2, "ports PEER SUT (either may be * to capture it)")?;
                let port = |t: &Token<'_>| match t.text {
                    "*" => Ok(None),
                    _ => port_of(t).map(Some),
                };
                once(&mut self.ports, (port(&args[0])?, port(&args[1])?), kw)?;
            }
            "tcp-config" => self.tcp.apply(args)?,
            "linux-sysctl" => {
                arity(3, "linux-sysctl NAME VALUE \"reason\"")?;
                let name = args[0].text;
                // Only TCP knobs, which are per namespace: a global one written from
                // inside the namespace would change the host.
                if !name.starts_with("net.ipv4.tcp_")
                    || !name[4..]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                {
                    return Err((
                        args[0].col,
                        format!("`{name}` is not a net.ipv4.tcp_* sysctl"),
                    ));
                }
                if !args[1].text.chars().all(|c| c.is_ascii_digit()) {
                    return Err((args[1].col, "want a number".to_string()));
                }
                self.linux_sysctls.push((
                    name.to_string(),
                    args[1].text.to_string(),
                    reason(&args[2])?,
                ));
            }
            "skip" => {
                arity(2, "skip TARGET \"reason\"")?;
                let target = target(&args[0])?;
                self.skips.push((target, reason(&args[1])?));
            }
            "tolerance" => {
                arity(2, "tolerance TARGET SECONDS")?;
                let target = target(&args[0])?;
                self.tolerances
                    .push((target, seconds(&args[1], args[1].text)?));
            }
            other => {
                return Err((
                    kw.col,
                    format!(
                        "unknown directive `{other}` (want sut, peer, neighbor, app, ports, \
                         tcp-config, linux-sysctl, skip, tolerance, or a time to start a \
                         timed line)"
                    ),
                ))
            }
        }
        Ok(())
    }

    /// The set-up, once every directive is in; `sut` and `peer` are required.
    fn finish(&self) -> Result<Setup, String> {
        let (sut_ip, prefix_len) = self.sut.ok_or("missing `sut IP/PREFIX` directive")?;
        let (peer_ip, peer_mac) = self.peer.ok_or("missing `peer IP MAC` directive")?;
        Ok(Setup {
            sut_ip,
            prefix_len,
            peer_ip,
            peer_mac,
            neighbor: self.neighbor.unwrap_or(Neighbor::Static),
            apps: self.apps.clone(),
            ports: self.ports.unwrap_or((None, None)),
            tcp: self.tcp.clone(),
            linux_sysctls: self.linux_sysctls.clone(),
        })
    }
}

/// `app udp-echo PORT`, `app tcp-listen PORT [backlog N]` or `app tcp-echo PORT`.
fn parse_app(kw: &Token<'_>, args: &[Token<'_>]) -> Result<App, ColError> {
    const USAGE: &str =
        "usage: app udp-echo PORT | app tcp-listen PORT [backlog N] | app tcp-echo PORT";
    match args {
        [kind, port] if kind.text == "udp-echo" => Ok(App::UdpEcho {
            port: port_of(port)?,
        }),
        [kind, port] if kind.text == "tcp-echo" => Ok(App::TcpEcho {
            port: port_of(port)?,
        }),
        [kind, port, rest @ ..] if kind.text == "tcp-listen" => {
            let backlog = match rest {
                [] => DEFAULT_BACKLOG,
                [b, n] if b.text == "backlog" => n
                    .text
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=65535).contains(n))
                    .ok_or_else(|| (n.col, format!("bad backlog `{}` (1 to 65535)", n.text)))?,
                [extra, ..] => return Err((extra.col, USAGE.to_string())),
            };
            Ok(App::TcpListen {
                port: port_of(port)?,
                backlog,
            })
        }
        [kind, ..] if !matches!(kind.text, "udp-echo" | "tcp-echo" | "tcp-listen") => Err((
            kind.col,
            format!(
                "unknown app `{}` (want udp-echo, tcp-listen or tcp-echo; calls such as \
                 `connect` go on timed lines)",
                kind.text
            ),
        )),
        _ => Err((kw.col, USAGE.to_string())),
    }
}

/// Sets a directive that may appear once.
fn once<T>(slot: &mut Option<T>, v: T, kw: &Token<'_>) -> Result<(), ColError> {
    if slot.replace(v).is_some() {
        return Err((kw.col, format!("`{}` given twice", kw.text)));
    }
    Ok(())
}

/// Parses `text` (part of `tok`) as a dotted IPv4 address.
fn parse_ip(tok: &Token<'_>, text: &str) -> Result<Ipv4Addr, ColError> {
    text.parse()
        .map_err(|_| (tok.col, format!("bad IPv4 address `{text}`")))
}

/// Parses a target name.
fn target(tok: &Token<'_>) -> Result<TargetKind, ColError> {
    TargetKind::from_name(tok.text).ok_or_else(|| {
        (
            tok.col,
            format!("unknown target `{}` (want ix or linux)", tok.text),
        )
    })
}

/// Parses a required, non-empty quoted reason.
fn reason(tok: &Token<'_>) -> Result<String, ColError> {
    if !tok.text.starts_with('"') {
        return Err((
            tok.col,
            "want a quoted reason, e.g. \"Linux reassembles\"".to_string(),
        ));
    }
    let bytes = unquote(tok.text).map_err(|m| (tok.col, m))?;
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    if text.is_empty() {
        return Err((tok.col, "the reason must say something".to_string()));
    }
    Ok(text)
}

/// Parses non-negative decimal seconds (`0.5`, `2`).
fn seconds(tok: &Token<'_>, text: &str) -> Result<Duration, ColError> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e6)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            (
                tok.col,
                format!("bad time `{text}` (want seconds, e.g. 0.25)"),
            )
        })
}

/// Parses a timed line: `TIME < FRAME`, `TIME > FRAME` or `TIME > none for SECONDS`,
/// then annotations. `last_at` is when the previous line ended (its time, or the end
/// of its silence), which `+` is relative to and an absolute time may not precede.
fn parse_event(
    line: &str,
    lineno: usize,
    tokens: &[Token<'_>],
    last_at: Duration,
) -> Result<Event, ColError> {
    let time = &tokens[0];
    let after = match time.text.strip_prefix('+') {
        Some(rel) => Some(seconds(time, rel)?),
        None => None,
    };
    let at = match after {
        Some(d) => last_at + d,
        None => {
            let abs = seconds(time, time.text)?;
            if abs < last_at {
                return Err((
                    time.col,
                    format!("time goes backwards (previous line: {:?})", last_at),
                ));
            }
            abs
        }
    };
    let split = tokens
        .iter()
        .position(|t| t.text.starts_with('@'))
        .unwrap_or(tokens.len());
    let (body, notes) = tokens.split_at(split);
    let scope = parse_scope(notes)?;
    let dir_tok = body.get(1).ok_or((
        time.col,
        "a time must be followed by `<`, `>` or `app`".to_string(),
    ))?;
    let frame = &body[2..];
    if dir_tok.text == "app" {
        let action = parse_action(dir_tok, frame)?;
        let start = byte_of(line, dir_tok.col);
        let last = &body[body.len() - 1];
        let end = byte_of(line, last.col) + last.text.len();
        return Ok(Event {
            line: lineno,
            text: line[start..end].to_string(),
            at,
            after,
            action: Action::App(action),
            scope,
        });
    }
    if frame.is_empty() {
        return Err((dir_tok.col, "missing frame after the direction".to_string()));
    }
    let action = match dir_tok.text {
        "<" => Action::Inject(parse_frame(frame, Dir::In)?),
        ">" if frame[0].text == "none" => Action::Silence(parse_silence(frame)?),
        ">" => Action::Expect(parse_frame(frame, Dir::Out)?),
        other => {
            return Err((
                dir_tok.col,
                format!("want `<`, `>` or `app`, got `{other}`"),
            ))
        }
    };
    // The text for messages: the frame, as written.
    let start = byte_of(line, frame[0].col);
    let last = &body[body.len() - 1];
    let end = byte_of(line, last.col) + last.text.len();
    Ok(Event {
        line: lineno,
        text: line[start..end].to_string(),
        at,
        after,
        action,
        scope,
    })
}

/// `none for SECONDS`.
fn parse_silence(frame: &[Token<'_>]) -> Result<Duration, ColError> {
    match frame {
        [_, f, secs] if f.text == "for" => seconds(secs, secs.text),
        _ => Err((frame[0].col, "usage: > none for SECONDS".to_string())),
    }
}

/// The annotations after a frame: at most one `@only T "why"` or `@skip T "why"`.
fn parse_scope(notes: &[Token<'_>]) -> Result<Scope, ColError> {
    match notes {
        [] => Ok(Scope::All),
        [kw, t, why] => {
            let target = target(t)?;
            let why = reason(why)?;
            match kw.text {
                "@only" => Ok(Scope::Only(target, why)),
                "@skip" => Ok(Scope::Skip(target, why)),
                other => Err((
                    kw.col,
                    format!("unknown annotation `{other}` (want @only or @skip)"),
                )),
            }
        }
        [kw, ..] => Err((
            kw.col,
            "usage: @only TARGET \"reason\" or @skip TARGET \"reason\" (one per line)".to_string(),
        )),
    }
}

/// The byte offset of 1-based character column `col` in `line`.
fn byte_of(line: &str, col: usize) -> usize {
    line.char_indices()
        .nth(col - 1)
        .map_or(line.len(), |(b, _)| b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::FrameSpec;

    const HEADER: &str = "sut 10.0.0.2/24\npeer 10.0.0.1 02:00:00:00:00:01\n";

    fn script(body: &str) -> Result<Script, ParseError> {
        parse("t.pkt", &format!("{HEADER}{body}"))
    }

    #[test]
    fn header_and_events() {
        let s = script(
            "app udp-echo 7\nneighbor empty\nskip linux \"no\"\ntolerance ix 0.002\n\
             # comment\n\
             0.5 < arp request who-has 10.0.0.2 tell 10.0.0.1\n\
             +0.25 > arp reply 10.0.0.2 is-at $sut_mac   @only ix \"why\"\n\
             +0 > none for 0.5\n",
        )
        .unwrap();
        assert_eq!(s.setup.sut_ip, Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(s.setup.prefix_len, 24);
        assert_eq!(s.setup.neighbor, Neighbor::Empty);
        assert_eq!(s.setup.apps, vec![App::UdpEcho { port: 7 }]);
        assert_eq!(s.skip_reason(TargetKind::Linux), Some("no"));
        assert_eq!(s.tolerance(TargetKind::Ix), Some(Duration::from_millis(2)));
        assert_eq!(s.events.len(), 3);
        assert_eq!(s.events[0].line, 8);
        assert_eq!(s.events[1].at, Duration::from_millis(750));
        assert_eq!(s.events[0].after, None);
        assert_eq!(s.events[1].after, Some(Duration::from_millis(250)));
        assert_eq!(s.events[1].text, "arp reply 10.0.0.2 is-at $sut_mac");
        assert_eq!(s.events[1].scope, Scope::Only(TargetKind::Ix, "why".into()));
        assert!(matches!(
            s.events[0].action,
            Action::Inject(FrameSpec::Eth(..))
        ));
        assert_eq!(
            s.events[2].action,
            Action::Silence(Duration::from_millis(500))
        );
        let s = script("0 > none for 0.5\n+0.1 < raw hex:00\n").unwrap();
        assert_eq!(
            s.events[1].at,
            Duration::from_millis(600),
            "after the silence"
        );
        assert!(script("0 > none for 0.5\n0.4 < raw hex:00\n").is_err());
    }

    #[test]
    fn tcp_header_and_app_lines() {
        use crate::app::AppAction;
        let s = script(
            "app tcp-listen 8080 backlog 2\napp tcp-echo 7\nports 4000 *\n\
             tcp-config syn-retries=1 fin-timeout=2\ntcp-config sack=0\n\
             linux-sysctl net.ipv4.tcp_early_retrans 0 \"no TLP\"\n\
             0 < tcp S seq=0 opts=mss:1000\n\
             +0 > tcp S. seq=$isn ack=1 opts=mss:1460\n\
             +0 app accept @only linux \"why\"\n\
             +0.1 app write 10\n",
        )
        .unwrap();
        assert_eq!(
            s.setup.apps,
            vec![
                App::TcpListen {
                    port: 8080,
                    backlog: 2
                },
                App::TcpEcho { port: 7 }
            ]
        );
        assert_eq!(s.setup.ports, (Some(4000), None));
        assert_eq!(s.setup.tcp.syn_retries, Some(1));
        assert_eq!(s.setup.tcp.sack, Some(false));
        assert_eq!(s.setup.linux_sysctls.len(), 1);
        assert_eq!(s.events[2].action, Action::App(AppAction::Accept));
        assert_eq!(s.events[2].text, "app accept");
        assert_eq!(
            s.events[2].scope,
            Scope::Only(TargetKind::Linux, "why".into())
        );
        assert_eq!(s.events[3].action, Action::App(AppAction::Write(10)));
        assert_eq!(s.events[3].at, Duration::from_millis(100));
    }

    fn err(body: &str) -> ParseError {
        script(body).unwrap_err()
    }

    #[test]
    fn errors_have_line_and_column() {
        let e = err("+0 < icmp echo-request ip.ttl=abc\n");
        assert_eq!((e.line, e.col), (3, 31));
        assert!(
            e.to_string().starts_with("t.pkt:3:31: bad value `abc`"),
            "{e}"
        );
        let e = err("+0 = icmp echo-request\n");
        assert_eq!((e.line, e.col), (3, 4));
        let e = err("+0 > none for\n");
        assert!(e.msg.contains("none for SECONDS"), "{e}");
        let e = err("1.0 < raw hex:00\n0.5 < raw hex:00\n");
        assert_eq!((e.line, e.col), (4, 1));
        assert!(e.msg.contains("backwards"));
        let e = err("+0 < raw hex:00 @only bsd \"x\"\n");
        assert!(e.msg.contains("unknown target"), "{e}");
        let e = err("+0 < raw hex:00 @only ix\n");
        assert!(e.msg.contains("usage: @only"), "{e}");
        let e = err("+0 < raw hex:00 @only ix \"\"\n");
        assert!(e.msg.contains("must say"), "{e}");
        let e = err("+0 < raw hex:00\nsut 10.0.0.3/24\n");
        assert!(e.msg.contains("directives go before"), "{e}");
        let e = err("bogus 1\n");
        assert!(e.msg.contains("unknown directive"), "{e}");
        let e = err("+0 <\n");
        assert!(e.msg.contains("missing frame"), "{e}");
        let e = err("+0 < raw \"abc\n");
        assert!(e.msg.contains("unterminated"), "{e}");
        let e = err("+x < raw hex:00\n");
        assert!(e.msg.contains("bad time"), "{e}");
    }

    #[test]
    fn header_errors() {
        let e = parse("t.pkt", "peer 10.0.0.1 02:00:00:00:00:01\n").unwrap_err();
        assert!(e.msg.contains("missing `sut"), "{e}");
        let e = parse("t.pkt", "sut 10.0.0.2/33\n").unwrap_err();
        assert!(e.msg.contains("prefix"), "{e}");
        let e = parse("t.pkt", "sut 10.0.0.2/24\nsut 10.0.0.2/24\n").unwrap_err();
        assert!(e.msg.contains("twice"), "{e}");
        let e = parse("t.pkt", "peer 10.0.0.1 02:00\n").unwrap_err();
        assert_eq!((e.line, e.col), (1, 15));
        let e = script("app tcp-echoes 7\n").unwrap_err();
        assert!(e.msg.contains("unknown app"), "{e}");
        let e = script("app tcp-listen 80 backlog 0\n").unwrap_err();
        assert!(e.msg.contains("bad backlog"), "{e}");
        let e = script("linux-sysctl net.core.somaxconn 1 \"x\"\n").unwrap_err();
        assert!(e.msg.contains("net.ipv4.tcp_"), "{e}");
        let e = script("ports 1 2\nports 1 2\n").unwrap_err();
        assert!(e.msg.contains("twice"), "{e}");
        let e = script("0 app connect 10.0.0.1\n").unwrap_err();
        assert!(e.msg.contains("IP:PORT"), "{e}");
    }

    #[test]
    fn no_input_makes_the_parser_panic() {
        // Every prefix of a script exercising most of the grammar, and each of its
        // lines with one character replaced by something unexpected.
        let text = format!(
            "{HEADER}app udp-echo 7\nneighbor empty\n\
             0 < arp request who-has 10.0.0.2 tell 10.0.0.1 eth.pad=hex:00\n\
             +0.1 > icmp dest-unreachable code=port-unreachable payload=last-ip:28 @only ix \"é\"\n\
             +0 < udp sport=$p dport=$p+1 payload=\"a\\x41\" csum=bad ip.options=hex:01\n\
             +0 > none for 0.5\n\
             +0 < tcp S. seq=1 ack=$i+1 opts=mss:1460,sack:$i:$i+9,ts:1:0 len=3\n\
             +0 app connect 10.0.0.1:80 from 5\n"
        );
        for (i, _) in text.char_indices() {
            let _ = parse("t.pkt", &text[..i]);
        }
        for junk in ["", "=", "\"", "@", "$", "+", "*", "é", "0x", "\t"] {
            for (i, _) in text.char_indices() {
                let mut mutated = text.clone();
                let end = text[i..].chars().next().map_or(i, |c| i + c.len_utf8());
                mutated.replace_range(i..end, junk);
                let _ = parse("t.pkt", &mutated);
            }
        }
    }
}
