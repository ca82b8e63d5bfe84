//! The person's tenants: switch between them, create one.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::endpoints;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::components::page::PageHeader;
use crate::components::status::Empty;
use crate::model::errors::FieldErrors;
use crate::model::{format, validate};
use crate::state::session::Session;
use crate::state::ui::Ui;

#[component]
pub fn TenantsPage() -> impl IntoView {
    let session = Session::get();
    let ui = Ui::get();
    let name = RwSignal::new(String::new());
    let form = FormState::new();

    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let checked = match validate::name(&name.get_untracked(), "tenant name") {
            Ok(it) => it,
            Err(e) => {
                let mut errors = FieldErrors::new();
                errors.add("name", e);
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::create_tenant(&checked).await;
            form.finish(&result);
            if let Ok(tenant) = result {
                name.set(String::new());
                session.select(Some(tenant.id));
                session.refresh();
                ui.success(format!(
                    "Created {}; it is now your current tenant.",
                    tenant.name
                ));
            }
        });
    };

    view! {
        <PageHeader
            title="Tenants"
            description="A tenant holds API keys, members, provider keys and an audit log. The tenant picked here (or in the header) is the one every page works on."
        />
        <section class="card" aria-labelledby="tenants-list">
            <h2 id="tenants-list">"Your tenants"</h2>
            {move || {
                let tenants = session.tenants.get();
                if tenants.is_empty() {
                    return view! {
                        <Empty title="You belong to no tenant yet">
                            <p>"Create one below, or accept an invitation from a colleague."</p>
                        </Empty>
                    }
                    .into_any();
                }
                let current = session.current.get();
                let operator = session.is_operator();
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Name"</th>
                                    <th scope="col">"Your role"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Created"</th>
                                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {tenants
                                    .into_iter()
                                    .map(|tenant| {
                                        let id = tenant.id;
                                        let is_current = current == Some(id);
                                        // Without a role, the person reaches it as an operator or as
                                        // the administrator of its partner.
                                        let role = match tenant.role {
                                            Some(role) => format::role(role),
                                            None if operator => "Operator",
                                            None => "Partner administrator",
                                        };
                                        view! {
                                            <tr>
                                                <th scope="row">{tenant.name.clone()}</th>
                                                <td>{role}</td>
                                                <td><span class="badge">{tenant.status.clone()}</span></td>
                                                <td>{format::date(tenant.created_at)}</td>
                                                <td class="actions">
                                                    {if is_current {
                                                        view! { <span class="badge current">"Current"</span> }.into_any()
                                                    } else {
                                                        view! {
                                                            <button
                                                                type="button"
                                                                class="button secondary small"
                                                                on:click=move |_| session.select(Some(id))
                                                            >
                                                                "Switch to " <span class="sr-only">{tenant.name.clone()}</span>
                                                            </button>
                                                        }
                                                        .into_any()
                                                    }}
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
            }}
        </section>
        <section class="card" aria-labelledby="tenants-create">
            <h2 id="tenants-create">"Create a tenant"</h2>
            <p>"You become its owner."</p>
            <form on:submit=create novalidate class="inline-form">
                <FormError form=form />
                <TextField id="tenant-name" label="Tenant name" value=name required=true error=form.field("name") />
                <SubmitButton form=form label="Create tenant" busy_label="Creating…" />
            </form>
        </section>
    }
}
