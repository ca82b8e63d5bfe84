//! Plain-Rust logic behind the pages: form validation and conversion into API requests, and
//! formatting for display. Nothing here touches the browser, so it is tested with `cargo test`.

pub mod audit_filter;
pub mod branding_form;
pub mod errors;
pub mod expiry;
pub mod format;
pub mod key_form;
pub mod lists;
pub mod partner_form;
pub mod service_account_form;
pub mod validate;
