//! The partner's administrators: add an existing account by email, remove one after a
//! confirmation (a partner keeps at least one; the server says so in words).

use api_types::manage::PartnerAdminView;
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::components::status::{Empty, loaded};
use crate::model::errors::FieldErrors;
use crate::model::{format, validate};
use crate::state::session::Session;
use crate::state::ui::Ui;

#[component]
pub fn Admins(partner: Uuid) -> impl IntoView {
    let session = Session::get();
    let ui = Ui::get();
    let admins = LocalResource::new(move || endpoints::partner_admins(partner));
    let me = Memo::new(move |_| session.user.with(|it| it.as_ref().map(|u| u.id)));
    let email = RwSignal::new(String::new());
    let form = FormState::new();
    let target = RwSignal::new(None::<PartnerAdminView>);
    let confirm_open = RwSignal::new(false);

    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let checked = match validate::email(&email.get_untracked()) {
            Ok(it) => it,
            Err(message) => {
                let mut errors = FieldErrors::new();
                errors.add("email", message);
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::add_partner_admin(partner, &checked).await;
            form.finish(&result);
            if let Ok(added) = result {
                email.set(String::new());
                ui.success(format!("{} now administers this partner.", added.email));
                admins.refetch();
            }
        });
    };
    let remove = Callback::new(move |()| {
        let Some(admin) = target.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match endpoints::remove_partner_admin(partner, admin.user_id).await {
                Ok(()) => {
                    ui.success(format!(
                        "{} no longer administers this partner.",
                        admin.email
                    ));
                    admins.refetch();
                    if me.get_untracked() == Some(admin.user_id) {
                        session.refresh();
                    }
                }
                Err(e) => ui.error(e.message()),
            }
        });
    });

    view! {
        <section class="card" aria-labelledby="admins-title">
            <h2 id="admins-title">"Administrators"</h2>
            {loaded(admins, move |list: Vec<PartnerAdminView>| {
                if list.is_empty() {
                    return view! {
                        <Empty title="No administrators">
                            <p>"Only platform operators manage this partner now. Add someone below."</p>
                        </Empty>
                    }
                    .into_any();
                }
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Administrator"</th>
                                    <th scope="col">"Since"</th>
                                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list
                                    .into_iter()
                                    .map(|admin| {
                                        let is_me = me.get_untracked() == Some(admin.user_id);
                                        let for_remove = admin.clone();
                                        view! {
                                            <tr>
                                                <th scope="row">
                                                    {admin.email.clone()}
                                                    {is_me.then(|| view! { <span class="badge">"You"</span> })}
                                                </th>
                                                <td>{format::date(admin.added_at)}</td>
                                                <td class="actions">
                                                    <button
                                                        type="button"
                                                        class="button danger small"
                                                        on:click=move |_| {
                                                            target.set(Some(for_remove.clone()));
                                                            confirm_open.set(true);
                                                        }
                                                    >
                                                        "Remove" <span class="sr-only">" " {admin.email.clone()}</span>
                                                    </button>
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
            <form on:submit=add novalidate class="inline-form">
                <FormError form=form />
                <TextField id="admin-email" label="Email address" kind="email" value=email required=true hint="Of an existing account: they sign up first." error=form.field("email") />
                <SubmitButton form=form label="Add administrator" busy_label="Adding…" />
            </form>
        </section>
        <ConfirmDialog
            open=confirm_open
            id="remove-admin"
            title="Remove this administrator?"
            message=Signal::derive(move || target.with(|it| it.as_ref().map(|admin| {
                if me.get_untracked() == Some(admin.user_id) {
                    "You will no longer manage this partner or its sub-tenants.".to_owned()
                } else {
                    format!("{} will no longer manage this partner or its sub-tenants.", admin.email)
                }
            }).unwrap_or_default()))
            confirm_label="Remove administrator"
            danger=true
            on_confirm=remove
        />
    }
}
