//! Against memcached-ix (apps/memcached-ix, on libix's kernel transport): the
//! generator's counts equal the server's own `stats`, in ASCII and binary.
//!
//! The binary is another package's, so it is looked for next to this test in the same
//! target directory: `cargo test --workspace` builds it (memcached-ix has integration
//! tests). Run alone (`cargo test -p ix-loadgen`) without it built, the test says so
//! and passes, except under CI (`CI` set), where a missing binary fails it.

mod common;

use common::*;
use std::path::PathBuf;

fn memcached_ix_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?; // target/<profile>/deps/<test> -> target/<profile>
    let bin = profile_dir.join("memcached-ix");
    bin.is_file().then_some(bin)
}

#[test]
fn counts_match_memcached_ix_stats() {
    let Some(bin) = memcached_ix_binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "memcached-ix is not built next to this test; `cargo test --workspace` builds it"
        );
        eprintln!("memcached-ix not built: run `cargo build -p memcached-ix` (same profile) to include this test");
        return;
    };
    let mc = Memcached::start_program(bin.to_str().unwrap(), &[]);
    let addr = mc.addr();

    let before = mc.stats();
    mutilate(&["-s", &addr, "--loadonly", "-r", "1000", "--seed", "1"]);
    let after = mc.stats();
    assert_eq!(delta(&before, &after, "cmd_set"), 1000);

    for extra in [&[][..], &["--binary"][..]] {
        let before = mc.stats();
        let mut args = vec![
            "-s", &addr, "--noload", "-r", "2000", "-q", "3000", "-t", "1", "-u", "0.2", "--seed",
            "11",
        ];
        args.extend_from_slice(extra);
        let out = mutilate(&args);
        let after = mc.stats();
        let (gets, sets, misses, skipped) = client_counts(&out, "master");
        assert_eq!(skipped, 0, "{out}");
        assert!(gets > 1000 && sets > 0 && misses > 0, "{out}");
        assert_eq!(
            delta(&before, &after, "cmd_get"),
            gets,
            "gets {extra:?}\n{out}"
        );
        assert_eq!(
            delta(&before, &after, "get_misses"),
            misses,
            "misses {extra:?}\n{out}"
        );
        assert_eq!(
            delta(&before, &after, "cmd_set"),
            sets,
            "sets {extra:?}\n{out}"
        );
    }
}
