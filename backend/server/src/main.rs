//! `sluice`: the gateway binary.

use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: the request path allocates in one worker thread and
/// frees in another (usage records), which fragments glibc's per-thread arenas; mimalloc keeps
/// the resident size flat and is faster on small allocations.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    server::main()
}
