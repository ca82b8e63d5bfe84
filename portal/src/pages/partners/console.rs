//! `/partners/:id`: one partner's console.

use api_types::manage::PartnerView;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use super::admins::Admins;
use super::branding::BrandingEditor;
use super::domains::Domains;
use super::invoices::PartnerInvoices;
use super::rate_card::RateCard;
use super::statements::Statements;
use super::sub_tenants::SubTenants;
use crate::api::endpoints;
use crate::components::page::PageHeader;
use crate::components::status::{Empty, loaded};
use crate::pages::limits::SharedLimits;
use crate::routes;

#[component]
pub fn PartnerPage() -> impl IntoView {
    let params = use_params_map();
    let id =
        Memo::new(move |_| params.with(|it| it.get("id").and_then(|raw| raw.parse::<Uuid>().ok())));
    move || match id.get() {
        Some(id) => {
            let partner = LocalResource::new(move || endpoints::partner(id));
            loaded(
                partner,
                |partner: PartnerView| view! { <PartnerConsole partner=partner /> },
            )
            .into_any()
        }
        None => view! {
            <PageHeader title="Partner console" />
            <Empty title="No such partner">
                <A href=routes::PARTNERS>"Back to your partners"</A>
            </Empty>
        }
        .into_any(),
    }
}

#[component]
fn PartnerConsole(partner: PartnerView) -> impl IntoView {
    let id = partner.id;
    let description = format!(
        "Partner console: how {} looks on its domains, who administers it, its customers' tenants, what they pay and were billed, and the limits they share.",
        partner.branding.display_name
    );
    view! {
        <PageHeader title=partner.name.clone() description=description>
            <a href=routes::PARTNERS class="button secondary small">"All partners"</a>
        </PageHeader>
        <BrandingEditor partner=partner.clone() />
        <Domains partner=id initial=partner.domains.clone() />
        <Admins partner=id />
        <SubTenants partner=id key_prefix=partner.key_prefix />
        <RateCard partner=id />
        <Statements partner=id />
        <PartnerInvoices partner=id />
        <SharedLimits partner=id />
    }
}
