//! The target of an invitation link: sign in (or sign up) as the invited address, then join.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_location, use_navigate};

use super::query_param;
use crate::api::endpoints;
use crate::components::form::{FormError, FormState, SubmitButton};
use crate::components::layout::AuthLayout;
use crate::components::status::Loading;
use crate::model::format;
use crate::routes;
use crate::state::session::Session;
use crate::state::ui::Ui;

#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    let ui = Ui::get();
    ui.set_title("Accept the invitation");
    let session = Session::get();
    let location = use_location();
    let navigate = use_navigate();
    let token = query_param("token").unwrap_or_default();
    let signup = format!(
        "{}?invitation={}",
        routes::SIGNUP,
        crate::api::paths::encode(&token)
    );
    let form = FormState::new();
    let here = format!(
        "{}{}",
        location.pathname.get_untracked(),
        location.search.get_untracked()
    );

    let accept = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let token = token.clone();
        let navigate = navigate.clone();
        spawn_local(async move {
            let result = endpoints::accept_invitation(&token).await;
            form.finish(&result);
            if let Ok(joined) = result {
                session.current.set(Some(joined.tenant_id));
                session.refresh();
                ui.success(format!("You joined as {}.", format::role(joined.role)));
                navigate(routes::KEYS, Default::default());
            }
        });
    };

    view! {
        <AuthLayout>
            <h1>"Accept the invitation"</h1>
            {move || {
                if !session.ready.get() {
                    return view! { <Loading /> }.into_any();
                }
                match session.user.get() {
                    None => view! {
                        <p>"Sign in with the address the invitation was sent to, then come back to this link."</p>
                        <A href=routes::login_then(&here) attr:class="button primary">"Sign in"</A>
                        <p class="switch-page">"No account yet? " <A href=signup.clone()>"Create one"</A>
                            " with the invited address."</p>
                    }
                    .into_any(),
                    Some(user) => {
                        let accept = accept.clone();
                        view! {
                            <p>"You are signed in as " <strong>{user.email}</strong> "."</p>
                            <form on:submit=accept>
                                <FormError form=form />
                                <SubmitButton form=form label="Join the tenant" busy_label="Joining…" />
                            </form>
                        }
                        .into_any()
                    }
                }
            }}
        </AuthLayout>
    }
}
