//! Parsing what `ix-run` and `echo-kernel` print: `stat NAME VALUE`,
//! `app NAME VALUE`, `thread T NAME VALUE` and, with several elastic threads,
//! the same prefixed `tN `.

use std::collections::HashMap;

/// `stat`/`app` lines as `"stat.NAME"`/`"app.NAME"`, and `thread T NAME VALUE`
/// lines as `"threadT.NAME"`, to their values.
pub fn stat_map(lines: &[String]) -> HashMap<String, u64> {
    let mut m = HashMap::new();
    for l in lines {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w[..] {
            [kind @ ("stat" | "app"), k, v] => {
                if let Ok(v) = v.parse() {
                    m.insert(format!("{kind}.{k}"), v);
                }
            }
            ["thread", t, k, v] => {
                if let Ok(v) = v.parse() {
                    m.insert(format!("thread{t}.{k}"), v);
                }
            }
            _ => {}
        }
    }
    m
}

/// `tN KIND KEY VALUE` lines (KIND `stat` or `app`) as `(N, "KIND.KEY") -> VALUE`.
pub fn per_thread(lines: &[String]) -> HashMap<(usize, String), u64> {
    let mut m = HashMap::new();
    for l in lines {
        let w: Vec<&str> = l.split_whitespace().collect();
        if let [t, kind @ ("stat" | "app"), k, v] = w[..] {
            if let (Some(t), Ok(v)) = (t.strip_prefix('t').and_then(|t| t.parse().ok()), v.parse())
            {
                m.insert((t, format!("{kind}.{k}")), v);
            }
        }
    }
    m
}
