//! The tenant's usage dashboard: totals, charts over a chosen window, a breakdown by model or
//! key, and the newest requests. It refreshes itself every few seconds while open (usage is
//! written in batches, so a request shows up shortly after it ends) and stops when left.

pub mod figures;
pub mod tables;

use std::time::Duration;

use api_types::manage::{UsageRecordView, UsageSummaryView};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use uuid::Uuid;

use self::figures::{Charts, Totals};
use self::tables::{Breakdown, RecentRequests};
use crate::api::paths::UsageQuery;
use crate::api::{ApiError, endpoints};
use crate::components::form::SelectField;
use crate::components::page::{PageHeader, for_tenant};
use crate::components::status::{Empty, ErrorNotice, Loading};
use crate::model::format;
use crate::model::usage_figures::shadow_note;
use crate::model::usage_window::{Grouping, Window};
use crate::routes;
use crate::state::ui::now;

/// How often the open dashboard asks again.
const REFRESH: Duration = Duration::from_secs(5);
/// How many of the newest requests the table lists.
const RECENT: u32 = 20;

#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Dashboard"
            description="This tenant's requests, tokens, latency and errors over time, by model and by key, and the newest requests. Times are UTC."
        />
        {for_tenant(|tenant| view! { <TenantDashboard tenant=tenant /> })}
    }
}

/// One answer of the usage API: the summary and the newest requests.
#[derive(Debug, Clone, PartialEq)]
struct Snapshot {
    summary: UsageSummaryView,
    records: Vec<UsageRecordView>,
}

async fn fetch(tenant: Uuid, window: Window, grouping: Grouping) -> Result<Snapshot, ApiError> {
    let range = window.range(now());
    let query = UsageQuery {
        from: range.from_rfc3339(),
        to: range.to_rfc3339(),
        bucket_seconds: range.bucket_seconds,
        group_by: grouping.as_str(),
    };
    Ok(Snapshot {
        summary: endpoints::usage_summary(tenant, &query).await?,
        records: endpoints::usage_records(tenant, RECENT).await?,
    })
}

#[component]
fn TenantDashboard(tenant: Uuid) -> impl IntoView {
    let window = RwSignal::new(Window::default());
    let window_value = RwSignal::new(Window::default().value().to_owned());
    let grouping = RwSignal::new(Grouping::default());
    // None while the first answer for this window and grouping is on its way.
    let data = RwSignal::new(None::<Result<Snapshot, ApiError>>);
    let refresh_error = RwSignal::new(None::<ApiError>);
    let updated = RwSignal::new(None::<time::OffsetDateTime>);
    // Answers to an older window or grouping are dropped; refreshes do not pile up.
    let generation = StoredValue::new(0_u64);
    let in_flight = StoredValue::new(false);

    let load = move |fresh: bool| {
        if !fresh && in_flight.get_value() {
            return;
        }
        let id = generation.get_value() + u64::from(fresh);
        generation.set_value(id);
        in_flight.set_value(true);
        let (w, g) = (window.get_untracked(), grouping.get_untracked());
        spawn_local(async move {
            let result = fetch(tenant, w, g).await;
            if generation.try_get_value() != Some(id) {
                return;
            }
            in_flight.set_value(false);
            match result {
                Ok(snapshot) => {
                    refresh_error.set(None);
                    updated.set(Some(now()));
                    data.set(Some(Ok(snapshot)));
                }
                // A failed refresh keeps what is shown, and says so.
                Err(error) if data.with_untracked(|it| matches!(it, Some(Ok(_)))) => {
                    refresh_error.set(Some(error));
                }
                Err(error) => data.set(Some(Err(error))),
            }
        });
    };
    Effect::new(move |_| {
        if let Some(it) = Window::parse(&window_value.get()) {
            window.set(it);
        }
    });
    Effect::new(move |_| {
        window.track();
        grouping.track();
        data.set(None);
        load(true);
    });
    if let Ok(handle) = set_interval_with_handle(move || load(false), REFRESH) {
        on_cleanup(move || handle.clear());
    }

    let windows = Signal::derive(|| {
        Window::ALL
            .into_iter()
            .map(|it| (it.value().to_owned(), it.label().to_owned()))
            .collect::<Vec<_>>()
    });
    view! {
        <div class="dashboard-toolbar">
            <SelectField id="dashboard-window" label="Window" value=window_value options=windows />
            <p class="muted small updated">
                {move || updated.get().map(|at| format!("Updated {} · refreshes every 5 seconds", format::time_of_day(at)))}
            </p>
        </div>
        {move || refresh_error.get().map(|error| view! {
            <div class="notice error" role="alert">
                <p>"Could not refresh: " {error.message()} " The figures below are from the last update."</p>
            </div>
        })}
        {move || match data.get() {
            None => view! { <Loading what="usage" /> }.into_any(),
            Some(Err(error)) => view! {
                <ErrorNotice error=error retry=Callback::new(move |()| load(true)) />
            }.into_any(),
            Some(Ok(snapshot)) => view! { <Dashboard snapshot=snapshot grouping=grouping /> }.into_any(),
        }}
    }
}

#[component]
fn Dashboard(snapshot: Snapshot, grouping: RwSignal<Grouping>) -> impl IntoView {
    let Snapshot { summary, records } = snapshot;
    let empty = summary.totals.requests == 0 && records.is_empty();
    view! {
        <Totals totals=summary.totals.clone() currency=summary.currency.clone() />
        {shadow_note(&summary).map(|note| view! {
            <div class="notice" role="note"><p>{note}</p></div>
        })}
        {summary.truncated.then(|| view! {
            <div class="notice" role="note">
                <p>"This window holds more requests than one summary reads: the figures leave some out. Choose a shorter window for exact ones."</p>
            </div>
        })}
        {if empty {
            view! {
                <section class="card">
                    <Empty title="No requests yet — try the API explorer">
                        <p>
                            "Requests to this tenant's models appear here a few seconds after they end. "
                            <A href=routes::EXPLORER>"Open the API explorer"</A>
                            " to send one from the browser."
                        </p>
                    </Empty>
                </section>
            }
            .into_any()
        } else {
            view! {
                <Charts summary=summary.clone() />
                <Breakdown summary=summary grouping=grouping />
                <RecentRequests records=records />
            }
            .into_any()
        }}
    }
}
