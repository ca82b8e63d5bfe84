//! `/`: the API keys of the current tenant, or the tenants page when there is none.

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
        } else {
            routes::KEYS
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
