//! The tenant's data-plane API keys: create with scopes (the secret is shown once), edit an
//! active key's name and scopes (sending only what changed), rotate with a grace period, revoke
//! after a confirmation; every limit over a key's calls and what each holds now (its effective
//! limits, in the editor and behind each key's Limits button).

use api_types::manage::{CreatedKey, KeyView, UpdateKeyRequest};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;
use wasm_bindgen::JsCast;

use crate::api::endpoints;
use crate::components::copy::CopyButton;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FormError, FormState, SelectField, SubmitButton, TextField};
use crate::components::icons::{PLUS, icon};
use crate::components::page::{PageHeader, for_tenant};
use crate::components::scope_fields::{ScopeFields, ScopeInputs};
use crate::components::secret::SecretOnce;
use crate::components::status::{Empty, loaded};
use crate::model::key_form::{EditKeyForm, KeyForm, ScopeText, limits_summary};
use crate::model::{expiry, format, lists};
use crate::pages::limits::KeyLimits;
use crate::state::session::Session;
use crate::state::ui::{Ui, now};

#[component]
pub fn KeysPage() -> impl IntoView {
    view! {
        <PageHeader
            title="API keys"
            description="Keys let applications call the gateway's OpenAI-compatible API. Each key can be limited to models, endpoints, networks and a lifetime."
        />
        {for_tenant(|tenant| view! { <KeysForRole tenant=tenant /> })}
    }
}

/// The keys, for the roles that see them (finance does not: the API would refuse the list).
#[component]
fn KeysForRole(tenant: Uuid) -> impl IntoView {
    let session = Session::get();
    let allowed = Memo::new(move |_| session.abilities().see_keys);
    view! {
        <Show
            when=move || allowed.get()
            fallback=|| view! {
                <Empty title="Not for your role">
                    <p>"Your role in this tenant does not see its API keys."</p>
                </Empty>
            }
        >
            <TenantKeys tenant=tenant />
        </Show>
    }
}

#[component]
fn TenantKeys(tenant: Uuid) -> impl IntoView {
    let session = Session::get();
    let ui = Ui::get();
    let keys = LocalResource::new(move || endpoints::keys(tenant));
    let creating = RwSignal::new(false);
    let fresh = RwSignal::new(None::<(String, CreatedKey)>);
    let can_manage = Memo::new(move |_| session.abilities().manage_keys);

    let revoke_target = RwSignal::new(None::<KeyView>);
    let revoke_open = RwSignal::new(false);
    let rotate_target = RwSignal::new(None::<KeyView>);
    let rotate_open = RwSignal::new(false);
    let grace = RwSignal::new("86400".to_owned());
    let editing = RwSignal::new(None::<KeyView>);
    let limits_of = RwSignal::new(None::<KeyView>);

    let key_label = |key: &KeyView| {
        key.name
            .clone()
            .unwrap_or_else(|| format::key_hint(&key.prefix, &key.last_four))
    };
    let revoke = Callback::new(move |()| {
        let Some(key) = revoke_target.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match endpoints::revoke_key(tenant, key.id).await {
                Ok(()) => {
                    ui.success(format!("Revoked {}.", key_label(&key)));
                    keys.refetch();
                }
                Err(e) => ui.error(e.message()),
            }
        });
    });
    let rotate = Callback::new(move |()| {
        let Some(key) = rotate_target.get_untracked() else {
            return;
        };
        let grace_seconds = grace.get_untracked().parse().unwrap_or(86_400);
        spawn_local(async move {
            match endpoints::rotate_key(tenant, key.id, grace_seconds).await {
                Ok(created) => {
                    fresh.set(Some(("Rotated: the new key".to_owned(), created)));
                    keys.refetch();
                }
                Err(e) => ui.error(e.message()),
            }
        });
    });

    let on_saved = Callback::new(move |saved: KeyView| {
        editing.set(None);
        ui.success(format!("Saved {}.", key_label(&saved)));
        keys.refetch();
    });

    let on_created = Callback::new(move |created: CreatedKey| {
        creating.set(false);
        fresh.set(Some(("Your new key".to_owned(), created)));
        keys.refetch();
    });

    view! {
        <Show when=move || can_manage.get() && !creating.get()>
            <div class="toolbar">
                <button type="button" class="button primary" on:click=move |_| {
                    editing.set(None);
                    creating.set(true);
                }>
                    {icon(PLUS)}
                    <span>"Create key"</span>
                </button>
            </div>
        </Show>
        <Show when=move || creating.get()>
            <CreateKeyForm tenant=tenant on_created=on_created on_cancel=Callback::new(move |()| creating.set(false)) />
        </Show>
        {move || editing.get().map(|key| view! {
            <EditKeyPanel tenant=tenant key=key on_saved=on_saved on_cancel=Callback::new(move |()| editing.set(None)) />
        })}
        {move || limits_of.get().map(|key| {
            let title = format!("Limits of {}", key_label(&key));
            view! {
                <section class="card" aria-labelledby="key-limits-panel-title">
                    <div class="section-header">
                        <h2 id="key-limits-panel-title">{title}</h2>
                        <button type="button" class="button secondary small" on:click=move |_| limits_of.set(None)>"Close"</button>
                    </div>
                    <KeyLimits tenant=tenant key=key.id />
                </section>
            }
        })}
        {move || fresh.get().map(|(title, created)| view! { <NewKey title=title created=created on_done=Callback::new(move |()| fresh.set(None)) /> })}
        <section class="card" aria-labelledby="keys-list">
            <h2 id="keys-list">"Keys"</h2>
            {loaded(keys, move |list: Vec<KeyView>| {
                if list.is_empty() {
                    return view! {
                        <Empty title="No keys yet">
                            <p>"Create a key to call the API from your applications."</p>
                        </Empty>
                    }
                    .into_any();
                }
                let today = now();
                view! {
                    <div class="table-wrap">
                        <table class="keys-table">
                            <thead>
                                <tr>
                                    <th scope="col">"Name"</th>
                                    <th scope="col">"Key"</th>
                                    <th scope="col">"Scopes"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Expires"</th>
                                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list
                                    .into_iter()
                                    .map(|key| {
                                        let active = key.status == "active";
                                        let for_revoke = key.clone();
                                        let for_rotate = key.clone();
                                        let for_edit = key.clone();
                                        let for_limits = key.clone();
                                        let name = key.name.clone().unwrap_or_else(|| "(unnamed)".to_owned());
                                        view! {
                                            <tr class:inactive=!active>
                                                <th scope="row">{name}</th>
                                                <td><code>{format::key_hint(&key.prefix, &key.last_four)}</code></td>
                                                <td class="scopes">
                                                    <span>"Models: " {lists::show(&key.models, "all")}</span>
                                                    <span>"Endpoints: " {lists::show(&key.endpoints, "all")}</span>
                                                    <span>"Networks: " {lists::show(&key.ip_allowlist, "anywhere")}</span>
                                                    {limits_summary(&key.limits).map(|it| view! { <span>{it}</span> })}
                                                </td>
                                                <td><span class=format!("badge status-{}", key.status)>{key.status.clone()}</span></td>
                                                <td>{key.expires_at.map_or_else(|| "Never".to_owned(), |at| format::relative(at, today))}</td>
                                                <td class="actions">
                                                    <Show when=move || active>
                                                        <button
                                                            type="button"
                                                            class="button secondary small"
                                                            on:click={
                                                                let key = for_limits.clone();
                                                                move |_| limits_of.set(Some(key.clone()))
                                                            }
                                                        >
                                                            "Limits"
                                                        </button>
                                                    </Show>
                                                    <Show when=move || active && can_manage.get()>
                                                        <button
                                                            type="button"
                                                            class="button secondary small"
                                                            on:click={
                                                                let key = for_edit.clone();
                                                                move |_| {
                                                                    creating.set(false);
                                                                    editing.set(Some(key.clone()));
                                                                }
                                                            }
                                                        >
                                                            "Edit"
                                                        </button>
                                                        <button
                                                            type="button"
                                                            class="button secondary small"
                                                            on:click={
                                                                let key = for_rotate.clone();
                                                                move |_| {
                                                                    rotate_target.set(Some(key.clone()));
                                                                    rotate_open.set(true);
                                                                }
                                                            }
                                                        >
                                                            "Rotate"
                                                        </button>
                                                        <button
                                                            type="button"
                                                            class="button danger small"
                                                            on:click={
                                                                let key = for_revoke.clone();
                                                                move |_| {
                                                                    revoke_target.set(Some(key.clone()));
                                                                    revoke_open.set(true);
                                                                }
                                                            }
                                                        >
                                                            "Revoke"
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
        </section>
        <ConfirmDialog
            open=revoke_open
            id="revoke-key"
            title="Revoke this key?"
            message=Signal::derive(move || {
                revoke_target.with(|it| it.as_ref().map(|key| format!(
                    "{} stops working on every node within a second. This cannot be undone.",
                    key_label(key)
                ))).unwrap_or_default()
            })
            confirm_label="Revoke key"
            danger=true
            on_confirm=revoke
        />
        <ConfirmDialog
            open=rotate_open
            id="rotate-key"
            title="Rotate this key?"
            message=Signal::derive(move || {
                rotate_target.with(|it| it.as_ref().map(|key| format!(
                    "A new secret with the same scopes replaces {}. The old one keeps working for the grace period, so you can roll the new one out.",
                    key_label(key)
                ))).unwrap_or_default()
            })
            confirm_label="Rotate key"
            on_confirm=rotate
        >
            <SelectField
                id="rotate-grace"
                label="Old key keeps working for"
                value=grace
                options=Signal::derive(|| format::GRACE_PERIODS.iter().map(|(secs, label)| (secs.to_string(), (*label).to_owned())).collect::<Vec<_>>())
            />
        </ConfirmDialog>
    }
}

/// The secret of a key just created or rotated, and how to use it.
#[component]
fn NewKey(title: String, created: CreatedKey, on_done: Callback<()>) -> impl IntoView {
    let origin = window().location().origin().unwrap_or_default();
    let example = format!(
        "curl {origin}/v1/chat/completions \\\n  -H \"Authorization: Bearer {}\" \\\n  -H \"Content-Type: application/json\" \\\n  -d '{{\"model\": \"mock\", \"messages\": [{{\"role\": \"user\", \"content\": \"Hello\"}}]}}'",
        created.secret
    );
    let example_text = example.clone();
    view! {
        <div class="card highlight">
            <SecretOnce
                id="new-key-secret"
                title=title
                secret=created.secret
                note="Copy it now: it is shown only this once. We store only a hash."
                on_done=on_done
            />
            <details class="example">
                <summary>"Try it with curl"</summary>
                <pre><code>{example}</code></pre>
                <CopyButton text=example_text label="Copy command" />
            </details>
        </div>
    }
}

#[component]
fn CreateKeyForm(
    tenant: Uuid,
    on_created: Callback<CreatedKey>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let scopes = ScopeInputs::new(&ScopeText::default());
    let expiry_choice = RwSignal::new("never".to_owned());
    let expiry_date = RwSignal::new(String::new());
    let form = FormState::new();

    let inputs = scopes.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let draft = KeyForm {
            name: name.get_untracked(),
            scopes: inputs.text(),
            expiry: expiry_choice.get_untracked(),
            expiry_date: expiry_date.get_untracked(),
        };
        let request = match draft.to_request(now()) {
            Ok(it) => it,
            Err(errors) => {
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::create_key(tenant, &request).await;
            form.finish(&result);
            if let Ok(created) = result {
                on_created.run(created);
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="create-key-title">
            <h2 id="create-key-title">"Create a key"</h2>
            <form on:submit=submit novalidate>
                <FormError form=form />
                <TextField id="key-name" label="Name" value=name hint="A label for people, like \"billing-service\" or \"ci\"." error=form.field("name") />
                <ScopeFields
                    prefix="key"
                    inputs=scopes
                    form=form
                    ip_hint="Addresses or CIDR networks, like 203.0.113.7 or 10.0.0.0/8. Empty: anywhere."
                >
                    <div class="field-row">
                        <SelectField
                            id="key-expiry"
                            label="Expires"
                            value=expiry_choice
                            options=Signal::derive(|| expiry::CHOICES.iter().map(|(v, l)| ((*v).to_owned(), (*l).to_owned())).collect::<Vec<_>>())
                            error=Signal::derive(move || if expiry_choice.get() == "date" { None } else { form.field("expires_at").get() })
                        />
                        <Show when=move || expiry_choice.get() == "date">
                            <TextField id="key-expiry-date" label="Expiry date (UTC)" kind="date" value=expiry_date error=form.field("expires_at") />
                        </Show>
                    </div>
                </ScopeFields>
                <div class="form-actions">
                    <SubmitButton form=form label="Create key" busy_label="Creating…" />
                    <button type="button" class="button secondary" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                </div>
            </form>
        </section>
    }
}

/// Edits an active key: pre-filled from it, sends only what changed, and shows the server's
/// messages at the fields.
#[component]
fn EditKeyPanel(
    tenant: Uuid,
    key: KeyView,
    on_saved: Callback<KeyView>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let ui = Ui::get();
    let initial = EditKeyForm::from_key(&key);
    let name = RwSignal::new(initial.name.clone());
    let scopes = ScopeInputs::new(&initial.scopes);
    let form = FormState::new();
    let panel = NodeRef::<leptos::html::Section>::new();
    // Opened from a row further down: bring the form into view, with the focus on its first field.
    Effect::new(move || {
        if let Some(panel) = panel.get() {
            panel.scroll_into_view();
            if let Some(first) = document()
                .get_element_by_id("edit-key-name")
                .and_then(|it| it.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = first.focus();
            }
        }
    });

    let title = format!(
        "Edit {}",
        key.name
            .clone()
            .unwrap_or_else(|| format::key_hint(&key.prefix, &key.last_four))
    );
    let key_id = key.id;
    let inputs = scopes.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let draft = EditKeyForm {
            name: name.get_untracked(),
            scopes: inputs.text(),
        };
        let request = match draft.to_request(&key) {
            Ok(it) => it,
            Err(errors) => {
                form.invalid(errors);
                return;
            }
        };
        if request == UpdateKeyRequest::default() {
            form.busy.set(false);
            ui.success("Nothing changed.");
            on_cancel.run(());
            return;
        }
        let id = key.id;
        spawn_local(async move {
            let result = endpoints::update_key(tenant, id, &request).await;
            form.finish(&result);
            if let Ok(saved) = result {
                on_saved.run(saved);
            }
        });
    };

    view! {
        <section class="card" aria-labelledby="edit-key-title" node_ref=panel>
            <h2 id="edit-key-title">{title}</h2>
            <form on:submit=submit novalidate>
                <FormError form=form />
                <TextField id="edit-key-name" label="Name" value=name hint="Empty: no name." error=form.field("name") />
                <ScopeFields
                    prefix="edit-key"
                    inputs=scopes
                    form=form
                    ip_hint="Addresses or CIDR networks, like 203.0.113.7 or 10.0.0.0/8. Empty: anywhere."
                />
                <div class="form-actions">
                    <SubmitButton form=form label="Save changes" busy_label="Saving…" />
                    <button type="button" class="button secondary" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                </div>
            </form>
            <KeyLimits tenant=tenant key=key_id />
        </section>
    }
}
