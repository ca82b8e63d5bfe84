//! Operators create a partner: its name, key prefix, first look, domains and administrator.

use api_types::manage::PartnerView;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::branding::ColorField;
use crate::api::endpoints;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::model::partner_form::PartnerForm;
use crate::state::ui::Ui;

#[component]
pub fn CreatePartnerForm(
    on_created: Callback<PartnerView>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let ui = Ui::get();
    let name = RwSignal::new(String::new());
    let key_prefix = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let primary_color = RwSignal::new("#2563eb".to_owned());
    let domains = RwSignal::new(String::new());
    let admin_email = RwSignal::new(String::new());
    let form = FormState::new();

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let draft = PartnerForm {
            name: name.get_untracked(),
            key_prefix: key_prefix.get_untracked(),
            display_name: display_name.get_untracked(),
            primary_color: primary_color.get_untracked(),
            domains: domains.get_untracked(),
            admin_email: admin_email.get_untracked(),
        };
        let platform_prefix = ui.branding.with_untracked(|it| it.key_prefix.clone());
        let request = match draft.to_request(&platform_prefix) {
            Ok(it) => it,
            Err(errors) => {
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::create_partner(&request).await;
            form.finish(&result);
            if let Ok(partner) = result {
                ui.success(format!("Created the partner {}.", partner.name));
                on_created.run(partner);
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="create-partner-title">
            <h2 id="create-partner-title">"Create a partner"</h2>
            <form on:submit=submit novalidate>
                <FormError form=form />
                <div class="field-row">
                    <TextField id="partner-name" label="Partner name" value=name required=true hint="For operators; unique." error=form.field("name") />
                    <TextField id="partner-prefix" label="Key prefix" value=key_prefix required=true placeholder="sk-acme" hint="Keys of its sub-tenants start with it." error=form.field("key_prefix") />
                </div>
                <div class="field-row">
                    <TextField id="partner-display-name" label="Product name" value=display_name hint="What its customers see; the partner name when empty." error=form.field("display_name") />
                    <ColorField id="partner-primary" label="Primary colour" value=primary_color error=form.field("primary_color") />
                </div>
                <TextField
                    id="partner-domains"
                    label="Domains"
                    value=domains
                    multiline=true
                    placeholder="ai.partner.example"
                    hint="Host names on which the portal shows the partner's brand, separated by commas or lines. Point them at this server."
                    error=form.field("domains")
                />
                <TextField
                    id="partner-admin"
                    label="Administrator's email"
                    kind="email"
                    value=admin_email
                    hint="Optional: an existing account that administers the partner."
                    error=form.field("admin_email")
                />
                <div class="form-actions">
                    <SubmitButton form=form label="Create partner" busy_label="Creating…" />
                    <button type="button" class="button secondary" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                </div>
            </form>
        </section>
    }
}
