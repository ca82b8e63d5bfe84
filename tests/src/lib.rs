//! The cross-crate test harness: a real `sluice` on port 0 (`harness`), mock upstreams that
//! speak each provider's wire format over real HTTP (`mock_upstream`; over TLS and HTTP/2:
//! `tls_upstream`), recorded provider fixtures (`fixtures`), gateways run as processes to be
//! killed and restarted (`process`), a proxy that turns a database into a black hole
//! (`tcp_proxy`), and fake outside services: an identity provider (`fake_idp`), an SMTP relay
//! (`fake_smtp`), a DNS server (`fake_dns`) and Stripe (`fake_stripe`).

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support code fails loudly"
)]
#![expect(
    clippy::disallowed_methods,
    reason = "test servers spawn their own tasks; there is no graceful shutdown to drain"
)]

pub mod fake_dns;
pub mod fake_idp;
pub mod fake_smtp;
pub mod fake_stripe;
pub mod fixtures;
pub mod harness;
pub mod mock_upstream;
pub mod process;
pub mod sse;
pub mod tcp_proxy;
pub mod tls_upstream;
