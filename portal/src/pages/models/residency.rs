//! Data residency: the regions the tenant keeps its calls to, chosen among those the
//! platform's deployments are in.

use api_types::manage::ResidencyView;
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::form::{Checkbox, FormError, FormState, SubmitButton};
use crate::state::ui::Ui;

#[component]
pub fn Residency(
    tenant: Uuid,
    view: ResidencyView,
    allowed: bool,
    on_saved: Callback<()>,
) -> impl IntoView {
    let ui = Ui::get();
    let form = FormState::new();
    let choices: Vec<(String, RwSignal<bool>)> = view
        .available
        .iter()
        .map(|region| (region.clone(), RwSignal::new(view.regions.contains(region))))
        .collect();
    let current = if view.regions.is_empty() {
        "Calls may go to deployments in any region.".to_owned()
    } else {
        format!(
            "Calls go only to deployments in: {}. A model with none there is refused, and no fallback or cached answer comes from elsewhere.",
            view.regions.join(", ")
        )
    };
    let picked = choices.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let regions: Vec<String> = picked
            .iter()
            .filter(|(_, on)| on.get_untracked())
            .map(|(region, _)| region.clone())
            .collect();
        spawn_local(async move {
            let result = endpoints::set_residency(tenant, regions).await;
            form.finish(&result);
            if let Ok(saved) = result {
                ui.success(if saved.regions.is_empty() {
                    "Calls may go to any region again.".to_owned()
                } else {
                    format!("Calls stay in {} from now on.", saved.regions.join(", "))
                });
                on_saved.run(());
            }
        });
    };
    let no_regions = view.available.is_empty();
    view! {
        <section class="card" aria-labelledby="residency-title">
            <h2 id="residency-title">"Data residency"</h2>
            <p id="residency-now">{current}</p>
            {if no_regions {
                view! { <p class="muted">"The platform's deployments name no regions."</p> }.into_any()
            } else if allowed {
                view! {
                    <form on:submit=submit novalidate>
                        <FormError form=form />
                        <fieldset class="field">
                            <legend>"Keep calls in"</legend>
                            <p class="hint">"None checked: any region. Keys can narrow it further."</p>
                            {choices
                                .into_iter()
                                .map(|(region, on)| view! { <Checkbox id=format!("residency-{region}") label=region checked=on /> })
                                .collect_view()}
                            {move || form.field("regions").get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
                        </fieldset>
                        <SubmitButton form=form label="Save regions" busy_label="Saving…" />
                    </form>
                }
                .into_any()
            } else {
                ().into_any()
            }}
        </section>
    }
}
