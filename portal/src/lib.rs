//! The self-service portal: a Leptos app rendered in the browser (CSR) that uses only the
//! documented management API (`/api/v1`), with `api_types` as its request and response types.
//!
//! Layout: `api` is the only code that talks HTTP; `model` and `state` hold plain logic with
//! host unit tests; `components` are the reusable pieces (layout, forms, dialogs, toasts);
//! `pages` has one module per page; `app` is the router. The browser parts compile only for
//! `wasm32`, so `cargo clippy/test --workspace` on the host stay quick.

pub mod api;
pub mod branding;
pub mod model;
pub mod routes;
pub mod state;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod components;
#[cfg(target_arch = "wasm32")]
pub mod pages;

/// Mounts the portal on the page's `<body>`.
#[cfg(target_arch = "wasm32")]
pub fn start() {
    console_error_panic_hook::set_once();
    // The "Loading…" line of index.html, shown until the WebAssembly runs.
    if let Some(boot) = leptos::prelude::document().get_element_by_id("boot") {
        boot.remove();
    }
    leptos::mount::mount_to_body(app::App);
}
