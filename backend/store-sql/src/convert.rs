//! Row → domain conversions, written once over both engines' row types.

use domain::ledger::{Adjustment, AdjustmentKind};
use domain::limits::{
    AlertRecipient, Delivery, PolicyScope, ScopedPolicy, StoredAlert, WebhookEndpoint,
};
use domain::pricing::{MarkupEntry, Money, PriceEntry, PriceScope, PriceSource, Rates};
use domain::rollup::{Grain, LATENCY_BUCKETS, Rollup, RollupFigures};
use domain::{ApiKey, KeyHash, Tenant, TenantStatus, UsageAttempt, UsageRecord, UsageStatus};
use sqlx::Row;
use store::Error;
use time::OffsetDateTime;

use crate::map_err;

/// Typed column access with storage errors, for both engines' rows.
pub trait SqlRow: Row {
    /// # Errors
    /// A missing column or a value of another type.
    fn text(&self, column: &str) -> Result<String, Error>;
    /// # Errors
    /// As for `text`.
    fn opt_text(&self, column: &str) -> Result<Option<String>, Error>;
    /// # Errors
    /// As for `text`.
    fn int(&self, column: &str) -> Result<i64, Error>;
    /// # Errors
    /// As for `text`.
    fn opt_int(&self, column: &str) -> Result<Option<i64>, Error>;
    /// # Errors
    /// As for `text`.
    fn flag(&self, column: &str) -> Result<bool, Error>;
}

macro_rules! impl_sql_row {
    ($row:ty) => {
        impl SqlRow for $row {
            fn text(&self, column: &str) -> Result<String, Error> {
                self.try_get(column).map_err(map_err)
            }
            fn opt_text(&self, column: &str) -> Result<Option<String>, Error> {
                self.try_get(column).map_err(map_err)
            }
            fn int(&self, column: &str) -> Result<i64, Error> {
                self.try_get(column).map_err(map_err)
            }
            fn opt_int(&self, column: &str) -> Result<Option<i64>, Error> {
                self.try_get(column).map_err(map_err)
            }
            fn flag(&self, column: &str) -> Result<bool, Error> {
                self.try_get(column).map_err(map_err)
            }
        }
    };
}

impl_sql_row!(sqlx::sqlite::SqliteRow);
impl_sql_row!(sqlx::postgres::PgRow);

fn corrupt(what: &str) -> Error {
    Error::Other(format!("corrupt row: {what}").into())
}

/// Microseconds since the Unix epoch: the stored form of every time.
pub fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// # Errors
/// A value out of `OffsetDateTime`'s range.
pub fn from_micros(value: i64) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(value) * 1000)
        .map_err(|_| corrupt("timestamp out of range"))
}

/// Counts are unsigned in the domain, `bigint` in the database.
pub fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn parsed<T: std::str::FromStr>(row: &impl SqlRow, column: &str) -> Result<T, Error> {
    row.text(column)?.parse().map_err(|_| corrupt(column))
}

fn count(row: &impl SqlRow, column: &str) -> Result<u64, Error> {
    u64::try_from(row.int(column)?).map_err(|_| corrupt(column))
}

fn time_at(row: &impl SqlRow, column: &str) -> Result<OffsetDateTime, Error> {
    from_micros(row.int(column)?)
}

fn opt_time_at(row: &impl SqlRow, column: &str) -> Result<Option<OffsetDateTime>, Error> {
    row.opt_int(column)?.map(from_micros).transpose()
}

/// # Errors
/// Missing columns or corrupt values.
pub fn tenant_from_row(row: &impl SqlRow) -> Result<Tenant, Error> {
    Ok(Tenant {
        id: parsed(row, "id")?,
        name: row.text("name")?,
        status: TenantStatus::from_stored(&row.text("status")?),
        partner_id: opt_parsed(row, "partner_id")?,
        created_at: time_at(row, "created_at")?,
    })
}

/// # Errors
/// Missing columns or corrupt values.
pub fn key_from_row(row: &impl SqlRow) -> Result<ApiKey, Error> {
    Ok(ApiKey {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        name: row.opt_text("name")?,
        display_prefix: row.text("display_prefix")?,
        last_four: row.text("last_four")?,
        hash: KeyHash::from_hex(&row.text("key_hash")?).ok_or_else(|| corrupt("key_hash"))?,
        allowed_models: json(row, "allowed_models")?,
        scopes: domain::KeyScopes {
            endpoints: json(row, "allowed_endpoints")?,
            ip_allowlist: json(row, "ip_allowlist")?,
            limits: json(row, "limits")?,
            regions: crate::regions_column(row.opt_text("regions")?.as_deref())?,
        },
        created_by: opt_parsed(row, "created_by")?,
        rotated_from: opt_parsed(row, "rotated_from")?,
        created_at: time_at(row, "created_at")?,
        expires_at: opt_time_at(row, "expires_at")?,
        revoked_at: opt_time_at(row, "revoked_at")?,
    })
}

/// The stored form of a record's failed tries: a compact JSON array, or `NULL` for none (the
/// common case, which then costs no allocation and no bytes).
///
/// # Errors
/// When the tries cannot be written as JSON (they always can: strings and numbers only).
pub fn attempts_column(attempts: &[UsageAttempt]) -> Result<Option<String>, Error> {
    if attempts.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(attempts)
        .map(Some)
        .map_err(|e| Error::Other(Box::new(e)))
}

/// # Errors
/// Missing columns or corrupt values.
pub fn usage_from_row(row: &impl SqlRow) -> Result<UsageRecord, Error> {
    Ok(UsageRecord {
        id: parsed(row, "id")?,
        request_id: parsed(row, "request_id")?,
        tenant_id: parsed(row, "tenant_id")?,
        key_id: parsed(row, "key_id")?,
        endpoint: row.text("endpoint")?,
        model_alias: row.text("model_alias")?,
        provider: row.text("provider")?,
        upstream_model: row.text("upstream_model")?,
        attempts: row
            .opt_text("attempts")?
            .map(|it| serde_json::from_str(&it).map_err(|_| corrupt("attempts")))
            .transpose()?
            .unwrap_or_default(),
        variant: row.opt_text("variant")?,
        cost: row.opt_int("cost_nanos")?.map(Money::from_nanos),
        wholesale: row.opt_int("wholesale_nanos")?.map(Money::from_nanos),
        price: row.opt_int("price_nanos")?.map(Money::from_nanos),
        stream: row.flag("stream")?,
        prompt_tokens: count(row, "prompt_tokens")?,
        completion_tokens: count(row, "completion_tokens")?,
        cached_tokens: count(row, "cached_tokens")?,
        cache_write_tokens: count(row, "cache_write_tokens")?,
        reasoning_tokens: count(row, "reasoning_tokens")?,
        estimated: row.flag("estimated")?,
        raw_usage: row.opt_text("raw_usage")?,
        status: UsageStatus::from_stored(&row.text("status")?).ok_or_else(|| corrupt("status"))?,
        http_status: u16::try_from(row.int("http_status")?).map_err(|_| corrupt("http_status"))?,
        error_code: row.opt_text("error_code")?,
        latency_ms: count(row, "latency_ms")?,
        ttft_ms: row
            .opt_int("ttft_ms")?
            .map(|it| u64::try_from(it).map_err(|_| corrupt("ttft_ms")))
            .transpose()?,
        created_at: time_at(row, "created_at")?,
    })
}

/// One row of `usage_rollups`, as `tables_usage::rollup_columns` lists them.
///
/// # Errors
/// A corrupt value.
pub fn rollup_from_row(row: &impl SqlRow) -> Result<Rollup, Error> {
    let mut latency = [0; LATENCY_BUCKETS];
    for (count, column) in latency.iter_mut().zip(crate::tables_usage::LATENCY_COLUMNS) {
        *count = self::count(row, column)?;
    }
    Ok(Rollup {
        tenant_id: parsed(row, "tenant_id")?,
        grain: Grain::from_stored(&row.text("grain")?).ok_or_else(|| corrupt("grain"))?,
        start: time_at(row, "start_at")?,
        key_id: parsed(row, "key_id")?,
        model_alias: row.text("model_alias")?,
        variant: row.text("variant")?,
        shadow: row.int("shadow")? != 0,
        figures: RollupFigures {
            latency,
            ..rollup_sums_from_row(row)?
        },
    })
}

/// One row of `ledger_adjustments`.
///
/// # Errors
/// A corrupt value.
pub fn adjustment_from_row(row: &impl SqlRow) -> Result<Adjustment, Error> {
    Ok(Adjustment {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        kind: AdjustmentKind::parse(&row.text("kind")?).ok_or_else(|| corrupt("kind"))?,
        amount: Money::from_nanos(row.int("amount_nanos")?),
        reason: row.text("reason")?,
        author_id: parsed(row, "author_id")?,
        author: row.text("author")?,
        effective_at: time_at(row, "effective_at")?,
        created_at: time_at(row, "created_at")?,
    })
}

/// A rollup row's sums (not its latency).
///
/// # Errors
/// A corrupt value.
pub fn rollup_sums_from_row(row: &impl SqlRow) -> Result<RollupFigures, Error> {
    sums_from_row(row, |column| Ok(Money::from_nanos(row.int(column)?)))
}

/// A row of `tables_usage::rollup_sums_sql`: money in whole units and remainders, put together
/// saturating.
///
/// # Errors
/// A corrupt value.
pub fn rollup_split_sums_from_row(row: &impl SqlRow) -> Result<RollupFigures, Error> {
    sums_from_row(row, |column| {
        let units = row.int(&format!("{column}_units"))?;
        let rest = row.int(&format!("{column}_rest"))?;
        Ok(saturated(split_nanos((units, rest))))
    })
}

/// A sum taken as whole units and nano-unit remainders (`SPLIT_SUM`, which no engine's integer
/// sum overflows), put together exactly.
pub fn split_nanos((units, rest): (i64, i64)) -> i128 {
    i128::from(units) * 1_000_000_000 + i128::from(rest)
}

/// Nano-units as money, saturating: absurd sums cannot make a bill fail to add up.
pub fn saturated(nanos: i128) -> Money {
    Money::from_nanos(i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX }))
}

/// The counts of a row of sums, with its money columns read by `money`.
fn sums_from_row(
    row: &impl SqlRow,
    money: impl Fn(&str) -> Result<Money, Error>,
) -> Result<RollupFigures, Error> {
    Ok(RollupFigures {
        requests: count(row, "requests")?,
        errors: count(row, "errors")?,
        cache_hits: count(row, "cache_hits")?,
        prompt_tokens: count(row, "prompt_tokens")?,
        completion_tokens: count(row, "completion_tokens")?,
        cached_tokens: count(row, "cached_tokens")?,
        cache_write_tokens: count(row, "cache_write_tokens")?,
        reasoning_tokens: count(row, "reasoning_tokens")?,
        cost: money("cost_nanos")?,
        wholesale: money("wholesale_nanos")?,
        price: money("price_nanos")?,
        unpriced: count(row, "unpriced")?,
        latency: [0; LATENCY_BUCKETS],
    })
}

fn json<T: serde::de::DeserializeOwned>(row: &impl SqlRow, column: &str) -> Result<T, Error> {
    serde_json::from_str(&row.text(column)?).map_err(|_| corrupt(column))
}

fn opt_parsed<T: std::str::FromStr>(row: &impl SqlRow, column: &str) -> Result<Option<T>, Error> {
    row.opt_text(column)?
        .map(|it| it.parse().map_err(|_| corrupt(column)))
        .transpose()
}

fn hash_of(row: &impl SqlRow, column: &str) -> Result<KeyHash, Error> {
    KeyHash::from_hex(&row.text(column)?).ok_or_else(|| corrupt(column))
}

fn role_of(row: &impl SqlRow, column: &str) -> Result<domain::Role, Error> {
    domain::Role::parse(&row.text(column)?).ok_or_else(|| corrupt(column))
}

/// # Errors
/// Missing columns or corrupt values.
pub fn user_from_row(row: &impl SqlRow) -> Result<domain::User, Error> {
    Ok(domain::User {
        id: parsed(row, "id")?,
        email: domain::Email::from_stored(row.text("email")?),
        display_name: row.opt_text("display_name")?,
        password_hash: row.opt_text("password_hash")?,
        email_verified_at: opt_time_at(row, "email_verified_at")?,
        is_operator: row.flag("is_operator")?,
        failed_logins: u32::try_from(row.int("failed_logins")?).unwrap_or(u32::MAX),
        locked_until: opt_time_at(row, "locked_until")?,
        created_at: time_at(row, "created_at")?,
    })
}

/// # Errors
/// Missing columns or corrupt values.
pub fn session_from_row(row: &impl SqlRow) -> Result<domain::session::Session, Error> {
    Ok(domain::session::Session {
        id_hash: hash_of(row, "id_hash")?,
        user_id: parsed(row, "user_id")?,
        csrf_token: row.text("csrf_token")?,
        created_at: time_at(row, "created_at")?,
        expires_at: time_at(row, "expires_at")?,
        ip: row.opt_text("ip")?,
        user_agent: row.opt_text("user_agent")?,
    })
}

/// # Errors
/// Missing columns or corrupt values.
pub fn token_from_row(row: &impl SqlRow) -> Result<domain::session::PersonalAccessToken, Error> {
    Ok(domain::session::PersonalAccessToken {
        id: parsed(row, "id")?,
        user_id: parsed(row, "user_id")?,
        name: row.text("name")?,
        hash: hash_of(row, "token_hash")?,
        display_prefix: row.text("display_prefix")?,
        last_four: row.text("last_four")?,
        created_at: time_at(row, "created_at")?,
        expires_at: opt_time_at(row, "expires_at")?,
        revoked_at: opt_time_at(row, "revoked_at")?,
    })
}

/// # Errors
/// Missing columns or corrupt values.
pub fn member_from_row(row: &impl SqlRow) -> Result<domain::session::Member, Error> {
    Ok(domain::session::Member {
        tenant_id: parsed(row, "tenant_id")?,
        user_id: parsed(row, "user_id")?,
        email: domain::Email::from_stored(row.text("email")?),
        display_name: row.opt_text("display_name")?,
        role: role_of(row, "role")?,
        created_at: time_at(row, "created_at")?,
    })
}

/// # Errors
/// A missing `id` column or a corrupt value.
pub fn user_id_from_row(row: &impl SqlRow) -> Result<domain::UserId, Error> {
    parsed(row, "id")
}

/// # Errors
/// Missing columns or corrupt values.
pub fn reach_from_row(row: &impl SqlRow) -> Result<store::TenantReach, Error> {
    Ok(store::TenantReach {
        user: parsed(row, "user_id")?,
        tenant: parsed(row, "tenant_id")?,
        role: match row.opt_text("role")? {
            None => None,
            Some(role) => Some(domain::Role::parse(&role).ok_or_else(|| corrupt("role"))?),
        },
    })
}

/// # Errors
/// Missing columns or corrupt values.
pub fn invitation_from_row(row: &impl SqlRow) -> Result<domain::session::Invitation, Error> {
    Ok(domain::session::Invitation {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        email: domain::Email::from_stored(row.text("email")?),
        role: role_of(row, "role")?,
        token_hash: hash_of(row, "token_hash")?,
        invited_by: parsed(row, "invited_by")?,
        created_at: time_at(row, "created_at")?,
        expires_at: time_at(row, "expires_at")?,
        accepted_at: opt_time_at(row, "accepted_at")?,
        revoked_at: opt_time_at(row, "revoked_at")?,
    })
}

/// # Errors
/// Missing columns or corrupt values.
pub fn tenant_role_from_row(row: &impl SqlRow) -> Result<(Tenant, domain::Role), Error> {
    Ok((tenant_from_row(row)?, role_of(row, "role")?))
}

/// # Errors
/// Missing columns or corrupt values.
pub fn audit_from_row(row: &impl SqlRow) -> Result<domain::AuditEvent, Error> {
    Ok(domain::AuditEvent {
        seq: row.int("seq")?,
        entry: domain::AuditEntry {
            id: parsed(row, "id")?,
            tenant_id: opt_parsed(row, "tenant_id")?,
            actor: domain::Actor {
                kind: row.text("actor_kind")?,
                id: row.opt_text("actor_id")?,
                label: row.opt_text("actor_label")?,
            },
            action: row.text("action")?,
            target_kind: row.opt_text("target_kind")?,
            target_id: row.opt_text("target_id")?,
            ip: row.opt_text("ip")?,
            before: row.opt_text("before_json")?,
            after: row.opt_text("after_json")?,
            created_at: time_at(row, "created_at")?,
        },
        prev_hash: row.text("prev_hash")?,
        hash: row.text("hash")?,
    })
}

/// # Errors
/// Missing columns or corrupt values.
pub fn credential_from_row(
    row: &impl SqlRow,
) -> Result<domain::credential::ProviderCredential, Error> {
    Ok(domain::credential::ProviderCredential {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        name: row.text("name")?,
        provider: row.text("provider")?,
        base_url: row.opt_text("base_url")?,
        sealed: json(row, "sealed")?,
        mask: row.text("mask")?,
        created_by: opt_parsed(row, "created_by")?,
        created_at: time_at(row, "created_at")?,
    })
}

/// # Errors
/// Missing columns or corrupt values.
pub fn route_from_row(row: &impl SqlRow) -> Result<domain::route::TenantRoute, Error> {
    Ok(domain::route::TenantRoute {
        tenant_id: parsed(row, "tenant_id")?,
        alias: row.text("alias")?,
        spec: json(row, "spec")?,
        updated_by: opt_parsed(row, "updated_by")?,
        created_at: time_at(row, "created_at")?,
        updated_at: time_at(row, "updated_at")?,
    })
}

/// # Errors
/// Missing columns or corrupt values.
pub fn service_account_from_row(
    row: &impl SqlRow,
) -> Result<domain::service_account::ServiceAccount, Error> {
    Ok(domain::service_account::ServiceAccount {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        name: row.text("name")?,
        secret_hash: KeyHash::from_hex(&row.text("secret_hash")?)
            .ok_or_else(|| corrupt("secret_hash"))?,
        secret_last_four: row.text("secret_last_four")?,
        allowed_models: json(row, "allowed_models")?,
        scopes: json(row, "scopes")?,
        created_by: opt_parsed(row, "created_by")?,
        created_at: time_at(row, "created_at")?,
        revoked_at: opt_time_at(row, "revoked_at")?,
    })
}

/// # Errors
/// Missing columns or corrupt values.
pub fn signing_key_from_row(
    row: &impl SqlRow,
) -> Result<domain::service_account::SigningKey, Error> {
    Ok(domain::service_account::SigningKey {
        kid: row.text("kid")?,
        algorithm: row.text("algorithm")?,
        private_key: json(row, "private_key")?,
        public_jwk: row.text("public_jwk")?,
        created_at: time_at(row, "created_at")?,
        retired_at: opt_time_at(row, "retired_at")?,
    })
}

/// A partner without its domains (the caller adds them).
///
/// # Errors
/// Missing columns or corrupt values.
pub fn partner_from_row(row: &impl SqlRow) -> Result<domain::partner::Partner, Error> {
    Ok(domain::partner::Partner {
        id: parsed(row, "id")?,
        name: row.text("name")?,
        branding: json(row, "branding")?,
        key_prefix: row.text("key_prefix")?,
        domains: Vec::new(),
        created_at: time_at(row, "created_at")?,
    })
}

/// # Errors
/// Corrupt values.
pub fn sso_domain_from_tuple(
    (domain, tenant_id, provider, created_at): (String, String, String, i64),
) -> Result<domain::sso::SsoDomain, Error> {
    Ok(domain::sso::SsoDomain {
        domain,
        tenant_id: tenant_id.parse().map_err(|_| corrupt("tenant_id"))?,
        provider,
        created_at: from_micros(created_at)?,
    })
}

/// A price list's scope as its two columns: the kind, and the partner's or tenant's id ('' for
/// the platform's own lists).
pub fn scope_columns(scope: PriceScope) -> (&'static str, String) {
    match scope {
        PriceScope::Cost => ("cost", String::new()),
        PriceScope::Platform => ("platform", String::new()),
        PriceScope::Partner(id) => ("partner", id.to_string()),
        PriceScope::Tenant(id) => ("tenant", id.to_string()),
    }
}

fn scope_of(row: &impl SqlRow) -> Result<PriceScope, Error> {
    let id = row.text("scope_id")?;
    match row.text("scope")?.as_str() {
        "cost" => Ok(PriceScope::Cost),
        "platform" => Ok(PriceScope::Platform),
        "partner" => Ok(PriceScope::Partner(
            id.parse().map_err(|_| corrupt("scope_id"))?,
        )),
        "tenant" => Ok(PriceScope::Tenant(
            id.parse().map_err(|_| corrupt("scope_id"))?,
        )),
        _ => Err(corrupt("scope")),
    }
}

/// # Errors
/// Missing columns or corrupt values.
pub fn price_entry_from_row(row: &impl SqlRow) -> Result<PriceEntry, Error> {
    let money = |column: &str| row.int(column).map(Money::from_nanos);
    let opt_money = |column: &str| row.opt_int(column).map(|it| it.map(Money::from_nanos));
    Ok(PriceEntry {
        scope: scope_of(row)?,
        source: PriceSource::Managed,
        provider: row.text("provider")?,
        model: row.text("model")?,
        effective_from: time_at(row, "effective_from")?,
        rates: Rates {
            input: money("input_nanos")?,
            output: money("output_nanos")?,
            cached_input: opt_money("cached_input_nanos")?,
            cache_write: opt_money("cache_write_nanos")?,
            reasoning: opt_money("reasoning_nanos")?,
        },
    })
}

/// # Errors
/// Missing columns or corrupt values.
pub fn markup_from_row(row: &impl SqlRow) -> Result<MarkupEntry, Error> {
    Ok(MarkupEntry {
        scope: scope_of(row)?,
        effective_from: time_at(row, "effective_from")?,
        basis_points: i32::try_from(row.int("basis_points")?)
            .map_err(|_| corrupt("basis_points"))?,
    })
}

/// A limit policy's `(scope, scope_id)` columns.
pub fn policy_scope_columns(scope: PolicyScope) -> (&'static str, String) {
    match scope {
        PolicyScope::Platform => ("platform", String::new()),
        PolicyScope::Partner(id) => ("partner", id.to_string()),
        PolicyScope::Tenant(id) => ("tenant", id.to_string()),
    }
}

/// # Errors
/// Missing columns or corrupt values (a policy that no longer reads, an unknown scope).
pub fn policy_from_row(row: &impl SqlRow) -> Result<ScopedPolicy, Error> {
    let id = row.text("scope_id")?;
    let scope = match row.text("scope")?.as_str() {
        "platform" => PolicyScope::Platform,
        "partner" => PolicyScope::Partner(id.parse().map_err(|_| corrupt("scope_id"))?),
        "tenant" => PolicyScope::Tenant(id.parse().map_err(|_| corrupt("scope_id"))?),
        _ => return Err(corrupt("scope")),
    };
    let policy = serde_json::from_str(&row.text("policy")?).map_err(|_| corrupt("policy"))?;
    Ok(ScopedPolicy { scope, policy })
}

/// An alert recipient's `(recipient, recipient_id)` columns.
pub fn recipient_columns(recipient: AlertRecipient) -> (&'static str, String) {
    match recipient {
        AlertRecipient::Tenant(id) => ("tenant", id.to_string()),
        AlertRecipient::Partner(id) => ("partner", id.to_string()),
    }
}

/// The recipient of `(recipient, recipient_id)` columns.
///
/// # Errors
/// An unknown recipient or a malformed id.
pub fn recipient_of(recipient: &str, id: &str) -> Result<AlertRecipient, Error> {
    match recipient {
        "tenant" => Ok(AlertRecipient::Tenant(
            id.parse().map_err(|_| corrupt("recipient_id"))?,
        )),
        "partner" => Ok(AlertRecipient::Partner(
            id.parse().map_err(|_| corrupt("recipient_id"))?,
        )),
        _ => Err(corrupt("recipient")),
    }
}

/// # Errors
/// Missing columns or corrupt values.
pub fn stored_alert_from_row(row: &impl SqlRow) -> Result<StoredAlert, Error> {
    Ok(StoredAlert {
        alert: serde_json::from_str(&row.text("alert")?).map_err(|_| corrupt("alert"))?,
        delivery: Delivery::parse(&row.text("delivery")?).ok_or_else(|| corrupt("delivery"))?,
        attempts: u32::try_from(row.int("attempts")?).unwrap_or(u32::MAX),
        last_error: row.opt_text("last_error")?,
        delivered_at: row.opt_int("delivered_at")?.map(from_micros).transpose()?,
    })
}

/// # Errors
/// Missing columns or corrupt values.
pub fn webhook_from_row(row: &impl SqlRow) -> Result<WebhookEndpoint, Error> {
    Ok(WebhookEndpoint {
        url: row.text("url")?,
        secret: serde_json::from_str(&row.text("secret")?).map_err(|_| corrupt("secret"))?,
        created_at: time_at(row, "created_at")?,
        updated_at: time_at(row, "updated_at")?,
    })
}

/// An invoice row; its content is read only when it was finalized.
///
/// # Errors
/// A corrupt value.
pub fn invoice_from_row(row: &impl SqlRow) -> Result<domain::invoice::Invoice, Error> {
    use domain::invoice::{Invoice, InvoiceStatus};
    let content = match row.opt_text("content_json")? {
        Some(text) => Some(serde_json::from_str(&text).map_err(|_| corrupt("content_json"))?),
        None => None,
    };
    Ok(Invoice {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        status: InvoiceStatus::parse(&row.text("status")?).ok_or_else(|| corrupt("status"))?,
        number: row.opt_int("number")?,
        from: time_at(row, "period_from")?,
        to: time_at(row, "period_to")?,
        created_by: row.text("created_by")?,
        created_at: time_at(row, "created_at")?,
        finalized_at: opt_time_at(row, "finalized_at")?,
        voided_at: opt_time_at(row, "voided_at")?,
        void_reason: row.opt_text("void_reason")?,
        content,
    })
}

/// A prepaid account row.
///
/// # Errors
/// A corrupt value.
pub fn credit_account_from_row(row: &impl SqlRow) -> Result<domain::credit::CreditAccount, Error> {
    Ok(domain::credit::CreditAccount {
        tenant_id: parsed(row, "tenant_id")?,
        stop_at_zero: row.flag("stop_at_zero")?,
        as_of: time_at(row, "as_of")?,
        balance: Money::from_nanos(row.int("balance_nanos")?),
    })
}

/// A top-up row.
///
/// # Errors
/// A corrupt value.
pub fn top_up_from_row(row: &impl SqlRow) -> Result<domain::credit::TopUp, Error> {
    Ok(domain::credit::TopUp {
        id: parsed(row, "id")?,
        tenant_id: parsed(row, "tenant_id")?,
        amount: Money::from_nanos(row.int("amount_nanos")?),
        reference: row.text("reference")?,
        reason: row.text("reason")?,
        author: row.text("author")?,
        created_at: time_at(row, "created_at")?,
    })
}

/// An invoice collection row.
///
/// # Errors
/// A corrupt value.
pub fn invoice_payment_from_row(
    row: &impl SqlRow,
) -> Result<domain::payment::InvoicePayment, Error> {
    Ok(domain::payment::InvoicePayment {
        invoice_id: parsed(row, "invoice_id")?,
        tenant_id: parsed(row, "tenant_id")?,
        status: domain::payment::PaymentStatus::parse(&row.text("status")?)
            .ok_or_else(|| corrupt("status"))?,
        provider_invoice: row.opt_text("provider_invoice")?,
        items_sent: u32::try_from(row.int("items_sent")?).map_err(|_| corrupt("items_sent"))?,
        hosted_url: row.opt_text("hosted_url")?,
        due_at: opt_time_at(row, "due_at")?,
        suspend_at: opt_time_at(row, "suspend_at")?,
        paid_at: opt_time_at(row, "paid_at")?,
        failed_at: opt_time_at(row, "failed_at")?,
        updated_at: time_at(row, "updated_at")?,
    })
}
