//! Outgoing connections get computed local ports: the reply traffic of each hashes
//! into a flow group owned by the thread that opened it.

mod support;

use ix_runtime::{FlowGroups, RuntimeConfig};
use support::*;

#[test]
fn replies_to_outgoing_connections_hash_to_the_calling_thread() {
    let client_rt = RuntimeConfig {
        threads: 4,
        thread: 3,
        ..RuntimeConfig::default()
    };
    let mut p = pair_with(20, RuntimeConfig::default(), client_rt);
    p.run(500);
    assert_eq!(p.client.handler().connected.len(), 20);
    assert!(p.client.handler().rounds >= 20);
    let fg = FlowGroups::new(128, 4).unwrap();
    let infos: Vec<_> = p.client.transport().tcp().conns().collect();
    assert_eq!(infos.len(), 20);
    let mut ports = std::collections::HashSet::new();
    for i in infos {
        let group = fg.group(i.remote, i.local);
        assert_eq!(fg.owner(group), 3, "{:?} -> group {group}", i.local);
        ports.insert(i.local.port());
    }
    assert_eq!(ports.len(), 20);
}
