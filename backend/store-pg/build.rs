//! Rebuilds the crate when a migration is added. `sqlx::migrate!` embeds the files of
//! `migrations/postgres`, but on stable Rust it tracks only the files that existed when it last
//! ran, so a new migration would be left out of an incremental build until this crate changed.

fn main() {
    println!("cargo::rerun-if-changed=../../migrations/postgres");
}
