//! Usage bills: a period's calls per tenant and model with what they were charged, summed from
//! the rollups (which the writer keeps equal to the ledger), for a tenant or for a partner's
//! sub-tenants, where each line also shows the partner's wholesale price and its margin.

use domain::ledger::{Adjustment, AdjustmentKind};
use domain::pricing::{Currency, Money};
use domain::rollup::{Grain, RollupFigures};
use domain::{AdjustmentId, PartnerId, Permission, Tenant, TenantId};
use time::OffsetDateTime;

use crate::{Error, Identity, Manager};

/// Whose bill (a statement, an export): a tenant's, or a partner's, one part per sub-tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillScope {
    Tenant(TenantId),
    /// Every sub-tenant of the partner, one after the other.
    Partner(PartnerId),
}

/// The longest period one statement covers: a year, leap or not.
const MAX_PERIOD: time::Duration = time::Duration::days(366);

/// One model's calls in a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    pub model: String,
    pub figures: RollupFigures,
}

/// One tenant's part of a statement.
#[derive(Debug, Clone)]
pub struct TenantStatement {
    pub tenant: Tenant,
    pub lines: Vec<StatementLine>,
    pub totals: RollupFigures,
    /// The corrections effective in the period, oldest first.
    pub adjustments: Vec<Adjustment>,
    /// Their sum (negative when they give back).
    pub adjusted: Money,
}

impl TenantStatement {
    /// What the tenant owes for the period: its calls' price and its corrections.
    pub fn due(&self) -> Money {
        self.totals.price.saturating_add(self.adjusted)
    }
}

/// A correction as asked for, before its checks.
#[derive(Debug, Clone)]
pub struct AdjustmentDraft {
    /// `credit` or `adjustment`.
    pub kind: String,
    /// Decimal text: a credit's is positive, an adjustment's signed.
    pub amount: String,
    /// When given, it must be the platform's currency.
    pub currency: Option<String>,
    pub reason: String,
    /// Default: now; never in the future, at most 366 days back.
    pub effective_at: Option<OffsetDateTime>,
}

/// A period's bill.
#[derive(Debug, Clone)]
pub struct Statement {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
    pub currency: Currency,
    /// A partner's statement: its lines' wholesale prices and margins are shown.
    pub partner: bool,
    pub tenants: Vec<TenantStatement>,
    pub totals: RollupFigures,
}

impl Statement {
    /// Every part's corrections summed.
    pub fn adjusted(&self) -> Money {
        self.tenants
            .iter()
            .fold(Money::ZERO, |sum, it| sum.saturating_add(it.adjusted))
    }

    /// What is owed for the period: the calls' price and the corrections.
    pub fn due(&self) -> Money {
        self.totals.price.saturating_add(self.adjusted())
    }
}

/// Checks a bill's period: `[from, to)`, whole minutes (rollups' finest grain), at most 366
/// days; answers the coarsest grain that tiles it.
///
/// # Errors
/// `Invalid` naming the field.
pub fn period_grain(from: OffsetDateTime, to: OffsetDateTime) -> Result<Grain, Error> {
    if to <= from {
        return Err(Error::invalid("to", "`to` must be after `from`"));
    }
    if to - from > MAX_PERIOD {
        return Err(Error::invalid(
            "from",
            "a statement covers at most 366 days: ask for longer periods in parts",
        ));
    }
    for (field, at) in [("from", from), ("to", to)] {
        if Grain::Minute.floor(at) != at {
            return Err(Error::invalid(
                field,
                format!("`{field}` must be a whole minute: usage is kept per minute"),
            ));
        }
    }
    Ok(Grain::coarsest_for(from, to, (to - from).whole_seconds()).unwrap_or(Grain::Minute))
}

impl Manager {
    /// The bill of `[from, to)`: the tenant's (for members who may see billing) or a
    /// partner's, one part per sub-tenant (for its administrators and operators).
    ///
    /// # Errors
    /// Missing permission; `NotFound` for an unknown tenant or partner; see `period_grain`.
    pub async fn statement(
        &self,
        identity: &Identity,
        scope: BillScope,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Statement, Error> {
        let tenants = match scope {
            BillScope::Tenant(tenant) => {
                self.authorize(identity, tenant, Permission::ViewBilling)
                    .await?;
                vec![
                    self.store
                        .get_tenant(tenant)
                        .await
                        .map_err(Error::missing("tenant"))?,
                ]
            }
            BillScope::Partner(partner) => {
                self.authorize_partner(identity, partner).await?;
                self.store.list_partner_tenants(partner).await?
            }
        };
        let grain = period_grain(from, to)?;
        let mut parts = Vec::with_capacity(tenants.len());
        let mut totals = RollupFigures::default();
        for tenant in tenants {
            let (sums, adjustments) = self.period_sums(tenant.id, grain, from, to).await?;
            let adjusted = adjustments
                .iter()
                .fold(Money::ZERO, |sum, it| sum.saturating_add(it.amount));
            let mut part_totals = RollupFigures::default();
            let lines: Vec<StatementLine> = sums
                .into_iter()
                .map(|(model, figures)| {
                    part_totals.merge(&figures);
                    StatementLine { model, figures }
                })
                .collect();
            totals.merge(&part_totals);
            parts.push(TenantStatement {
                tenant,
                lines,
                totals: part_totals,
                adjustments,
                adjusted,
            });
        }
        Ok(Statement {
            from,
            to,
            currency: self.config.prices.currency,
            partner: matches!(scope, BillScope::Partner(_)),
            tenants: parts,
            totals,
        })
    }
}

impl Manager {
    /// A tenant's per-model sums and corrections of `[from, to)` (`grain` from
    /// [`period_grain`]): the content of every bill.
    pub(crate) async fn period_sums(
        &self,
        tenant: TenantId,
        grain: Grain,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<(Vec<(String, RollupFigures)>, Vec<Adjustment>), Error> {
        let sums = self.store.rollup_sums(tenant, grain, from, to).await?;
        let adjustments = self.store.adjustments_between(tenant, from, to).await?;
        Ok((sums, adjustments))
    }

    /// Whether the caller writes the tenant's bill: an operator, or an administrator of the
    /// tenant's partner. They also see what the partner is charged for it (wholesale).
    pub(crate) async fn writes_bills_of(
        &self,
        identity: &Identity,
        tenant: &Tenant,
    ) -> Result<bool, Error> {
        Ok(identity.user.is_operator
            || match tenant.partner_id {
                Some(partner) => {
                    self.store
                        .is_partner_admin(partner, identity.user.id)
                        .await?
                }
                None => false,
            })
    }

    /// Who writes a tenant's bill (corrections, invoices): operators and the administrators of
    /// the tenant's partner; the tenant's own members may not (whoever pays does not correct
    /// the bill).
    ///
    /// # Errors
    /// `NotFound` for callers who cannot see the tenant; `Forbidden` for its members.
    pub(crate) async fn authorize_bill_author(
        &self,
        identity: &Identity,
        tenant: TenantId,
    ) -> Result<Tenant, Error> {
        let found = self
            .store
            .get_tenant(tenant)
            .await
            .map_err(Error::missing("tenant"))?;
        let allowed = self.writes_bills_of(identity, &found).await?;
        if allowed {
            return Ok(found);
        }
        // Members learn why; everyone else learns nothing.
        self.authorize(identity, tenant, Permission::ViewTenant)
            .await?;
        Err(Error::Forbidden(
            "bills are written (corrected, invoiced) by the platform's operators or the tenant's partner"
                .into(),
        ))
    }
}

impl Manager {
    /// Adds a credit or an adjustment to a tenant's bill. Operators may, and the
    /// administrators of the tenant's partner; a tenant's own members may not (whoever pays
    /// does not correct the bill).
    ///
    /// # Errors
    /// `NotFound` for callers who cannot see the tenant; `Forbidden` for its members;
    /// `Invalid` naming the field (`kind`, `amount`, `currency`, `reason`, `effective_at`).
    pub async fn add_adjustment(
        &self,
        identity: &Identity,
        tenant: TenantId,
        draft: AdjustmentDraft,
    ) -> Result<Adjustment, Error> {
        self.authorize_bill_author(identity, tenant).await?;
        let now = OffsetDateTime::now_utc();
        let kind = AdjustmentKind::parse(&draft.kind)
            .ok_or_else(|| Error::invalid("kind", "`kind` is `credit` or `adjustment`"))?;
        let currency = self.config.prices.currency;
        if let Some(asked) = &draft.currency
            && asked != currency.as_str()
        {
            return Err(Error::invalid(
                "currency",
                format!("bills are in {currency}, not `{asked}`"),
            ));
        }
        let invalid = |e: domain::ledger::AdjustmentError| Error::invalid(e.field, e.message);
        let amount = domain::ledger::effect(kind, &draft.amount).map_err(invalid)?;
        let reason = domain::ledger::reason(&draft.reason).map_err(invalid)?;
        let effective_at = draft.effective_at.unwrap_or(now);
        if effective_at > now {
            return Err(Error::invalid(
                "effective_at",
                "`effective_at` must not be in the future",
            ));
        }
        if now - effective_at > MAX_PERIOD {
            return Err(Error::invalid(
                "effective_at",
                "`effective_at` is at most 366 days back",
            ));
        }
        let adjustment = Adjustment {
            id: AdjustmentId::new(),
            tenant_id: tenant,
            kind,
            amount,
            reason,
            author_id: identity.user.id,
            author: identity.user.email.to_string(),
            effective_at,
            created_at: now,
        };
        let audit = identity
            .audit(Some(tenant), "billing.adjustment")
            .target("adjustment", adjustment.id)
            .change(
                None,
                Some(
                    serde_json::json!({
                        "kind": kind.as_str(),
                        "amount": amount.to_string(),
                        "reason": adjustment.reason,
                        "effective_at": effective_at.unix_timestamp(),
                    })
                    .to_string(),
                ),
            );
        self.store.add_adjustment(&adjustment, &audit).await?;
        Ok(adjustment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(seconds).unwrap()
    }

    #[test]
    fn a_period_is_whole_minutes_forward_and_at_most_a_year() {
        let day = 1_798_761_600; // 2027-01-01
        assert_eq!(
            period_grain(at(day), at(day + 31 * 86_400)).unwrap(),
            Grain::Day
        );
        assert_eq!(
            period_grain(at(day + 3_600), at(day + 7_200)).unwrap(),
            Grain::Hour
        );
        assert_eq!(
            period_grain(at(day + 60), at(day + 86_400)).unwrap(),
            Grain::Minute
        );
        let field = |from, to| match period_grain(at(from), at(to)) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(day, day), "to");
        assert_eq!(field(day + 60, day), "to");
        assert_eq!(field(day, day + 367 * 86_400), "from");
        assert_eq!(field(day + 1, day + 60), "from");
        assert_eq!(field(day, day + 61), "to");
    }
}
