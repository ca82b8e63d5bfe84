//! Draws a chart that `model::chart` laid out, as inline SVG: grid, axis labels, bars or lines,
//! and a legend. The SVG is one image to screen readers, labelled with the chart's summary;
//! bars carry tooltips for the mouse. Colours come from the theme (brand and accent).

use leptos::prelude::*;

use crate::model::chart::{self, Chart};
use crate::model::format::fixed;

/// An SVG coordinate (see `fixed` for why not `f64`'s own formatting).
fn n(value: f64) -> String {
    fixed(value, 1)
}

#[component]
pub fn ChartFigure(
    #[prop(into)] title: String,
    chart: Chart,
    /// The series' names, in order; shown as a legend when there is more than one.
    legend: Vec<String>,
) -> impl IntoView {
    let view_box = format!("0 0 {} {}", n(chart::WIDTH), n(chart::HEIGHT));
    let grid = chart
        .y_ticks
        .iter()
        .map(|tick| {
            view! {
                <line class="grid" x1=n(chart::LEFT) x2=n(chart::RIGHT) y1=n(tick.at) y2=n(tick.at) />
                <text class="axis" x=n(chart::LEFT - 6.0) y=n(tick.at + 4.0) text-anchor="end">{tick.label.clone()}</text>
            }
        })
        .collect_view();
    let x_labels = chart
        .x_ticks
        .iter()
        .map(|tick| {
            view! {
                <line class="tick" x1=n(tick.at) x2=n(tick.at) y1=n(chart::BOTTOM) y2=n(chart::BOTTOM + 4.0) />
                <text class="axis" x=n(tick.at) y=n(chart::HEIGHT - 6.0) text-anchor=tick.anchor>{tick.label.clone()}</text>
            }
        })
        .collect_view();
    let bars = chart
        .bars
        .iter()
        .map(|bar| {
            view! {
                <rect class=format!("bar series-{}", bar.series) x=n(bar.x) y=n(bar.y) width=n(bar.width) height=n(bar.height)>
                    <title>{bar.title.clone()}</title>
                </rect>
            }
        })
        .collect_view();
    let lines = chart
        .lines
        .iter()
        .map(|line| {
            let class = format!("series-{}", line.series);
            let dots = line
                .dots
                .iter()
                .map(|(x, y)| view! { <circle class=format!("dot {class}") cx=n(*x) cy=n(*y) r="2.5" /> })
                .collect_view();
            view! {
                <path class=format!("line {class}") d=line.path.clone() />
                {dots}
            }
        })
        .collect_view();
    let legend = (legend.len() > 1).then(|| {
        view! {
            <ul class="legend" aria-hidden="true">
                {legend
                    .into_iter()
                    .enumerate()
                    .map(|(i, name)| view! { <li><span class=format!("swatch series-{i}")></span>{name}</li> })
                    .collect_view()}
            </ul>
        }
    });
    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            {legend}
            <svg viewBox=view_box role="img" aria-label=chart.summary.clone() preserveAspectRatio="xMidYMid meet">
                {grid}
                <line class="baseline" x1=n(chart::LEFT) x2=n(chart::RIGHT) y1=n(chart::BOTTOM) y2=n(chart::BOTTOM) />
                {x_labels}
                {bars}
                {lines}
            </svg>
        </figure>
    }
}
