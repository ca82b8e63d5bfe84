//! What the platform bills the partner for its sub-tenants: each sub-tenant's invoices with
//! what the sub-tenant is billed (retail), what the partner pays for it (wholesale), how that
//! payment stands, and where to pay it while it is due.

use api_types::billing::PartnerInvoiceListView;
use leptos::prelude::*;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::status::{Empty, loaded};
use crate::model::invoice_figures::{self, PartnerInvoiceRow};

#[component]
pub fn PartnerInvoices(partner: Uuid) -> impl IntoView {
    let list = LocalResource::new(move || endpoints::partner_invoices(partner));
    view! {
        <section class="card partner-invoices" aria-labelledby="partner-invoices-title">
            <div class="section-header">
                <h2 id="partner-invoices-title">"Invoices"</h2>
                <button type="button" class="button secondary small" on:click=move |_| list.refetch()>
                    "Refresh"
                </button>
            </div>
            <p class="muted">
                "Your sub-tenants' invoices: what each is billed at your rate card, and what the platform charges you for it at wholesale, collected from you once the invoice is finalized."
            </p>
            {loaded(list, |list: PartnerInvoiceListView| {
                let rows = invoice_figures::partner_rows(&list);
                if rows.is_empty() {
                    return view! {
                        <Empty title="No invoices yet">
                            <p>"Draft and finalize a sub-tenant's invoice from its Billing page, or let the monthly invoicing do it."</p>
                        </Empty>
                    }
                    .into_any();
                }
                view! {
                    <div class="table-wrap">
                        <table class="partner-invoice-table">
                            <thead>
                                <tr>
                                    <th scope="col">"Tenant"</th>
                                    <th scope="col">"Invoice"</th>
                                    <th scope="col">"Period"</th>
                                    <th scope="col" class="num">"Billed to the tenant"</th>
                                    <th scope="col" class="num">"You pay"</th>
                                    <th scope="col">"Payment"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {rows.into_iter().map(|row| view! { <Row row=row /> }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            })}
        </section>
    }
}

#[component]
fn Row(row: PartnerInvoiceRow) -> impl IntoView {
    let PartnerInvoiceRow {
        tenant,
        invoice,
        charge,
        pay_url,
    } = row;
    let status = invoice.payment_status.clone();
    view! {
        <tr data-invoice=invoice.id.to_string() data-payment=invoice.payment_status>
            <th scope="row">{tenant}</th>
            <td>{invoice.title}</td>
            <td>{invoice.period}</td>
            <td class="num price">{invoice.total}</td>
            <td class="num price charge">{charge}</td>
            <td class="payment">
                {match status {
                    Some(status) => view! {
                        <span class=format!("badge payment-{status}")>{invoice.payment}</span>
                    }
                    .into_any(),
                    None => view! { <span>{invoice.payment}</span> }.into_any(),
                }}
                {pay_url.map(|url| view! {
                    " "
                    <a class="button primary small" href=url target="_blank" rel="noopener noreferrer">"Pay"</a>
                })}
            </td>
        </tr>
    }
}
