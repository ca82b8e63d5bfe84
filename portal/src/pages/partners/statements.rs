//! The partner's statements: for a calendar month, what each sub-tenant was charged (retail),
//! what the platform charges the partner for the same calls (wholesale) and the margin between,
//! with the partner's totals and every sub-tenant's entries to download.

use api_types::billing::StatementView;
use leptos::prelude::*;
use uuid::Uuid;

use crate::api::endpoints;
use crate::api::paths::ExportFormat;
use crate::components::status::{Empty, loaded};
use crate::model::bill_figures::{self, TenantRow};
use crate::model::billing_period::BillingPeriod;
use crate::pages::billing::period::{Downloads, PeriodPicker, RunningNote};
use crate::state::ui::now;

#[component]
pub fn Statements(partner: Uuid) -> impl IntoView {
    let period = RwSignal::new(BillingPeriod::containing(now()));
    let statement = LocalResource::new(move || {
        let chosen = period.get();
        async move {
            endpoints::partner_statement(partner, &chosen.from_rfc3339(), &chosen.to_rfc3339())
                .await
        }
    });
    let export = move |format| {
        let chosen = period.get();
        endpoints::partner_export_url(
            partner,
            &chosen.from_rfc3339(),
            &chosen.to_rfc3339(),
            format,
        )
    };
    let printable = move || {
        let chosen = period.get();
        endpoints::partner_printable_url(partner, &chosen.from_rfc3339(), &chosen.to_rfc3339())
    };
    view! {
        <section class="card statements" aria-labelledby="statements-title">
            <h2 id="statements-title">"Statements"</h2>
            <p class="muted">
                "Per sub-tenant: what it is charged at your rate card (retail), what the platform charges you for the same calls (wholesale), and your margin."
            </p>
            <div class="billing-toolbar">
                <PeriodPicker id="statements-period" period=period />
                <Downloads
                    csv=Signal::derive(move || export(ExportFormat::Csv))
                    json=Signal::derive(move || export(ExportFormat::Json))
                    printable=Signal::derive(printable)
                />
            </div>
            {loaded(statement, |bill: StatementView| view! { <PartnerStatement statement=bill /> })}
        </section>
    }
}

#[component]
fn PartnerStatement(statement: StatementView) -> impl IntoView {
    let period = BillingPeriod::containing(statement.from);
    let running = period.is_running(now());
    if statement.tenants.is_empty() {
        return view! {
            <Empty title="No sub-tenants yet">
                <p>"Statements list your sub-tenants' calls; create one under Sub-tenants above."</p>
            </Empty>
        }
        .into_any();
    }
    let rows = bill_figures::tenant_rows(&statement);
    let total = bill_figures::totals_row(&statement);
    let caption = format!("{}, by sub-tenant", period.label());
    view! {
        <div class="table-wrap">
            <table class="statement-table">
                <caption>{caption}</caption>
                <thead>
                    <tr>
                        <th scope="col">"Tenant"</th>
                        <th scope="col" class="num">"Requests"</th>
                        <th scope="col" class="num">"Retail price"</th>
                        <th scope="col" class="num">"Wholesale"</th>
                        <th scope="col" class="num">"Margin"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| view! { <StatementRow row=row /> }).collect_view()}
                </tbody>
                <tfoot>
                    <StatementRow row=total />
                </tfoot>
            </table>
        </div>
        {running.then(|| view! { <RunningNote period=period /> })}
    }
    .into_any()
}

#[component]
fn StatementRow(row: TenantRow) -> impl IntoView {
    let tenant = row.tenant.clone();
    view! {
        <tr data-tenant=tenant>
            <th scope="row">{row.tenant}</th>
            <td class="num">{row.requests}</td>
            <td class="num">{row.retail}</td>
            <td class="num">{row.wholesale}</td>
            <td class="num">{row.margin}</td>
        </tr>
    }
}
