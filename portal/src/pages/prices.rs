//! "Prices": what each model the tenant can call costs it now, per deployment and per million
//! tokens (its negotiated prices, else its partner's rate card, else the platform's prices),
//! for every member to read.

use api_types::prices::{DeploymentPriceView, ModelPriceView, TenantPriceListView};
use leptos::prelude::*;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::page::{PageHeader, for_tenant};
use crate::components::status::{Empty, loaded};
use crate::model::price_form::{RateCell, rate_cells};

#[component]
pub fn PricesPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Prices"
            description="What each model costs this tenant now, per million tokens. You pay your negotiated price where there is one, else your partner's rate card, else the platform's price; a change applies to calls from its date on, never to past ones."
        />
        {for_tenant(|tenant| view! { <TenantPrices tenant=tenant /> })}
    }
}

#[component]
fn TenantPrices(tenant: Uuid) -> impl IntoView {
    let prices = LocalResource::new(move || endpoints::tenant_price_list(tenant));
    view! {
        <p class="muted">
            "Every answer also carries what it cost: "<code>"usage.cost"</code>" in the body and the "
            <code>"x-request-cost"</code>" header. Cached input and cache writes cost the input rate unless they have their own."
        </p>
        {loaded(prices, move |list: TenantPriceListView| {
            if list.models.is_empty() {
                return view! {
                    <Empty title="No models">
                        <p>"The platform serves no models yet."</p>
                    </Empty>
                }
                .into_any();
            }
            let currency = list.currency.clone();
            list.models
                .into_iter()
                .map(|model| view! { <ModelPrices model=model currency=currency.clone() /> })
                .collect_view()
                .into_any()
        })}
    }
}

/// One model: a row per deployment.
#[component]
fn ModelPrices(model: ModelPriceView, currency: String) -> impl IntoView {
    let id = format!(
        "prices-{}",
        model
            .model
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    let unit = format!("{currency} / 1M tokens");
    let labelled_by = id.clone();
    let data_model = model.model.clone();
    let heading = model.model.clone();
    view! {
        <section class="card model-prices" aria-labelledby=labelled_by data-model=data_model>
            <h2 id=id><code>{heading}</code></h2>
            <div class="table-wrap">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">"Deployment"</th>
                            <th scope="col">"Provider"</th>
                            <th scope="col">"Upstream model"</th>
                            <th scope="col">"Input"<span class="unit">{unit.clone()}</span></th>
                            <th scope="col">"Output"<span class="unit">{unit.clone()}</span></th>
                            <th scope="col">"Cached input"<span class="unit">{unit.clone()}</span></th>
                            <th scope="col">"Cache write"<span class="unit">{unit}</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        {model
                            .deployments
                            .into_iter()
                            .map(|it| view! { <PriceRow deployment=it /> })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn PriceRow(deployment: DeploymentPriceView) -> impl IntoView {
    let cells = match &deployment.price {
        Some(rates) => rate_cells(rates)
            .into_iter()
            .map(|cell| view! { <RateTd cell=cell /> })
            .collect_view()
            .into_any(),
        None => view! {
            <td colspan="4" class="muted unpriced">"not priced"</td>
        }
        .into_any(),
    };
    view! {
        <tr data-deployment=deployment.deployment.clone()>
            <th scope="row">{deployment.deployment.clone()}</th>
            <td>{deployment.provider.clone()}</td>
            <td><code>{deployment.upstream_model.clone()}</code></td>
            {cells}
        </tr>
    }
}

#[component]
fn RateTd(cell: RateCell) -> impl IntoView {
    if cell.inherited {
        view! {
            <td class="rate inherited" title="The input rate: not priced separately">
                {cell.text}
                <span class="sr-only">" (the input rate)"</span>
            </td>
        }
        .into_any()
    } else {
        view! { <td class="rate">{cell.text}</td> }.into_any()
    }
}
