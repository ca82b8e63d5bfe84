//! What limits hold now, as labelled bars (the tenant's Limits page and a key's effective
//! limits), and the budget alerts raised (a tenant's, a partner's) with how their webhook
//! delivery went. The words come from `model::limit_usage`.

use api_types::limits::{BudgetAlertView, LimitUsageView};
use leptos::prelude::*;
use time::UtcOffset;

use crate::components::status::Empty;
use crate::model::format;
use crate::model::limit_usage::{self, Resets, Viewer};
use crate::state::session::Session;
use crate::state::ui::local_offset;

/// One bar per limit: whose, what, used of limit with the share, and when it resets.
#[component]
pub fn UsageBars(usage: Vec<LimitUsageView>, currency: String, viewer: Viewer) -> impl IntoView {
    if usage.is_empty() {
        let text = match viewer {
            Viewer::Key => {
                "No limit applies to this key's calls: not its own, nor its tenant's or plan's."
            }
            _ => {
                "No limit applies to this tenant's calls: neither its own nor its plan's. Its keys' own limits still do."
            }
        };
        return view! {
            <Empty title="No limits">
                <p>{text}</p>
            </Empty>
        }
        .into_any();
    }
    let bars = usage
        .iter()
        .zip(limit_usage::usage_lines(&usage, &currency, viewer))
        .map(|(raw, line)| {
            let (offset, utc) = match line.resets {
                Resets::At(at) => (local_offset(at), Some(format::datetime(at))),
                Resets::Rolling | Resets::InProgress => (UtcOffset::UTC, None),
            };
            let resets = limit_usage::resets_text(line.resets, offset);
            let label = format!("{} · {}", line.owner, line.what);
            let value_text = format!("{} ({})", line.used, line.percent_text);
            let width = line.width();
            view! {
                <li
                    class=format!("limit-bar {}", line.level.class())
                    data-owner=raw.owner.clone()
                    data-kind=raw.kind.clone()
                    data-period=raw.period.clone()
                    data-model=raw.model.clone()
                >
                    <div class="limit-bar-head">
                        <span class="limit-bar-label">
                            <strong>{line.owner}</strong>
                            " · "
                            {line.what}
                            {line.soft.then(|| view! { <span class="badge soft">"alert only"</span> })}
                        </span>
                        <span class="limit-bar-figure">{value_text.clone()}</span>
                    </div>
                    <div
                        class="meter"
                        role="progressbar"
                        aria-label=label
                        aria-valuemin="0"
                        aria-valuemax="100"
                        aria-valuenow=width
                        aria-valuetext=value_text
                    >
                        <span class="meter-fill" style=format!("width: {width}%")></span>
                    </div>
                    <p class="limit-bar-foot">
                        <span class="limit-resets" title=utc>{resets}</span>
                        {line.alerts.map(|it| view! { <span>{it}</span> })}
                    </p>
                </li>
            }
        })
        .collect_view();
    view! { <ul class="limit-bars">{bars}</ul> }.into_any()
}

/// The budget alerts, newest first. For a partner, each names the sub-tenant it was raised for.
#[component]
pub fn AlertTable(alerts: Vec<BudgetAlertView>, currency: String, viewer: Viewer) -> impl IntoView {
    if alerts.is_empty() {
        return view! {
            <Empty title="No alerts yet">
                <p>"An alert is raised once a budget passes one of its thresholds, once per period."</p>
            </Empty>
        }
        .into_any();
    }
    let session = Session::get();
    let for_partner = viewer == Viewer::Partner;
    let tenant_name = move |id: uuid::Uuid| {
        session.tenants.with_untracked(|all| {
            all.iter()
                .find(|it| it.id == id)
                .map_or_else(|| "A sub-tenant".to_owned(), |it| it.name.clone())
        })
    };
    let rows = limit_usage::alert_lines(&alerts, &currency, viewer)
        .into_iter()
        .map(|line| {
            view! {
                <tr>
                    <td>{format::datetime(line.raised_at)}</td>
                    {for_partner.then(|| view! { <td>{tenant_name(line.tenant_id)}</td> })}
                    <th scope="row">
                        {line.budget}
                        {(!line.hard).then(|| view! { <span class="badge soft">"alert only"</span> })}
                    </th>
                    <td>{line.period}</td>
                    <td class="threshold">{line.threshold}</td>
                    <td class="figure">{line.used}</td>
                    <td class="delivery">{line.delivery}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-wrap">
            <table class="alerts-table">
                <thead>
                    <tr>
                        <th scope="col">"Raised"</th>
                        {for_partner.then(|| view! { <th scope="col">"Sub-tenant"</th> })}
                        <th scope="col">"Budget"</th>
                        <th scope="col">"Period"</th>
                        <th scope="col">"Threshold"</th>
                        <th scope="col">"Used of limit"</th>
                        <th scope="col">"Delivery"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}
