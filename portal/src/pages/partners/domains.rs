//! The partner's custom domains: the host names on which the portal (and the API) wear its
//! brand. Add one, prove control of it with the TXT record shown (copy its value, then
//! Verify: the outcome is said in words), remove one after a confirmation.

use api_types::manage::{DomainStatus, PartnerDomainView};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::copy::CopyButton;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::components::status::Empty;
use crate::model::domain_proof;
use crate::model::errors::FieldErrors;
use crate::model::validate;
use crate::state::ui::Ui;

#[component]
pub fn Domains(partner: Uuid, initial: Vec<PartnerDomainView>) -> impl IntoView {
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
                let verified = saved
                    .domains
                    .iter()
                    .any(|it| it.host == checked && it.status == DomainStatus::Verified);
                domains.set(saved.domains);
                ui.success(if verified {
                    format!("Added {checked}: point its DNS at this server, and the portal there shows the brand.")
                } else {
                    format!("Added {checked}. Publish its TXT record, then select Verify.")
                });
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
                    domains.update(|all| all.retain(|it| it.host != gone));
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
                            .map(|domain| view! { <DomainItem partner=partner domain=domain domains=domains target=target confirm_open=confirm_open /> })
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

/// One domain: its status, and while pending the record to publish and the Verify button.
#[component]
fn DomainItem(
    partner: Uuid,
    domain: PartnerDomainView,
    domains: RwSignal<Vec<PartnerDomainView>>,
    target: RwSignal<Option<String>>,
    confirm_open: RwSignal<bool>,
) -> impl IntoView {
    let ui = Ui::get();
    let busy = RwSignal::new(false);
    let outcome = RwSignal::new(None::<String>);
    let host = domain.host.clone();
    let verify = {
        let host = host.clone();
        move |_| {
            if busy.get_untracked() {
                return;
            }
            busy.set(true);
            outcome.set(None);
            let host = host.clone();
            spawn_local(async move {
                match endpoints::verify_partner_domain(partner, &host).await {
                    Ok(proved) => {
                        domains.update(|all| {
                            *all = domain_proof::replaced(std::mem::take(all), proved)
                        });
                        ui.success(format!(
                            "{host} is verified: the portal there shows the brand within a second."
                        ));
                    }
                    Err(e) => outcome.set(Some(e.message())),
                }
                busy.set(false);
            });
        }
    };
    let pending = domain.status == DomainStatus::Pending;
    let for_remove = host.clone();
    let record_value = domain.record_value.clone();
    let proof_id = format!("proof-{}", host.replace('.', "-"));
    view! {
        <li class="domain-item">
            <div class="domain-head">
                <code>{host.clone()}</code>
                <span class=domain_proof::badge_class(&domain)>{domain_proof::status_line(&domain)}</span>
                <span class="spacer"></span>
                {pending.then(|| view! {
                    <button type="button" class="button small" on:click=verify disabled=move || busy.get()>
                        {move || if busy.get() { "Checking…" } else { "Verify" }}
                        <span class="sr-only">" " {host.clone()}</span>
                    </button>
                })}
                <button
                    type="button"
                    class="button danger small"
                    on:click=move |_| {
                        target.set(Some(for_remove.clone()));
                        confirm_open.set(true);
                    }
                >
                    "Remove" <span class="sr-only">" " {domain.host.clone()}</span>
                </button>
            </div>
            {pending.then(|| view! {
                <div class="domain-proof" id=proof_id>
                    <p class="hint">{domain_proof::instructions(&domain)}</p>
                    <dl class="record">
                        <dt>"Type"</dt><dd><code>"TXT"</code></dd>
                        <dt>"Name"</dt><dd><code>{domain.record_name.clone()}</code></dd>
                        <dt>"Value"</dt>
                        <dd>
                            <code>{record_value.clone()}</code>
                            <CopyButton text=Signal::derive(move || record_value.clone()) label="Copy value" />
                        </dd>
                    </dl>
                    {move || outcome.get().map(|text| view! { <div class="notice error" role="alert"><p>{text}</p></div> })}
                </div>
            })}
        </li>
    }
}
