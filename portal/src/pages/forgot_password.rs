//! Ask for a password-reset link. The answer never says whether an account exists.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::api::endpoints;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::components::layout::AuthLayout;
use crate::model::errors::FieldErrors;
use crate::model::validate;
use crate::routes;
use crate::state::ui::Ui;

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    Ui::get().set_title("Reset your password");
    let email = RwSignal::new(String::new());
    let form = FormState::new();
    let sent = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let address = match validate::email(&email.get_untracked()) {
            Ok(it) => it,
            Err(e) => {
                let mut errors = FieldErrors::new();
                errors.add("email", e);
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::request_password_reset(&address).await;
            form.finish(&result);
            sent.set(result.is_ok());
        });
    };
    view! {
        <AuthLayout>
            <h1>"Reset your password"</h1>
            {move || if sent.get() {
                view! {
                    <p class="notice success" role="status">
                        "If an account uses " <strong>{email.get_untracked()}</strong>
                        ", we sent it a link to choose a new password. The link works once, for 24 hours."
                    </p>
                    <A href=routes::LOGIN>"Back to sign in"</A>
                }
                .into_any()
            } else {
                view! {
                    <p>"Enter your account's email address and we will send you a link to choose a new password."</p>
                    <form on:submit=submit novalidate>
                        <FormError form=form />
                        <TextField
                            id="reset-email"
                            label="Email address"
                            kind="email"
                            value=email
                            autocomplete="email"
                            required=true
                            error=form.field("email")
                        />
                        <SubmitButton form=form label="Send the link" busy_label="Sending…" />
                    </form>
                    <p class="switch-page"><A href=routes::LOGIN>"Back to sign in"</A></p>
                }
                .into_any()
            }}
        </AuthLayout>
    }
}
