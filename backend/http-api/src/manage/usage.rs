//! `/api/v1/tenants/{tenant}/usage*`: the tenant's usage for its dashboard, from the usage
//! rollups (requests, errors, tokens, spend, latency percentiles over time, by model, key or
//! arm), and each recent request with the tries it failed over from.

use actix_web::web;
use actix_web::{HttpRequest, HttpResponse};
use api_types::manage::{
    Problem, UsageAttemptView, UsageBucketView, UsageFiguresView, UsageGroupView, UsageRecordView,
    UsageSummaryView,
};
use domain::usage_summary::{GroupBy, UsageFigures};
use management::SummaryRequest;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::IntoParams;

use super::caller::caller;
use super::{ApiProblem, ok, query, tenant_id};
use crate::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SummaryQuery {
    /// RFC 3339; default 24 hours before `to`.
    #[param(format = DateTime)]
    from: Option<String>,
    /// RFC 3339; default now. Usage is kept per minute, so the window ends on the next whole
    /// minute and spans whole minutes (the answer's `from` and `to` say which).
    #[param(format = DateTime)]
    to: Option<String>,
    /// Bucket width in seconds (60 to 31 days; default: an hour, or a day for windows over 3
    /// days).
    #[param(minimum = 60, maximum = 2_678_400)]
    bucket_seconds: Option<i64>,
    /// `model` (default), `key`, or `variant` (the experiment arm of models that run one;
    /// other calls are grouped under the empty key).
    group_by: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordsQuery {
    /// How many, newest first (1 to 200, default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

pub(super) fn time_param(
    field: &str,
    raw: Option<&str>,
) -> Result<Option<OffsetDateTime>, ApiProblem> {
    raw.map(|it| {
        OffsetDateTime::parse(it, &Rfc3339).map_err(|_| {
            management::Error::invalid(field, format!("`{field}` must be an RFC 3339 time")).into()
        })
    })
    .transpose()
}

fn figures(figures: &UsageFigures) -> UsageFiguresView {
    UsageFiguresView {
        requests: figures.requests,
        errors: figures.errors,
        prompt_tokens: figures.prompt_tokens,
        completion_tokens: figures.completion_tokens,
        latency_p50_ms: figures.latency_p50_ms,
        latency_p95_ms: figures.latency_p95_ms,
        spend: figures.spend.to_string(),
        unpriced: figures.unpriced,
    }
}

/// Usage over a window: totals, a time series and a breakdown by model, key or experiment
/// arm (variant).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/usage/summary", tag = "usage",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), SummaryQuery),
    responses(
        (status = 200, description = "The summary", body = UsageSummaryView),
        (status = 400, description = "A window that is reversed, over 31 days, or in too many buckets", body = Problem),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn summary(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let params: SummaryQuery = query(&req)?;
    let to = time_param("to", params.to.as_deref())?.unwrap_or_else(OffsetDateTime::now_utc);
    let from = time_param("from", params.from.as_deref())?.unwrap_or(to - time::Duration::days(1));
    let group_by = match params.group_by.as_deref() {
        None | Some("model") => GroupBy::Model,
        Some("key") => GroupBy::Key,
        Some("variant") => GroupBy::Variant,
        Some(_) => {
            return Err(management::Error::invalid(
                "group_by",
                "`group_by` is `model`, `key` or `variant`",
            )
            .into());
        }
    };
    let bucket_seconds = params
        .bucket_seconds
        .unwrap_or(if to - from > time::Duration::days(3) {
            86_400
        } else {
            3_600
        });
    let report = state
        .manager
        .usage_summary(
            &identity,
            tenant,
            SummaryRequest {
                from,
                to,
                bucket_seconds,
                group_by,
            },
        )
        .await?;
    let summary = &report.summary;
    Ok(ok(&UsageSummaryView {
        from: summary.from,
        to: summary.to,
        bucket_seconds: summary.bucket_seconds,
        group_by: match group_by {
            GroupBy::Model => "model",
            GroupBy::Key => "key",
            GroupBy::Variant => "variant",
        }
        .to_owned(),
        currency: state.manager.config().prices.currency.to_string(),
        totals: figures(&summary.totals),
        series: summary
            .series
            .iter()
            .map(|it| UsageBucketView {
                start: it.start,
                figures: figures(&it.figures),
            })
            .collect(),
        groups: summary
            .groups
            .iter()
            .map(|(key, it)| UsageGroupView {
                key: key.clone(),
                label: match (group_by, key.parse()) {
                    (GroupBy::Key, Ok(id)) => report.labels.label(id),
                    (GroupBy::Variant, _) if key.is_empty() => "no experiment".to_owned(),
                    _ => key.clone(),
                },
                figures: figures(it),
            })
            .collect(),
        truncated: report.truncated,
        shadow: (summary.shadow.requests > 0).then(|| figures(&summary.shadow)),
    }))
}

/// The tenant's most recent requests.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/usage/records", tag = "usage",
    params(("tenant" = uuid::Uuid, Path, description = "Tenant id"), RecordsQuery),
    responses(
        (status = 200, description = "Requests, newest first", body = Vec<UsageRecordView>),
        (status = 404, description = "No such tenant for the caller", body = Problem),
    ),
    security(("session" = []), ("access_token" = [])))]
pub(crate) async fn records(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiProblem> {
    let identity = caller(&req, &state).await?;
    let tenant = tenant_id(&path)?;
    let params: RecordsQuery = query(&req)?;
    let (records, labels) = state
        .manager
        .recent_usage(&identity, tenant, params.limit.unwrap_or(50))
        .await?;
    let views: Vec<UsageRecordView> = records
        .iter()
        .map(|it| UsageRecordView {
            request_id: it.request_id.0,
            key_id: it.key_id.0,
            key_label: labels.label(it.key_id.0),
            endpoint: it.endpoint.clone(),
            model: it.model_alias.clone(),
            provider: it.provider.clone(),
            attempts: it
                .attempts
                .iter()
                .map(|attempt| UsageAttemptView {
                    deployment: attempt.deployment.clone(),
                    http_status: attempt.http_status,
                    error_code: attempt.error_code.clone(),
                    latency_ms: attempt.latency_ms,
                })
                .collect(),
            variant: it.variant.clone(),
            stream: it.stream,
            prompt_tokens: it.prompt_tokens,
            completion_tokens: it.completion_tokens,
            cached_tokens: it.cached_tokens,
            estimated: it.estimated,
            status: it.status.as_str().to_owned(),
            http_status: it.http_status,
            error_code: it.error_code.clone(),
            latency_ms: it.latency_ms,
            ttft_ms: it.ttft_ms,
            created_at: it.created_at,
        })
        .collect();
    Ok(ok(&views))
}
