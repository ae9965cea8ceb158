//! Build script for `dpdk-sys`.
//!
//! 1. Probes `libdpdk` (>= 22.11) with pkg-config and links its shared
//!    libraries. Debian's EAL loads every poll-mode driver from its plugin
//!    directory at `rte_eal_init`, so no driver library has to be linked.
//! 2. Runs bindgen over `wrapper.h`, keeping only `rte_*`/`RTE_*` items.
//! 3. Compiles the C shim that bindgen writes for DPDK's `static inline`
//!    fast-path functions (`rte_eth_rx_burst`, `rte_pktmbuf_free`, ...) with
//!    exactly pkg-config's cflags (which carry `-march=corei7`, never
//!    `-march=native`), so the shim and the bindings agree with the headers.

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// The oldest DPDK release these bindings are written against.
const MIN_VERSION: &str = "22.11";

/// Defines added to pkg-config's cflags: DPDK marks some inline helpers
/// experimental, and calling them from the shim would otherwise warn.
const EXTRA_DEFINES: &[&str] = &["-DALLOW_EXPERIMENTAL_API"];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let wrapper = manifest_dir.join("wrapper.h");

    println!("cargo:rerun-if-changed={}", wrapper.display());
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    // Linking: pkg-config prints the rustc-link-lib/search lines itself.
    let library = match pkg_config::Config::new()
        .atleast_version(MIN_VERSION)
        .statik(false)
        .probe("libdpdk")
    {
        Ok(library) => library,
        Err(err) => {
            eprintln!(
                "\n\ndpdk-sys: DPDK >= {MIN_VERSION} was not found through pkg-config \
                 (`pkg-config --modversion libdpdk`).\n\
                 Install it with `ci/setup.sh` (Debian: packages `dpdk`, `libdpdk-dev`, \
                 `libclang-dev`, `pkg-config`).\n\
                 pkg-config said: {err}\n"
            );
            std::process::exit(1);
        }
    };
    println!("cargo:version={}", library.version);

    // The same flags for bindgen and the shim, so both see identical types.
    let mut cflags = pkg_config_cflags();
    cflags.extend(EXTRA_DEFINES.iter().map(|define| (*define).to_owned()));

    let shim_stem = out_dir.join("dpdk_static_fns");
    let bindings = bindgen::Builder::default()
        .header(wrapper.to_string_lossy())
        .clang_args(&cflags)
        .allowlist_function("rte_.*")
        .allowlist_function("ix_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("RTE_.*")
        .allowlist_var("SOCKET_ID_ANY|LCORE_ID_ANY")
        // Thread-local variables cannot be bound as plain statics.
        .blocklist_item("per_lcore_.*")
        // bindgen serializes its `const void *const` argument as
        // `const const void *`, which C compilers warn about.
        .blocklist_function("rte_is_aligned")
        // Packed headers that contain aligned unions: Rust cannot express them.
        .opaque_type("rte_l2tpv2_combined_msg_hdr")
        // Evaluate constants such as `RTE_ETH_RSS_IP` (built from `RTE_BIT64`).
        .clang_macro_fallback()
        .wrap_static_fns(true)
        .wrap_static_fns_path(&shim_stem)
        .derive_default(true)
        .derive_debug(false)
        .layout_tests(true)
        .generate_comments(false)
        .prepend_enum_name(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .unwrap_or_else(|err| panic!("dpdk-sys: bindgen failed on {}: {err}", wrapper.display()));
    bindings
        .write_to_file(out_dir.join("bindings.rs"))
        .expect("dpdk-sys: cannot write bindings.rs");

    // The shim: one non-inline wrapper per `static inline` function.
    let mut build = cc::Build::new();
    build
        .file(shim_stem.with_extension("c"))
        .include(&manifest_dir);
    for flag in &cflags {
        build.flag(flag);
    }
    build.compile("dpdk_sys_static_fns");
}

/// pkg-config's `--cflags` for libdpdk, split into arguments.
///
/// The pkg-config crate only reports include paths and defines; DPDK's cflags
/// also carry `-include rte_config.h` and `-march=corei7`, which both the
/// bindings and the shim must see, so the raw flags are asked for here.
fn pkg_config_cflags() -> Vec<String> {
    let pkg_config = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_owned());
    let output = Command::new(&pkg_config)
        .args(["--cflags", "libdpdk"])
        .output()
        .unwrap_or_else(|err| panic!("dpdk-sys: cannot run {pkg_config}: {err}"));
    assert!(
        output.status.success(),
        "dpdk-sys: `{pkg_config} --cflags libdpdk` failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}
