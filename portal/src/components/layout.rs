//! The two page frames: `AppShell` for signed-in pages (header, navigation, content) and
//! `AuthLayout` for the sign-in family. Both start with a skip link and one `<main>`.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::components::Outlet;
use leptos_router::hooks::{use_location, use_navigate};

use super::icons::{MENU, icon};
use super::nav::Nav;
use super::status::{ErrorNotice, Loading};
use super::toast::ToastHost;
use super::top_bar::{AccountMenu, Brand, TenantSwitcher, ThemeToggle};
use crate::routes;
use crate::state::session::Session;
use crate::state::ui::Ui;

/// The frame of every signed-in page; sends people who are not signed in to the login page,
/// and back here afterwards.
#[component]
pub fn AppShell() -> impl IntoView {
    let session = Session::get();
    let location = use_location();
    let navigate = use_navigate();
    let signed_in = Memo::new(move |_| session.user.with(Option::is_some));
    let nav_open = RwSignal::new(false);

    Effect::new(move |_| {
        if session.ready.get() && !signed_in.get() && session.load_error.with(Option::is_none) {
            let here = format!(
                "{}{}",
                location.pathname.get_untracked(),
                location.search.get_untracked()
            );
            navigate(
                &routes::login_then(&here),
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });
    move || {
        if let Some(error) = session.load_error.get() {
            return view! {
                <main id="main" class="boot">
                    <ErrorNotice error=error retry=Callback::new(move |_| session.refresh()) />
                </main>
            }
            .into_any();
        }
        if !session.ready.get() || !signed_in.get() {
            return view! {
                <main id="main" class="boot">
                    <Loading />
                </main>
            }
            .into_any();
        }
        view! {
            <SkipLink />
            <div class="shell" class:nav-open=move || nav_open.get()>
                <header class="topbar">
                    <button
                        type="button"
                        class="icon-button menu-button"
                        aria-label="Menu"
                        aria-controls="sidebar"
                        aria-expanded=move || if nav_open.get() { "true" } else { "false" }
                        on:click=move |_| nav_open.update(|it| *it = !*it)
                    >
                        {icon(MENU)}
                    </button>
                    <Brand />
                    <TenantSwitcher />
                    <div class="spacer"></div>
                    <ThemeToggle />
                    <AccountMenu />
                </header>
                // Following a link closes the phone-sized menu.
                <nav id="sidebar" class="sidebar" aria-label="Main" on:click=move |_| nav_open.set(false)>
                    <Nav />
                </nav>
                <main id="main" class="content" tabindex="-1">
                    <Outlet />
                </main>
            </div>
            <ToastHost />
        }
        .into_any()
    }
}

/// The frame of the sign-in, sign-up and email-link pages.
#[component]
pub fn AuthLayout(children: Children) -> impl IntoView {
    let ui = Ui::get();
    view! {
        <SkipLink />
        <div class="auth-page">
            <header class="auth-header">
                <Brand />
                <ThemeToggle />
            </header>
            <main id="main" class="auth-card" tabindex="-1">
                {children()}
            </main>
            <footer class="auth-footer">
                <a href=routes::API_REFERENCE rel="external">"API reference"</a>
                {move || {
                    ui.branding
                        .with(|it| it.support_url.clone())
                        .map(|url| view! { " · " <a href=url rel="external">"Support"</a> })
                }}
            </footer>
        </div>
        <ToastHost />
    }
}

/// The first stop of the keyboard: jumps to the page's `<main>`. Marked external so the
/// router leaves it to the browser, which moves the focus there.
#[component]
fn SkipLink() -> impl IntoView {
    view! {
        <a class="skip-link" href="#main" rel="external">
            "Skip to content"
        </a>
    }
}
