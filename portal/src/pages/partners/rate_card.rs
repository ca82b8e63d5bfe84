//! The partner's rate card: what its sub-tenants pay. The markup in force (over the platform's
//! prices, for models the card does not list) and a form for a new one; the card's own entries
//! and a form to add one. Both only ever add a version from now on: what was billed stays.

use api_types::prices::{MarkupView, PriceEntryView, PriceListView};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::components::status::{Empty, loaded};
use crate::model::format;
use crate::model::price_form::{self, PriceDraft, RateCell, rate_cells};
use crate::state::ui::{Ui, now};

#[component]
pub fn RateCard(partner: Uuid) -> impl IntoView {
    let card = LocalResource::new(move || endpoints::partner_prices(partner));
    let changed = Callback::new(move |()| card.refetch());
    view! {
        <section class="card rate-card" aria-labelledby="rate-card-title">
            <h2 id="rate-card-title">"Rate card"</h2>
            <p class="muted">
                "What your sub-tenants pay per million tokens: the card's own price for a model, else the platform's price with your markup. A tenant's negotiated price comes first. Changes apply from now on, never to calls already billed."
            </p>
            {loaded(card, move |list: PriceListView| view! {
                <Markups markups=list.markups.clone() />
                <Entries entries=list.entries currency=list.currency />
            })}
            <MarkupForm partner=partner on_saved=changed />
            <h3>"Add a price"</h3>
            <PriceForm partner=partner on_saved=changed />
        </section>
    }
}

/// The markup in force, then every version, newest first.
#[component]
fn Markups(markups: Vec<MarkupView>) -> impl IntoView {
    let at = now();
    let current = price_form::current_markup(&markups, at).cloned();
    let line = price_form::markup_line(current.as_ref());
    view! {
        <p id="rate-card-markup"><strong>{line}</strong></p>
        {(!markups.is_empty()).then(|| view! {
            <ul class="markup-list" aria-label="Markups, newest first">
                {markups
                    .into_iter()
                    .map(|it| {
                        let state = if Some(&it) == current.as_ref() {
                            Some("in force")
                        } else if it.effective_from > at {
                            Some("scheduled")
                        } else {
                            None
                        };
                        view! {
                            <li>
                                {format!("{}% from {}", it.percent, format::datetime(it.effective_from))}
                                {state.map(|it| view! { <span class="badge">{it}</span> })}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        })}
    }
}

#[component]
fn Entries(entries: Vec<PriceEntryView>, currency: String) -> impl IntoView {
    if entries.is_empty() {
        return view! {
            <Empty title="No prices of its own">
                <p>"Sub-tenants pay the platform's prices with your markup. Add a price below to set one model's."</p>
            </Empty>
        }
        .into_any();
    }
    let unit = format!("{currency} / 1M tokens");
    view! {
        <div class="table-wrap">
            <table class="rate-card-table">
                <thead>
                    <tr>
                        <th scope="col">"Model"</th>
                        <th scope="col">"Provider"</th>
                        <th scope="col">"From"</th>
                        <th scope="col">"Input"<span class="unit">{unit.clone()}</span></th>
                        <th scope="col">"Output"<span class="unit">{unit.clone()}</span></th>
                        <th scope="col">"Cached input"<span class="unit">{unit.clone()}</span></th>
                        <th scope="col">"Cache write"<span class="unit">{unit}</span></th>
                    </tr>
                </thead>
                <tbody>
                    {entries
                        .into_iter()
                        .map(|entry| view! {
                            <tr>
                                <th scope="row"><code>{entry.model.clone()}</code></th>
                                <td>{entry.provider.clone()}</td>
                                <td>{format::datetime(entry.effective_from)}</td>
                                {rate_cells(&entry.rates)
                                    .into_iter()
                                    .map(|cell: RateCell| view! {
                                        <td class="rate" class:inherited=cell.inherited>{cell.text}</td>
                                    })
                                    .collect_view()}
                            </tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn MarkupForm(partner: Uuid, on_saved: Callback<()>) -> impl IntoView {
    let ui = Ui::get();
    let form = FormState::new();
    let percent = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let request = match price_form::markup_request(&percent.get_untracked()) {
            Ok(it) => it,
            Err(errors) => {
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::set_partner_markup(partner, &request).await;
            form.finish(&result);
            if let Ok(saved) = result {
                percent.set(String::new());
                ui.success(format!("The markup is {}% from now on.", saved.percent));
                on_saved.run(());
            }
        });
    };
    view! {
        <form on:submit=submit novalidate class="inline-form">
            <FormError form=form />
            <TextField
                id="markup-percent"
                label="New markup (percent)"
                value=percent
                required=true
                hint="From -100 to 1000, at most two decimals; negative is a discount. Applies from now on."
                placeholder="25"
                error=form.field("percent")
            />
            <SubmitButton form=form label="Set markup" busy_label="Setting…" />
        </form>
    }
}

#[component]
fn PriceForm(partner: Uuid, on_saved: Callback<()>) -> impl IntoView {
    let ui = Ui::get();
    let form = FormState::new();
    let provider = RwSignal::new(String::new());
    let model = RwSignal::new(String::new());
    let input = RwSignal::new(String::new());
    let output = RwSignal::new(String::new());
    let cached_input = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let draft = PriceDraft {
            provider: provider.get_untracked(),
            model: model.get_untracked(),
            input: input.get_untracked(),
            output: output.get_untracked(),
            cached_input: cached_input.get_untracked(),
        };
        let request = match draft.to_request() {
            Ok(it) => it,
            Err(errors) => {
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::add_partner_price(partner, &request).await;
            form.finish(&result);
            if let Ok(added) = result {
                for field in [model, input, output, cached_input] {
                    field.set(String::new());
                }
                ui.success(format!(
                    "Added the price of {} on {}.",
                    added.model, added.provider
                ));
                on_saved.run(());
            }
        });
    };
    view! {
        <form on:submit=submit novalidate>
            <FormError form=form />
            <div class="field-row">
                <TextField
                    id="price-provider"
                    label="Provider"
                    value=provider
                    required=true
                    hint="A provider's name as on the models page, its kind (openai, anthropic…), or * for any."
                    error=form.field("provider")
                />
                <TextField
                    id="price-model"
                    label="Upstream model"
                    value=model
                    required=true
                    hint="The provider's model name, like gpt-4o-mini."
                    error=form.field("model")
                />
            </div>
            <div class="field-row">
                <TextField id="price-input" label="Input" value=input required=true hint="Per million tokens." placeholder="0.15" error=form.field("rates.input") />
                <TextField id="price-output" label="Output" value=output required=true hint="Per million tokens." placeholder="0.6" error=form.field("rates.output") />
                <TextField id="price-cached-input" label="Cached input" value=cached_input hint="Optional: the input rate when empty." placeholder="0.075" error=form.field("rates.cached_input") />
            </div>
            <SubmitButton form=form label="Add price" busy_label="Adding…" />
        </form>
    }
}
