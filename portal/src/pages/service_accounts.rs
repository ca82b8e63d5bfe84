//! The tenant's service accounts: OAuth 2.0 clients whose short-lived access tokens call the
//! data plane. Create one with the scopes of an API key (the client secret is shown once, with
//! the `curl` that trades it for a token), rotate its secret, revoke it; both after a
//! confirmation.

use api_types::manage::{ServiceAccountCredentials, ServiceAccountView};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::copy::CopyButton;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::components::icons::{PLUS, icon};
use crate::components::page::{PageHeader, for_tenant};
use crate::components::scope_fields::{ScopeFields, ScopeInputs};
use crate::components::secret::CopyField;
use crate::components::status::{Empty, loaded};
use crate::model::key_form::{ScopeText, limits_summary};
use crate::model::service_account_form::{ServiceAccountForm, token_request_example};
use crate::model::{format, lists};
use crate::state::session::Session;
use crate::state::ui::Ui;

#[component]
pub fn ServiceAccountsPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Service accounts"
            description="Identities for programs: a service account trades its client ID and secret for an access token valid for minutes (OAuth 2.0 client credentials), instead of holding a long-lived key. It has the same scopes as a key."
        />
        {for_tenant(|tenant| view! { <TenantServiceAccounts tenant=tenant /> })}
    }
}

/// What waits for a confirmation.
#[derive(Debug, Clone)]
enum Pending {
    Rotate(ServiceAccountView),
    Revoke(ServiceAccountView),
}

#[component]
fn TenantServiceAccounts(tenant: Uuid) -> impl IntoView {
    let session = Session::get();
    let abilities = Memo::new(move |_| session.abilities());
    view! {
        <Show
            when=move || abilities.get().see_keys
            fallback=|| view! {
                <Empty title="Not for your role">
                    <p>"Your role in this tenant does not see its service accounts or keys."</p>
                </Empty>
            }
        >
            <ServiceAccountList tenant=tenant can_manage=Signal::derive(move || abilities.get().manage_service_accounts) />
        </Show>
    }
}

#[component]
fn ServiceAccountList(tenant: Uuid, can_manage: Signal<bool>) -> impl IntoView {
    let ui = Ui::get();
    let accounts = LocalResource::new(move || endpoints::service_accounts(tenant));
    let creating = RwSignal::new(false);
    let fresh = RwSignal::new(None::<(String, ServiceAccountCredentials)>);
    let pending = RwSignal::new(None::<Pending>);
    let rotate_open = RwSignal::new(false);
    let revoke_open = RwSignal::new(false);

    let confirm = Callback::new(move |()| {
        let Some(action) = pending.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match action {
                Pending::Rotate(account) => {
                    match endpoints::rotate_service_account_secret(tenant, account.id).await {
                        Ok(credentials) => {
                            fresh.set(Some((
                                format!("New secret of {}", account.name),
                                credentials,
                            )));
                            accounts.refetch();
                        }
                        Err(e) => ui.error(e.message()),
                    }
                }
                Pending::Revoke(account) => {
                    match endpoints::revoke_service_account(tenant, account.id).await {
                        Ok(()) => {
                            ui.success(format!("Revoked {}.", account.name));
                            accounts.refetch();
                        }
                        Err(e) => ui.error(e.message()),
                    }
                }
            }
        });
    });
    let ask = move |action: Pending| {
        let dialog = match action {
            Pending::Rotate(_) => rotate_open,
            Pending::Revoke(_) => revoke_open,
        };
        pending.set(Some(action));
        dialog.set(true);
    };
    let on_created = Callback::new(move |credentials: ServiceAccountCredentials| {
        creating.set(false);
        let title = format!("Service account {}", credentials.service_account.name);
        fresh.set(Some((title, credentials)));
        accounts.refetch();
    });

    view! {
        <Show when=move || can_manage.get() && !creating.get()>
            <div class="toolbar">
                <button type="button" class="button primary" on:click=move |_| creating.set(true)>
                    {icon(PLUS)}
                    <span>"Create service account"</span>
                </button>
            </div>
        </Show>
        <Show when=move || creating.get()>
            <CreateServiceAccountForm
                tenant=tenant
                on_created=on_created
                on_cancel=Callback::new(move |()| creating.set(false))
            />
        </Show>
        {move || fresh.get().map(|(title, credentials)| view! {
            <Credentials title=title credentials=credentials on_done=Callback::new(move |()| fresh.set(None)) />
        })}
        <section class="card" aria-labelledby="service-accounts-list">
            <h2 id="service-accounts-list">"Service accounts"</h2>
            {loaded(accounts, move |list: Vec<ServiceAccountView>| {
                if list.is_empty() {
                    return view! {
                        <Empty title="No service accounts yet">
                            <p>"Create one for a program that should not hold a long-lived key."</p>
                        </Empty>
                    }
                    .into_any();
                }
                view! {
                    <div class="table-wrap">
                        <table class="service-accounts-table">
                            <thead>
                                <tr>
                                    <th scope="col">"Name"</th>
                                    <th scope="col">"Client ID"</th>
                                    <th scope="col">"Secret"</th>
                                    <th scope="col">"Scopes"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|account| {
                                    let active = account.status == "active";
                                    let for_rotate = account.clone();
                                    let for_revoke = account.clone();
                                    view! {
                                        <tr class:inactive=!active>
                                            <th scope="row">{account.name.clone()}</th>
                                            <td><code class="client-id">{account.id.to_string()}</code></td>
                                            <td><code>{format!("…{}", account.secret_last_four)}</code></td>
                                            <td class="scopes">
                                                <span>"Models: " {lists::show(&account.models, "all")}</span>
                                                <span>"Endpoints: " {lists::show(&account.endpoints, "all")}</span>
                                                <span>"Networks: " {lists::show(&account.ip_allowlist, "anywhere")}</span>
                                                {limits_summary(&account.limits).map(|it| view! { <span>{it}</span> })}
                                            </td>
                                            <td>
                                                <span class=format!("badge status-{}", account.status)>{account.status.clone()}</span>
                                                <span class="muted small">" since " {format::date(account.revoked_at.unwrap_or(account.created_at))}</span>
                                            </td>
                                            <td class="actions">
                                                <Show when=move || active && can_manage.get()>
                                                    <button
                                                        type="button"
                                                        class="button secondary small"
                                                        on:click={
                                                            let account = for_rotate.clone();
                                                            move |_| ask(Pending::Rotate(account.clone()))
                                                        }
                                                    >
                                                        "Rotate secret"
                                                    </button>
                                                    <button
                                                        type="button"
                                                        class="button danger small"
                                                        on:click={
                                                            let account = for_revoke.clone();
                                                            move |_| ask(Pending::Revoke(account.clone()))
                                                        }
                                                    >
                                                        "Revoke"
                                                    </button>
                                                </Show>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            })}
        </section>
        <ConfirmDialog
            open=rotate_open
            id="rotate-service-account"
            title="Rotate this secret?"
            message=Signal::derive(move || pending.with(|it| match it {
                Some(Pending::Rotate(account)) => format!(
                    "{} gets a new client secret; the old one stops working at once, and tokens already issued run out within minutes.",
                    account.name
                ),
                _ => String::new(),
            }))
            confirm_label="Rotate secret"
            on_confirm=confirm
        />
        <ConfirmDialog
            open=revoke_open
            id="revoke-service-account"
            title="Revoke this service account?"
            message=Signal::derive(move || pending.with(|it| match it {
                Some(Pending::Revoke(account)) => format!(
                    "{}'s secret and every token it holds stop working within a second. This cannot be undone.",
                    account.name
                ),
                _ => String::new(),
            }))
            confirm_label="Revoke service account"
            danger=true
            on_confirm=confirm
        />
    }
}

/// The client credentials of an account just created or rotated, shown this once, and how to
/// trade them for a token.
#[component]
fn Credentials(
    title: String,
    credentials: ServiceAccountCredentials,
    on_done: Callback<()>,
) -> impl IntoView {
    let example = token_request_example(
        &credentials.token_url,
        &credentials.client_id,
        &credentials.client_secret,
    );
    let example_text = example.clone();
    view! {
        <section class="card highlight secret-once" aria-labelledby="sa-credentials-title">
            <h3 id="sa-credentials-title">{title}</h3>
            <p class="warning">"Copy the secret now: it is shown only this once. We store only a hash."</p>
            <CopyField id="sa-client-id" label="Client ID" value=credentials.client_id />
            <CopyField id="sa-client-secret" label="Client secret" value=credentials.client_secret />
            <p>
                "Programs ask " <code>{credentials.token_url}</code>
                " for an access token and send it as " <code>"Authorization: Bearer …"</code> "."
            </p>
            <pre><code id="sa-curl">{example}</code></pre>
            <div class="form-actions">
                <CopyButton text=example_text label="Copy command" />
                <button type="button" class="button secondary" on:click=move |_| on_done.run(())>
                    "Done, I have stored it"
                </button>
            </div>
        </section>
    }
}

#[component]
fn CreateServiceAccountForm(
    tenant: Uuid,
    on_created: Callback<ServiceAccountCredentials>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let scopes = ScopeInputs::new(&ScopeText::default());
    let form = FormState::new();

    let inputs = scopes.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let draft = ServiceAccountForm {
            name: name.get_untracked(),
            scopes: inputs.text(),
        };
        let request = match draft.to_request() {
            Ok(it) => it,
            Err(errors) => {
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::create_service_account(tenant, &request).await;
            form.finish(&result);
            if let Ok(credentials) = result {
                on_created.run(credentials);
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="create-sa-title">
            <h2 id="create-sa-title">"Create a service account"</h2>
            <form on:submit=submit novalidate>
                <FormError form=form />
                <TextField id="sa-name" label="Name" value=name required=true hint="What uses it, like \"nightly-batch\"." error=form.field("name") />
                <ScopeFields
                    prefix="sa"
                    inputs=scopes
                    form=form
                    ip_hint="Addresses or CIDR networks its tokens may be used from. Empty: anywhere."
                />
                <div class="form-actions">
                    <SubmitButton form=form label="Create service account" busy_label="Creating…" />
                    <button type="button" class="button secondary" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                </div>
            </form>
        </section>
    }
}
