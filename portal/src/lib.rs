//! The self-service portal (Leptos, compiled to WASM). A placeholder until the portal issue:
//! the crate exists so the workspace layout is final.
