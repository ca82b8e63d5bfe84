//! End-to-end tests: the real gateway on port 0, talking HTTP to mock upstreams that speak each
//! provider's wire format. One test binary; one module per area.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod anthropic;
mod billing;
mod byok;
mod cache;
mod common;
mod compat;
mod completions;
mod credit;
mod dashboard;
mod explorer;
mod invoices;
mod isolation;
mod keys;
mod lifecycle;
mod limits;
mod mail;
mod manage;
mod messages;
mod nodes;
mod openai;
mod ops;
mod partner_domains;
mod partners;
mod payments;
mod pricing;
mod proxies;
mod requests;
mod residency;
mod routes;
mod semantic_cache;
mod service_accounts;
mod slow_clients;
mod sso;
mod streaming;
mod tenant_limits;
mod tenant_routes;
mod tidy;
mod traffic;
mod upstream_failures;
mod upstream_tls;
mod usage;
