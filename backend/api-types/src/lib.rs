//! Wire types shared by the backend and the portal.
//!
//! Everything here is public API: renaming a field or an [`ErrorCode`] is a breaking change.
//! The crate compiles to `wasm32-unknown-unknown` and depends on no runtime, database or HTTP crate.

pub mod billing;
mod error_code;
pub mod limits;
pub mod manage;
pub mod oauth;
pub mod prices;

pub use error_code::ErrorCode;
