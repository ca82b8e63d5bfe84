//! The main navigation: the tenant's pages (Billing only for roles that may see bills), the API
//! reference, the partner console (for partners' administrators) and the operator view (for
//! operators).

use leptos::prelude::*;
use leptos_router::components::A;

use super::icons::{
    BOOK, BOT, BUILDING, CHART, COMPASS, EXTERNAL, GAUGE, HANDSHAKE, KEY, LIST, LOCK, RECEIPT,
    SHIELD, TAG, TERMINAL, USERS, icon,
};
use crate::routes;
use crate::state::session::Session;

#[component]
pub fn Nav() -> impl IntoView {
    let session = Session::get();
    let operator = move || session.is_operator();
    let partner_admin = move || session.partners.with(|it| !it.is_empty());
    let billing = move || session.abilities().view_billing;
    view! {
        <ul class="nav-list">
            <NavLink href=routes::GET_STARTED icon=TERMINAL label="Get started" />
            <NavLink href=routes::DASHBOARD icon=CHART label="Dashboard" />
            <NavLink href=routes::EXPLORER icon=COMPASS label="API explorer" />
            <NavLink href=routes::MODELS icon=LIST label="Models and routes" />
            <NavLink href=routes::PRICES icon=TAG label="Prices" />
            <Show when=billing>
                <NavLink href=routes::BILLING icon=RECEIPT label="Billing" />
            </Show>
            <NavLink href=routes::LIMITS icon=GAUGE label="Limits" />
            <NavLink href=routes::KEYS icon=KEY label="API keys" />
            <NavLink href=routes::SERVICE_ACCOUNTS icon=BOT label="Service accounts" />
            <NavLink href=routes::MEMBERS icon=USERS label="Members" />
            <NavLink href=routes::CREDENTIALS icon=LOCK label="Provider keys" />
            <NavLink href=routes::AUDIT icon=LIST label="Audit log" />
            <NavLink href=routes::TENANTS icon=BUILDING label="Tenants" />
            <NavLink href=routes::TOKENS icon=TERMINAL label="Access tokens" />
            <li>
                <a href=routes::API_REFERENCE target="_blank" rel="external noopener">
                    {icon(BOOK)}
                    <span>"API reference"</span>
                    <span class="sr-only">" (opens in a new tab)"</span>
                    {icon(EXTERNAL)}
                </a>
            </li>
        </ul>
        <Show when=move || partner_admin() || operator()>
            <p class="nav-heading" id="nav-admin">"Administration"</p>
            <ul class="nav-list" aria-labelledby="nav-admin">
                <Show when=partner_admin>
                    <NavLink href=routes::PARTNERS icon=HANDSHAKE label="Partner console" />
                </Show>
                <Show when=operator>
                    <NavLink href=routes::OPERATOR icon=SHIELD label="Operator view" />
                </Show>
            </ul>
        </Show>
    }
}

#[component]
fn NavLink(href: &'static str, icon: &'static str, label: &'static str) -> impl IntoView {
    view! {
        <li>
            <A href=href>
                {self::icon(icon)}
                <span>{label}</span>
            </A>
        </li>
    }
}
