//! EAL init with a vdev no driver knows fails cleanly (own process: a failed
//! `rte_eal_init` cannot be retried), and a second init is refused.

use ix_dpdk::{Eal, EalArgs, Error};

#[test]
fn unknown_vdev_fails_init_and_init_is_once_only() {
    let prefix = format!("ixbad-{}", std::process::id());
    let args = EalArgs::new("eal-bad-vdev")
        .no_huge(64)
        .no_pci()
        .no_shconf()
        .file_prefix(&prefix)
        .lcores("0")
        .vdev("net_nosuch0")
        .build()
        .unwrap();
    let err = Eal::init(&args).unwrap_err();
    // A failed init leaves its (empty) runtime directory behind.
    let _ = std::fs::remove_dir(format!("/var/run/dpdk/{prefix}"));
    let text = err.to_string();
    assert!(matches!(err, Error::EalInit { .. }), "{text}");
    assert!(text.contains("rte_eal_init"), "{text}");
    assert!(
        text.contains("net_nosuch0"),
        "message names the arguments: {text}"
    );
    eprintln!("EAL init error as reported: {text}");

    // The EAL cannot be initialized again in this process.
    let err = Eal::init(&args).unwrap_err();
    assert!(matches!(err, Error::EalAlreadyInitialized), "{err}");
}
