//! Adding a credit or an adjustment to the tenant's bill, for whoever writes it (the platform's
//! operators, the tenant's partner): checked as the server checks it before anything is sent.

use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::form::{
    FormError, FormState, SelectField, SubmitButton, TextField, options,
};
use crate::model::adjustment_form;
use crate::state::ui::{Ui, now};

#[component]
pub fn CorrectionForm(tenant: Uuid, added: Callback<()>) -> impl IntoView {
    let ui = Ui::get();
    let form = FormState::new();
    let kind = RwSignal::new("credit".to_owned());
    let amount = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let day = RwSignal::new(String::new());
    let kinds = Signal::derive(|| {
        options(&[
            ("credit", "Credit: money given back"),
            ("adjustment", "Adjustment: either way"),
        ])
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let request = match adjustment_form::request(
            &kind.get_untracked(),
            &amount.get_untracked(),
            &reason.get_untracked(),
            &day.get_untracked(),
            now(),
        ) {
            Ok(it) => it,
            Err(errors) => {
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::add_adjustment(tenant, &request).await;
            form.finish(&result);
            if let Ok(added_one) = result {
                ui.success(format!(
                    "Added: {} on the bill of {}.",
                    added_one.amount,
                    added_one.effective_at.date()
                ));
                amount.set(String::new());
                reason.set(String::new());
                day.set(String::new());
                added.run(());
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="correction-title">
            <h2 id="correction-title">"Add a credit or an adjustment"</h2>
            <p class="muted">"Corrections are only ever added (a wrong one is undone by another), with the reason, and are audited. They count in the month of their day."</p>
            <form on:submit=submit novalidate class="correction-form" aria-label="Add a credit or an adjustment">
                <FormError form=form />
                <SelectField id="correction-kind" label="Kind" value=kind options=kinds error=form.field("kind") />
                <TextField
                    id="correction-amount"
                    label="Amount"
                    value=amount
                    hint="In the bill's currency, exact to nine decimal places. A credit is positive; an adjustment may be negative."
                    error=form.field("amount")
                    required=true
                />
                <TextField
                    id="correction-reason"
                    label="Reason"
                    value=reason
                    hint="Shown on the bill and kept in the audit log."
                    error=form.field("reason")
                    required=true
                />
                <TextField
                    id="correction-day"
                    label="Counts on"
                    value=day
                    kind=Signal::derive(|| "date".to_owned())
                    hint="A day (UTC) up to 366 days back; empty: now."
                    error=form.field("effective_at")
                />
                <div class="form-actions">
                    <SubmitButton form=form label="Add to the bill" busy_label="Adding…" />
                </div>
            </form>
        </section>
    }
}
