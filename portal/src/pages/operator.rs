//! `/operator`: the whole platform, for its operators: every tenant (with the partner managing
//! it), every partner, every deployment's health, and the limits every tenant is held to.

use std::collections::HashMap;

use api_types::manage::{ModelRouteView, PartnerView, TenantView};
use leptos::prelude::*;
use uuid::Uuid;

use super::limits::PlatformLimits;
use super::models::ModelCard;
use super::partners::PartnerTable;
use crate::api::endpoints;
use crate::components::page::PageHeader;
use crate::components::status::{Empty, loaded};
use crate::model::format;
use crate::routes;
use crate::state::session::Session;
use crate::state::ui::Ui;

#[component]
pub fn OperatorPage() -> impl IntoView {
    let session = Session::get();
    view! {
        <PageHeader
            title="Operator view"
            description="Every tenant and partner of the platform. Operators may act in any tenant: switch to one to manage its keys, members and service accounts."
        />
        <Show
            when=move || session.is_operator()
            fallback=|| view! {
                <Empty title="Platform operators only">
                    <p>"This page is for the people who run the platform."</p>
                </Empty>
            }
        >
            <PlatformOverview />
        </Show>
    }
}

#[component]
fn PlatformOverview() -> impl IntoView {
    let tenants = LocalResource::new(endpoints::tenants);
    let partners = LocalResource::new(endpoints::partners);
    let deployments = LocalResource::new(endpoints::deployments);
    // Partner names for the tenants table, once the partners are in.
    let partner_names = Memo::new(move |_| {
        partners
            .get()
            .and_then(Result::ok)
            .map(|list| {
                list.into_iter()
                    .map(|it| (it.id, it.name))
                    .collect::<HashMap<Uuid, String>>()
            })
            .unwrap_or_default()
    });
    view! {
        <section class="card" aria-labelledby="all-tenants">
            <h2 id="all-tenants">"All tenants"</h2>
            {loaded(tenants, move |list: Vec<TenantView>| {
                if list.is_empty() {
                    return view! {
                        <Empty title="No tenants yet">
                            <p>"Tenants appear here as people create them."</p>
                        </Empty>
                    }
                    .into_any();
                }
                view! { <TenantTable tenants=list partner_names=partner_names /> }.into_any()
            })}
        </section>
        <section class="card" aria-labelledby="all-partners">
            <div class="section-header">
                <h2 id="all-partners">"All partners"</h2>
                <a href=routes::PARTNERS class="button secondary small">"Create a partner"</a>
            </div>
            {loaded(partners, move |list: Vec<PartnerView>| {
                if list.is_empty() {
                    return view! {
                        <Empty title="No partners yet">
                            <p>"Partners resell the platform under their own brand."</p>
                        </Empty>
                    }
                    .into_any();
                }
                view! { <PartnerTable partners=list /> }.into_any()
            })}
        </section>
        <PlatformLimits />
        <section class="operator-deployments" aria-labelledby="all-deployments">
            <div class="section-header">
                <h2 id="all-deployments">"Deployment health"</h2>
                <button type="button" class="button secondary small" on:click=move |_| deployments.refetch()>
                    "Refresh"
                </button>
            </div>
            <p class="muted">"Every platform model and each deployment's breaker, latency and recent failures, on the node that answered."</p>
            {loaded(deployments, move |list: Vec<ModelRouteView>| {
                list.into_iter().map(|route| view! { <ModelCard route=route /> }).collect_view()
            })}
        </section>
    }
}

#[component]
fn TenantTable(
    tenants: Vec<TenantView>,
    partner_names: Memo<HashMap<Uuid, String>>,
) -> impl IntoView {
    let session = Session::get();
    let ui = Ui::get();
    view! {
        <div class="table-wrap">
            <table class="operator-tenants">
                <thead>
                    <tr>
                        <th scope="col">"Tenant"</th>
                        <th scope="col">"Partner"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {tenants
                        .into_iter()
                        .map(|tenant| {
                            let id = tenant.id;
                            let partner = tenant.partner_id;
                            let label = tenant.name.clone();
                            let for_switch = tenant.clone();
                            view! {
                                <tr>
                                    <th scope="row">{tenant.name.clone()}</th>
                                    <td>{move || match partner {
                                        None => "Platform".to_owned(),
                                        Some(p) => partner_names.with(|names| names.get(&p).cloned()).unwrap_or_else(|| "A partner".to_owned()),
                                    }}</td>
                                    <td><span class=format!("badge status-{}", tenant.status)>{tenant.status.clone()}</span></td>
                                    <td>{format::date(tenant.created_at)}</td>
                                    <td class="actions">
                                        <Show
                                            when=move || session.current.get() != Some(id)
                                            fallback=|| view! { <span class="badge current">"Current"</span> }
                                        >
                                            <button
                                                type="button"
                                                class="button secondary small"
                                                on:click={
                                                    let tenant = for_switch.clone();
                                                    let label = label.clone();
                                                    move |_| {
                                                        session.switch_to(tenant.clone());
                                                        ui.success(format!("Switched to {label}."));
                                                    }
                                                }
                                            >
                                                "Switch to" <span class="sr-only">" " {label.clone()}</span>
                                            </button>
                                        </Show>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
