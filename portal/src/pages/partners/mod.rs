//! The partner console: `/partners` lists the partners one administers (every partner, for
//! operators, who also create them here); `/partners/:id` is one partner's console, one module
//! per section: branding with a live preview, custom domains, administrators, sub-tenants, the
//! rate card (markup and prices), monthly statements per sub-tenant with the margin, the
//! sub-tenants' invoices with what the partner pays for each (`invoices`), and the limits its
//! sub-tenants share (`pages::limits`).

pub mod admins;
pub mod branding;
pub mod console;
pub mod create;
pub mod domains;
pub mod invoices;
pub mod rate_card;
pub mod statements;
pub mod sub_tenants;

use api_types::manage::PartnerView;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::endpoints;
use crate::components::icons::{PLUS, icon};
use crate::components::page::PageHeader;
use crate::components::status::{Empty, loaded};
use crate::model::{domain_proof, format, lists};
use crate::routes;
use crate::state::session::Session;

#[component]
pub fn PartnersPage() -> impl IntoView {
    let session = Session::get();
    let partners = LocalResource::new(endpoints::partners);
    let operator = Memo::new(move |_| session.is_operator());
    let creating = RwSignal::new(false);
    let on_created = Callback::new(move |_: PartnerView| {
        creating.set(false);
        partners.refetch();
        // The navigation shows the console once one has a partner.
        session.refresh();
    });
    view! {
        <PageHeader
            title="Partner console"
            description="White-label partners sell the gateway under their own brand: their name, logo and colours on their own domains, keys with their own prefix, and sub-tenants for their customers."
        />
        <Show when=move || operator.get() && !creating.get()>
            <div class="toolbar">
                <button type="button" class="button primary" on:click=move |_| creating.set(true)>
                    {icon(PLUS)}
                    <span>"Create partner"</span>
                </button>
            </div>
        </Show>
        <Show when=move || creating.get()>
            <create::CreatePartnerForm on_created=on_created on_cancel=Callback::new(move |()| creating.set(false)) />
        </Show>
        <section class="card" aria-labelledby="partners-title">
            <h2 id="partners-title">{move || if operator.get() { "All partners" } else { "Your partners" }}</h2>
            {loaded(partners, move |list: Vec<PartnerView>| {
                if list.is_empty() {
                    return view! {
                        <Empty title="No partners">
                            <p>{if operator.get_untracked() {
                                "Create the first partner above."
                            } else {
                                "You administer no partner. A platform operator can make you the administrator of one."
                            }}</p>
                        </Empty>
                    }
                    .into_any();
                }
                view! { <PartnerTable partners=list /> }.into_any()
            })}
        </section>
    }
}

/// Partners with their prefix and domains, each linking to its console.
#[component]
pub fn PartnerTable(partners: Vec<PartnerView>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="partners-table">
                <thead>
                    <tr>
                        <th scope="col">"Partner"</th>
                        <th scope="col">"Product name"</th>
                        <th scope="col">"Key prefix"</th>
                        <th scope="col">"Domains"</th>
                        <th scope="col">"Created"</th>
                    </tr>
                </thead>
                <tbody>
                    {partners
                        .into_iter()
                        .map(|partner| view! {
                            <tr>
                                <th scope="row"><A href=routes::partner(partner.id)>{partner.name.clone()}</A></th>
                                <td>{partner.branding.display_name.clone()}</td>
                                <td><code>{format!("{}-…", partner.key_prefix)}</code></td>
                                <td>{lists::show(&domain_proof::summary(&partner.domains), "none yet")}</td>
                                <td>{format::date(partner.created_at)}</td>
                            </tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
