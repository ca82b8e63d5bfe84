//! Placeholders for pages other work will add, so the navigation already shows the whole
//! product: API explorer, dashboard, service accounts, partner console, operator view.

use leptos::prelude::*;

use crate::components::page::PageHeader;
use crate::components::status::Empty;
use crate::routes;

/// Which placeholder; each names the page to come and what it will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upcoming {
    Explorer,
    Dashboard,
    ServiceAccounts,
    Partner,
    Operator,
}

impl Upcoming {
    fn title(self) -> &'static str {
        match self {
            Upcoming::Explorer => "API explorer",
            Upcoming::Dashboard => "Dashboard",
            Upcoming::ServiceAccounts => "Service accounts",
            Upcoming::Partner => "Partner console",
            Upcoming::Operator => "Operator view",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Upcoming::Explorer => {
                "Try chat, completions and embeddings calls against your models from the browser."
            }
            Upcoming::Dashboard => "Requests, tokens, latency and spend per key and model.",
            Upcoming::ServiceAccounts => {
                "Machine identities with OAuth client credentials instead of static keys."
            }
            Upcoming::Partner => "White-label branding, sub-tenants and markup for resellers.",
            Upcoming::Operator => "Every tenant of the platform, for its operators.",
        }
    }
}

#[component]
pub fn ComingSoonPage(page: Upcoming) -> impl IntoView {
    view! {
        <PageHeader title=page.title() description=page.what() />
        <Empty title="Coming soon">
            <p>
                "This page is not built yet. Everything it will do is, or will be, in the "
                <a href=routes::API_REFERENCE rel="external">"management API"</a> "."
            </p>
        </Empty>
    }
}
