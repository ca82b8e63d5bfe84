//! The tenant's own provider keys (bring your own key): add one for a configured provider,
//! see it masked, delete it.

use api_types::manage::{
    ByokProviderView, CreateProviderCredentialRequest, ProviderCredentialView,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FormError, FormState, SelectField, SubmitButton, TextField};
use crate::components::page::{PageHeader, for_tenant};
use crate::components::status::{Empty, loaded};
use crate::model::errors::FieldErrors;
use crate::model::{format, validate};
use crate::state::session::Session;
use crate::state::ui::Ui;

#[component]
pub fn CredentialsPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Provider keys"
            description="Use your own provider account: calls of this tenant to that provider's models carry your key instead of the platform's. Keys are encrypted at rest and never shown again, only masked."
        />
        {for_tenant(|tenant| view! { <TenantCredentials tenant=tenant /> })}
    }
}

#[component]
fn TenantCredentials(tenant: Uuid) -> impl IntoView {
    let session = Session::get();
    let ui = Ui::get();
    let allowed = Memo::new(move |_| session.abilities().manage_credentials);
    let credentials = LocalResource::new(move || endpoints::credentials(tenant));
    let providers = LocalResource::new(endpoints::providers);
    let target = RwSignal::new(None::<ProviderCredentialView>);
    let confirm_open = RwSignal::new(false);
    let delete = Callback::new(move |()| {
        let Some(credential) = target.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match endpoints::delete_credential(tenant, credential.id).await {
                Ok(()) => {
                    ui.success(format!(
                        "Deleted {}: calls to {} use the platform's key again.",
                        credential.name, credential.provider
                    ));
                    credentials.refetch();
                }
                Err(e) => ui.error(e.message()),
            }
        });
    });

    view! {
        <Show
            when=move || allowed.get()
            fallback=|| view! {
                <Empty title="Owners and admins only">
                    <p>"Your role does not manage this tenant's provider keys."</p>
                </Empty>
            }
        >
            <section class="card" aria-labelledby="credentials-title">
                <h2 id="credentials-title">"Stored keys"</h2>
                {loaded(credentials, move |list: Vec<ProviderCredentialView>| {
                    if list.is_empty() {
                        return view! {
                            <Empty title="No provider keys">
                                <p>"This tenant's calls use the platform's provider keys."</p>
                            </Empty>
                        }
                        .into_any();
                    }
                    view! {
                        <div class="table-wrap">
                            <table>
                                <thead>
                                    <tr>
                                        <th scope="col">"Name"</th>
                                        <th scope="col">"Provider"</th>
                                        <th scope="col">"Key"</th>
                                        <th scope="col">"Endpoint"</th>
                                        <th scope="col">"Added"</th>
                                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list
                                        .into_iter()
                                        .map(|credential| {
                                            let for_delete = credential.clone();
                                            view! {
                                                <tr>
                                                    <th scope="row">{credential.name.clone()}</th>
                                                    <td>{credential.provider.clone()}</td>
                                                    <td><code class="mask">{credential.mask.clone()}</code></td>
                                                    <td>{credential.base_url.clone().unwrap_or_else(|| "The provider's".to_owned())}</td>
                                                    <td>{format::date(credential.created_at)}</td>
                                                    <td class="actions">
                                                        <button
                                                            type="button"
                                                            class="button danger small"
                                                            on:click=move |_| {
                                                                target.set(Some(for_delete.clone()));
                                                                confirm_open.set(true);
                                                            }
                                                        >
                                                            "Delete"
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
            </section>
            {loaded(providers, move |list: Vec<ByokProviderView>| {
                if list.is_empty() {
                    return view! {
                        <Empty title="No provider accepts your own key here">
                            <p>"The operator has configured no provider that tenants can bring a key for."</p>
                        </Empty>
                    }
                    .into_any();
                }
                view! { <AddCredential tenant=tenant providers=list on_added=Callback::new(move |()| credentials.refetch()) /> }.into_any()
            })}
        </Show>
        <ConfirmDialog
            open=confirm_open
            id="delete-credential"
            title="Delete this provider key?"
            message=Signal::derive(move || target.with(|it| it.as_ref().map(|c| format!(
                "This tenant's calls to {} go back to the platform's key within a second.",
                c.provider
            )).unwrap_or_default()))
            confirm_label="Delete key"
            danger=true
            on_confirm=delete
        />
    }
}

#[component]
fn AddCredential(
    tenant: Uuid,
    providers: Vec<ByokProviderView>,
    on_added: Callback<()>,
) -> impl IntoView {
    let ui = Ui::get();
    let name = RwSignal::new(String::new());
    let provider = RwSignal::new(
        providers
            .first()
            .map(|it| it.name.clone())
            .unwrap_or_default(),
    );
    let secret = RwSignal::new(String::new());
    let base_url = RwSignal::new(String::new());
    let form = FormState::new();
    let options: Vec<(String, String)> = providers
        .iter()
        .map(|it| (it.name.clone(), format!("{} ({})", it.name, it.kind)))
        .collect();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let mut errors = FieldErrors::new();
        let checked_name = validate::name(&name.get_untracked(), "name")
            .map_err(|e| errors.add("name", e))
            .ok();
        let key = secret.get_untracked().trim().to_owned();
        if key.is_empty() {
            errors.add("secret", "Paste the provider's API key.");
        } else if !key.bytes().all(|b| b.is_ascii_graphic()) {
            errors.add("secret", "A key is printable characters without spaces.");
        }
        let url = base_url.get_untracked().trim().to_owned();
        if !url.is_empty() && !url.starts_with("https://") && !url.starts_with("http://") {
            errors.add(
                "base_url",
                "Enter a full URL starting with https://, or leave it empty.",
            );
        }
        let Some(checked_name) = checked_name.filter(|_| errors.is_empty()) else {
            form.invalid(errors);
            return;
        };
        let request = CreateProviderCredentialRequest {
            name: checked_name,
            provider: provider.get_untracked(),
            secret: key,
            base_url: Some(url).filter(|it| !it.is_empty()),
        };
        spawn_local(async move {
            let result = endpoints::create_credential(tenant, &request).await;
            form.finish(&result);
            if let Ok(stored) = result {
                name.set(String::new());
                secret.set(String::new());
                base_url.set(String::new());
                ui.success(format!("Stored {} for {}.", stored.name, stored.provider));
                on_added.run(());
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="add-credential-title">
            <h2 id="add-credential-title">"Add a provider key"</h2>
            <form on:submit=submit novalidate>
                <FormError form=form />
                <div class="field-row">
                    <TextField id="credential-name" label="Name" value=name required=true error=form.field("name") hint="Unique in this tenant, like \"openai-prod\"." />
                    <SelectField id="credential-provider" label="Provider" value=provider options=Signal::derive(move || options.clone()) error=form.field("provider") />
                </div>
                <TextField
                    id="credential-secret"
                    label="API key"
                    kind="password"
                    value=secret
                    autocomplete="off"
                    required=true
                    hint="Stored encrypted; afterwards only its first and last characters are shown."
                    error=form.field("secret")
                />
                <TextField
                    id="credential-base-url"
                    label="Endpoint URL"
                    kind="url"
                    value=base_url
                    hint="Optional: your own resource (an Azure OpenAI URL, say). Must be a public http(s) URL."
                    error=form.field("base_url")
                />
                <SubmitButton form=form label="Store key" busy_label="Storing…" />
            </form>
        </section>
    }
}
