//! Sign in, with a password or a configured identity provider (single sign-on), then go back
//! to the page that asked for it. Identity providers send people back here with `?sso_error=`
//! when it did not work.

use api_types::manage::{LoginRequest, SsoProviderView};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use super::query_param;
use crate::api::error::sso_error_message;
use crate::api::{endpoints, paths};
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::components::layout::AuthLayout;
use crate::model::errors::FieldErrors;
use crate::model::validate;
use crate::routes;
use crate::state::session::Session;
use crate::state::ui::Ui;

#[component]
pub fn LoginPage() -> impl IntoView {
    let ui = Ui::get();
    ui.set_title("Sign in");
    let session = Session::get();
    let navigate = use_navigate();
    let next = routes::safe_next(query_param("next").as_deref());
    let sso_error = query_param("sso_error").map(|code| sso_error_message(&code));
    let sso_providers = LocalResource::new(endpoints::sso_providers);
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let form = FormState::new();
    let unverified = Memo::new(move |_| {
        form.error
            .with(|it| it.as_ref().is_some_and(|e| e.needs_verification()))
    });

    let next_for_sso = next.clone();
    // Already signed in (a bookmarked login page): go on.
    {
        let navigate = navigate.clone();
        let next = next.clone();
        Effect::new(move |_| {
            if session.ready.get() && session.user.with(Option::is_some) {
                navigate(
                    &next,
                    NavigateOptions {
                        replace: true,
                        ..Default::default()
                    },
                );
            }
        });
    }

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let mut errors = FieldErrors::new();
        let address = validate::email(&email.get_untracked())
            .map_err(|e| errors.add("email", e))
            .ok();
        if password.get_untracked().is_empty() {
            errors.add("password", "Enter your password.");
        }
        let (Some(address), true) = (address, errors.is_empty()) else {
            form.invalid(errors);
            return;
        };
        let request = LoginRequest {
            email: address,
            password: password.get_untracked(),
        };
        spawn_local(async move {
            let result = endpoints::login(&request).await;
            form.finish(&result);
            if result.is_ok() {
                password.set(String::new());
                session.refresh();
            }
        });
    };

    let resend = move |_| {
        let address = email.get_untracked();
        spawn_local(async move {
            match endpoints::resend_verification(address.trim()).await {
                Ok(()) => ui.success("We sent a new verification link."),
                Err(e) => ui.error(e.message()),
            }
        });
    };

    let needs_sso = Memo::new(move |_| {
        form.error
            .with(|it| it.as_ref().is_some_and(|e| e.needs_sso()))
    });

    view! {
        <AuthLayout>
            <h1>"Sign in"</h1>
            {sso_error.map(|message| view! {
                <div class="notice error" role="alert"><p>{message}</p></div>
            })}
            <form on:submit=submit novalidate>
                <FormError form=form />
                <Show when=move || unverified.get()>
                    <button type="button" class="button secondary small" on:click=resend>
                        "Send the verification link again"
                    </button>
                </Show>
                <TextField
                    id="login-email"
                    label="Email address"
                    kind="email"
                    value=email
                    autocomplete="username"
                    required=true
                    error=form.field("email")
                />
                <TextField
                    id="login-password"
                    label="Password"
                    kind="password"
                    value=password
                    autocomplete="current-password"
                    required=true
                    error=form.field("password")
                />
                <SubmitButton form=form label="Sign in" busy_label="Signing in…" />
            </form>
            // Without providers (or their list) there is nothing to offer: no section at all.
            {move || {
                let providers = sso_providers.get().and_then(Result::ok).unwrap_or_default();
                (!providers.is_empty()).then(|| {
                    let next = next_for_sso.clone();
                    view! { <SsoButtons providers=providers next=next highlight=needs_sso /> }
                })
            }}
            <p class="switch-page">
                <A href=routes::FORGOT_PASSWORD>"Forgot your password?"</A>
            </p>
            <p class="switch-page">"New here? " <A href=routes::SIGNUP>"Create an account"</A></p>
        </AuthLayout>
    }
}

/// One button per configured identity provider. They are plain links: the browser leaves the
/// portal for the provider (a full-page navigation, which the router must not intercept) and
/// comes back to `next` signed in.
#[component]
fn SsoButtons(
    providers: Vec<SsoProviderView>,
    next: String,
    highlight: Memo<bool>,
) -> impl IntoView {
    view! {
        <section class="sso" class:highlight=move || highlight.get() aria-labelledby="sso-title">
            <p class="sso-divider" id="sso-title">"Or sign in with your organisation's account"</p>
            {providers
                .into_iter()
                .map(|provider| {
                    let href = paths::sso_start(&provider.start_url, &next);
                    view! {
                        <a class="button secondary sso-button" href=href rel="external">
                            "Sign in with " {provider.display_name}
                        </a>
                    }
                })
                .collect_view()}
        </section>
    }
}
