//! The portal's entry point: mounts the app in the browser. On the host there is nothing to run.

fn main() {
    #[cfg(target_arch = "wasm32")]
    portal::start();
}
