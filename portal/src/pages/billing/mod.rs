//! "Billing": the tenant's bill for a calendar month (this one, running, by default): what its
//! calls were charged in total and per model, and the month's ledger entries to download as CSV
//! or JSON, and its invoices (`invoices`). For the roles that may see bills (owners, admins, finance); the partner console's
//! statements (`pages::partners::statements`) reuse the picker and the links (`period`).

pub mod bill;
pub mod corrections;
pub mod credit;
pub mod invoices;
pub mod period;

use api_types::billing::StatementView;
use leptos::prelude::*;
use uuid::Uuid;

use self::bill::TenantBill;
use self::corrections::CorrectionForm;
use self::credit::Credit;
use self::invoices::Invoices;
use self::period::{Downloads, PeriodPicker};
use crate::api::endpoints;
use crate::api::paths::ExportFormat;
use crate::components::page::{PageHeader, for_tenant};
use crate::components::status::{Empty, loaded};
use crate::model::billing_period::BillingPeriod;
use crate::state::session::Session;
use crate::state::ui::now;

#[component]
pub fn BillingPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Billing"
            description="What this tenant's calls were charged, by calendar month (UTC) and by model, and every call of the month as a file for your accounts. Prices are those in force when each call was made."
        />
        {for_tenant(|tenant| view! { <TenantBilling tenant=tenant /> })}
    }
}

#[component]
fn TenantBilling(tenant: Uuid) -> impl IntoView {
    let session = Session::get();
    let allowed = Memo::new(move |_| session.abilities().view_billing);
    view! {
        <Show
            when=move || allowed.get()
            fallback=|| view! {
                <Empty title="Owners, admins and finance only">
                    <p>"Your role in this tenant does not include its bills."</p>
                </Empty>
            }
        >
            <TenantStatement tenant=tenant />
        </Show>
    }
}

#[component]
fn TenantStatement(tenant: Uuid) -> impl IntoView {
    let session = Session::get();
    let period = RwSignal::new(BillingPeriod::containing(now()));
    let statement = LocalResource::new(move || {
        let chosen = period.get();
        async move {
            endpoints::tenant_statement(tenant, &chosen.from_rfc3339(), &chosen.to_rfc3339()).await
        }
    });
    let export = move |format| {
        let chosen = period.get();
        endpoints::tenant_export_url(tenant, &chosen.from_rfc3339(), &chosen.to_rfc3339(), format)
    };
    let printable = move || {
        let chosen = period.get();
        endpoints::tenant_printable_url(tenant, &chosen.from_rfc3339(), &chosen.to_rfc3339())
    };
    view! {
        <div class="billing-toolbar">
            <PeriodPicker id="billing-period" period=period />
            <Downloads
                csv=Signal::derive(move || export(ExportFormat::Csv))
                json=Signal::derive(move || export(ExportFormat::Json))
                printable=Signal::derive(printable)
            />
        </div>
        {loaded(statement, |bill: StatementView| view! { <TenantBill statement=bill /> })}
        <Show when=move || session.abilities().write_bills>
            <CorrectionForm tenant=tenant added=Callback::new(move |()| statement.refetch()) />
        </Show>
        <Credit tenant=tenant />
        <Invoices tenant=tenant />
    }
}
