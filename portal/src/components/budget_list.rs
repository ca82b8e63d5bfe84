//! Budget rows, added and removed: the spend and token budgets per period a limits policy
//! (tenant, partner, platform) and an API key both have. Their checks live in
//! `model::limit_form::check_budgets`; the server's messages land on the same inputs, under
//! the field names the caller gives (`budgets` or `limits.budgets`).

use leptos::prelude::*;

use crate::components::form::{Checkbox, FormState, SelectField, TextField, field_error, options};
use crate::components::icons::{CLOSE, PLUS, icon};
use crate::model::limit_form::{BudgetText, MAX_BUDGETS, PERIODS, SPEND, TOKENS};

/// One budget being edited.
#[derive(Debug, Clone, Copy)]
struct BudgetRow {
    id: u64,
    period: RwSignal<String>,
    kind: RwSignal<String>,
    amount: RwSignal<String>,
    hard: RwSignal<bool>,
    thresholds: RwSignal<String>,
}

/// The rows being edited.
#[derive(Debug, Clone, Copy)]
pub struct BudgetRows {
    rows: RwSignal<Vec<BudgetRow>>,
    next_id: StoredValue<u64>,
}

impl BudgetRows {
    /// Rows holding `budgets`.
    pub fn new(budgets: &[BudgetText]) -> Self {
        let res = BudgetRows {
            rows: RwSignal::new(Vec::new()),
            next_id: StoredValue::new(0),
        };
        let rows = budgets.iter().map(|it| res.row(it.clone())).collect();
        res.rows.set(rows);
        res
    }

    fn row(self, text: BudgetText) -> BudgetRow {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        BudgetRow {
            id,
            period: RwSignal::new(text.period),
            kind: RwSignal::new(text.kind),
            amount: RwSignal::new(text.amount),
            hard: RwSignal::new(text.hard),
            thresholds: RwSignal::new(text.thresholds),
        }
    }

    /// What the rows hold (untracked: for submitting).
    pub fn texts(self) -> Vec<BudgetText> {
        self.rows.with_untracked(|rows| {
            rows.iter()
                .map(|row| BudgetText {
                    period: row.period.get_untracked(),
                    kind: row.kind.get_untracked(),
                    amount: row.amount.get_untracked(),
                    hard: row.hard.get_untracked(),
                    thresholds: row.thresholds.get_untracked(),
                })
                .collect()
        })
    }
}

/// The rows with their inputs, the list's own message and an "Add budget" button; ids start
/// with `prefix` (`{prefix}-budget-{row}-amount`…), messages come from `field` (`{field}[0].spend`).
#[component]
pub fn BudgetList(
    rows: BudgetRows,
    form: FormState,
    prefix: &'static str,
    field: &'static str,
    /// The unit spend is counted in.
    #[prop(into)]
    currency: String,
    #[prop(default = true)] editable: bool,
) -> impl IntoView {
    let add = move |_: leptos::ev::MouseEvent| {
        let row = rows.row(BudgetText::default());
        rows.rows.update(|all| all.push(row));
    };
    view! {
        <Show when=move || !editable && rows.rows.with(Vec::is_empty)>
            <p class="muted">"No budgets."</p>
        </Show>
        <ol class="budget-list">
            <For each=move || rows.rows.get() key=|row| row.id let:row>
                <BudgetEditor rows=rows row=row form=form prefix=prefix field=field currency=currency.clone() />
            </For>
        </ol>
        {move || form.field(field).get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
        <Show when=move || editable>
            <button
                type="button"
                class="button secondary small"
                id=format!("{prefix}-add-budget")
                disabled=move || { rows.rows.with(Vec::len) >= MAX_BUDGETS }
                on:click=add
            >
                {icon(PLUS)}
                <span>"Add budget"</span>
            </button>
        </Show>
    }
}

#[component]
fn BudgetEditor(
    rows: BudgetRows,
    row: BudgetRow,
    form: FormState,
    prefix: &'static str,
    field: &'static str,
    currency: String,
) -> impl IntoView {
    let index = move || {
        rows.rows
            .with(|all| all.iter().position(|it| it.id == row.id))
            .unwrap_or(0)
    };
    let at =
        move |name: &'static str| field_error(form, move || format!("{field}[{}].{name}", index()));
    let spend_error = at("spend");
    let tokens_error = at("tokens");
    let amount_error = Signal::derive(move || spend_error.get().or_else(|| tokens_error.get()));
    let id = move |name: &str| format!("{prefix}-budget-{}-{name}", row.id);
    let kinds = vec![
        (SPEND.to_owned(), format!("Spend ({currency})")),
        (TOKENS.to_owned(), "Tokens".to_owned()),
    ];
    view! {
        <li class="budget-row">
            <div class="route-row-head">
                <strong>{move || format!("Budget {}", index() + 1)}</strong>
                <button
                    type="button"
                    class="icon-button"
                    aria-label=move || format!("Remove budget {}", index() + 1)
                    on:click=move |_| rows.rows.update(|all| all.retain(|it| it.id != row.id))
                >
                    {icon(CLOSE)}
                </button>
            </div>
            <div class="field-row">
                <SelectField id=id("period") label="Period" value=row.period options=Signal::derive(|| options(&PERIODS)) error=at("period") />
                <SelectField id=id("kind") label="Counts" value=row.kind options=Signal::derive(move || kinds.clone()) />
                <TextField id=id("amount") label="Amount" value=row.amount required=true placeholder="250" error=amount_error />
                <TextField id=id("thresholds") label="Alert at (%)" value=row.thresholds placeholder="50, 80, 100" error=at("alert_at_percent") />
            </div>
            <Checkbox id=id("hard") label="Hard: refuse calls that would pass it (else alert only)" checked=row.hard />
        </li>
    }
}
