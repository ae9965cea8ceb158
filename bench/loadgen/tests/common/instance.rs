//! Dataplane pieces of the end-to-end tests: instance specs on a DPDK tap port whose
//! kernel side is in a test namespace, and memcached-ix started as a dataplane
//! instance (as ixcp starts it: the spec named by IX_INSTANCE_SPEC).

use super::{require_program, ChildGuard, TestNs};
use ix_instance::spec::{InstanceSpec, NicSpec, SPEC_ENV};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// The kernel side's address of a test tap (inside the test namespace).
pub const HOST: Ipv4Addr = Ipv4Addr::new(10, 87, 0, 1);
/// The instance's address.
pub const IX: Ipv4Addr = Ipv4Addr::new(10, 87, 0, 2);

/// A one-core (core 1) instance spec for test `tag`: a tap whose kernel side is in
/// `ns` with address [`HOST`], the instance at [`IX`]; names unique per process.
pub fn tap_spec(tag: &str, ns: &TestNs) -> InstanceSpec {
    let pid = std::process::id();
    InstanceSpec {
        name: format!("lg-{tag}-{pid}"),
        cores: vec![1],
        nic: NicSpec::Tap {
            iface: format!("lg{tag}{}", pid % 100_000),
            netns: ns.name().to_owned(),
            host_addr: Some(HOST),
            host_prefix: 24,
            bridge: None,
        },
        addr: IX,
        prefix: 24,
        gateway: None,
        batch: 64,
        flow_groups: 128,
        max_conns: 1024,
        idle_backoff: true,
        memory_mb: 256,
        hugepages: false,
        eal_args: Vec::new(),
        file_prefix: format!("lg-{tag}-{pid}"),
        agent_socket: std::env::temp_dir().join(format!("lg-{tag}-{pid}.sock")),
        log_level: "info".to_owned(),
    }
}

/// [`tap_spec`] for a client (ix-mutilate `--transport libix`): on core 0, where
/// this project's clients run, so a server instance keeps core 1.
pub fn client_spec(tag: &str, ns: &TestNs) -> InstanceSpec {
    InstanceSpec {
        cores: vec![0],
        ..tap_spec(tag, ns)
    }
}

/// `spec` with its tap's kernel side enslaved to `bridge` (no address of its own)
/// and the instance at `addr`.
pub fn on_bridge(mut spec: InstanceSpec, bridge: &str, addr: Ipv4Addr) -> InstanceSpec {
    if let NicSpec::Tap {
        host_addr,
        bridge: b,
        ..
    } = &mut spec.nic
    {
        *host_addr = None;
        *b = Some(bridge.to_owned());
    }
    spec.addr = addr;
    spec
}

/// A spec written to a file, removed (with the agent's socket) on drop.
pub struct SpecFile {
    pub path: PathBuf,
    pub spec: InstanceSpec,
}

impl SpecFile {
    /// Writes `spec` to the temp directory.
    pub fn write(spec: InstanceSpec) -> SpecFile {
        let path = std::env::temp_dir().join(format!("{}.json", spec.name));
        std::fs::write(&path, serde_json::to_string(&spec).unwrap()).unwrap();
        SpecFile { path, spec }
    }

    /// The path as a string, for --ix-spec.
    pub fn arg(&self) -> String {
        self.path.display().to_string()
    }
}

impl Drop for SpecFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_file(&self.spec.agent_socket);
        // DPDK's runtime files, in case the instance was killed before it cleaned up.
        let _ = std::fs::remove_dir_all(
            std::path::Path::new("/var/run/dpdk").join(&self.spec.file_prefix),
        );
    }
}

/// memcached-ix from this test's target directory (`target/<profile>/`); fails the
/// test, saying how to build it, when it is not there.
pub fn memcached_ix_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> -> target/<profile>
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let bin = profile_dir.join("memcached-ix");
    require_program(&bin.display().to_string());
    bin
}

/// memcached-ix running as a dataplane instance on a tap into `ns`, listening on
/// [`IX`]:11211; killed (and its spec removed) on drop.
pub struct MemcachedIxInstance {
    _child: ChildGuard,
    _spec: SpecFile,
    pub ns: Arc<TestNs>,
    pub addr: SocketAddr,
}

impl MemcachedIxInstance {
    /// Starts it and waits until it answers from inside `ns`.
    pub fn start(tag: &str, ns: Arc<TestNs>) -> MemcachedIxInstance {
        let spec = tap_spec(tag, &ns);
        Self::start_with(spec, ns)
    }

    /// Starts it on `spec` (a tap into `ns`) and waits until it answers there.
    pub fn start_with(spec: InstanceSpec, ns: Arc<TestNs>) -> MemcachedIxInstance {
        let bin = memcached_ix_binary();
        let ix = spec.addr;
        let spec = SpecFile::write(spec);
        let child = Command::new(&bin)
            .args(["-p", "11211", "-m", "32"])
            .env(SPEC_ENV, &spec.path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut guard = ChildGuard(child);
        let addr = SocketAddr::from((ix, 11211));
        ns.wait_listening(addr, &mut guard.0, Duration::from_secs(60));
        MemcachedIxInstance {
            _child: guard,
            _spec: spec,
            ns,
            addr,
        }
    }
}
