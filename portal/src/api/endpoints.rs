//! One function per management API endpoint the portal uses, typed with `api_types::manage`
//! (and `api_types::prices` for the price lists, `api_types::limits` for limits and alerts,
//! `api_types::billing` for statements). Exports are downloaded by the browser itself, so for
//! them this gives the link's URL rather than a call.

use api_types::billing::{
    AddAdjustmentRequest, AddTopUpRequest, AdjustmentView, CreditCheckoutRequest,
    CreditCheckoutView, CreditSettingsRequest, CreditView, DraftInvoiceRequest, InvoiceListView,
    InvoiceView, PartnerInvoiceListView, StatementView, TopUpResult, VoidInvoiceRequest,
};
use api_types::limits::{
    BudgetAlertList, BudgetAlertView, EffectiveLimitsView, LimitPolicyView, LimitsView,
    WebhookRequest, WebhookView,
};
use api_types::manage::{
    AcceptedInvitation, AddDomainRequest, AuditEventView, BrandingView, ByokProviderView,
    CacheSettings, CreateInvitationRequest, CreateKeyRequest, CreatePartnerRequest,
    CreateProviderCredentialRequest, CreateServiceAccountRequest, CreateTenantRequest,
    CreateTokenRequest, CreatedInvitation, CreatedKey, CreatedToken, EmailRequest,
    ExplorerTokenView, HostBranding, InvitationView, KeyView, LoginRequest, LoginResponse,
    MeResponse, MemberView, ModelRouteView, Page, PartnerAdminView, PartnerDomainView, PartnerView,
    PasswordResetRequest, ProviderCredentialView, ResidencyRequest, ResidencyView, RoleName,
    RotateKeyRequest, RouteRequest, RouteView, ServiceAccountCredentials, ServiceAccountView,
    SignupRequest, SsoProviderView, TenantView, TokenRequest, TokenView, UpdateKeyRequest,
    UpdateMemberRequest, UsageRecordView, UsageSummaryView, UserView,
};
use api_types::prices::{
    MarkupView, NewMarkupRequest, NewPriceRequest, PriceEntryView, PriceListView,
    TenantPriceListView,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::ApiError;
use super::client::{delete, get, patch, patch_quiet, post, post_empty, post_quiet, put};
use super::paths::{
    self, AlertRecipient, AuditQuery, BillingScope, ExportFormat, LimitScope, PlatformPriceList,
    UsageQuery,
};

pub(crate) use super::client::may_have_session;

/// Follows `next_cursor` to the end (lists here are short: a tenant's keys, members…).
async fn all<T: DeserializeOwned>(path: &str) -> Result<Vec<T>, ApiError> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let page: Page<T> = get(&paths::page(path, cursor.as_deref())).await?;
        items.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(items)
}

/// The requesting host's branding (public: the sign-in pages need it too).
pub async fn branding() -> Result<HostBranding, ApiError> {
    get(&paths::branding()).await
}

/// The identity providers people can sign in with (public).
pub async fn sso_providers() -> Result<Vec<SsoProviderView>, ApiError> {
    get(&paths::sso_providers()).await
}

pub async fn signup(body: &SignupRequest) -> Result<UserView, ApiError> {
    post(&paths::auth("signup"), body).await
}

pub async fn verify_email(token: &str) -> Result<UserView, ApiError> {
    let body = TokenRequest {
        token: token.to_owned(),
    };
    post(&paths::auth("verify-email"), &body).await
}

pub async fn resend_verification(email: &str) -> Result<(), ApiError> {
    let body = EmailRequest {
        email: email.to_owned(),
    };
    post_quiet(&paths::auth("resend-verification"), Some(&body)).await
}

pub async fn login(body: &LoginRequest) -> Result<LoginResponse, ApiError> {
    post(&paths::auth("login"), body).await
}

pub async fn logout() -> Result<(), ApiError> {
    post_quiet::<()>(&paths::auth("logout"), None).await
}

pub async fn request_password_reset(email: &str) -> Result<(), ApiError> {
    let body = EmailRequest {
        email: email.to_owned(),
    };
    post_quiet(&paths::auth("password-reset"), Some(&body)).await
}

pub async fn confirm_password_reset(body: &PasswordResetRequest) -> Result<(), ApiError> {
    post_quiet(&paths::auth("password-reset/confirm"), Some(body)).await
}

pub async fn me() -> Result<MeResponse, ApiError> {
    get(&paths::me()).await
}

pub async fn tokens() -> Result<Vec<TokenView>, ApiError> {
    all(&paths::tokens()).await
}

pub async fn create_token(body: &CreateTokenRequest) -> Result<CreatedToken, ApiError> {
    post(&paths::tokens(), body).await
}

pub async fn revoke_token(id: Uuid) -> Result<(), ApiError> {
    delete(&paths::token(id)).await
}

pub async fn create_tenant(name: &str) -> Result<TenantView, ApiError> {
    let body = CreateTenantRequest {
        name: name.to_owned(),
    };
    post(&paths::tenants(), &body).await
}

pub async fn members(tenant: Uuid) -> Result<Vec<MemberView>, ApiError> {
    all(&paths::members(tenant)).await
}

pub async fn set_member_role(tenant: Uuid, user: Uuid, role: RoleName) -> Result<(), ApiError> {
    patch_quiet(&paths::member(tenant, user), &UpdateMemberRequest { role }).await
}

pub async fn remove_member(tenant: Uuid, user: Uuid) -> Result<(), ApiError> {
    delete(&paths::member(tenant, user)).await
}

pub async fn invitations(tenant: Uuid) -> Result<Vec<InvitationView>, ApiError> {
    all(&paths::invitations(tenant)).await
}

pub async fn invite(
    tenant: Uuid,
    body: &CreateInvitationRequest,
) -> Result<CreatedInvitation, ApiError> {
    post(&paths::invitations(tenant), body).await
}

pub async fn revoke_invitation(tenant: Uuid, id: Uuid) -> Result<(), ApiError> {
    delete(&paths::invitation(tenant, id)).await
}

pub async fn accept_invitation(token: &str) -> Result<AcceptedInvitation, ApiError> {
    let body = TokenRequest {
        token: token.to_owned(),
    };
    post(&paths::accept_invitation(), &body).await
}

pub async fn audit_events(
    tenant: Uuid,
    query: &AuditQuery,
) -> Result<Page<AuditEventView>, ApiError> {
    get(&paths::audit_events(tenant, query)).await
}

pub async fn providers() -> Result<Vec<ByokProviderView>, ApiError> {
    get(&paths::providers()).await
}

pub async fn models(tenant: Uuid) -> Result<Vec<ModelRouteView>, ApiError> {
    get(&paths::models(tenant)).await
}

/// Every platform model with its deployments' health (platform operators).
pub async fn deployments() -> Result<Vec<ModelRouteView>, ApiError> {
    get(&paths::deployments()).await
}

pub async fn cache_settings(tenant: Uuid) -> Result<CacheSettings, ApiError> {
    get(&paths::cache_settings(tenant)).await
}

pub async fn set_cache_settings(
    tenant: Uuid,
    semantic_threshold: Option<f64>,
) -> Result<CacheSettings, ApiError> {
    put(
        &paths::cache_settings(tenant),
        &CacheSettings { semantic_threshold },
    )
    .await
}

pub async fn residency(tenant: Uuid) -> Result<ResidencyView, ApiError> {
    get(&paths::residency(tenant)).await
}

pub async fn set_residency(tenant: Uuid, regions: Vec<String>) -> Result<ResidencyView, ApiError> {
    put(&paths::residency(tenant), &ResidencyRequest { regions }).await
}

pub async fn routes(tenant: Uuid) -> Result<Vec<RouteView>, ApiError> {
    get(&paths::routes(tenant)).await
}

pub async fn put_route(
    tenant: Uuid,
    alias: &str,
    body: &RouteRequest,
) -> Result<RouteView, ApiError> {
    put(&paths::route(tenant, alias), body).await
}

pub async fn delete_route(tenant: Uuid, alias: &str) -> Result<(), ApiError> {
    delete(&paths::route(tenant, alias)).await
}

pub async fn credentials(tenant: Uuid) -> Result<Vec<ProviderCredentialView>, ApiError> {
    all(&paths::credentials(tenant)).await
}

pub async fn create_credential(
    tenant: Uuid,
    body: &CreateProviderCredentialRequest,
) -> Result<ProviderCredentialView, ApiError> {
    post(&paths::credentials(tenant), body).await
}

pub async fn delete_credential(tenant: Uuid, id: Uuid) -> Result<(), ApiError> {
    delete(&paths::credential(tenant, id)).await
}

pub async fn keys(tenant: Uuid) -> Result<Vec<KeyView>, ApiError> {
    all(&paths::keys(tenant)).await
}

pub async fn create_key(tenant: Uuid, body: &CreateKeyRequest) -> Result<CreatedKey, ApiError> {
    post(&paths::keys(tenant), body).await
}

/// Changes only the fields `body` sets; the key as it now is.
pub async fn update_key(
    tenant: Uuid,
    key: Uuid,
    body: &UpdateKeyRequest,
) -> Result<KeyView, ApiError> {
    patch(&paths::key(tenant, key), body).await
}

pub async fn revoke_key(tenant: Uuid, key: Uuid) -> Result<(), ApiError> {
    delete(&paths::key(tenant, key)).await
}

pub async fn rotate_key(
    tenant: Uuid,
    key: Uuid,
    grace_period_seconds: u64,
) -> Result<CreatedKey, ApiError> {
    let body = RotateKeyRequest {
        grace_period_seconds,
    };
    post(&paths::rotate_key(tenant, key), &body).await
}

pub async fn service_accounts(tenant: Uuid) -> Result<Vec<ServiceAccountView>, ApiError> {
    all(&paths::service_accounts(tenant)).await
}

pub async fn create_service_account(
    tenant: Uuid,
    body: &CreateServiceAccountRequest,
) -> Result<ServiceAccountCredentials, ApiError> {
    post(&paths::service_accounts(tenant), body).await
}

pub async fn rotate_service_account_secret(
    tenant: Uuid,
    account: Uuid,
) -> Result<ServiceAccountCredentials, ApiError> {
    post_empty(&paths::rotate_service_account_secret(tenant, account)).await
}

pub async fn revoke_service_account(tenant: Uuid, account: Uuid) -> Result<(), ApiError> {
    delete(&paths::service_account(tenant, account)).await
}

/// Every tenant for operators; the caller's own otherwise.
pub async fn tenants() -> Result<Vec<TenantView>, ApiError> {
    all(&paths::tenants()).await
}

/// The partners the caller administers (every partner, for operators).
pub async fn partners() -> Result<Vec<PartnerView>, ApiError> {
    all(&paths::partners()).await
}

pub async fn create_partner(body: &CreatePartnerRequest) -> Result<PartnerView, ApiError> {
    post(&paths::partners(), body).await
}

pub async fn partner(id: Uuid) -> Result<PartnerView, ApiError> {
    get(&paths::partner(id)).await
}

pub async fn update_branding(id: Uuid, body: &BrandingView) -> Result<PartnerView, ApiError> {
    put(&paths::partner_branding(id), body).await
}

pub async fn add_partner_domain(id: Uuid, host: &str) -> Result<PartnerView, ApiError> {
    let body = AddDomainRequest {
        host: host.to_owned(),
    };
    post(&paths::partner_domains(id), &body).await
}

/// Asks the server to check the domain's TXT record now.
pub async fn verify_partner_domain(id: Uuid, host: &str) -> Result<PartnerDomainView, ApiError> {
    post_empty(&paths::verify_partner_domain(id, host)).await
}

pub async fn remove_partner_domain(id: Uuid, host: &str) -> Result<(), ApiError> {
    delete(&paths::partner_domain(id, host)).await
}

pub async fn partner_admins(id: Uuid) -> Result<Vec<PartnerAdminView>, ApiError> {
    all(&paths::partner_admins(id)).await
}

pub async fn add_partner_admin(id: Uuid, email: &str) -> Result<PartnerAdminView, ApiError> {
    let body = EmailRequest {
        email: email.to_owned(),
    };
    post(&paths::partner_admins(id), &body).await
}

pub async fn remove_partner_admin(id: Uuid, user: Uuid) -> Result<(), ApiError> {
    delete(&paths::partner_admin(id, user)).await
}

pub async fn partner_tenants(id: Uuid) -> Result<Vec<TenantView>, ApiError> {
    all(&paths::partner_tenants(id)).await
}

pub async fn create_partner_tenant(id: Uuid, name: &str) -> Result<TenantView, ApiError> {
    let body = CreateTenantRequest {
        name: name.to_owned(),
    };
    post(&paths::partner_tenants(id), &body).await
}

/// What each model's deployments cost the tenant now, per million tokens (any member).
pub async fn tenant_price_list(tenant: Uuid) -> Result<TenantPriceListView, ApiError> {
    get(&paths::tenant_price_list(tenant)).await
}

/// The tenant's negotiated prices (operators and its partner's administrators).
pub async fn tenant_prices(tenant: Uuid) -> Result<PriceListView, ApiError> {
    get(&paths::tenant_prices(tenant)).await
}

pub async fn add_tenant_price(
    tenant: Uuid,
    body: &NewPriceRequest,
) -> Result<PriceEntryView, ApiError> {
    post(&paths::tenant_prices(tenant), body).await
}

/// The tenant's discount (negative) or markup over what it would pay otherwise.
pub async fn set_tenant_markup(
    tenant: Uuid,
    body: &NewMarkupRequest,
) -> Result<MarkupView, ApiError> {
    post(&paths::tenant_markup(tenant), body).await
}

/// A partner's rate card: its markups and its own entries, every version, newest first.
pub async fn partner_prices(partner: Uuid) -> Result<PriceListView, ApiError> {
    get(&paths::partner_prices(partner)).await
}

pub async fn add_partner_price(
    partner: Uuid,
    body: &NewPriceRequest,
) -> Result<PriceEntryView, ApiError> {
    post(&paths::partner_prices(partner), body).await
}

/// The partner's markup over the platform's prices, for models its rate card does not list.
pub async fn set_partner_markup(
    partner: Uuid,
    body: &NewMarkupRequest,
) -> Result<MarkupView, ApiError> {
    post(&paths::partner_markup(partner), body).await
}

/// The platform's cost or price list (operators).
pub async fn platform_prices(list: PlatformPriceList) -> Result<PriceListView, ApiError> {
    get(&paths::platform_prices(list)).await
}

pub async fn add_platform_price(
    list: PlatformPriceList,
    body: &NewPriceRequest,
) -> Result<PriceEntryView, ApiError> {
    post(&paths::platform_prices(list), body).await
}

/// The platform's markup over cost (operators).
pub async fn set_platform_markup(body: &NewMarkupRequest) -> Result<MarkupView, ApiError> {
    post(&paths::platform_markup(), body).await
}

/// A scope's limit policy, whether the caller may change it, and (for a tenant) what every
/// limit over its calls holds now.
pub async fn limits(scope: LimitScope) -> Result<LimitsView, ApiError> {
    get(&paths::limits(scope)).await
}

/// Replaces a scope's limit policy; the answer is as [`limits`]'s, after the change.
pub async fn set_limits(scope: LimitScope, body: &LimitPolicyView) -> Result<LimitsView, ApiError> {
    put(&paths::limits(scope), body).await
}

/// Removes every limit the scope sets.
pub async fn remove_limits(scope: LimitScope) -> Result<(), ApiError> {
    delete(&paths::limits(scope)).await
}

/// Every limit over one key's calls (the plan's, the partner's, the tenant's, the key's own).
pub async fn key_limits(tenant: Uuid, key: Uuid) -> Result<EffectiveLimitsView, ApiError> {
    get(&paths::key_limits(tenant, key)).await
}

/// The budget alerts the tenant received, newest first.
pub async fn tenant_alerts(tenant: Uuid) -> Result<Vec<BudgetAlertView>, ApiError> {
    get::<BudgetAlertList>(&paths::tenant_alerts(tenant))
        .await
        .map(|it| it.alerts)
}

/// The alerts of the partner's shared budgets, newest first.
pub async fn partner_alerts(partner: Uuid) -> Result<Vec<BudgetAlertView>, ApiError> {
    get::<BudgetAlertList>(&paths::partner_alerts(partner))
        .await
        .map(|it| it.alerts)
}

/// The webhook the recipient's budget alerts are sent to (never with its secret), or `None`
/// when there is none (the API answers 404).
pub async fn webhook(recipient: AlertRecipient) -> Result<Option<WebhookView>, ApiError> {
    match get(&paths::webhook(recipient)).await {
        Ok(view) => Ok(Some(view)),
        Err(e) if e.status == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sets (or changes) the webhook; the answer carries the signing secret only when the webhook
/// is new or `rotate_secret` was asked.
pub async fn set_webhook(
    recipient: AlertRecipient,
    body: &WebhookRequest,
) -> Result<WebhookView, ApiError> {
    put(&paths::webhook(recipient), body).await
}

/// Stops sending the recipient's alerts anywhere (they are still listed).
pub async fn remove_webhook(recipient: AlertRecipient) -> Result<(), ApiError> {
    delete(&paths::webhook(recipient)).await
}

/// A short-lived data-plane token for the API explorer (only `api::data_plane` asks).
pub(crate) async fn explorer_token(tenant: Uuid) -> Result<ExplorerTokenView, ApiError> {
    post_empty(&paths::explorer_token(tenant)).await
}

pub async fn usage_summary(tenant: Uuid, query: &UsageQuery) -> Result<UsageSummaryView, ApiError> {
    get(&paths::usage_summary(tenant, query)).await
}

/// The tenant's newest requests, newest first.
pub async fn usage_records(tenant: Uuid, limit: u32) -> Result<Vec<UsageRecordView>, ApiError> {
    get(&paths::usage_records(tenant, limit)).await
}

/// The tenant's bill of `[from, to)` (RFC 3339, whole minutes): its calls per model with what
/// they were charged. Owners, admins and finance (others get 403).
pub async fn tenant_statement(
    tenant: Uuid,
    from: &str,
    to: &str,
) -> Result<StatementView, ApiError> {
    get(&paths::statement(BillingScope::Tenant(tenant), from, to)).await
}

/// The partner's statement of `[from, to)`: a part per sub-tenant, with the wholesale price and
/// the margin set.
pub async fn partner_statement(
    partner: Uuid,
    from: &str,
    to: &str,
) -> Result<StatementView, ApiError> {
    get(&paths::statement(BillingScope::Partner(partner), from, to)).await
}

/// Where the tenant's ledger entries of `[from, to)` download from: a link's `href`, since the
/// answer is an attachment the browser saves (a GET, so the session cookie is enough).
pub fn tenant_export_url(tenant: Uuid, from: &str, to: &str, format: ExportFormat) -> String {
    paths::export(BillingScope::Tenant(tenant), from, to, format)
}

/// Where the tenant's bill of `[from, to)` opens as a printable page.
pub fn tenant_printable_url(tenant: Uuid, from: &str, to: &str) -> String {
    paths::printable_statement(BillingScope::Tenant(tenant), from, to)
}

/// Adds a credit or an adjustment to the tenant's bill.
pub async fn add_adjustment(
    tenant: Uuid,
    body: &AddAdjustmentRequest,
) -> Result<AdjustmentView, ApiError> {
    post(&paths::adjustments(tenant), body).await
}

/// The tenant's prepaid credit.
pub async fn credit(tenant: Uuid) -> Result<CreditView, ApiError> {
    get(&paths::credit(tenant, "")).await
}

/// Puts the tenant on prepaid credit, saying whether calls stop at zero.
pub async fn set_credit(tenant: Uuid, stop_at_zero: bool) -> Result<CreditView, ApiError> {
    put(
        &paths::credit(tenant, ""),
        &CreditSettingsRequest { stop_at_zero },
    )
    .await
}

pub async fn add_top_up(tenant: Uuid, body: &AddTopUpRequest) -> Result<TopUpResult, ApiError> {
    post(&paths::credit(tenant, "top-ups"), body).await
}

/// Opens Stripe's checkout page for buying prepaid credit.
pub async fn credit_checkout(
    tenant: Uuid,
    body: &CreditCheckoutRequest,
) -> Result<CreditCheckoutView, ApiError> {
    post(&paths::credit(tenant, "checkout"), body).await
}

/// The tenant's invoices, latest period first.
pub async fn invoices(tenant: Uuid) -> Result<InvoiceListView, ApiError> {
    get(&paths::invoices(tenant)).await
}

/// What the platform bills the partner for its sub-tenants, latest period first.
pub async fn partner_invoices(partner: Uuid) -> Result<PartnerInvoiceListView, ApiError> {
    get(&paths::partner_invoices(partner)).await
}

/// One invoice with what it bills.
pub async fn invoice(tenant: Uuid, invoice: Uuid) -> Result<InvoiceView, ApiError> {
    get(&paths::invoice(tenant, invoice, "")).await
}

/// Drafts the invoice of the last calendar month.
pub async fn draft_invoice(tenant: Uuid) -> Result<InvoiceView, ApiError> {
    post(&paths::invoices(tenant), &DraftInvoiceRequest::default()).await
}

pub async fn finalize_invoice(tenant: Uuid, invoice: Uuid) -> Result<InvoiceView, ApiError> {
    post_empty(&paths::invoice(tenant, invoice, "finalize")).await
}

pub async fn void_invoice(
    tenant: Uuid,
    invoice: Uuid,
    reason: String,
) -> Result<InvoiceView, ApiError> {
    post(
        &paths::invoice(tenant, invoice, "void"),
        &VoidInvoiceRequest { reason },
    )
    .await
}

/// Where an invoice opens as a printable page.
pub fn invoice_printable_url(tenant: Uuid, invoice: Uuid) -> String {
    paths::invoice(tenant, invoice, "invoice.html")
}

/// Where a partner's statement of `[from, to)` opens as a printable page.
pub fn partner_printable_url(partner: Uuid, from: &str, to: &str) -> String {
    paths::printable_statement(BillingScope::Partner(partner), from, to)
}

/// Where every sub-tenant's ledger entries of `[from, to)` download from.
pub fn partner_export_url(partner: Uuid, from: &str, to: &str, format: ExportFormat) -> String {
    paths::export(BillingScope::Partner(partner), from, to, format)
}
