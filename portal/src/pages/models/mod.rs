//! "Models and routes": every model the tenant can call, the deployments behind it, how calls
//! spread over them, and how each is doing (breaker, latency) on the node that answered; and
//! the tenant's own aliases, edited in `editor`; data residency (`residency`) and the
//! semantic cache's threshold (`semantic`).

pub mod editor;
pub mod residency;
pub mod semantic;

use api_types::manage::{
    ByokProviderView, CacheSettings, DeploymentView, ModelRouteView, ResidencyView, RouteView,
};
use leptos::prelude::*;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::page::{PageHeader, for_tenant};
use crate::components::status::{Empty, loaded};
use crate::model::route_split::{breaker_label, shares};
use crate::state::session::Session;
use editor::{Editor, OwnAliases, RouteEditor};
use residency::Residency;
use semantic::SemanticCache;

#[component]
pub fn ModelsPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Models and routes"
            description="Each model is served by one or more deployments. Calls go to the first priority's deployments as the strategy splits them; when one fails (rate limits, server errors, timeouts), the call moves on to the next, and an unhealthy deployment is passed over until it recovers."
        />
        {for_tenant(|tenant| view! { <TenantModels tenant=tenant /> })}
    }
}

#[component]
fn TenantModels(tenant: Uuid) -> impl IntoView {
    let session = Session::get();
    let allowed = Memo::new(move |_| session.abilities().manage_routes);
    let models = LocalResource::new(move || endpoints::models(tenant));
    let routes = LocalResource::new(move || endpoints::routes(tenant));
    let providers = LocalResource::new(endpoints::providers);
    let residency = LocalResource::new(move || endpoints::residency(tenant));
    let cache_settings = LocalResource::new(move || endpoints::cache_settings(tenant));
    let editor = Editor::new();
    let changed = Callback::new(move |()| {
        routes.refetch();
        models.refetch();
    });
    let residency_changed = Callback::new(move |()| {
        residency.refetch();
        models.refetch();
    });
    let cache_changed = Callback::new(move |()| {
        cache_settings.refetch();
        models.refetch();
    });
    view! {
        {loaded(residency, move |view: ResidencyView| view! {
            <Residency tenant=tenant view=view allowed=allowed.get_untracked() on_saved=residency_changed />
        })}
        {loaded(cache_settings, move |view: CacheSettings| view! {
            <SemanticCache tenant=tenant view=view allowed=allowed.get_untracked() on_saved=cache_changed />
        })}
        {move || {
            let list = models.get().and_then(Result::ok)?;
            let first = list
                .iter()
                .find(|it| !it.tenant_defined)
                .map(|it| it.alias.clone())
                .unwrap_or_default();
            Some(loaded(routes, move |own: Vec<RouteView>| view! {
                <OwnAliases
                    tenant=tenant
                    routes=own
                    editor=editor
                    allowed=allowed.get_untracked()
                    first_model=first.clone()
                    on_changed=changed
                />
            }))
        }}
        <Show when=move || editor.is_open()>
            {move || {
                let list = models.get().and_then(Result::ok)?;
                let own_keys: Vec<ByokProviderView> =
                    providers.get().and_then(Result::ok).unwrap_or_default();
                Some(view! {
                    <RouteEditor tenant=tenant editor=editor models=list providers=own_keys on_saved=changed />
                })
            }}
        </Show>
        <div class="toolbar">
            <button type="button" class="button small" on:click=move |_| models.refetch()>
                "Refresh"
            </button>
        </div>
        {loaded(models, move |list: Vec<ModelRouteView>| {
            if list.is_empty() {
                return view! {
                    <Empty title="No models">
                        <p>"The platform serves no models yet."</p>
                    </Empty>
                }
                .into_any();
            }
            list.into_iter().map(|route| view! { <ModelCard route=route /> }).collect_view().into_any()
        })}
    }
}

/// One model: its strategy, tries and cache, and each deployment's share and health (also the
/// operator view's deployment list).
#[component]
pub fn ModelCard(route: ModelRouteView) -> impl IntoView {
    let split = shares(&route);
    let id = format!(
        "model-{}",
        route
            .alias
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    let cache = route
        .cache_ttl_secs
        .map_or_else(|| "off".to_owned(), |ttl| format!("{ttl} s"));
    let summary = format!(
        "Strategy: {} · up to {} {} · response cache: {cache}",
        route.strategy.replace('_', " "),
        route.max_attempts,
        if route.max_attempts == 1 {
            "try"
        } else {
            "tries"
        },
    );
    let semantic = crate::model::cache_form::model_line(
        route.semantic_threshold,
        route.semantic_embedding_model.as_deref(),
    );
    let labelled_by = id.clone();
    let data_model = route.alias.clone();
    let heading = route.alias.clone();
    view! {
        <section class="card model-route" aria-labelledby=labelled_by data-model=data_model>
            <h2 id=id>
                <code>{heading}</code>
                {route.tenant_defined.then(|| view! { <span class="badge current">"your alias"</span> })}
            </h2>
            <p class="muted">{summary}</p>
            {semantic.map(|line| view! { <p class="muted semantic-cache">{line}</p> })}
            <div class="table-wrap">
                <table>
                    <thead>
                        <tr>
                            <th scope="col">"Deployment"</th>
                            <th scope="col">"Provider"</th>
                            <th scope="col">"Upstream model"</th>
                            <th scope="col">"Priority"</th>
                            <th scope="col">"Weight"</th>
                            <th scope="col">"Share"</th>
                            <th scope="col">"Region"</th>
                            <th scope="col">"Health"</th>
                            <th scope="col">"Latency"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {route
                            .deployments
                            .into_iter()
                            .zip(split)
                            .map(|(it, share)| view! { <DeploymentRow deployment=it share=share /> })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn DeploymentRow(deployment: DeploymentView, share: String) -> impl IntoView {
    let health = format!("badge breaker-{}", deployment.breaker);
    let failures = (deployment.window_calls > 0).then(|| {
        format!(
            "{} of {} calls failed recently",
            deployment.window_failures, deployment.window_calls
        )
    });
    view! {
        <tr data-deployment=deployment.name.clone()>
            <th scope="row">{deployment.name.clone()}</th>
            <td>
                {deployment.provider.clone()}
                {deployment.own_credential.then(|| view! { <span class="badge current">"your key"</span> })}
            </td>
            <td><code>{deployment.model.clone()}</code></td>
            <td>{deployment.priority}</td>
            <td>{deployment.weight}</td>
            <td class="share">{share}</td>
            <td>{deployment.region.clone().unwrap_or_else(|| "—".to_owned())}</td>
            <td>
                <span class=health title=failures.clone().unwrap_or_default()>
                    {breaker_label(&deployment.breaker)}
                </span>
            </td>
            <td>
                {deployment
                    .latency_ms
                    .map_or_else(|| "—".to_owned(), |ms| format!("{ms:.0} ms"))}
            </td>
        </tr>
    }
}
