//! The dashboard's tables: the breakdown by model or by key (with each one's share of the
//! requests drawn as a bar), and the newest requests.

use api_types::manage::{UsageRecordView, UsageSummaryView};
use leptos::prelude::*;

use crate::components::status::Empty;
use crate::model::format::{self, fixed};
use crate::model::usage_figures::{
    count, failed_tries_text, group_rows, latency_text, rate_text, spend_text,
};
use crate::model::usage_window::Grouping;
use crate::state::ui::now;

#[component]
pub fn Breakdown(summary: UsageSummaryView, grouping: RwSignal<Grouping>) -> impl IntoView {
    let current = grouping.get_untracked();
    let currency = summary.currency.clone();
    let rows = group_rows(&summary.groups, summary.totals.requests);
    let table = if rows.is_empty() {
        view! { <Empty title="Nothing in this window"><p>"No requests in the chosen window."</p></Empty> }
            .into_any()
    } else {
        view! {
            <div class="table-wrap">
                <table class="breakdown-table">
                    <thead>
                        <tr>
                            <th scope="col">{current.column()}</th>
                            <th scope="col">"Requests"</th>
                            <th scope="col">"Tokens"</th>
                            <th scope="col">"Spend"</th>
                            <th scope="col">"Errors"</th>
                            <th scope="col">"p50"</th>
                            <th scope="col">"p95"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows
                            .into_iter()
                            .map(|row| {
                                let share = format!("width: {}%", fixed(row.share * 100.0, 1));
                                view! {
                                    <tr>
                                        <th scope="row" title=row.key.clone()>{row.label}</th>
                                        <td>
                                            <span class="share">
                                                <span class="share-bar" style=share aria-hidden="true"></span>
                                            </span>
                                            {count(row.requests)}
                                        </td>
                                        <td>{count(row.tokens)}</td>
                                        <td>{spend_text(&row.spend, row.unpriced, &currency)}</td>
                                        <td>{rate_text(row.error_rate)}</td>
                                        <td>{latency_text(row.latency_p50_ms)}</td>
                                        <td>{latency_text(row.latency_p95_ms)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby="breakdown-title">
            <div class="section-header">
                <h2 id="breakdown-title">"Breakdown"</h2>
                <div class="segmented" role="group" aria-label="Group by">
                    {Grouping::ALL
                        .into_iter()
                        .map(|it| view! {
                            <button
                                type="button"
                                class="button secondary small"
                                aria-pressed=if it == current { "true" } else { "false" }
                                on:click=move |_| grouping.set(it)
                            >
                                {it.label()}
                            </button>
                        })
                        .collect_view()}
                </div>
            </div>
            {table}
        </section>
    }
}

#[component]
pub fn RecentRequests(records: Vec<UsageRecordView>) -> impl IntoView {
    let at = now();
    let body = if records.is_empty() {
        view! { <Empty title="No requests yet"><p>"The newest requests appear here."</p></Empty> }
            .into_any()
    } else {
        view! {
            <div class="table-wrap">
                <table class="recent-table">
                    <thead>
                        <tr>
                            <th scope="col">"When"</th>
                            <th scope="col">"Model"</th>
                            <th scope="col">"Key"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Tokens in / out"</th>
                            <th scope="col">"Latency"</th>
                            <th scope="col">"TTFT"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {records
                            .into_iter()
                            .map(|it| {
                                let ok = it.status == "ok" || it.status == "cache_hit";
                                let status = match (&it.error_code, it.status.as_str()) {
                                    (Some(code), _) => format!("{} {code}", it.http_status),
                                    (None, "client_closed") => "stopped".to_owned(),
                                    (None, "server_closed") => "cut by the server".to_owned(),
                                    (None, "cache_hit") => format!("{} from cache", it.http_status),
                                    (None, _) => it.http_status.to_string(),
                                };
                                let failed_tries = failed_tries_text(&it.attempts);
                                view! {
                                    <tr>
                                        <td>
                                            <time datetime=it.created_at.unix_timestamp().to_string() title=format::datetime(it.created_at)>
                                                {format::relative(it.created_at, at)}
                                            </time>
                                        </td>
                                        <td>
                                            <code>{it.model}</code>
                                            {it.stream.then(|| view! { <span class="badge">"stream"</span> })}
                                        </td>
                                        <td>{it.key_label}</td>
                                        <td>
                                            <span class="badge" class:status-active=ok class:status-revoked=!ok>{status}</span>
                                            {failed_tries.map(|(label, tries)| view! { <span class="badge" title=tries>{label}</span> })}
                                        </td>
                                        <td>
                                            {format!("{} / {}", count(it.prompt_tokens), count(it.completion_tokens))}
                                            {it.estimated.then(|| view! { <span class="muted small" title="Counted by the gateway: the provider reported none">" (est.)"</span> })}
                                        </td>
                                        <td>{latency_text(Some(it.latency_ms))}</td>
                                        <td>{latency_text(it.ttft_ms)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section class="card" aria-labelledby="recent-title">
            <h2 id="recent-title">"Newest requests"</h2>
            {body}
        </section>
    }
}
