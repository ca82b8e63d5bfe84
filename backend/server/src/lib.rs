//! The `sluice` binary's library: settings, telemetry, wiring and commands. It holds no
//! business logic; everything here composes the other crates.

pub mod admin_cmd;
mod admin_limits;
pub mod cli;
mod credit;
mod entry;
mod export_cmd;
mod invoicing;
mod json_log;
pub mod master_key;
pub mod open_files;
mod payments;
pub mod serve;
pub mod settings;
pub mod stores;
pub mod telemetry;
mod webhooks;

pub use entry::main;

/// Installs the TLS crypto provider reqwest and sqlx use (ring); idempotent.
pub fn init_tls() {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
}
