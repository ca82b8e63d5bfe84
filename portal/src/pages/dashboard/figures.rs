//! The dashboard's totals (requests, tokens, error rate, latency) and its four charts over time.

use api_types::manage::{UsageFiguresView, UsageSummaryView};
use leptos::prelude::*;

use crate::components::chart::ChartFigure;
use crate::model::chart::{Kind, Unit, layout};
use crate::model::usage_figures::{
    Metric, axis, count, counted, error_rate, latency_text, per_bucket, rate_text, spend_text,
    tokens,
};

#[component]
pub fn Totals(totals: UsageFiguresView, #[prop(into)] currency: String) -> impl IntoView {
    let cards = [
        (
            "total-spend",
            "Spend",
            spend_text(&totals.spend, 0, &currency),
            if totals.unpriced > 0 {
                format!("{} unpriced", counted(totals.unpriced, "call", "calls"))
            } else {
                String::new()
            },
        ),
        (
            "total-requests",
            "Requests",
            count(totals.requests),
            String::new(),
        ),
        (
            "total-tokens",
            "Tokens",
            count(tokens(&totals)),
            format!(
                "{} in · {} out",
                count(totals.prompt_tokens),
                count(totals.completion_tokens)
            ),
        ),
        (
            "total-error-rate",
            "Error rate",
            rate_text(error_rate(&totals)),
            format!(
                "{} {}",
                count(totals.errors),
                if totals.errors == 1 {
                    "error"
                } else {
                    "errors"
                }
            ),
        ),
        (
            "total-latency",
            "Latency p50",
            latency_text(totals.latency_p50_ms),
            format!("p95 {}", latency_text(totals.latency_p95_ms)),
        ),
    ];
    view! {
        <ul class="totals" aria-label="Totals for this window">
            {cards
                .into_iter()
                .map(|(id, label, value, detail)| view! {
                    <li class="total">
                        <span class="total-label" id=format!("{id}-label")>{label}</span>
                        <span class="total-value" id=id aria-describedby=format!("{id}-label")>{value}</span>
                        <span class="total-detail muted">{detail}</span>
                    </li>
                })
                .collect_view()}
        </ul>
    }
}

#[component]
pub fn Charts(summary: UsageSummaryView) -> impl IntoView {
    let axis = axis(&summary);
    let every = per_bucket(summary.bucket_seconds);
    let charts = [
        (
            format!("Requests {every}"),
            Kind::Bars,
            Unit::Count,
            Metric::Requests,
        ),
        (
            format!("Tokens {every}"),
            Kind::Bars,
            Unit::Count,
            Metric::Tokens,
        ),
        (
            "Latency (p50 and p95)".to_owned(),
            Kind::Lines,
            Unit::Millis,
            Metric::Latency,
        ),
        (
            "Error rate".to_owned(),
            Kind::Lines,
            Unit::Percent,
            Metric::ErrorRate,
        ),
    ];
    view! {
        <div class="charts">
            {charts
                .into_iter()
                .map(|(title, kind, unit, metric)| {
                    let series = metric.series(&summary);
                    let legend = series.iter().map(|it| it.name.clone()).collect();
                    let chart = layout(&title, kind, unit, axis, &series);
                    view! {
                        <section class="card chart-card">
                            <ChartFigure title=title chart=chart legend=legend />
                        </section>
                    }
                })
                .collect_view()}
        </div>
    }
}
