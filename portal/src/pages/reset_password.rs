//! The target of the emailed reset link: choose a new password. Every session ends.

use api_types::manage::PasswordResetRequest;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use super::query_param;
use crate::api::endpoints;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::components::layout::AuthLayout;
use crate::model::errors::FieldErrors;
use crate::model::validate;
use crate::routes;
use crate::state::session::Session;
use crate::state::ui::Ui;

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    Ui::get().set_title("Choose a new password");
    let session = Session::get();
    let token = query_param("token").unwrap_or_default();
    let password = RwSignal::new(String::new());
    let form = FormState::new();
    let done = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        if let Err(e) = validate::new_password(&password.get_untracked()) {
            let mut errors = FieldErrors::new();
            errors.add("password", e);
            form.invalid(errors);
            return;
        }
        let request = PasswordResetRequest {
            token: token.clone(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            let result = endpoints::confirm_password_reset(&request).await;
            form.finish(&result);
            if result.is_ok() {
                password.set(String::new());
                session.forget();
                done.set(true);
            }
        });
    };
    view! {
        <AuthLayout>
            <h1>"Choose a new password"</h1>
            {move || if done.get() {
                view! {
                    <p class="notice success" role="status">
                        "Your password is changed, and every session of your account has ended."
                    </p>
                    <A href=routes::LOGIN attr:class="button primary">"Sign in"</A>
                }
                .into_any()
            } else {
                let submit = submit.clone();
                view! {
                    <form on:submit=submit novalidate>
                        <FormError form=form />
                        <TextField
                            id="new-password"
                            label="New password"
                            kind="password"
                            value=password
                            autocomplete="new-password"
                            required=true
                            hint=format!("At least {} characters.", validate::MIN_PASSWORD_CHARS)
                            error=form.field("password")
                        />
                        <SubmitButton form=form label="Change password" busy_label="Changing…" />
                    </form>
                    <p class="switch-page">
                        "Link expired? " <A href=routes::FORGOT_PASSWORD>"Ask for a new one"</A>
                    </p>
                }
                .into_any()
            }}
        </AuthLayout>
    }
}
