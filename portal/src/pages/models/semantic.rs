//! The semantic cache: the tenant's own similarity threshold, which applies on every model
//! whose answers are also found again by a similar prompt (empty: each model's own).

use api_types::manage::CacheSettings;
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::model::cache_form;
use crate::model::errors::FieldErrors;
use crate::state::ui::Ui;

#[component]
pub fn SemanticCache(
    tenant: Uuid,
    view: CacheSettings,
    allowed: bool,
    on_saved: Callback<()>,
) -> impl IntoView {
    let ui = Ui::get();
    let form = FormState::new();
    let text = RwSignal::new(cache_form::threshold_text(view.semantic_threshold));
    let current = cache_form::current(view.semantic_threshold);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let threshold = match cache_form::threshold(&text.get_untracked()) {
            Ok(it) => it,
            Err(message) => {
                let mut errors = FieldErrors::new();
                errors.add("semantic_threshold", message);
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::set_cache_settings(tenant, threshold).await;
            form.finish(&result);
            if let Ok(saved) = result {
                ui.success(match saved.semantic_threshold {
                    None => "Each model's own threshold applies again.".to_owned(),
                    Some(it) => format!("Semantic cache threshold saved: {it}."),
                });
                on_saved.run(());
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="semantic-cache-title">
            <h2 id="semantic-cache-title">"Semantic cache"</h2>
            <p id="semantic-cache-now">{current}</p>
            {if allowed {
                view! {
                    <form on:submit=submit novalidate>
                        <FormError form=form />
                        <TextField
                            id="semantic-threshold"
                            label="Similarity threshold"
                            value=text
                            kind="number"
                            hint="From 0.5 to 1.0: higher serves a kept answer only to closer prompts. Empty: each model's own."
                            placeholder="each model's own"
                            error=form.field("semantic_threshold")
                        />
                        <SubmitButton form=form label="Save" busy_label="Saving…" />
                    </form>
                }
                .into_any()
            } else {
                ().into_any()
            }}
        </section>
    }
}
