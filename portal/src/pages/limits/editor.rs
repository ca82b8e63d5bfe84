//! The one limits form the tenant's Limits page, the partner console (shared limits) and the
//! operator view (the platform's) share: rates, budgets (`components::budget_list`), per-model
//! rates (a table with rows added and removed), allowed and denied models, what happens when
//! the shared counters are down, and the lock over a tenant's own administrators. Read-only,
//! with the reason, when the caller may not change it. Its checks live in `model::limit_form`;
//! the server's messages land on the same inputs.

use api_types::limits::LimitsView;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::endpoints;
use crate::api::paths::LimitScope;
use crate::components::budget_list::{BudgetList, BudgetRows};
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{
    Checkbox, FormError, FormState, SelectField, SubmitButton, TextField, field_error, options,
};
use crate::components::icons::{CLOSE, PLUS, icon};
use crate::components::status::Empty;
use crate::model::limit_form::{
    self, COUNTERS_DOWN, LimitForm, MAX_MODEL_LIMITS, ModelRatesText, PolicyOwner, RATES, RatesText,
};
use crate::state::ui::Ui;

/// The five rate inputs, in the order of `RATES`.
#[derive(Debug, Clone, Copy)]
struct Rates([RwSignal<String>; 5]);

impl Rates {
    fn new(text: RatesText) -> Self {
        Rates(text.0.map(RwSignal::new))
    }

    fn text(self) -> RatesText {
        RatesText(self.0.map(|it| it.get_untracked()))
    }
}

/// One model's own rates being edited.
#[derive(Debug, Clone, Copy)]
struct ModelRow {
    id: u64,
    model: RwSignal<String>,
    rates: Rates,
}

/// What the form holds.
#[derive(Debug, Clone, Copy)]
struct Editor {
    rates: Rates,
    budgets: BudgetRows,
    models: RwSignal<Vec<ModelRow>>,
    allowed: RwSignal<String>,
    denied: RwSignal<String>,
    counters_down: RwSignal<String>,
    locked: RwSignal<bool>,
    next_id: StoredValue<u64>,
}

impl Editor {
    fn new(form: LimitForm) -> Self {
        let editor = Editor {
            rates: Rates::new(form.rates),
            budgets: BudgetRows::new(&form.budgets),
            models: RwSignal::new(Vec::new()),
            allowed: RwSignal::new(form.allowed_models),
            denied: RwSignal::new(form.denied_models),
            counters_down: RwSignal::new(form.counters_down),
            locked: RwSignal::new(form.locked),
            next_id: StoredValue::new(0),
        };
        let models: Vec<ModelRow> = form.models.into_iter().map(|it| editor.model(it)).collect();
        editor.models.set(models);
        editor
    }

    fn next(self) -> u64 {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        id
    }

    fn model(self, text: ModelRatesText) -> ModelRow {
        ModelRow {
            id: self.next(),
            model: RwSignal::new(text.model),
            rates: Rates::new(text.rates),
        }
    }

    /// The form as typed (untracked: for submitting).
    fn form(self) -> LimitForm {
        LimitForm {
            rates: self.rates.text(),
            budgets: self.budgets.texts(),
            models: self.models.with_untracked(|rows| {
                rows.iter()
                    .map(|row| ModelRatesText {
                        model: row.model.get_untracked(),
                        rates: row.rates.text(),
                    })
                    .collect()
            }),
            allowed_models: self.allowed.get_untracked(),
            denied_models: self.denied.get_untracked(),
            counters_down: self.counters_down.get_untracked(),
            locked: self.locked.get_untracked(),
        }
    }
}

/// The form over `limits` (a scope's policy as the API answered it). `can_lock` offers the lock
/// over a tenant's own administrators (to operators and the tenant's partner); ids start with
/// `prefix`. `on_changed` runs after a save or a removal.
#[component]
pub fn LimitsEditor(
    scope: LimitScope,
    limits: LimitsView,
    owner: PolicyOwner,
    can_lock: bool,
    prefix: &'static str,
    on_changed: Callback<()>,
) -> impl IntoView {
    let ui = Ui::get();
    let form = FormState::new();
    let editable = limits.editable;
    let set = limits.set;
    let reason = (!editable).then(|| {
        view! { <p class="notice info read-only-reason">{limit_form::read_only_reason(owner, limits.policy.locked)}</p> }
    });
    if !editable && !set {
        return view! {
            {reason}
            <Empty title="No limits set">
                <p>"Nothing is limited here."</p>
            </Empty>
        }
        .into_any();
    }
    let currency = limits.currency.clone();
    let editor = Editor::new(LimitForm::from_view(&limits.policy));
    let remove_open = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let request = match editor.form().to_request() {
            Ok(it) => it,
            Err(errors) => {
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::set_limits(scope, &request).await;
            form.finish(&result);
            if let Ok(saved) = result {
                ui.success(if saved.set {
                    "Saved the limits: calls are held to them within a second."
                } else {
                    "Saved: nothing is limited here now."
                });
                on_changed.run(());
            }
        });
    };
    let remove = Callback::new(move |()| {
        spawn_local(async move {
            match endpoints::remove_limits(scope).await {
                Ok(()) => {
                    ui.success("Removed all limits set here.");
                    on_changed.run(());
                }
                Err(e) => ui.error(e.message()),
            }
        });
    });
    let remove_message = match owner {
        PolicyOwner::Tenant { .. } => {
            "Every limit this tenant sets is removed at once. Its plan's limits, any shared limits and its keys' own limits still apply."
        }
        PolicyOwner::Partner => {
            "Your sub-tenants' calls are no longer limited together. Each one's own limits still apply."
        }
        PolicyOwner::Platform => {
            "Tenants are no longer held to the platform's limits. Their own and their keys' limits still apply."
        }
    };

    let rate_fields = RATES
        .iter()
        .enumerate()
        .map(|(i, (field, label))| {
            view! {
                <TextField
                    id=format!("{prefix}-{}", field.replace('_', "-"))
                    label=*label
                    value=editor.rates.0[i]
                    placeholder="no limit"
                    error=form.field(field)
                />
            }
        })
        .collect_view();
    let add_model = move |_: leptos::ev::MouseEvent| {
        let row = editor.model(ModelRatesText::default());
        editor.models.update(|rows| rows.push(row));
    };

    view! {
        {reason}
        <form on:submit=submit novalidate class="limits-form" aria-label="Limits">
            <FormError form=form />
            <fieldset class="limits-fields" disabled=!editable>
                <fieldset class="field">
                    <legend>"Rates"</legend>
                    <p class="hint">"For all the calls limited here together. Empty: no limit."</p>
                    <div class="field-row rates-row">{rate_fields}</div>
                </fieldset>

                <fieldset class="field budgets" class:invalid=move || form.field("budgets").with(Option::is_some)>
                    <legend>"Budgets"</legend>
                    <p class="hint">
                        "Spend (in " {currency.clone()} ") or tokens per period, in UTC. A hard budget refuses calls that would pass it (429); a soft one only raises alerts. Alerts are raised once per period at each threshold you list."
                    </p>
                    <BudgetList rows=editor.budgets form=form prefix=prefix field="budgets" currency=currency.clone() editable=editable />
                </fieldset>

                <fieldset class="field model-limits" class:invalid=move || form.field("models").with(Option::is_some)>
                    <legend>"Per-model rates"</legend>
                    <p class="hint">"A model's own rates, on top of the ones above: calls naming it must pass both. Empty cells: no limit."</p>
                    <Show
                        when=move || editor.models.with(|it| !it.is_empty())
                        fallback=|| view! { <p class="muted">"No model has rates of its own here."</p> }
                    >
                        <div class="table-wrap">
                            <table class="model-limits-table">
                                <thead>
                                    <tr>
                                        <th scope="col">"Model"</th>
                                        {RATES.iter().map(|(_, label)| view! { <th scope="col">{*label}</th> }).collect_view()}
                                        <th scope="col"><span class="sr-only">"Remove"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    <For each=move || editor.models.get() key=|row| row.id let:row>
                                        <ModelRowEditor editor=editor row=row form=form prefix=prefix />
                                    </For>
                                </tbody>
                            </table>
                        </div>
                    </Show>
                    {move || form.field("models").get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
                    <Show when=move || editable>
                        <button
                            type="button"
                            class="button secondary small"
                            disabled=move || { editor.models.with(Vec::len) >= MAX_MODEL_LIMITS }
                            on:click=add_model
                        >
                            {icon(PLUS)}
                            <span>"Add model"</span>
                        </button>
                    </Show>
                </fieldset>

                <div class="field-row">
                    <TextField
                        id=format!("{prefix}-allowed-models")
                        label="Allowed models"
                        value=editor.allowed
                        multiline=true
                        hint="Model aliases, separated by commas or lines. Empty: every model."
                        error=form.field("allowed_models")
                    />
                    <TextField
                        id=format!("{prefix}-denied-models")
                        label="Denied models"
                        value=editor.denied
                        multiline=true
                        hint="Refused even when allowed above."
                        error=form.field("denied_models")
                    />
                </div>
                <SelectField
                    id=format!("{prefix}-counters-down")
                    label="When the shared counters cannot be reached"
                    value=editor.counters_down
                    options=Signal::derive(|| options(&COUNTERS_DOWN))
                    hint="The counters every node shares; rare, and reported to the operators."
                    error=form.field("counters_down")
                />
                {can_lock.then(|| view! {
                    <div class="field" class:invalid=move || form.field("locked").with(Option::is_some)>
                        <Checkbox id=format!("{prefix}-locked") label="Lock (customer cannot change)" checked=editor.locked />
                        <p class="hint">"The tenant's own owners and admins then see these limits but cannot change or remove them."</p>
                        {move || form.field("locked").get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
                    </div>
                })}
            </fieldset>
            {editable.then(|| view! {
                <div class="form-actions">
                    <SubmitButton form=form label="Save limits" busy_label="Saving…" />
                    {set.then(|| view! {
                        <button type="button" class="button danger" on:click=move |_| remove_open.set(true)>
                            "Remove all limits"
                        </button>
                    })}
                </div>
            })}
        </form>
        <ConfirmDialog
            open=remove_open
            id=format!("{prefix}-remove")
            title="Remove all limits?"
            message=Signal::derive(move || remove_message.to_owned())
            confirm_label="Remove all limits"
            danger=true
            on_confirm=remove
        />
    }
    .into_any()
}

#[component]
fn ModelRowEditor(
    editor: Editor,
    row: ModelRow,
    form: FormState,
    prefix: &'static str,
) -> impl IntoView {
    let number = move || {
        editor
            .models
            .with(|all| all.iter().position(|it| it.id == row.id))
            .map_or(0, |it| it + 1)
    };
    let named = move || {
        let model = row.model.get();
        let model = model.trim();
        if model.is_empty() {
            format!("row {}", number())
        } else {
            model.to_owned()
        }
    };
    let cells = RATES
        .iter()
        .enumerate()
        .map(|(i, (field, label))| {
            let value = row.rates.0[i];
            let error = field_error(form, move || format!("models.{}.{field}", row.model.get().trim()));
            let error_id = format!("{prefix}-model-{}-{field}-error", row.id);
            let described = error_id.clone();
            view! {
                <td class:invalid=move || error.with(Option::is_some)>
                    <input
                        id=format!("{prefix}-model-{}-{field}", row.id)
                        type="text"
                        inputmode="numeric"
                        placeholder="—"
                        aria-label=move || format!("{label} for {}", named())
                        aria-invalid=move || if error.with(Option::is_some) { "true" } else { "false" }
                        aria-describedby=move || error.with(Option::is_some).then(|| described.clone())
                        prop:value=move || value.get()
                        on:input=move |ev| value.set(event_target_value(&ev))
                    />
                    {move || error.get().map(|message| view! { <p class="field-error" id=error_id.clone()>{message}</p> })}
                </td>
            }
        })
        .collect_view();
    view! {
        <tr>
            <td>
                <input
                    id=format!("{prefix}-model-{}-name", row.id)
                    type="text"
                    placeholder="gpt-4o"
                    aria-label=move || format!("Model, row {}", number())
                    prop:value=move || row.model.get()
                    on:input=move |ev| row.model.set(event_target_value(&ev))
                />
            </td>
            {cells}
            <td class="actions">
                <button
                    type="button"
                    class="icon-button"
                    aria-label=move || format!("Remove the rates for {}", named())
                    on:click=move |_| editor.models.update(|rows| rows.retain(|it| it.id != row.id))
                >
                    {icon(CLOSE)}
                </button>
            </td>
        </tr>
    }
}
