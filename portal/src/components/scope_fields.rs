//! The scope inputs API keys and service accounts share (allowed models, endpoints, IP
//! allow-list, regions, limits and budgets), with the API's field names for their messages, so the create forms and
//! the key editor look and behave the same.

use leptos::prelude::*;

use crate::components::budget_list::{BudgetList, BudgetRows};
use crate::components::form::{Checkbox, FormState, TextField};
use crate::model::key_form::{ENDPOINTS, ScopeText};

/// The signals behind the scope inputs.
#[derive(Debug, Clone)]
pub struct ScopeInputs {
    pub models: RwSignal<String>,
    /// One per `ENDPOINTS` entry: API name, label, checked.
    pub endpoints: Vec<(&'static str, &'static str, RwSignal<bool>)>,
    pub ip_allowlist: RwSignal<String>,
    pub regions: RwSignal<String>,
    pub requests_per_minute: RwSignal<String>,
    pub requests_per_day: RwSignal<String>,
    pub tokens_per_minute: RwSignal<String>,
    pub tokens_per_day: RwSignal<String>,
    pub max_concurrent: RwSignal<String>,
    pub monthly_budget: RwSignal<String>,
    /// The key's budgets per period.
    pub budgets: BudgetRows,
}

impl ScopeInputs {
    /// Inputs holding `initial`.
    pub fn new(initial: &ScopeText) -> Self {
        ScopeInputs {
            models: RwSignal::new(initial.models.clone()),
            endpoints: ENDPOINTS
                .iter()
                .map(|(api, label)| {
                    let on = initial.endpoints.iter().any(|it| it == api);
                    (*api, *label, RwSignal::new(on))
                })
                .collect(),
            ip_allowlist: RwSignal::new(initial.ip_allowlist.clone()),
            regions: RwSignal::new(initial.regions.clone()),
            requests_per_minute: RwSignal::new(initial.requests_per_minute.clone()),
            requests_per_day: RwSignal::new(initial.requests_per_day.clone()),
            tokens_per_minute: RwSignal::new(initial.tokens_per_minute.clone()),
            tokens_per_day: RwSignal::new(initial.tokens_per_day.clone()),
            max_concurrent: RwSignal::new(initial.max_concurrent.clone()),
            monthly_budget: RwSignal::new(initial.monthly_budget.clone()),
            budgets: BudgetRows::new(&initial.budgets),
        }
    }

    /// What the inputs hold now (untracked: for submitting).
    pub fn text(&self) -> ScopeText {
        ScopeText {
            models: self.models.get_untracked(),
            endpoints: self
                .endpoints
                .iter()
                .filter(|(_, _, on)| on.get_untracked())
                .map(|(api, _, _)| (*api).to_owned())
                .collect(),
            ip_allowlist: self.ip_allowlist.get_untracked(),
            regions: self.regions.get_untracked(),
            requests_per_minute: self.requests_per_minute.get_untracked(),
            requests_per_day: self.requests_per_day.get_untracked(),
            tokens_per_minute: self.tokens_per_minute.get_untracked(),
            tokens_per_day: self.tokens_per_day.get_untracked(),
            max_concurrent: self.max_concurrent.get_untracked(),
            monthly_budget: self.monthly_budget.get_untracked(),
            budgets: self.budgets.texts(),
        }
    }
}

/// The scope inputs; ids start with `prefix` (`key` → `key-models`, `key-ips`, `key-rpm`…).
/// `children` go between the IP allow-list and the limits (the key form's expiry).
#[component]
pub fn ScopeFields(
    prefix: &'static str,
    inputs: ScopeInputs,
    form: FormState,
    /// The IP allow-list's hint.
    #[prop(into)]
    ip_hint: String,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <TextField
            id=format!("{prefix}-models")
            label="Allowed models"
            value=inputs.models
            multiline=true
            hint="Model aliases separated by commas or lines. Empty: every model."
            error=form.field("models")
        />
        <fieldset class="field">
            <legend>"Allowed endpoints"</legend>
            <p class="hint">"None checked: every endpoint."</p>
            {inputs
                .endpoints
                .into_iter()
                .map(|(api, label, on)| view! { <Checkbox id=format!("{prefix}-endpoint-{}", api.replace('.', "-")) label=label checked=on /> })
                .collect_view()}
        </fieldset>
        <TextField
            id=format!("{prefix}-ips")
            label="IP allow-list"
            value=inputs.ip_allowlist
            multiline=true
            hint=ip_hint
            error=form.field("ip_allowlist")
        />
        <TextField
            id=format!("{prefix}-regions")
            label="Regions"
            value=inputs.regions
            hint="Data residency: only deployments in these regions serve the calls (no fallback, cache entry or copy leaves them). Separated by commas. Empty: any region the tenant allows."
            error=form.field("regions")
        />
        {children.map(|it| it())}
        <fieldset class="field">
            <legend>"Limits"</legend>
            <p class="hint">"Enforced on every call, on every node: once one is reached, calls are refused with 429 until it resets, and never reach a provider. They apply on top of the tenant's limits (see Limits). Optional; empty: no limit."</p>
            <div class="field-row">
                <TextField id=format!("{prefix}-rpm") label="Requests per minute" kind="number" value=inputs.requests_per_minute error=form.field("limits.requests_per_minute") />
                <TextField id=format!("{prefix}-rpd") label="Requests per day" kind="number" value=inputs.requests_per_day error=form.field("limits.requests_per_day") />
                <TextField id=format!("{prefix}-concurrent") label="Calls at once" kind="number" value=inputs.max_concurrent error=form.field("limits.max_concurrent") />
            </div>
            <div class="field-row">
                <TextField id=format!("{prefix}-tpm") label="Tokens per minute" kind="number" value=inputs.tokens_per_minute error=form.field("limits.tokens_per_minute") />
                <TextField id=format!("{prefix}-tpd") label="Tokens per day" kind="number" value=inputs.tokens_per_day error=form.field("limits.tokens_per_day") />
                <TextField id=format!("{prefix}-budget") label="Monthly budget (USD)" value=inputs.monthly_budget placeholder="25.00" error=form.field("limits.monthly_budget_micros") />
            </div>
            <fieldset class="field budgets" class:invalid=move || form.field("limits.budgets").with(Option::is_some)>
                <legend>"Budgets per period"</legend>
                <p class="hint">"Spend or tokens per day, week, calendar month or rolling 30 days (UTC). A hard budget refuses this key's calls that would pass it (429 insufficient_quota); a soft one only raises alerts at the thresholds you list."</p>
                <BudgetList rows=inputs.budgets form=form prefix=prefix field="limits.budgets" currency="USD" />
            </fieldset>
        </fieldset>
    }
}
