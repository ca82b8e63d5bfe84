//! The partner's sub-tenants (its customers): create one, and switch the portal to it so the
//! keys, service accounts and members pages manage it (partner administrators may do
//! everything there; keys issued there carry the partner's prefix), or straight to its Limits
//! page to set (and lock) its own limits.

use api_types::manage::TenantView;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::components::status::{Empty, loaded};
use crate::model::errors::FieldErrors;
use crate::model::{format, validate};
use crate::routes;
use crate::state::session::Session;
use crate::state::ui::Ui;

#[component]
pub fn SubTenants(partner: Uuid, key_prefix: String) -> impl IntoView {
    let session = Session::get();
    let ui = Ui::get();
    let tenants = LocalResource::new(move || endpoints::partner_tenants(partner));
    let name = RwSignal::new(String::new());
    let form = FormState::new();

    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let checked = match validate::name(&name.get_untracked(), "tenant name") {
            Ok(it) => it,
            Err(message) => {
                let mut errors = FieldErrors::new();
                errors.add("name", message);
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::create_partner_tenant(partner, &checked).await;
            form.finish(&result);
            if let Ok(tenant) = result {
                name.set(String::new());
                ui.success(format!(
                    "Created {}. Switch to it to issue its keys.",
                    tenant.name
                ));
                tenants.refetch();
            }
        });
    };
    let switch = move |tenant: TenantView| {
        let label = tenant.name.clone();
        session.switch_to(tenant);
        ui.success(format!(
            "Switched to {label}: API keys, service accounts and members now manage it."
        ));
    };
    let navigate = use_navigate();
    let limits = move |tenant: TenantView| {
        session.switch_to(tenant);
        navigate(routes::LIMITS, Default::default());
    };

    view! {
        <section class="card" aria-labelledby="sub-tenants-title">
            <h2 id="sub-tenants-title">"Sub-tenants"</h2>
            <p class="lead">
                "Your customers' tenants. You manage everything inside them; keys issued there start with "
                <code>{format!("{key_prefix}-")}</code> "."
            </p>
            {loaded(tenants, move |list: Vec<TenantView>| {
                if list.is_empty() {
                    return view! {
                        <Empty title="No sub-tenants yet">
                            <p>"Create one per customer below."</p>
                        </Empty>
                    }
                    .into_any();
                }
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Tenant"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Created"</th>
                                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list
                                    .into_iter()
                                    .map(|tenant| {
                                        let id = tenant.id;
                                        let label = tenant.name.clone();
                                        let for_switch = tenant.clone();
                                        let for_limits = tenant.clone();
                                        let limits = limits.clone();
                                        view! {
                                            <tr>
                                                <th scope="row">{tenant.name.clone()}</th>
                                                <td><span class=format!("badge status-{}", tenant.status)>{tenant.status.clone()}</span></td>
                                                <td>{format::date(tenant.created_at)}</td>
                                                <td class="actions">
                                                    <button
                                                        type="button"
                                                        class="button secondary small"
                                                        on:click={
                                                            let tenant = for_limits.clone();
                                                            move |_| limits(tenant.clone())
                                                        }
                                                    >
                                                        "Limits" <span class="sr-only">" of " {label.clone()}</span>
                                                    </button>
                                                    <Show
                                                        when=move || session.current.get() != Some(id)
                                                        fallback=|| view! { <span class="badge current">"Current"</span> }
                                                    >
                                                        <button
                                                            type="button"
                                                            class="button secondary small"
                                                            on:click={
                                                                let tenant = for_switch.clone();
                                                                move |_| switch(tenant.clone())
                                                            }
                                                        >
                                                            "Switch to" <span class="sr-only">" " {label.clone()}</span>
                                                        </button>
                                                    </Show>
                                                </td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            })}
            <form on:submit=create novalidate class="inline-form">
                <FormError form=form />
                <TextField id="sub-tenant-name" label="Tenant name" value=name required=true hint="Usually your customer's name." error=form.field("name") />
                <SubmitButton form=form label="Create sub-tenant" busy_label="Creating…" />
            </form>
        </section>
    }
}
