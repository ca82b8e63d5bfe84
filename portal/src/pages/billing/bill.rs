//! A tenant's bill for one month: the totals (with a note while the month runs), then a line
//! per model; a month without calls says so instead. Either way its credits and adjustments
//! follow, with what is due.

use api_types::billing::StatementView;
use leptos::prelude::*;

use super::period::RunningNote;
use crate::components::status::Empty;
use crate::model::bill_figures::{self, AdjustmentRow, LineRow, TotalCard};
use crate::model::billing_period::BillingPeriod;
use crate::state::ui::now;

#[component]
pub fn TenantBill(statement: StatementView) -> impl IntoView {
    // The statement's own period: what was asked for may have changed since.
    let period = BillingPeriod::containing(statement.from);
    let running = period.is_running(now());
    if bill_figures::is_empty(&statement) {
        let title = format!("No calls in {}", period.label());
        // A month without calls may still carry corrections (a fee, a credit): they are due.
        let corrections = bill_figures::adjustment_rows(&statement);
        let due = bill_figures::due_card(&statement);
        return view! {
            <section class="card billing-empty">
                <Empty title=title>
                    <p>"Calls made with this tenant's keys, its service accounts and the API explorer are billed here, by the month they were made in."</p>
                </Empty>
                {running.then(|| view! { <RunningNote period=period /> })}
            </section>
            {(!corrections.is_empty()).then(|| view! {
                <section class="card" aria-labelledby="bill-corrections-title">
                    <h2 id="bill-corrections-title">"Credits and adjustments"</h2>
                    {due.map(|card| view! { <Totals cards=vec![card] /> })}
                    <Corrections rows=corrections />
                </section>
            })}
        }
        .into_any();
    }
    let mut cards = bill_figures::total_cards(&statement.totals, &statement.currency);
    cards.extend(bill_figures::due_card(&statement));
    let rows = bill_figures::line_rows(&statement);
    let corrections = bill_figures::adjustment_rows(&statement);
    view! {
        <section class="card" aria-labelledby="bill-total-title">
            <h2 id="bill-total-title">{period.label()}</h2>
            <Totals cards=cards />
            {running.then(|| view! { <RunningNote period=period /> })}
        </section>
        <section class="card" aria-labelledby="bill-lines-title">
            <h2 id="bill-lines-title">"By model"</h2>
            <Lines rows=rows />
        </section>
        {(!corrections.is_empty()).then(|| view! {
            <section class="card" aria-labelledby="bill-corrections-title">
                <h2 id="bill-corrections-title">"Credits and adjustments"</h2>
                <Corrections rows=corrections />
            </section>
        })}
    }
    .into_any()
}

/// The period's corrections: made by the platform or the partner, with their reasons.
#[component]
pub(super) fn Corrections(rows: Vec<AdjustmentRow>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="bill-corrections">
                <thead>
                    <tr>
                        <th scope="col">"Date"</th>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"Reason"</th>
                        <th scope="col">"By"</th>
                        <th scope="col" class="num">"Amount"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|row| view! {
                            <tr>
                                <td>{row.date}</td>
                                <td>{row.kind}</td>
                                <td>{row.reason}</td>
                                <td>{row.author}</td>
                                <td class="num price">{row.amount}</td>
                            </tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The bill's figures as the dashboard's cards.
#[component]
pub fn Totals(cards: Vec<TotalCard>) -> impl IntoView {
    view! {
        <ul class="totals" aria-label="Totals for this period">
            {cards
                .into_iter()
                .map(|card| view! {
                    <li class="total">
                        <span class="total-label" id=format!("{}-label", card.id)>{card.label}</span>
                        <span class="total-value" id=card.id aria-describedby=format!("{}-label", card.id)>{card.value}</span>
                        <span class="total-detail muted">{card.detail}</span>
                    </li>
                })
                .collect_view()}
        </ul>
    }
}

#[component]
pub(super) fn Lines(rows: Vec<LineRow>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="bill-lines">
                <thead>
                    <tr>
                        <th scope="col">"Model"</th>
                        <th scope="col" class="num">"Requests"</th>
                        <th scope="col" class="num">"Errors"</th>
                        <th scope="col" class="num">"Prompt tokens"</th>
                        <th scope="col" class="num">"Completion tokens"</th>
                        <th scope="col" class="num">"Cached tokens"</th>
                        <th scope="col" class="num">"Price"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|row| {
                            let model = row.model.clone();
                            view! {
                                <tr data-model=model>
                                    <th scope="row"><code>{row.model}</code></th>
                                    <td class="num">{row.requests}</td>
                                    <td class="num">{row.errors}</td>
                                    <td class="num">{row.prompt_tokens}</td>
                                    <td class="num">{row.completion_tokens}</td>
                                    <td class="num">{row.cached_tokens}</td>
                                    <td class="num price">{row.price}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
