//! Plain-Rust logic behind the pages: form validation and conversion into API requests,
//! formatting for display, the API explorer's request building, stream decoding and code
//! snippets, the dashboard's figures and chart geometry, partners' domain proofs, price lists
//! (`price_form`), limits: the form (`limit_form`), what they hold now (`limit_usage`) and the
//! budget alerts' webhook (`webhook_form`), and billing: the months offered
//! (`billing_period`) and how a statement reads (`bill_figures`). Nothing here touches the
//! browser, so it is tested with `cargo test`.

pub mod adjustment_form;
pub mod audit_filter;
pub mod bill_figures;
pub mod billing_period;
pub mod branding_form;
pub mod cache_form;
pub mod chart;
pub mod chat_form;
pub mod chat_reply;
pub mod credit_form;
pub mod domain_proof;
pub mod errors;
pub mod expiry;
pub mod format;
pub mod get_started;
pub mod invoice_figures;
pub mod key_form;
pub mod limit_form;
pub mod limit_usage;
pub mod lists;
pub mod partner_form;
pub mod price_form;
pub mod route_form;
pub mod route_split;
pub mod service_account_form;
pub mod snippets;
pub mod sse;
pub mod token_freshness;
pub mod usage_figures;
pub mod usage_window;
pub mod validate;
pub mod webhook_form;
