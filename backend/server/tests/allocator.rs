//! The allocator's compiled-in settings reach the `sluice` binary (`.cargo/config.toml`).

use std::process::Command;

/// mimalloc prints its options at start when `MIMALLOC_VERBOSE` is set; the arena must be
/// committed on demand (0), not eagerly (mimalloc's Linux default, 2), or the idle and peak
/// resident sizes grow by about 20 MB (BENCHMARKS.md, issue 17).
#[test]
fn the_arena_is_committed_on_demand() {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("--version")
        .env("MIMALLOC_VERBOSE", "1")
        .env_remove("MIMALLOC_ARENA_EAGER_COMMIT")
        .output()
        .expect("run sluice --version");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("option 'arena_eager_commit': 0"),
        "mimalloc's options as the binary reports them:\n{stderr}"
    );
}
