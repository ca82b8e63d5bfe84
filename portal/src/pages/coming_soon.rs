//! Placeholders for pages that wait for backend endpoints, so the navigation already shows the
//! whole product: API explorer and dashboard.

use leptos::prelude::*;

use crate::components::page::PageHeader;
use crate::components::status::Empty;
use crate::routes;

/// Which placeholder; each names the page to come and what it will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upcoming {
    Explorer,
    Dashboard,
}

impl Upcoming {
    fn title(self) -> &'static str {
        match self {
            Upcoming::Explorer => "API explorer",
            Upcoming::Dashboard => "Dashboard",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Upcoming::Explorer => {
                "Try chat, completions and embeddings calls against your models from the browser."
            }
            Upcoming::Dashboard => "Requests, tokens, latency and spend per key and model.",
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
