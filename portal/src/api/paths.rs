//! Every management API URL the portal calls, built in one place so pages never format URLs.

use uuid::Uuid;

/// The management API's root.
pub const API: &str = "/api/v1";

/// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `path?name=value&…` with the empty values left out.
pub fn with_query(path: &str, params: &[(&str, Option<&str>)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter_map(|(name, value)| {
            value
                .filter(|it| !it.is_empty())
                .map(|it| format!("{name}={}", encode(it)))
        })
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// A list page: the largest page size the API allows, from `cursor` on.
pub fn page(path: &str, cursor: Option<&str>) -> String {
    with_query(path, &[("limit", Some("200")), ("cursor", cursor)])
}

pub fn auth(action: &str) -> String {
    format!("{API}/auth/{action}")
}

pub fn branding() -> String {
    format!("{API}/branding")
}

pub fn me() -> String {
    format!("{API}/me")
}

pub fn tokens() -> String {
    format!("{API}/me/tokens")
}

pub fn token(id: Uuid) -> String {
    format!("{API}/me/tokens/{id}")
}

pub fn tenants() -> String {
    format!("{API}/tenants")
}

pub fn accept_invitation() -> String {
    format!("{API}/invitations/accept")
}

pub fn providers() -> String {
    format!("{API}/providers")
}

/// The identity providers for sign-in buttons.
pub fn sso_providers() -> String {
    format!("{API}/auth/sso")
}

/// Where an SSO button sends the browser: the provider's `start_url` (from the API, so never
/// built here) with the page to come back to.
pub fn sso_start(start_url: &str, return_to: &str) -> String {
    let separator = if start_url.contains('?') { '&' } else { '?' };
    format!("{start_url}{separator}return_to={}", encode(return_to))
}

pub fn partners() -> String {
    format!("{API}/partners")
}

pub fn partner(p: Uuid) -> String {
    format!("{API}/partners/{p}")
}

pub fn partner_branding(p: Uuid) -> String {
    format!("{API}/partners/{p}/branding")
}

pub fn partner_domains(p: Uuid) -> String {
    format!("{API}/partners/{p}/domains")
}

pub fn partner_domain(p: Uuid, host: &str) -> String {
    format!("{API}/partners/{p}/domains/{}", encode(host))
}

pub fn verify_partner_domain(p: Uuid, host: &str) -> String {
    format!("{API}/partners/{p}/domains/{}/verify", encode(host))
}

pub fn partner_admins(p: Uuid) -> String {
    format!("{API}/partners/{p}/admins")
}

pub fn partner_admin(p: Uuid, user: Uuid) -> String {
    format!("{API}/partners/{p}/admins/{user}")
}

pub fn partner_tenants(p: Uuid) -> String {
    format!("{API}/partners/{p}/tenants")
}

fn tenant(tenant: Uuid, rest: &str) -> String {
    format!("{API}/tenants/{tenant}/{rest}")
}

pub fn keys(t: Uuid) -> String {
    tenant(t, "keys")
}

pub fn key(t: Uuid, key: Uuid) -> String {
    tenant(t, &format!("keys/{key}"))
}

pub fn rotate_key(t: Uuid, key: Uuid) -> String {
    tenant(t, &format!("keys/{key}/rotate"))
}

pub fn members(t: Uuid) -> String {
    tenant(t, "members")
}

pub fn member(t: Uuid, user: Uuid) -> String {
    tenant(t, &format!("members/{user}"))
}

pub fn invitations(t: Uuid) -> String {
    tenant(t, "invitations")
}

pub fn invitation(t: Uuid, id: Uuid) -> String {
    tenant(t, &format!("invitations/{id}"))
}

pub fn models(t: Uuid) -> String {
    tenant(t, "models")
}

pub fn deployments() -> String {
    format!("{API}/deployments")
}

pub fn cache_settings(t: Uuid) -> String {
    tenant(t, "cache-settings")
}

pub fn residency(t: Uuid) -> String {
    tenant(t, "residency")
}

pub fn routes(t: Uuid) -> String {
    tenant(t, "routes")
}

/// An alias is letters, digits and `._:-` (checked before), so it needs no escaping.
pub fn route(t: Uuid, alias: &str) -> String {
    tenant(t, &format!("routes/{alias}"))
}

pub fn credentials(t: Uuid) -> String {
    tenant(t, "provider-credentials")
}

pub fn credential(t: Uuid, id: Uuid) -> String {
    tenant(t, &format!("provider-credentials/{id}"))
}

pub fn service_accounts(t: Uuid) -> String {
    tenant(t, "service-accounts")
}

pub fn service_account(t: Uuid, account: Uuid) -> String {
    tenant(t, &format!("service-accounts/{account}"))
}

pub fn rotate_service_account_secret(t: Uuid, account: Uuid) -> String {
    tenant(t, &format!("service-accounts/{account}/rotate-secret"))
}

/// What each model costs the tenant now (any member may read it).
pub fn tenant_price_list(t: Uuid) -> String {
    tenant(t, "price-list")
}

/// The tenant's negotiated prices (operators and its partner's administrators).
pub fn tenant_prices(t: Uuid) -> String {
    tenant(t, "prices")
}

pub fn tenant_markup(t: Uuid) -> String {
    tenant(t, "prices/markup")
}

/// A partner's rate card.
pub fn partner_prices(p: Uuid) -> String {
    format!("{API}/partners/{p}/prices")
}

pub fn partner_markup(p: Uuid) -> String {
    format!("{API}/partners/{p}/prices/markup")
}

/// The platform's two price lists (operators).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformPriceList {
    /// What providers charge the platform.
    Cost,
    /// What the platform charges.
    Platform,
}

pub fn platform_prices(list: PlatformPriceList) -> String {
    let name = match list {
        PlatformPriceList::Cost => "cost",
        PlatformPriceList::Platform => "platform",
    };
    format!("{API}/prices/{name}")
}

/// Only the platform's price list has a markup (over cost).
pub fn platform_markup() -> String {
    format!("{API}/prices/platform/markup")
}

/// Whose limit policy: the platform's for every tenant (operators), a partner's shared by its
/// sub-tenants, or a tenant's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    Platform,
    Partner(Uuid),
    Tenant(Uuid),
}

pub fn limits(scope: LimitScope) -> String {
    match scope {
        LimitScope::Platform => format!("{API}/platform/limits"),
        LimitScope::Partner(p) => format!("{API}/partners/{p}/limits"),
        LimitScope::Tenant(t) => tenant(t, "limits"),
    }
}

/// Every limit over one key's calls, and what each holds now.
pub fn key_limits(t: Uuid, key: Uuid) -> String {
    tenant(t, &format!("keys/{key}/limits"))
}

/// The budget alerts a tenant received.
pub fn tenant_alerts(t: Uuid) -> String {
    tenant(t, "alerts")
}

/// The alerts of a partner's shared budgets.
pub fn partner_alerts(p: Uuid) -> String {
    format!("{API}/partners/{p}/alerts")
}

/// Who budget alerts go to: a tenant (its own budgets') or a partner (its shared budgets').
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertRecipient {
    Tenant(Uuid),
    Partner(Uuid),
}

/// The webhook a recipient's budget alerts are sent to.
pub fn webhook(recipient: AlertRecipient) -> String {
    match recipient {
        AlertRecipient::Tenant(t) => tenant(t, "webhook"),
        AlertRecipient::Partner(p) => format!("{API}/partners/{p}/webhook"),
    }
}

/// Mints the API explorer's short-lived data-plane token.
pub fn explorer_token(t: Uuid) -> String {
    tenant(t, "explorer/token")
}

/// A usage summary's window and grouping, as the API takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageQuery {
    /// RFC 3339.
    pub from: String,
    /// RFC 3339.
    pub to: String,
    pub bucket_seconds: i64,
    /// `model` or `key`.
    pub group_by: &'static str,
}

pub fn usage_summary(t: Uuid, query: &UsageQuery) -> String {
    let bucket = query.bucket_seconds.to_string();
    with_query(
        &tenant(t, "usage/summary"),
        &[
            ("from", Some(&query.from)),
            ("to", Some(&query.to)),
            ("bucket_seconds", Some(&bucket)),
            ("group_by", Some(query.group_by)),
        ],
    )
}

/// The newest `limit` usage records (1 to 200).
pub fn usage_records(t: Uuid, limit: u32) -> String {
    with_query(
        &tenant(t, "usage/records"),
        &[("limit", Some(&limit.clamp(1, 200).to_string()))],
    )
}

/// The file a billing export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// A header line, then a line per call.
    Csv,
    /// The entries, then their totals.
    Json,
}

impl ExportFormat {
    /// The API's `format`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        }
    }
}

/// Whose bill: a tenant's, or a partner's with a part per sub-tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillingScope {
    Tenant(Uuid),
    Partner(Uuid),
}

fn billing(scope: BillingScope, rest: &str) -> String {
    match scope {
        BillingScope::Tenant(t) => tenant(t, &format!("billing/{rest}")),
        BillingScope::Partner(p) => format!("{API}/partners/{p}/billing/{rest}"),
    }
}

/// What the platform bills a partner for its sub-tenants.
pub fn partner_invoices(p: Uuid) -> String {
    billing(BillingScope::Partner(p), "invoices")
}

/// The bill of `[from, to)` (RFC 3339, whole minutes).
pub fn statement(scope: BillingScope, from: &str, to: &str) -> String {
    with_query(
        &billing(scope, "statement"),
        &[("from", Some(from)), ("to", Some(to))],
    )
}

/// The ledger entries of `[from, to)` as a file to download.
pub fn export(scope: BillingScope, from: &str, to: &str, format: ExportFormat) -> String {
    with_query(
        &billing(scope, "export"),
        &[
            ("from", Some(from)),
            ("to", Some(to)),
            ("format", Some(format.as_str())),
        ],
    )
}

/// The bill of `[from, to)` as a printable page.
pub fn printable_statement(scope: BillingScope, from: &str, to: &str) -> String {
    with_query(
        &billing(scope, "statement.html"),
        &[("from", Some(from)), ("to", Some(to))],
    )
}

/// A tenant's bill's corrections (add).
pub fn adjustments(t: Uuid) -> String {
    tenant(t, "billing/adjustments")
}

/// A tenant's prepaid credit (read, set); `top-ups` to add to it.
pub fn credit(t: Uuid, rest: &str) -> String {
    if rest.is_empty() {
        tenant(t, "billing/credit")
    } else {
        tenant(t, &format!("billing/credit/{rest}"))
    }
}

/// A tenant's invoices (list, draft).
pub fn invoices(t: Uuid) -> String {
    tenant(t, "billing/invoices")
}

/// One invoice; `action` is `finalize`, `void`, `invoice.html` or empty.
pub fn invoice(t: Uuid, invoice: Uuid, action: &str) -> String {
    let base = tenant(t, &format!("billing/invoices/{invoice}"));
    if action.is_empty() {
        base
    } else {
        format!("{base}/{action}")
    }
}

/// The data plane's model list (OpenAI's `GET /v1/models`), on this origin.
pub const DATA_PLANE_MODELS: &str = "/v1/models";
/// The data plane's chat endpoint, on this origin.
pub const DATA_PLANE_CHAT: &str = "/v1/chat/completions";

/// The audit log's filters, as the API takes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Actions starting with this (`key.`).
    pub action: Option<String>,
    /// A user id.
    pub actor: Option<String>,
    /// RFC 3339.
    pub since: Option<String>,
    /// RFC 3339.
    pub until: Option<String>,
    pub cursor: Option<String>,
    pub limit: u32,
}

pub fn audit_events(t: Uuid, query: &AuditQuery) -> String {
    let limit = query.limit.clamp(1, 200).to_string();
    with_query(
        &tenant(t, "audit-events"),
        &[
            ("limit", Some(&limit)),
            ("action", query.action.as_deref()),
            ("actor", query.actor.as_deref()),
            ("since", query.since.as_deref()),
            ("until", query.until.as_deref()),
            ("cursor", query.cursor.as_deref()),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded_and_empty_ones_dropped() {
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(
            with_query("/x", &[("a", Some("1")), ("b", None), ("c", Some(""))]),
            "/x?a=1"
        );
        assert_eq!(with_query("/x", &[("b", None)]), "/x");
    }

    #[test]
    fn audit_filters_become_the_apis_query() {
        let t = Uuid::nil();
        let query = AuditQuery {
            action: Some("key.".into()),
            since: Some("2026-01-01T00:00:00Z".into()),
            cursor: Some("42".into()),
            limit: 500,
            ..AuditQuery::default()
        };
        assert_eq!(
            audit_events(t, &query),
            format!(
                "/api/v1/tenants/{t}/audit-events?limit=200&action=key.&since=2026-01-01T00%3A00%3A00Z&cursor=42"
            )
        );
    }

    #[test]
    fn sso_buttons_come_back_to_the_page_that_asked() {
        assert_eq!(
            sso_start("/api/v1/auth/sso/okta/start", "/keys?x=1"),
            "/api/v1/auth/sso/okta/start?return_to=%2Fkeys%3Fx%3D1"
        );
        assert_eq!(
            sso_start("/start?tenant=a", "/"),
            "/start?tenant=a&return_to=%2F"
        );
    }

    #[test]
    fn partner_and_service_account_paths() {
        let id = Uuid::nil();
        assert_eq!(
            partner_domain(id, "ai.acme.example"),
            format!("/api/v1/partners/{id}/domains/ai.acme.example")
        );
        assert_eq!(
            verify_partner_domain(id, "ai.acme.example"),
            format!("/api/v1/partners/{id}/domains/ai.acme.example/verify")
        );
        assert_eq!(
            rotate_service_account_secret(id, id),
            format!("/api/v1/tenants/{id}/service-accounts/{id}/rotate-secret")
        );
    }

    #[test]
    fn usage_queries_carry_the_window() {
        let t = Uuid::nil();
        let query = UsageQuery {
            from: "2026-11-24T14:15:00Z".into(),
            to: "2026-11-25T14:15:00Z".into(),
            bucket_seconds: 900,
            group_by: "key",
        };
        assert_eq!(
            usage_summary(t, &query),
            format!(
                "/api/v1/tenants/{t}/usage/summary?from=2026-11-24T14%3A15%3A00Z&to=2026-11-25T14%3A15%3A00Z&bucket_seconds=900&group_by=key"
            )
        );
        assert_eq!(
            usage_records(t, 500),
            format!("/api/v1/tenants/{t}/usage/records?limit=200")
        );
        assert_eq!(
            explorer_token(t),
            format!("/api/v1/tenants/{t}/explorer/token")
        );
    }

    #[test]
    fn price_list_paths() {
        let id = Uuid::nil();
        assert_eq!(
            tenant_price_list(id),
            format!("/api/v1/tenants/{id}/price-list")
        );
        assert_eq!(
            tenant_markup(id),
            format!("/api/v1/tenants/{id}/prices/markup")
        );
        assert_eq!(partner_prices(id), format!("/api/v1/partners/{id}/prices"));
        assert_eq!(
            partner_markup(id),
            format!("/api/v1/partners/{id}/prices/markup")
        );
        assert_eq!(
            platform_prices(PlatformPriceList::Cost),
            "/api/v1/prices/cost"
        );
        assert_eq!(
            platform_prices(PlatformPriceList::Platform),
            "/api/v1/prices/platform"
        );
        assert_eq!(platform_markup(), "/api/v1/prices/platform/markup");
    }

    #[test]
    fn limit_paths() {
        let id = Uuid::nil();
        assert_eq!(limits(LimitScope::Platform), "/api/v1/platform/limits");
        assert_eq!(
            limits(LimitScope::Partner(id)),
            format!("/api/v1/partners/{id}/limits")
        );
        assert_eq!(
            limits(LimitScope::Tenant(id)),
            format!("/api/v1/tenants/{id}/limits")
        );
        assert_eq!(
            key_limits(id, id),
            format!("/api/v1/tenants/{id}/keys/{id}/limits")
        );
        assert_eq!(tenant_alerts(id), format!("/api/v1/tenants/{id}/alerts"));
        assert_eq!(partner_alerts(id), format!("/api/v1/partners/{id}/alerts"));
        assert_eq!(
            webhook(AlertRecipient::Tenant(id)),
            format!("/api/v1/tenants/{id}/webhook")
        );
        assert_eq!(
            webhook(AlertRecipient::Partner(id)),
            format!("/api/v1/partners/{id}/webhook")
        );
    }

    #[test]
    fn invoice_paths_name_the_tenant_and_the_invoice() {
        let (t, i) = (Uuid::nil(), Uuid::max());
        assert_eq!(invoices(t), format!("/api/v1/tenants/{t}/billing/invoices"));
        assert_eq!(
            invoice(t, i, ""),
            format!("/api/v1/tenants/{t}/billing/invoices/{i}")
        );
        assert_eq!(
            invoice(t, i, "finalize"),
            format!("/api/v1/tenants/{t}/billing/invoices/{i}/finalize")
        );
    }

    #[test]
    fn billing_paths_carry_the_period_and_the_format() {
        let id = Uuid::nil();
        let (from, to) = ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z");
        let period = "from=2026-11-01T00%3A00%3A00Z&to=2026-12-01T00%3A00%3A00Z";
        assert_eq!(
            statement(BillingScope::Tenant(id), from, to),
            format!("/api/v1/tenants/{id}/billing/statement?{period}")
        );
        assert_eq!(
            statement(BillingScope::Partner(id), from, to),
            format!("/api/v1/partners/{id}/billing/statement?{period}")
        );
        assert_eq!(
            export(BillingScope::Tenant(id), from, to, ExportFormat::Csv),
            format!("/api/v1/tenants/{id}/billing/export?{period}&format=csv")
        );
        assert_eq!(
            export(BillingScope::Partner(id), from, to, ExportFormat::Json),
            format!("/api/v1/partners/{id}/billing/export?{period}&format=json")
        );
        assert_eq!(
            printable_statement(BillingScope::Tenant(id), from, to),
            format!("/api/v1/tenants/{id}/billing/statement.html?{period}")
        );
    }

    #[test]
    fn lists_ask_for_the_largest_page() {
        let t = Uuid::nil();
        assert_eq!(
            page(&keys(t), Some("abc")),
            format!("/api/v1/tenants/{t}/keys?limit=200&cursor=abc")
        );
    }
}
