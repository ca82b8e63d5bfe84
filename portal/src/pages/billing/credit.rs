//! The tenant's prepaid credit on its Billing page: the balance now, whether calls stop at
//! zero, the latest top-ups; buying credit by card on Stripe's checkout page (with Stripe, for
//! a prepaid tenant that is not a partner's sub-tenant) and what the return from it says; for
//! whoever writes the tenant's bill (operators, its partner) the setting and a top-up form,
//! checked as the server checks them before anything is sent.

use api_types::billing::CreditView;
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::form::{Checkbox, FormError, FormState, SubmitButton, TextField};
use crate::components::status::loaded;
use crate::model::bill_figures::money;
use crate::model::credit_form;
use crate::state::session::Session;
use crate::state::ui::Ui;

#[component]
pub fn Credit(tenant: Uuid) -> impl IntoView {
    let session = Session::get();
    let write = Memo::new(move |_| session.abilities().write_bills);
    let credit = LocalResource::new(move || endpoints::credit(tenant));
    let changed = Callback::new(move |()| credit.refetch());
    view! {
        <section class="card" aria-labelledby="credit-title">
            <h2 id="credit-title">"Prepaid credit"</h2>
            {credit_form::checkout_outcome(crate::pages::query_param("credit").as_deref())
                .map(|text| view! { <p class="notice" role="status" id="credit-checkout-outcome">{text}</p> })}
            {loaded(credit, move |view: CreditView| {
                let stop = view.stop_at_zero;
                let can_pay = view.can_pay;
                let body = if view.prepaid {
                    let (balance, state) = credit_form::summary(&view);
                    let rows = view.top_ups.clone();
                    let currency = view.currency.clone();
                    view! {
                        <p class="credit-balance">"Balance: " <strong id="credit-balance">{balance}</strong></p>
                        <p class="muted" id="credit-state">{state}</p>
                        {(!rows.is_empty()).then(|| view! {
                            <div class="table-wrap">
                                <table class="top-ups">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Date"</th>
                                            <th scope="col">"Reference"</th>
                                            <th scope="col">"Reason"</th>
                                            <th scope="col">"By"</th>
                                            <th scope="col" class="num">"Amount"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {rows
                                            .into_iter()
                                            .map(|it| view! {
                                                <tr>
                                                    <td>{it.created_at.date().to_string()}</td>
                                                    <td><code>{it.reference}</code></td>
                                                    <td>{it.reason}</td>
                                                    <td>{it.author}</td>
                                                    <td class="num price">{money(&it.amount, &currency)}</td>
                                                </tr>
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        })}
                    }
                    .into_any()
                } else {
                    view! {
                        <p class="muted" id="credit-state">"Billed afterwards: this tenant is not on prepaid credit."</p>
                    }
                    .into_any()
                };
                view! {
                    {body}
                    {can_pay.then(|| view! { <BuyCredit tenant=tenant /> })}
                    <Show when=move || write.get()>
                        <CreditSettings tenant=tenant stop=stop changed=changed />
                        <TopUpForm tenant=tenant changed=changed />
                    </Show>
                }
            })}
        </section>
    }
}

/// Buying credit by card: the amount, checked as the server checks it, then Stripe's checkout
/// page, from which the payer comes back to this page.
#[component]
fn BuyCredit(tenant: Uuid) -> impl IntoView {
    let form = FormState::new();
    let amount = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let request = match credit_form::checkout_request(&amount.get_untracked()) {
            Ok(it) => it,
            Err(errors) => {
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::credit_checkout(tenant, &request).await;
            form.finish(&result);
            if let Ok(page) = result {
                // Stripe's page takes the card; paid, it sends the payer back here.
                let _ = window().location().set_href(&page.url);
            }
        });
    };
    view! {
        <form on:submit=submit novalidate class="buy-credit-form" aria-label="Buy credit by card">
            <FormError form=form />
            <TextField id="buy-credit-amount" label="Amount to buy" value=amount error=form.field("amount") required=true
                hint="Paid by card on Stripe's page, from 0.50 to 999 999.99; added to the credit once Stripe confirms the payment." />
            <div class="form-actions">
                <SubmitButton form=form label="Buy credit" busy_label="Opening the payment page…" />
            </div>
        </form>
    }
}

/// Whether calls stop at zero (saving it puts the tenant on prepaid credit).
#[component]
fn CreditSettings(tenant: Uuid, stop: bool, changed: Callback<()>) -> impl IntoView {
    let ui = Ui::get();
    let form = FormState::new();
    let checked = RwSignal::new(stop);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let stop_at_zero = checked.get_untracked();
        spawn_local(async move {
            let result = endpoints::set_credit(tenant, stop_at_zero).await;
            form.finish(&result);
            if result.is_ok() {
                ui.success(if stop_at_zero {
                    "Saved: calls stop when the balance cannot cover them."
                } else {
                    "Saved: calls go on when the balance runs out."
                });
                changed.run(());
            }
        });
    };
    view! {
        <form on:submit=submit novalidate class="credit-settings" aria-label="Prepaid credit settings">
            <FormError form=form />
            <Checkbox id="credit-stop-at-zero" label="Stop calls at zero" checked=checked />
            <div class="form-actions">
                <SubmitButton form=form label="Save credit setting" busy_label="Saving…" />
            </div>
        </form>
    }
}

#[component]
fn TopUpForm(tenant: Uuid, changed: Callback<()>) -> impl IntoView {
    let ui = Ui::get();
    let form = FormState::new();
    let amount = RwSignal::new(String::new());
    let reference = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let request = match credit_form::top_up_request(
            &amount.get_untracked(),
            &reference.get_untracked(),
            &reason.get_untracked(),
        ) {
            Ok(it) => it,
            Err(errors) => {
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::add_top_up(tenant, &request).await;
            form.finish(&result);
            if let Ok(result) = result {
                ui.success(if result.added {
                    format!("Added {} to the credit.", result.top_up.amount)
                } else {
                    "That reference was added before: nothing added.".to_owned()
                });
                amount.set(String::new());
                reference.set(String::new());
                reason.set(String::new());
                changed.run(());
            }
        });
    };
    view! {
        <form on:submit=submit novalidate class="top-up-form" aria-label="Top up the credit">
            <FormError form=form />
            <TextField id="top-up-amount" label="Top-up amount" value=amount error=form.field("amount") required=true
                hint="In the bill's currency, exact to nine decimal places." />
            <TextField id="top-up-reference" label="Reference" value=reference error=form.field("reference")
                hint="Optional: a payment's or receipt's id. The same reference is only ever added once." />
            <TextField id="top-up-reason" label="Top-up reason" value=reason error=form.field("reason") required=true
                hint="Kept with it and in the audit log." />
            <div class="form-actions">
                <SubmitButton form=form label="Top up" busy_label="Adding…" />
            </div>
        </form>
    }
}
