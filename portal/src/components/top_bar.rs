//! The header's parts: the brand, the tenant switcher, the theme toggle and the account menu.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;

use super::icons::{MARK, MONITOR, MOON, SIGN_OUT, SUN, icon};
use crate::api::endpoints;
use crate::routes;
use crate::state::session::Session;
use crate::state::theme::Theme;
use crate::state::ui::Ui;

/// The product's logo and name, from the branding.
#[component]
pub fn Brand() -> impl IntoView {
    let ui = Ui::get();
    let name = move || ui.branding.with(|it| it.product_name.clone());
    let logo = move || {
        ui.branding.with(|it| it.logo_url.clone()).map_or_else(
            || view! { <span class="brand-mark">{icon(MARK)}</span> }.into_any(),
            |url| view! { <img class="brand-logo" src=url alt="" /> }.into_any(),
        )
    };
    // Until the branding is known the name is empty, and the link still needs one.
    let label = move || {
        ui.branding
            .with(|it| it.product_name.is_empty())
            .then_some("Home")
    };
    view! {
        <a href=routes::HOME class="brand" aria-label=label>
            {logo}
            <span class="brand-name">{name}</span>
        </a>
    }
}

/// Cycles system → light → dark.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let ui = Ui::get();
    let label = move || ui.theme.get().label();
    view! {
        <button
            type="button"
            class="icon-button"
            aria-label=label
            title=label
            on:click=move |_| ui.theme.update(|it| *it = it.next())
        >
            {move || match ui.theme.get() {
                Theme::System => icon(MONITOR).into_any(),
                Theme::Light => icon(SUN).into_any(),
                Theme::Dark => icon(MOON).into_any(),
            }}
        </button>
    }
}

/// Picks the tenant every page works on.
#[component]
pub fn TenantSwitcher() -> impl IntoView {
    let session = Session::get();
    let change = move |ev| {
        let id = event_target_value(&ev).parse().ok();
        session.select(id);
    };
    view! {
        <div class="tenant-switcher">
            <label for="tenant-switcher">"Tenant"</label>
            <select id="tenant-switcher" on:change=change>
                {move || {
                    let current = session.current.get();
                    let tenants = session.tenants.get();
                    if tenants.is_empty() {
                        return view! { <option value="">"No tenant yet"</option> }.into_any();
                    }
                    tenants
                        .into_iter()
                        .map(|tenant| {
                            let selected = current == Some(tenant.id);
                            view! {
                                <option value=tenant.id.to_string() selected=selected>
                                    {tenant.name}
                                </option>
                            }
                        })
                        .collect_view()
                        .into_any()
                }}
            </select>
        </div>
    }
}

/// The signed-in address and "Sign out".
#[component]
pub fn AccountMenu() -> impl IntoView {
    let session = Session::get();
    let ui = Ui::get();
    let navigate = use_navigate();
    let email = move || {
        session
            .user
            .with(|it| it.as_ref().map(|user| user.email.clone()))
            .unwrap_or_default()
    };
    let sign_out = move |_| {
        let navigate = navigate.clone();
        spawn_local(async move {
            match endpoints::logout().await {
                Ok(()) => {
                    session.forget();
                    navigate(routes::LOGIN, Default::default());
                    ui.success("Signed out.");
                }
                Err(error) => ui.error(error.message()),
            }
        });
    };
    view! {
        <div class="account">
            <span class="account-email">{email}</span>
            <button type="button" class="button secondary small" on:click=sign_out>
                {icon(SIGN_OUT)}
                <span>"Sign out"</span>
            </button>
        </div>
    }
}
