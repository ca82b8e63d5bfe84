//! The management API client: the only code that knows URLs, HTTP and JSON. Requests and
//! responses are `api_types::manage` types, so a renamed field fails to compile here.

pub mod error;
pub mod paths;

#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
pub mod data_plane;
#[cfg(target_arch = "wasm32")]
pub mod endpoints;

#[cfg(target_arch = "wasm32")]
pub use client::on_unauthenticated;
pub use error::ApiError;
