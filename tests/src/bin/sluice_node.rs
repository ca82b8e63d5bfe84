//! The `sluice` binary as the end-to-end tests run it as a process: the same entry point, built
//! with the test crate so `CARGO_BIN_EXE_sluice-node` names it.

fn main() -> std::process::ExitCode {
    server::main()
}
