//! The table of bad configurations: each is refused, naming the file, the key and
//! the reason; a good one next to them passes.

use ix_config::{load, Environment, Error, SearchPath};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory with an executable `app` (found by name through the search path).
struct Sandbox {
    dir: PathBuf,
}

impl Sandbox {
    /// A fresh directory; each test has its own, since tests run in parallel and
    /// one sandbox's drop removes its directory.
    fn new() -> Sandbox {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ix-config-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let app = dir.join("app");
        std::fs::write(&app, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o755)).unwrap();
        Sandbox { dir }
    }

    fn env(&self) -> Environment {
        Environment {
            host_cores: 4,
            search: SearchPath {
                dirs: vec![self.dir.clone()],
            },
            ..Environment::default()
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const NIC: &str = r#"
[[nic]]
kind = "tap"
name = "ix0"
host_addr = "10.77.0.1/24"
"#;

const INST: &str = r#"
[[instance]]
name = "echo"
app = "app"
cores = [1]
nic = "ix0"
addr = "10.77.0.2/24"
ports = [7]
"#;

/// A good config with `from` replaced by `to` in the instance part (or, with
/// `extra`, more text appended).
fn variant(from: &str, to: &str, extra: &str) -> String {
    let inst = INST.replacen(from, to, 1);
    assert!(
        from.is_empty() || inst != INST || NIC.contains(from),
        "{from} not in the template"
    );
    let nic = if inst == INST {
        NIC.replacen(from, to, 1)
    } else {
        NIC.to_owned()
    };
    format!("{nic}{inst}{extra}")
}

const SECOND_NIC: &str = r#"
[[nic]]
kind = "tap"
name = "ix1"
host_addr = "10.78.0.1/24"
"#;

fn second_instance(fields: &str) -> String {
    format!("{SECOND_NIC}\n[[instance]]\nname = \"two\"\napp = \"app\"\nnic = \"ix1\"\n{fields}\n")
}

#[test]
fn good_config_passes() {
    let sb = Sandbox::new();
    let f = sb.write("good.toml", &variant("", "", ""));
    let loaded = load(&f, &sb.env()).expect("valid");
    assert_eq!(loaded.apps, vec![sb.dir.join("app")]);
    assert_eq!(loaded.config.instances[0].batch, 64);
    assert_eq!(loaded.config.instances[0].heartbeat_timeout_ms, 1000);
}

#[test]
fn bad_configs_are_refused_with_file_key_and_reason() {
    let sb = Sandbox::new();
    // (case, config text, key the message must name, words of the reason)
    let table: Vec<(&str, String, &str, &str)> = vec![
        ("unknown key", variant("ports = [7]", "ports = [7]\nfrobnicate = 1", ""), "frobnicate", "unknown field"),
        ("unknown global key", format!("[global]\nhugepages = true\n{NIC}{INST}"), "hugepages", "unknown field"),
        ("unknown nic key", variant("host_addr =", "colour = \"red\"\nhost_addr =", ""), "colour", "unknown field"),
        ("bad CIDR", variant("10.77.0.2/24", "10.77.0.2/40", ""), "instance.echo.addr", "bad CIDR"),
        ("bad CIDR no prefix", variant("10.77.0.2/24", "10.77.0.2", ""), "instance.echo.addr", "bad CIDR"),
        ("bad host CIDR", variant("10.77.0.1/24", "10.77.0.300/24", ""), "nic.ix0.host_addr", "bad CIDR"),
        ("duplicate address (host side)", variant("10.77.0.2/24", "10.77.0.1/24", ""), "instance.echo.addr", "duplicate address 10.77.0.1"),
        ("duplicate address (two instances)", variant("", "", &second_instance("cores = [2]\naddr = \"10.77.0.2/24\"")), "instance.two.addr", "duplicate address"),
        ("core out of range", variant("cores = [1]", "cores = [9]", ""), "instance.echo.cores", "core 9 out of range"),
        ("core shared", variant("", "", &second_instance("cores = [1]\naddr = \"10.78.0.2/24\"")), "instance.two.cores", "set global.oversubscribe"),
        ("core twice", variant("cores = [1]", "cores = [1, 1]", ""), "instance.echo.cores", "listed twice"),
        ("core 0", variant("cores = [1]", "cores = [0]", ""), "instance.echo.cores", "core 0 is reserved"),
        ("more threads than queues", variant("cores = [1]", "cores = [1, 2]", ""), "instance.echo.cores", "2 elastic threads but NIC \"ix0\" has 1 queue"),
        ("missing application binary", variant("app = \"app\"", "app = \"no-such-app\"", ""), "instance.echo.app", "missing application binary"),
        ("missing application path", variant("app = \"app\"", "app = \"./bin/app\"", ""), "instance.echo.app", "missing application binary"),
        ("unknown NIC kind", variant("kind = \"tap\"", "kind = \"token_ring\"", ""), "kind", "unknown variant `token_ring`"),
        ("memif not yet", variant("kind = \"tap\"\nname = \"ix0\"\nhost_addr = \"10.77.0.1/24\"", "kind = \"memif\"\nname = \"ix0\"\nsocket = \"m.sock\"\nrole = \"server\"", ""), "nic.ix0.kind", "memif is not supported yet"),
        ("port twice", variant("ports = [7]", "ports = [7, 7]", ""), "instance.echo.ports", "port 7 in use twice"),
        ("port zero", variant("ports = [7]", "ports = [0]", ""), "instance.echo.ports", "port 0"),
        ("namespace name invalid", variant("host_addr =", "netns = \"../etc\"\nhost_addr =", ""), "nic.ix0.netns", "namespace name \"../etc\" is invalid"),
        ("namespace name with space", variant("host_addr =", "netns = \"a b\"\nhost_addr =", ""), "nic.ix0.netns", "is invalid"),
        ("unknown NIC reference", variant("nic = \"ix0\"", "nic = \"ix9\"", ""), "instance.echo.nic", "no [[nic]] named \"ix9\""),
        ("NIC shared", variant("", "", "\n[[instance]]\nname = \"two\"\napp = \"app\"\nnic = \"ix0\"\ncores = [2]\naddr = \"10.77.0.3/24\"\n"), "instance.two.nic", "already used by instance \"echo\""),
        ("duplicate instance", variant("", "", &format!("{SECOND_NIC}\n[[instance]]\nname = \"echo\"\napp = \"app\"\nnic = \"ix1\"\ncores = [2]\naddr = \"10.78.0.2/24\"\n")), "instance.echo.name", "duplicate instance name"),
        ("batch too big", variant("ports = [7]", "ports = [7]\nbatch = 65", ""), "instance.echo.batch", "1..=64"),
        ("flow groups not power of two", variant("ports = [7]", "ports = [7]\nflow_groups = 100", ""), "instance.echo.flow_groups", "power of two"),
        ("gateway outside subnet", variant("ports = [7]", "ports = [7]\ngateway = \"10.1.0.1\"", ""), "instance.echo.gateway", "outside 10.77.0.2/24"),
        ("interface name too long", variant("host_addr =", "iface = \"a-very-long-interface\"\nhost_addr =", ""), "nic.ix0.iface", "1-15 characters"),
        ("process protection", variant("ports = [7]", "ports = [7]\nprotection = \"process\"", ""), "instance.echo.protection", "not supported yet"),
        ("unknown restart policy", variant("ports = [7]", "ports = [7]\nrestart = \"sometimes\"", ""), "restart", "unknown variant"),
        ("bridge missing", variant("host_addr = \"10.77.0.1/24\"", "bridge = \"br9\"", ""), "nic.ix0.bridge", "no [[bridge]] named \"br9\""),
        ("virtio without vhost", variant("kind = \"tap\"\nname = \"ix0\"\nhost_addr = \"10.77.0.1/24\"", "kind = \"virtio_user\"\nname = \"ix0\"\nsocket = \"p.sock\"\nrole = \"virtio\"", ""), "nic.ix0.socket", "no virtio_user NIC with role = \"vhost\""),
        ("no instances", NIC.to_owned(), "instance", "no [[instance]]"),
        ("not TOML", "[[instance]\nname=".to_owned(), "", "invalid"),
    ];
    for (case, text, key, reason) in table {
        let file = sb.write(&format!("{}.toml", case.replace(' ', "_")), &text);
        let err = match load(&file, &sb.env()) {
            Ok(_) => panic!("case {case:?} was accepted:\n{text}"),
            Err(e) => e,
        };
        let msg = err.to_string();
        assert!(
            msg.starts_with(&file.display().to_string()),
            "case {case:?}: no file name in {msg:?}"
        );
        assert!(
            msg.contains(key),
            "case {case:?}: key {key:?} not named in {msg:?}"
        );
        assert!(
            msg.contains(reason),
            "case {case:?}: reason {reason:?} not in {msg:?}"
        );
        if let Error::Invalid { problems, .. } = &err {
            assert!(
                problems
                    .iter()
                    .any(|p| p.key.contains(key) && p.reason.contains(reason)),
                "case {case:?}: {problems:?}"
            );
        }
    }
}

#[test]
fn oversubscribe_allows_shared_cores_and_running_state_is_respected() {
    let sb = Sandbox::new();
    let text = format!(
        "[global]\noversubscribe = true\n{}",
        variant(
            "",
            "",
            &second_instance("cores = [1]\naddr = \"10.78.0.2/24\"")
        )
    );
    let f = sb.write("over.toml", &text);
    assert!(load(&f, &sb.env()).is_ok());

    let mut env = sb.env();
    env.running_names = vec!["echo".into()];
    env.running_cores = vec![1];
    env.running_addrs = vec![("10.77.0.2".parse().unwrap(), vec![7])];
    let f = sb.write("running.toml", &variant("", "", ""));
    let msg = load(&f, &env).unwrap_err().to_string();
    for want in [
        "already running",
        "shared with a running instance",
        "port 7 in use",
        "duplicate address",
    ] {
        assert!(msg.contains(want), "{want:?} not in {msg}");
    }
}

#[test]
fn unreadable_file_is_named() {
    let missing = Path::new("/nonexistent/ix.toml");
    let msg = load(missing, &Environment::of_host())
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("/nonexistent/ix.toml: cannot read"),
        "{msg}"
    );
}
