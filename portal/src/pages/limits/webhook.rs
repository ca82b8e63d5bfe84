//! The "Budget alerts webhook" card (a tenant's Limits page, the partner console's limits):
//! where alerts are sent, a form to set or change the URL, rotating the signing secret and
//! removing the webhook (both confirmed), and the secret shown once after it is made, with how
//! a receiver checks a delivery's signature. Read-only for callers who may not change it.

use api_types::limits::WebhookView;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::endpoints;
use crate::api::paths::AlertRecipient;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::components::secret::SecretOnce;
use crate::components::status::loaded;
use crate::model::format;
use crate::model::webhook_form::{self, SIGNATURE_HELP};
use crate::state::ui::Ui;

/// The card. `can_change` shows the form and the actions; ids start with `prefix`;
/// `on_changed` runs after the webhook is set, rotated or removed.
#[component]
pub fn WebhookCard(
    recipient: AlertRecipient,
    can_change: bool,
    prefix: &'static str,
    on_changed: Callback<()>,
) -> impl IntoView {
    let ui = Ui::get();
    let current = LocalResource::new(move || endpoints::webhook(recipient));
    let url = RwSignal::new(String::new());
    let secret = RwSignal::new(None::<String>);
    let form = FormState::new();
    let rotate_open = RwSignal::new(false);
    let remove_open = RwSignal::new(false);
    // The URL saved now, once loaded (what rotating keeps).
    let saved = move || {
        current
            .get()
            .and_then(Result::ok)
            .flatten()
            .map(|it: WebhookView| it.url)
    };
    // The input starts from the saved URL, and follows it after each change.
    Effect::new(move |_| {
        if let Some(Ok(view)) = current.get() {
            url.set(view.map(|it| it.url).unwrap_or_default());
        }
    });
    let after = move |view: WebhookView, words: &str| {
        if view.secret.is_some() {
            secret.set(view.secret);
        }
        ui.success(words);
        current.refetch();
        on_changed.run(());
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let request = match webhook_form::request(&url.get_untracked(), false) {
            Ok(it) => it,
            Err(errors) => {
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::set_webhook(recipient, &request).await;
            form.finish(&result);
            if let Ok(view) = result {
                after(view, "Saved: budget alerts are sent to the webhook.");
            }
        });
    };
    let rotate = Callback::new(move |()| {
        let Some(saved) = saved() else { return };
        spawn_local(async move {
            let request = webhook_form::request(&saved, true);
            let Ok(request) = request else { return };
            match endpoints::set_webhook(recipient, &request).await {
                Ok(view) => after(
                    view,
                    "Made a new signing secret: the old one no longer signs.",
                ),
                Err(e) => ui.error(e.message()),
            }
        });
    });
    let remove = Callback::new(move |()| {
        spawn_local(async move {
            match endpoints::remove_webhook(recipient).await {
                Ok(()) => {
                    secret.set(None);
                    ui.success("Removed the webhook: alerts are listed here only.");
                    current.refetch();
                    on_changed.run(());
                }
                Err(e) => ui.error(e.message()),
            }
        });
    });

    let title_id = format!("{prefix}-webhook-title");
    let labelled_by = title_id.clone();
    let secret_id = format!("{prefix}-webhook-secret");
    let help = SIGNATURE_HELP
        .iter()
        .map(|it| view! { <p>{*it}</p> })
        .collect_view();
    view! {
        <section class="webhook" aria-labelledby=labelled_by>
            <h3 id=title_id>"Budget alerts webhook"</h3>
            {loaded(current, |view: Option<WebhookView>| match view {
                Some(view) => view! {
                    <p class="webhook-url">
                        "Alerts are sent, signed, to " <code>{view.url}</code>
                        <span class="muted">{format!(" (since {})", format::datetime(view.updated_at))}</span>
                    </p>
                }
                .into_any(),
                None => view! { <p class="muted webhook-url">"No webhook: alerts are listed here only."</p> }
                    .into_any(),
            })}
            {move || secret.get().map(|value| view! {
                <SecretOnce
                    id=secret_id.clone()
                    title="Signing secret"
                    secret=value
                    note="Copy it now, it will not be shown again: your endpoint needs it to check that each alert really comes from here."
                    on_done=Callback::new(move |()| secret.set(None))
                />
            })}
            <details class="example" open=move || secret.with(Option::is_some)>
                <summary>"Checking the signature"</summary>
                {help}
            </details>
            {can_change.then(|| view! {
                <form on:submit=submit novalidate class="webhook-form" aria-label="Budget alerts webhook">
                    <FormError form=form />
                    <TextField
                        id=format!("{prefix}-webhook-url")
                        label="Webhook URL"
                        value=url
                        kind=Signal::derive(|| "url".to_owned())
                        placeholder="https://example.com/hooks/budget"
                        hint="A public https:// address. Each alert is POSTed to it as JSON."
                        error=form.field("url")
                    />
                    <div class="form-actions">
                        <SubmitButton form=form label="Save webhook" busy_label="Saving…" />
                        <Show when=move || saved().is_some()>
                            <button type="button" class="button secondary" on:click=move |_| rotate_open.set(true)>
                                "Rotate secret"
                            </button>
                            <button type="button" class="button danger" on:click=move |_| remove_open.set(true)>
                                "Remove webhook"
                            </button>
                        </Show>
                    </div>
                </form>
            })}
            {(!can_change).then(|| view! {
                <p class="notice info read-only-reason">"Only the owners and admins here can change where alerts are sent."</p>
            })}
        </section>
        <ConfirmDialog
            open=rotate_open
            id=format!("{prefix}-webhook-rotate")
            title="Rotate the signing secret?"
            message=Signal::derive(|| "A new secret signs every alert from now on, and the old one stops at once: update your endpoint with the new one.".to_owned())
            confirm_label="Rotate secret"
            on_confirm=rotate
        />
        <ConfirmDialog
            open=remove_open
            id=format!("{prefix}-webhook-remove")
            title="Remove the webhook?"
            message=Signal::derive(|| "Alerts are no longer sent anywhere; they are still listed here.".to_owned())
            confirm_label="Remove webhook"
            danger=true
            on_confirm=remove
        />
    }
}
