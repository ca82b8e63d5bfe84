//! `/`: the API keys of the current tenant (its dashboard for roles that see no keys), or the
//! tenants page when there is none.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

use crate::components::status::Loading;
use crate::routes;
use crate::state::session::Session;

#[component]
pub fn HomePage() -> impl IntoView {
    let session = Session::get();
    let navigate = use_navigate();
    Effect::new(move |_| {
        let target = if session.tenants.with(Vec::is_empty) {
            routes::TENANTS
        } else if session.abilities().see_keys {
            routes::KEYS
        } else {
            // Finance sees no keys: its members start where their work is.
            routes::DASHBOARD
        };
        navigate(
            target,
            NavigateOptions {
                replace: true,
                ..Default::default()
            },
        );
    });
    view! { <Loading /> }
}
