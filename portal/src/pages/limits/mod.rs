//! "Limits": what every limit over the tenant's calls holds now (its plan's, the limits it
//! shares with its provider's other customers, its own, per model), the tenant's own policy in
//! the one limits form (`editor`), and the budget alerts it received with the webhook they are
//! sent to (`webhook`). The same form edits a partner's shared limits (`SharedLimits`, in the
//! partner console, with its own alerts' webhook) and the platform's (`PlatformLimits`, in the
//! operator view); a key's effective limits (`KeyLimits`) show on the keys page.

pub mod editor;
pub mod usage;
pub mod webhook;

use api_types::limits::{BudgetAlertView, EffectiveLimitsView, LimitsView};
use leptos::prelude::*;
use uuid::Uuid;

use self::editor::LimitsEditor;
use self::usage::{AlertTable, UsageBars};
use self::webhook::WebhookCard;
use crate::api::endpoints;
use crate::api::paths::{AlertRecipient, LimitScope};
use crate::components::page::{PageHeader, for_tenant};
use crate::components::status::loaded;
use crate::model::limit_form::PolicyOwner;
use crate::model::limit_usage::Viewer;
use crate::state::session::Session;

#[component]
pub fn LimitsPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Limits"
            description="How many calls, tokens and how much spend this tenant's keys may use, and how much of each is used now. Every limit that applies must pass: a call over any of them is refused (429) and never reaches a provider."
        />
        {for_tenant(|tenant| view! { <TenantLimits tenant=tenant /> })}
    }
}

#[component]
fn TenantLimits(tenant: Uuid) -> impl IntoView {
    let session = Session::get();
    let scope = LimitScope::Tenant(tenant);
    // Two loads of the same answer: refreshing the bars must not reset a form being edited.
    let now = LocalResource::new(move || endpoints::limits(scope));
    let policy = LocalResource::new(move || endpoints::limits(scope));
    let alerts = LocalResource::new(move || endpoints::tenant_alerts(tenant));
    let changed = Callback::new(move |()| {
        now.refetch();
        policy.refetch();
        alerts.refetch();
    });
    // `for_tenant` renders this again for another tenant: what it is now is enough.
    let current = session
        .tenants
        .with_untracked(|all| all.iter().find(|it| it.id == tenant).cloned());
    let operator = session
        .user
        .with_untracked(|it| it.as_ref().is_some_and(|user| user.is_operator));
    // Operators and the tenant's partner set limits over its own administrators (the server's
    // rule: whoever reaches it without being a member).
    let can_lock = operator || current.as_ref().is_some_and(|it| it.role.is_none());
    let managed = current.as_ref().is_some_and(|it| it.partner_id.is_some());
    // Where alerts are sent is the tenant's setting: its owners and admins (and whoever has
    // full reach) change it, even when its limits are locked.
    let manage_webhook = untrack(|| session.abilities().manage_routes);
    let alerts_changed = Callback::new(move |()| alerts.refetch());
    view! {
        <section class="card" aria-labelledby="limits-now-title">
            <div class="section-header">
                <h2 id="limits-now-title">"Used now"</h2>
                <button
                    type="button"
                    class="button secondary small"
                    on:click=move |_| {
                        now.refetch();
                        alerts.refetch();
                    }
                >
                    "Refresh"
                </button>
            </div>
            <p class="muted">"Every limit over this tenant's calls and how much of it is used. Keys may have limits of their own too: see each key's on the API keys page."</p>
            {loaded(now, |limits: LimitsView| view! {
                <UsageBars usage=limits.usage currency=limits.currency viewer=Viewer::Tenant />
            })}
        </section>
        <section class="card" aria-labelledby="limits-policy-title">
            <h2 id="limits-policy-title">"This tenant's limits"</h2>
            <p class="muted">"For all of this tenant's keys together, on top of each key's own limits."</p>
            {loaded(policy, move |limits: LimitsView| view! {
                <LimitsEditor
                    scope=scope
                    limits=limits
                    owner=PolicyOwner::Tenant { managed }
                    can_lock=can_lock
                    prefix="limits"
                    on_changed=changed
                />
            })}
        </section>
        <section class="card" aria-labelledby="alerts-title">
            <h2 id="alerts-title">"Budget alerts"</h2>
            <p class="muted">"Raised when a budget over this tenant's calls passes one of its thresholds, newest first."</p>
            <WebhookCard
                recipient=AlertRecipient::Tenant(tenant)
                can_change=manage_webhook
                prefix="limits"
                on_changed=alerts_changed
            />
            {move || {
                let currency = currency_of(now);
                loaded(alerts, move |list: Vec<BudgetAlertView>| view! {
                    <AlertTable alerts=list currency=currency.clone() viewer=Viewer::Tenant />
                })
            }}
        </section>
    }
}

/// The currency spend is counted in, once the limits have loaded (alerts wait for it).
fn currency_of(limits: LocalResource<Result<LimitsView, crate::api::ApiError>>) -> String {
    limits
        .get()
        .and_then(Result::ok)
        .map(|it| it.currency)
        .unwrap_or_default()
}

/// Every limit over one key's calls, with what each holds now.
#[component]
pub fn KeyLimits(tenant: Uuid, key: Uuid) -> impl IntoView {
    let limits = LocalResource::new(move || endpoints::key_limits(tenant, key));
    let title_id = format!("key-limits-{key}");
    let labelled_by = title_id.clone();
    view! {
        <section class="key-limits" aria-labelledby=labelled_by>
            <div class="section-header">
                <h3 id=title_id>"Effective limits"</h3>
                <button type="button" class="button secondary small" on:click=move |_| limits.refetch()>
                    "Refresh"
                </button>
            </div>
            <p class="muted">"Everything that limits this key's calls: its own limits, its tenant's and its plan's. A call must pass all of them."</p>
            {loaded(limits, |limits: EffectiveLimitsView| view! {
                <UsageBars usage=limits.limits currency=limits.currency viewer=Viewer::Key />
            })}
        </section>
    }
}

/// The partner console's limits: the ones all its sub-tenants share (set by the platform's
/// operators, read-only for the partner's administrators) and their alerts.
#[component]
pub fn SharedLimits(partner: Uuid) -> impl IntoView {
    let scope = LimitScope::Partner(partner);
    let limits = LocalResource::new(move || endpoints::limits(scope));
    let alerts = LocalResource::new(move || endpoints::partner_alerts(partner));
    let changed = Callback::new(move |()| {
        limits.refetch();
        alerts.refetch();
    });
    view! {
        <section class="card shared-limits" aria-labelledby="shared-limits-title">
            <h2 id="shared-limits-title">"Limits"</h2>
            <p class="muted">
                "Shared limits: all your sub-tenants' calls count against them together, on top of each sub-tenant's own. To set a sub-tenant's own limits (and lock them), use its Limits button under Sub-tenants."
            </p>
            {loaded(limits, move |limits: LimitsView| view! {
                <LimitsEditor
                    scope=scope
                    limits=limits
                    owner=PolicyOwner::Partner
                    can_lock=false
                    prefix="partner-limits"
                    on_changed=changed
                />
            })}
            <h3>"Budget alerts"</h3>
            <WebhookCard
                recipient=AlertRecipient::Partner(partner)
                can_change=true
                prefix="partner-limits"
                on_changed=Callback::new(move |()| alerts.refetch())
            />
            {move || {
                let currency = currency_of(limits);
                loaded(alerts, move |list: Vec<BudgetAlertView>| view! {
                    <AlertTable alerts=list currency=currency.clone() viewer=Viewer::Partner />
                })
            }}
        </section>
    }
}

/// The operator view's limits: the platform's, for every tenant (each counted on its own).
#[component]
pub fn PlatformLimits() -> impl IntoView {
    let limits = LocalResource::new(|| endpoints::limits(LimitScope::Platform));
    let changed = Callback::new(move |()| limits.refetch());
    view! {
        <section class="card" aria-labelledby="platform-limits-title">
            <h2 id="platform-limits-title">"Limits for every tenant"</h2>
            <p class="muted">"Each tenant's plan: every tenant is held to these on its own (they are not shared). Tenants see them as their plan's limits."</p>
            {loaded(limits, move |limits: LimitsView| view! {
                <LimitsEditor
                    scope=LimitScope::Platform
                    limits=limits
                    owner=PolicyOwner::Platform
                    can_lock=false
                    prefix="platform-limits"
                    on_changed=changed
                />
            })}
        </section>
    }
}
