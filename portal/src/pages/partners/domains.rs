//! The partner's custom domains: the host names on which the portal (and the API) wear its
//! brand. Add one, remove one after a confirmation.

use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::components::status::Empty;
use crate::model::errors::FieldErrors;
use crate::model::validate;
use crate::state::ui::Ui;

#[component]
pub fn Domains(partner: Uuid, initial: Vec<String>) -> impl IntoView {
    let ui = Ui::get();
    let domains = RwSignal::new(initial);
    let host = RwSignal::new(String::new());
    let form = FormState::new();
    let target = RwSignal::new(None::<String>);
    let confirm_open = RwSignal::new(false);

    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let checked = match validate::host(&host.get_untracked()) {
            Ok(it) => it,
            Err(message) => {
                let mut errors = FieldErrors::new();
                errors.add("host", message);
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::add_partner_domain(partner, &checked).await;
            form.finish(&result);
            if let Ok(saved) = result {
                host.set(String::new());
                domains.set(saved.domains);
                ui.success(format!(
                    "Added {checked}: point its DNS at this server, and the portal there shows the brand."
                ));
            }
        });
    };
    let remove = Callback::new(move |()| {
        let Some(gone) = target.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match endpoints::remove_partner_domain(partner, &gone).await {
                Ok(()) => {
                    domains.update(|all| all.retain(|it| *it != gone));
                    ui.success(format!("Removed {gone}."));
                }
                Err(e) => ui.error(e.message()),
            }
        });
    });

    view! {
        <section class="card" aria-labelledby="domains-title">
            <h2 id="domains-title">"Custom domains"</h2>
            {move || {
                let list = domains.get();
                if list.is_empty() {
                    return view! {
                        <Empty title="No domains yet">
                            <p>"Add the host name your customers will use, like ai.partner.example."</p>
                        </Empty>
                    }
                    .into_any();
                }
                view! {
                    <ul class="plain-list domain-list">
                        {list
                            .into_iter()
                            .map(|domain| {
                                let for_remove = domain.clone();
                                view! {
                                    <li>
                                        <code>{domain.clone()}</code>
                                        <button
                                            type="button"
                                            class="button danger small"
                                            on:click=move |_| {
                                                target.set(Some(for_remove.clone()));
                                                confirm_open.set(true);
                                            }
                                        >
                                            "Remove" <span class="sr-only">" " {domain}</span>
                                        </button>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
            <form on:submit=add novalidate class="inline-form">
                <FormError form=form />
                <TextField id="domain-host" label="Domain" value=host required=true placeholder="ai.partner.example" hint="Without https:// or a path." error=form.field("host") />
                <SubmitButton form=form label="Add domain" busy_label="Adding…" />
            </form>
        </section>
        <ConfirmDialog
            open=confirm_open
            id="remove-domain"
            title="Remove this domain?"
            message=Signal::derive(move || target.get().map(|it| format!(
                "{it} stops showing the partner's brand within a second; people there see the platform instead."
            )).unwrap_or_default())
            confirm_label="Remove domain"
            danger=true
            on_confirm=remove
        />
    }
}
