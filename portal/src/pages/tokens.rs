//! Personal access tokens: for scripts calling the management API as you.

use api_types::manage::{CreateTokenRequest, CreatedToken, TokenView};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::endpoints;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FormError, FormState, SelectField, SubmitButton, TextField};
use crate::components::page::PageHeader;
use crate::components::secret::SecretOnce;
use crate::components::status::{Empty, loaded};
use crate::model::errors::FieldErrors;
use crate::model::{expiry, format, validate};
use crate::state::ui::{Ui, now};

#[component]
pub fn TokensPage() -> impl IntoView {
    let ui = Ui::get();
    let tokens = LocalResource::new(endpoints::tokens);
    let name = RwSignal::new(String::new());
    let expiry_choice = RwSignal::new("90".to_owned());
    let expiry_date = RwSignal::new(String::new());
    let form = FormState::new();
    let fresh = RwSignal::new(None::<CreatedToken>);
    let target = RwSignal::new(None::<TokenView>);
    let confirm_open = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let mut errors = FieldErrors::new();
        let checked = validate::name(&name.get_untracked(), "name")
            .map_err(|e| errors.add("name", e))
            .ok();
        let expires_at = expiry::expires_at(
            &expiry_choice.get_untracked(),
            &expiry_date.get_untracked(),
            now(),
        )
        .map_err(|e| errors.add("expires_at", e))
        .ok()
        .flatten();
        let Some(checked) = checked.filter(|_| errors.is_empty()) else {
            form.invalid(errors);
            return;
        };
        let request = CreateTokenRequest {
            name: checked,
            expires_at,
        };
        spawn_local(async move {
            let result = endpoints::create_token(&request).await;
            form.finish(&result);
            if let Ok(created) = result {
                name.set(String::new());
                fresh.set(Some(created));
                tokens.refetch();
            }
        });
    };
    let revoke = Callback::new(move |()| {
        let Some(token) = target.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match endpoints::revoke_token(token.id).await {
                Ok(()) => {
                    ui.success(format!("Revoked {}.", token.name));
                    tokens.refetch();
                }
                Err(e) => ui.error(e.message()),
            }
        });
    });

    view! {
        <PageHeader
            title="Personal access tokens"
            description="For scripts and tools that call the management API as you: send one as `Authorization: Bearer pat-…`. A token can do what you can do."
        />
        {move || fresh.get().map(|created| view! {
            <div class="card highlight">
                <SecretOnce
                    id="new-token-secret"
                    title=format!("Token {}", created.token.name)
                    secret=created.secret
                    note="Copy it now: it is shown only this once."
                    on_done=Callback::new(move |()| fresh.set(None))
                />
            </div>
        })}
        <section class="card" aria-labelledby="token-create-title">
            <h2 id="token-create-title">"Create a token"</h2>
            <form on:submit=submit novalidate>
                <FormError form=form />
                <div class="field-row">
                    <TextField id="token-name" label="Name" value=name required=true error=form.field("name") hint="What uses it, like \"terraform\"." />
                    <SelectField
                        id="token-expiry"
                        label="Expires"
                        value=expiry_choice
                        options=Signal::derive(|| expiry::CHOICES.iter().map(|(v, l)| ((*v).to_owned(), (*l).to_owned())).collect::<Vec<_>>())
                        error=form.field("expires_at")
                    />
                    <Show when=move || expiry_choice.get() == "date">
                        <TextField id="token-expiry-date" label="Expiry date (UTC)" kind="date" value=expiry_date />
                    </Show>
                </div>
                <SubmitButton form=form label="Create token" busy_label="Creating…" />
            </form>
        </section>
        <section class="card" aria-labelledby="tokens-title">
            <h2 id="tokens-title">"Your tokens"</h2>
            {loaded(tokens, move |list: Vec<TokenView>| {
                if list.is_empty() {
                    return view! { <Empty title="No tokens"><p>"Create one above for your scripts."</p></Empty> }.into_any();
                }
                let today = now();
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Name"</th>
                                    <th scope="col">"Token"</th>
                                    <th scope="col">"Created"</th>
                                    <th scope="col">"Expires"</th>
                                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list
                                    .into_iter()
                                    .map(|token| {
                                        let revoked = token.revoked_at.is_some();
                                        let for_revoke = token.clone();
                                        view! {
                                            <tr class:inactive=revoked>
                                                <th scope="row">{token.name.clone()}</th>
                                                <td><code>{format::key_hint(&token.prefix, &token.last_four)}</code></td>
                                                <td>{format::date(token.created_at)}</td>
                                                <td>{token.expires_at.map_or_else(|| "Never".to_owned(), |at| format::relative(at, today))}</td>
                                                <td class="actions">
                                                    {if revoked {
                                                        view! { <span class="badge status-revoked">"revoked"</span> }.into_any()
                                                    } else {
                                                        view! {
                                                            <button
                                                                type="button"
                                                                class="button danger small"
                                                                on:click=move |_| {
                                                                    target.set(Some(for_revoke.clone()));
                                                                    confirm_open.set(true);
                                                                }
                                                            >
                                                                "Revoke"
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
            })}
        </section>
        <ConfirmDialog
            open=confirm_open
            id="revoke-token"
            title="Revoke this token?"
            message=Signal::derive(move || target.with(|it| it.as_ref().map(|t| format!("Scripts using {} stop working at once.", t.name)).unwrap_or_default()))
            confirm_label="Revoke token"
            danger=true
            on_confirm=revoke
        />
    }
}
