//! The cross-crate test harness: a real `sluice` on port 0 (`harness`), mock upstreams that
//! speak each provider's wire format over real HTTP (`mock_upstream`; over TLS and HTTP/2:
//! `tls_upstream`), recorded provider fixtures (`fixtures`), and a TCP relay that can be cut
//! to take a dependency away (`tcp_relay`).

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support code fails loudly"
)]
#![expect(
    clippy::disallowed_methods,
    reason = "test servers spawn their own tasks; there is no graceful shutdown to drain"
)]

pub mod fake_idp;
pub mod fake_smtp;
pub mod fixtures;
pub mod harness;
pub mod mock_upstream;
pub mod sse;
pub mod tcp_relay;
pub mod tls_upstream;
