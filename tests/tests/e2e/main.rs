//! End-to-end tests: the real gateway on port 0, talking HTTP to mock upstreams that speak each
//! provider's wire format. One test binary; one module per area.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod anthropic;
mod common;
mod compat;
mod completions;
mod keys;
mod nodes;
mod ops;
mod openai;
mod requests;
mod streaming;
mod upstream_failures;
mod usage;
