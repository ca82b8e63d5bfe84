//! Create an account; then "check your email" with a way to send the link again. Coming from
//! an invitation (`?invitation=TOKEN`), the account is verified at once and the next step is
//! accepting the invitation.

use api_types::manage::SignupRequest;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use super::query_param;
use crate::api::endpoints;
use crate::components::form::{Checkbox, FormError, FormState, SubmitButton, TextField};
use crate::components::layout::AuthLayout;
use crate::model::errors::FieldErrors;
use crate::model::validate;
use crate::routes;
use crate::state::ui::Ui;

#[component]
pub fn SignupPage() -> impl IntoView {
    let ui = Ui::get();
    ui.set_title("Create your account");
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let show_password = RwSignal::new(false);
    let form = FormState::new();
    let sent_to = RwSignal::new(None::<String>);
    let invitation = query_param("invitation").filter(|it| !it.is_empty());
    let after_invited = invitation.as_ref().map(|token| {
        routes::login_then(&format!(
            "{}?token={}",
            routes::ACCEPT_INVITATION,
            crate::api::paths::encode(token)
        ))
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let mut errors = FieldErrors::new();
        let checked_email = validate::email(&email.get_untracked())
            .map_err(|e| errors.add("email", e))
            .ok();
        if let Err(e) = validate::new_password(&password.get_untracked()) {
            errors.add("password", e);
        }
        let (Some(checked_email), true) = (checked_email, errors.is_empty()) else {
            form.invalid(errors);
            return;
        };
        let display_name = Some(name.get_untracked().trim().to_owned()).filter(|it| !it.is_empty());
        let request = SignupRequest {
            email: checked_email.clone(),
            password: password.get_untracked(),
            display_name,
            invitation_token: None,
        };
        spawn_local(async move {
            let result = endpoints::signup(&request).await;
            form.finish(&result);
            if result.is_ok() {
                password.set(String::new());
                sent_to.set(Some(checked_email));
            }
        });
    };

    let resend = move |_| {
        let Some(address) = sent_to.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match endpoints::resend_verification(&address).await {
                Ok(()) => ui.success("We sent the link again."),
                Err(e) => ui.error(e.message()),
            }
        });
    };

    view! {
        <AuthLayout>
            {move || match (sent_to.get(), after_invited.clone()) {
                (Some(_), Some(next)) => view! {
                    <h1>"Your account is ready"</h1>
                    <p class="notice success" role="status">
                        "The invitation proved your address. Sign in to join the tenant."
                    </p>
                    <A href=next attr:class="button primary">"Sign in"</A>
                }
                .into_any(),
                (Some(address), None) => view! {
                    <h1>"Check your email"</h1>
                    <p class="notice success" role="status">
                        "We sent a link to " <strong>{address}</strong>
                        ". Follow it to verify your address, then sign in."
                    </p>
                    <p>"No email after a few minutes? Check your spam folder, or:"</p>
                    <button type="button" class="button secondary" on:click=resend>
                        "Send the link again"
                    </button>
                    <p class="switch-page"><A href=routes::LOGIN>"Go to sign in"</A></p>
                }
                .into_any(),
                (None, _) => view! {
                    <h1>"Create your account"</h1>
                    <form on:submit=submit novalidate>
                        <FormError form=form />
                        <TextField id="signup-name" label="Your name" value=name autocomplete="name" hint="Optional: shown to your team." />
                        <TextField
                            id="signup-email"
                            label="Email address"
                            kind="email"
                            value=email
                            autocomplete="email"
                            required=true
                            error=form.field("email")
                        />
                        <TextField
                            id="signup-password"
                            label="Password"
                            kind=move || if show_password.get() { "text" } else { "password" }
                            value=password
                            autocomplete="new-password"
                            required=true
                            hint=format!("At least {} characters; a passphrase works well.", validate::MIN_PASSWORD_CHARS)
                            error=form.field("password")
                        />
                        <Checkbox id="signup-show-password" label="Show password" checked=show_password />
                        <SubmitButton form=form label="Create account" busy_label="Creating account…" />
                    </form>
                    <p class="switch-page">"Already have an account? " <A href=routes::LOGIN>"Sign in"</A></p>
                }
                .into_any(),
            }}
        </AuthLayout>
    }
}
