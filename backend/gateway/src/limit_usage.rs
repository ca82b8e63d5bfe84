//! What every limit over a tenant or a key holds right now: the counters read (not taken
//! from) in the same single step admission uses, for the management API and the portal.

use std::time::Duration;

use std::sync::Arc;

use domain::limits::{BudgetPeriod, LimitPolicy};
use domain::{ApiKey, PartnerId, TenantId};
use time::OffsetDateTime;

use crate::access::TenantLimits;
use crate::admit::{Models, Plan, Who};
use crate::{Error, ErrorKind, Gateway};

/// One limit and what its counter holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitUsage {
    /// `platform`, `partner`, `tenant`, `model` or `key`.
    pub owner: &'static str,
    /// `requests_per_minute`, `requests_per_day`, `tokens_per_minute`, `tokens_per_day`,
    /// `max_concurrent`, `spend` or `tokens`.
    pub kind: &'static str,
    /// A budget's period.
    pub period: Option<BudgetPeriod>,
    /// The model a per-model limit is for.
    pub model: Option<String>,
    /// In the counter's unit: requests, tokens, calls, or micro-units of money for spend.
    pub limit: u64,
    pub used: u64,
    pub remaining: u64,
    /// Until the counter holds nothing of what it holds now (a period's end).
    pub resets_in: Duration,
    /// The same moment on the counters' clock (Redis's), in Unix milliseconds: exact for a
    /// period's end.
    pub resets_at_ms: u64,
    /// A soft budget only alerts.
    pub hard: bool,
    pub alert_at_percent: Vec<u16>,
}

impl Gateway {
    /// Every limit over `tenant`'s calls (with `key`: over that key's, its own included) and
    /// what each holds now. Per-model limits are listed for every model a policy names.
    ///
    /// # Errors
    /// `NotFound` for a tenant this node does not know yet; `Unavailable` when the shared
    /// counters cannot be read.
    pub async fn limit_usage(
        &self,
        tenant: TenantId,
        key: Option<&ApiKey>,
    ) -> Result<Vec<LimitUsage>, Error> {
        let Some((partner, limits)) = self.access.tenant_limits(tenant) else {
            return Err(Error::new(ErrorKind::NotFound, "no such tenant"));
        };
        let who = Who {
            tenant,
            partner,
            key,
            limits: limits.as_deref(),
        };
        let plan = Plan::of(
            who,
            Models::All,
            OffsetDateTime::now_utc(),
            crate::admit::plan::LEASE_MS,
        );
        self.read(plan).await
    }

    /// What a partner's shared limits (`policy`) hold now.
    ///
    /// # Errors
    /// `Unavailable` when the shared counters cannot be read.
    pub async fn partner_limit_usage(
        &self,
        partner: PartnerId,
        policy: &LimitPolicy,
    ) -> Result<Vec<LimitUsage>, Error> {
        let limits = TenantLimits {
            partner: Some(Arc::new(policy.clone())),
            ..TenantLimits::default()
        };
        // The partner's counters are named by the partner alone: any tenant names them alike.
        let who = Who {
            tenant: TenantId(uuid::Uuid::nil()),
            partner: Some(partner),
            key: None,
            limits: Some(&limits),
        };
        let plan = Plan::of(
            who,
            Models::All,
            OffsetDateTime::now_utc(),
            crate::admit::plan::LEASE_MS,
        );
        self.read(plan).await
    }

    /// Reads `plan`'s counters without taking from them.
    async fn read(&self, mut plan: Plan) -> Result<Vec<LimitUsage>, Error> {
        if plan.is_empty() {
            return Ok(Vec::new());
        }
        plan.read_only();
        let admission = match self.limits.admit(&plan.counters, "read").await {
            Ok(admission) => admission,
            Err(unavailable) => {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    "the limit counters cannot be read right now; retry shortly",
                )
                .with_detail(providers::error_chain(&unavailable.0)));
            }
        };
        let now_ms = admission.now_ms;
        Ok(plan
            .meanings
            .into_iter()
            .zip(admission.counters)
            // Prepaid credit is shown as a balance (`GET …/billing/credit`), not as a limit.
            .filter(|(meaning, _)| meaning.kind != crate::admit::plan::Kind::Credit)
            .map(|(meaning, state)| LimitUsage {
                owner: meaning.owner.as_str(),
                kind: meaning.kind.as_str(),
                period: meaning.kind.period(),
                model: meaning.model,
                limit: meaning.limit,
                used: state.used,
                remaining: meaning.limit.saturating_sub(state.used),
                resets_in: Duration::from_millis(state.reset_ms),
                resets_at_ms: now_ms.saturating_add(state.reset_ms),
                hard: meaning.hard,
                alert_at_percent: meaning.alert_at_percent.to_vec(),
            })
            .collect())
    }
}
