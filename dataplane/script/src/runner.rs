//! Runs a script against a target: injects frames on time, checks what comes out.
//!
//! Semantics, like packetdrill's: a line written with an absolute time happens then;
//! a line written `+d` happens `d` after the previous line *actually* ended (an
//! injection at its time, a silence at the end of its window, an expectation when
//! its frame came), so the lateness a real target is allowed does not accumulate
//! along a chain of timers. On a virtual target actual and scripted times coincide.
//! An injection happens at its time. An expectation is met by the oldest
//! frame not yet matched, which must arrive within the target's tolerance of the
//! line's time and match field by field. Any frame no line accounts for fails the
//! run: before an injection, during `none for`, or by the end of the script.

use crate::app::AppAction;
use crate::build::{build, History};
use crate::decode::describe;
use crate::error::RunError;
use crate::matcher::match_frame;
use crate::script::{Action, Event, Scope, Script};
use crate::target::{AppStatus, Captured, Target};
use crate::value::{Bindings, Bound, Mac};
use std::collections::VecDeque;
use std::time::Duration;

/// How far time moves at once while waiting for a frame; bounds how late a frame is
/// noticed (real targets) or how finely timers are polled (virtual ones).
const STEP: Duration = Duration::from_millis(1);

/// What a successful run did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Lines run.
    pub lines_run: usize,
    /// Lines this target skipped, with their annotation's reason.
    pub skipped: Vec<(usize, String)>,
}

/// Runs `script` on `target`, which must be freshly set up from `script.setup`.
pub fn run(script: &Script, target: &mut dyn Target) -> Result<Outcome, RunError> {
    let kind = target.kind();
    let tolerance = script.tolerance(kind).unwrap_or_else(|| target.tolerance());
    let mut vars = Bindings::default();
    let s = &script.setup;
    vars.bind("sut_mac", Bound::Mac(Mac(target.sut_mac())));
    vars.bind("peer_mac", Bound::Mac(s.peer_mac));
    vars.bind("sut_ip", Bound::Ip(s.sut_ip));
    vars.bind("peer_ip", Bound::Ip(s.peer_ip));
    vars.bind("bcast_ip", Bound::Ip(s.broadcast()));
    if let Some(p) = s.ports.0 {
        vars.bind("peer_port", Bound::Num(u64::from(p)));
    }
    if let Some(p) = s.ports.1 {
        vars.bind("sut_port", Bound::Num(u64::from(p)));
    }
    let mut run = Run {
        target,
        tolerance,
        vars,
        hist: History::default(),
        pending: VecDeque::new(),
        outcome: Outcome::default(),
        trace: std::env::var_os("IX_SCRIPT_TRACE").is_some(),
    };
    // When the previous line ended in this run: what `+` times count from.
    let mut end = Duration::ZERO;
    for ev in &script.events {
        let at = ev.after.map_or(ev.at, |d| end + d);
        if ev.scope.includes(kind) {
            end = run.event(ev, at)?;
            run.outcome.lines_run += 1;
        } else {
            let why = match &ev.scope {
                Scope::Only(_, why) | Scope::Skip(_, why) => why,
                Scope::All => "",
            };
            run.outcome.skipped.push((ev.line, why.to_string()));
            end = match ev.action {
                Action::Silence(d) => at + d,
                _ => at,
            };
        }
    }
    // A stray frame right after the last line is as wrong as one in the middle.
    let last = script.events.last().map_or(0, |e| e.line);
    run.advance(last, end + tolerance)?;
    run.no_pending(last)?;
    Ok(run.outcome)
}

/// One run in progress.
struct Run<'t> {
    target: &'t mut dyn Target,
    tolerance: Duration,
    vars: Bindings,
    hist: History,
    /// Frames the SUT sent that no line has matched yet, oldest first.
    pending: VecDeque<Captured>,
    outcome: Outcome,
    /// `IX_SCRIPT_TRACE` is set: print every matched frame with its time (for
    /// writing a script's timing from what a target actually does).
    trace: bool,
}

impl Run<'_> {
    /// Runs one line, due at `at`; returns when it ended (for an expectation, when
    /// its frame actually came).
    fn event(&mut self, ev: &Event, at: Duration) -> Result<Duration, RunError> {
        match &ev.action {
            Action::Inject(spec) => {
                let frame = build(spec, &self.vars, &self.hist).map_err(|msg| RunError::Build {
                    line: ev.line,
                    text: ev.text.clone(),
                    msg,
                })?;
                self.advance(ev.line, at)?;
                self.no_pending(ev.line)?;
                self.target
                    .inject(&frame)
                    .map_err(|source| RunError::Target {
                        line: ev.line,
                        source,
                    })?;
                self.hist.record(&frame);
                Ok(at)
            }
            Action::Expect(spec) => {
                let deadline = at + self.tolerance;
                let now = self.target.now();
                self.advance(ev.line, now)?;
                while self.pending.is_empty() && self.target.now() < deadline {
                    let next = (self.target.now() + STEP).min(deadline);
                    self.advance(ev.line, next)?;
                }
                let Some(got) = self.pending.pop_front() else {
                    return Err(RunError::Missing {
                        line: ev.line,
                        text: ev.text.clone(),
                        at,
                        tolerance: self.tolerance,
                    });
                };
                let diffs = match_frame(spec, &got.frame, &mut self.vars, &self.hist);
                if !diffs.is_empty() {
                    return Err(RunError::Mismatch {
                        line: ev.line,
                        text: ev.text.clone(),
                        got: describe(&got.frame),
                        diffs,
                    });
                }
                if self.trace {
                    eprintln!(
                        "line {}: at {:?} (due {at:?}): {}",
                        ev.line,
                        got.at,
                        describe(&got.frame)
                    );
                }
                if got.at + self.tolerance < at {
                    return Err(RunError::Timing {
                        line: ev.line,
                        text: ev.text.clone(),
                        want: at,
                        at: got.at,
                        tolerance: self.tolerance,
                    });
                }
                Ok(got.at)
            }
            Action::Silence(d) => {
                self.advance(ev.line, at + *d)?;
                self.no_pending(ev.line)?;
                Ok(at + *d)
            }
            Action::App(call) => self.app(ev, call, at),
        }
    }

    /// Makes an application call at `at`, calling again as time passes while it
    /// cannot be done yet, until the tolerance runs out. Ends at `at` if done at
    /// once, else when it got done (like an expectation, when it actually happened).
    fn app(&mut self, ev: &Event, call: &AppAction, at: Duration) -> Result<Duration, RunError> {
        self.advance(ev.line, at)?;
        self.no_pending(ev.line)?;
        let deadline = at + self.tolerance;
        let mut waited = false;
        loop {
            let status = self.target.app(call).map_err(|source| RunError::Target {
                line: ev.line,
                source,
            })?;
            let failed = |msg: String| RunError::App {
                line: ev.line,
                text: ev.text.clone(),
                msg,
            };
            if self.trace && status == AppStatus::Done {
                eprintln!(
                    "line {}: at {:?} (due {at:?}): app {call}",
                    ev.line,
                    self.target.now()
                );
            }
            match status {
                AppStatus::Done if waited => return Ok(self.target.now()),
                AppStatus::Done => return Ok(at),
                AppStatus::Failed(msg) => return Err(failed(msg)),
                AppStatus::NotYet(why) if self.target.now() >= deadline => {
                    return Err(failed(format!("{why} by {deadline:?}")))
                }
                AppStatus::NotYet(_) => {
                    let next = (self.target.now() + STEP).min(deadline);
                    self.advance(ev.line, next)?;
                    waited = true;
                }
            }
        }
    }

    /// Moves the target to `t`, collecting what it sends.
    fn advance(&mut self, line: usize, t: Duration) -> Result<(), RunError> {
        self.target
            .advance_to(t)
            .map_err(|source| RunError::Target { line, source })?;
        self.pending.extend(self.target.take_output());
        Ok(())
    }

    /// Fails if a frame is waiting that no line matched.
    fn no_pending(&mut self, line: usize) -> Result<(), RunError> {
        match self.pending.pop_front() {
            Some(c) => Err(RunError::Unexpected {
                line,
                at: c.at,
                got: describe(&c.frame),
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::build;
    use crate::lex::tokenize;
    use crate::parse::parse;
    use crate::parse_frame::{parse_frame, Dir};
    use crate::target::{TargetError, TargetKind, SUT_MAC};
    use std::net::Ipv4Addr;

    /// A virtual-time target whose "stack" answers each injected frame with the frame
    /// `reply` builds (if any), `delay` later.
    struct Fake {
        now: Duration,
        delay: Duration,
        reply: Option<&'static str>,
        scheduled: Vec<Captured>,
        out: Vec<Captured>,
    }

    impl Fake {
        fn new(reply: Option<&'static str>, delay_ms: u64) -> Fake {
            Fake {
                now: Duration::ZERO,
                delay: Duration::from_millis(delay_ms),
                reply,
                scheduled: Vec::new(),
                out: Vec::new(),
            }
        }

        /// The SUT's frame for `line`, written from the SUT's side.
        fn frame(line: &str) -> Vec<u8> {
            let line =
                format!("{line} eth.src=$sut_mac eth.dst=$peer_mac ip.src=$sut_ip ip.dst=$peer_ip");
            let spec = parse_frame(&tokenize(&line).unwrap(), Dir::In).unwrap();
            let mut vars = Bindings::default();
            vars.bind("sut_mac", Bound::Mac(Mac(SUT_MAC)));
            vars.bind("peer_mac", Bound::Mac(Mac([2, 0, 0, 0, 0, 1])));
            vars.bind("sut_ip", Bound::Ip(Ipv4Addr::new(10, 0, 0, 2)));
            vars.bind("peer_ip", Bound::Ip(Ipv4Addr::new(10, 0, 0, 1)));
            build(&spec, &vars, &crate::build::History::default()).unwrap()
        }
    }

    impl Target for Fake {
        fn kind(&self) -> TargetKind {
            TargetKind::Ix
        }
        fn sut_mac(&self) -> [u8; 6] {
            SUT_MAC
        }
        fn tolerance(&self) -> Duration {
            Duration::from_millis(1)
        }
        fn now(&self) -> Duration {
            self.now
        }
        fn inject(&mut self, _frame: &[u8]) -> Result<(), TargetError> {
            if let Some(line) = self.reply {
                self.scheduled.push(Captured {
                    at: self.now + self.delay,
                    frame: Fake::frame(line),
                });
            }
            self.advance_to(self.now)
        }
        fn advance_to(&mut self, t: Duration) -> Result<(), TargetError> {
            self.now = self.now.max(t);
            let now = self.now;
            let (due, later): (Vec<_>, Vec<_>) =
                self.scheduled.drain(..).partition(|c| c.at <= now);
            self.scheduled = later;
            self.out.extend(due);
            Ok(())
        }
        fn take_output(&mut self) -> Vec<Captured> {
            std::mem::take(&mut self.out)
        }
    }

    const HEADER: &str = "sut 10.0.0.2/24\npeer 10.0.0.1 02:00:00:00:00:01\n";

    fn go(body: &str, target: &mut Fake) -> Result<Outcome, RunError> {
        let script = parse("t.pkt", &format!("{HEADER}{body}")).unwrap();
        run(&script, target)
    }

    const PING: &str = "0 < icmp echo-request id=1 seq=1\n";

    #[test]
    fn on_time_reply_passes() {
        let mut t = Fake::new(Some("icmp echo-reply id=1 seq=1"), 0);
        let out = go(&format!("{PING}+0 > icmp echo-reply id=1 seq=1\n"), &mut t).unwrap();
        assert_eq!(out.lines_run, 2);
    }

    #[test]
    fn delayed_reply_is_waited_for_and_timed() {
        let mut t = Fake::new(Some("icmp echo-reply id=1 seq=1"), 200);
        go(&format!("{PING}+0.2 > icmp echo-reply\n"), &mut t).unwrap();
        let mut t = Fake::new(Some("icmp echo-reply id=1 seq=1"), 200);
        let e = go(&format!("{PING}+0 > icmp echo-reply\n"), &mut t).unwrap_err();
        assert!(matches!(e, RunError::Missing { line: 4, .. }), "{e}");
        let mut t = Fake::new(Some("icmp echo-reply id=1 seq=1"), 0);
        let e = go(&format!("{PING}+0.5 > icmp echo-reply\n"), &mut t).unwrap_err();
        assert!(matches!(e, RunError::Timing { line: 4, .. }), "{e}");
    }

    #[test]
    fn mismatch_names_the_field() {
        let mut t = Fake::new(Some("icmp echo-reply id=1 seq=2"), 0);
        let e = go(&format!("{PING}+0 > icmp echo-reply id=1 seq=1\n"), &mut t).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("line 4: expected icmp echo-reply id=1 seq=1, got icmp echo-reply"),
            "{msg}"
        );
        assert!(msg.ends_with("(field seq: expected 1, got 2)"), "{msg}");
    }

    #[test]
    fn unexpected_frames_fail_wherever_they_appear() {
        // During a silence.
        let mut t = Fake::new(Some("icmp echo-reply"), 100);
        let e = go(&format!("{PING}+0 > none for 0.5\n"), &mut t).unwrap_err();
        assert!(matches!(e, RunError::Unexpected { line: 4, .. }), "{e}");
        // Before the next injection.
        let mut t = Fake::new(Some("icmp echo-reply"), 0);
        let e = go(&format!("{PING}+0.1 < icmp echo-request\n"), &mut t).unwrap_err();
        assert!(matches!(e, RunError::Unexpected { line: 4, .. }), "{e}");
        // After the last line.
        let mut t = Fake::new(Some("icmp echo-reply"), 0);
        let e = go(PING, &mut t).unwrap_err();
        assert!(matches!(e, RunError::Unexpected { line: 3, .. }), "{e}");
    }

    #[test]
    fn annotated_lines_are_skipped_with_their_reason() {
        let mut t = Fake::new(None, 0);
        let out = go(
            &format!(
                "{PING}+0 > icmp echo-reply @only linux \"Linux answers\"\n+0 > none for 0.1\n"
            ),
            &mut t,
        )
        .unwrap();
        assert_eq!(out.lines_run, 2);
        assert_eq!(out.skipped, vec![(4, "Linux answers".to_string())]);
    }

    #[test]
    fn variables_flow_from_expectations_to_injections() {
        let mut t = Fake::new(Some("udp sport=33333 dport=9"), 0);
        go(
            "0 < udp sport=9 dport=7\n+0 > udp sport=$port dport=9\n+0.1 < udp sport=9 dport=$port\n\
             +0 > udp sport=$port-0 dport=9\n",
            &mut t,
        )
        .unwrap();
        let mut t = Fake::new(None, 0);
        let e = go("0 < udp sport=9 dport=$nope\n", &mut t).unwrap_err();
        assert!(matches!(e, RunError::Build { line: 3, .. }), "{e}");
    }

    #[test]
    fn relative_times_follow_actual_arrivals() {
        // Each reply is 1.5 ms after its request, against a 1 ms tolerance: fine one
        // at a time, but three in a row would be 1.5 ms late on the scripted timeline.
        let mut t = Fake::new(Some("icmp echo-reply"), 1);
        t.delay = Duration::from_micros(1500);
        let round = "+0 < icmp echo-request\n+0.001 > icmp echo-reply\n";
        go(&format!("0 > none for 0\n{round}{round}{round}"), &mut t).unwrap();
    }
}
