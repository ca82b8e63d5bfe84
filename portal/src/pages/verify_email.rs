//! The target of the emailed verification link: verifies on arrival and says what next.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use super::query_param;
use crate::api::{ApiError, endpoints};
use crate::components::layout::AuthLayout;
use crate::components::status::{ErrorNotice, Loading};
use crate::routes;
use crate::state::session::Session;
use crate::state::ui::Ui;

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    Ui::get().set_title("Verify your email address");
    let session = Session::get();
    let outcome = RwSignal::new(None::<Result<String, ApiError>>);
    match query_param("token").filter(|it| !it.is_empty()) {
        None => outcome.set(Some(Err(ApiError::unexpected(
            400,
            "this link has no token",
        )))),
        Some(token) => spawn_local(async move {
            let result = endpoints::verify_email(&token).await.map(|user| user.email);
            if result.is_ok() {
                session.refresh();
            }
            outcome.set(Some(result));
        }),
    }
    view! {
        <AuthLayout>
            <h1>"Verify your email address"</h1>
            {move || match outcome.get() {
                None => view! { <Loading what="your link" /> }.into_any(),
                Some(Ok(email)) => view! {
                    <p class="notice success" role="status">
                        <strong>{email}</strong> " is verified."
                    </p>
                    {move || if session.user.with(Option::is_some) {
                        view! { <A href=routes::HOME attr:class="button primary">"Continue"</A> }.into_any()
                    } else {
                        view! { <A href=routes::LOGIN attr:class="button primary">"Sign in"</A> }.into_any()
                    }}
                }
                .into_any(),
                Some(Err(error)) => view! {
                    <ErrorNotice error=error />
                    <p>
                        "Links work once and for 24 hours. Sign in to have a new one sent, or "
                        <A href=routes::SIGNUP>"create an account"</A> "."
                    </p>
                    <A href=routes::LOGIN attr:class="button secondary">"Go to sign in"</A>
                }
                .into_any(),
            }}
        </AuthLayout>
    }
}
