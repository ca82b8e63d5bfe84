//! The tenant's invoices, under its bill: the list (latest period first) and the chosen one's
//! lines, corrections and sums with its printable page. Whoever writes the tenant's bill (the
//! platform's operators, the tenant's partner) also drafts the last month's invoice, finalizes
//! a draft and voids one, saying why.

use api_types::billing::{InvoiceListView, InvoiceView};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use super::bill::{Corrections, Lines};
use crate::api::endpoints;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::components::status::{Empty, loaded};
use crate::model::invoice_figures;
use crate::state::session::Session;
use crate::state::ui::Ui;

#[component]
pub fn Invoices(tenant: Uuid) -> impl IntoView {
    let session = Session::get();
    let ui = Ui::get();
    let write = Memo::new(move |_| session.abilities().write_bills);
    let list = LocalResource::new(move || endpoints::invoices(tenant));
    let chosen = RwSignal::new(None::<Uuid>);
    let drafting = RwSignal::new(false);
    let draft = move |_| {
        if drafting.get_untracked() {
            return;
        }
        drafting.set(true);
        spawn_local(async move {
            match endpoints::draft_invoice(tenant).await {
                Ok(invoice) => {
                    ui.success("Drafted last month's invoice: it follows the usage recorded until it is finalized.");
                    chosen.set(Some(invoice.id));
                    list.refetch();
                }
                Err(e) => ui.error(e.message()),
            }
            drafting.set(false);
        });
    };
    let changed = Callback::new(move |()| list.refetch());
    view! {
        <section class="card" aria-labelledby="invoices-title">
            <div class="section-header">
                <h2 id="invoices-title">"Invoices"</h2>
                <Show when=move || write.get()>
                    <button
                        type="button"
                        id="draft-invoice"
                        class="button secondary small"
                        disabled=move || drafting.get()
                        on:click=draft
                    >
                        "Draft last month's invoice"
                    </button>
                </Show>
            </div>
            {loaded(list, move |list: InvoiceListView| {
                let rows = invoice_figures::rows(&list);
                if rows.is_empty() {
                    return view! {
                        <Empty title="No invoices yet">
                            <p>"Invoices are drafted for a billing period by the platform or your partner, and finalized once the period has ended."</p>
                        </Empty>
                    }
                    .into_any();
                }
                view! {
                    <div class="table-wrap">
                        <table class="invoices">
                            <thead>
                                <tr>
                                    <th scope="col">"Invoice"</th>
                                    <th scope="col">"Period"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col" class="num">"Total"</th>
                                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {rows
                                    .into_iter()
                                    .map(|row| {
                                        let id = row.id;
                                        let label = format!("Open {}, {}", row.title, row.period);
                                        view! {
                                            <tr data-invoice=id.to_string() data-status=row.status>
                                                <th scope="row">{row.title}</th>
                                                <td>{row.period}</td>
                                                <td><span class="badge">{row.status}</span></td>
                                                <td class="num price">{row.total}</td>
                                                <td>
                                                    <button
                                                        type="button"
                                                        class="button secondary small"
                                                        aria-label=label
                                                        on:click=move |_| chosen.set(Some(id))
                                                    >
                                                        "Open"
                                                    </button>
                                                </td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            })}
        </section>
        {move || chosen.get().map(|invoice| view! {
            <InvoiceCard tenant=tenant invoice=invoice write=write changed=changed />
        })}
    }
}

#[component]
fn InvoiceCard(
    tenant: Uuid,
    invoice: Uuid,
    write: Memo<bool>,
    changed: Callback<()>,
) -> impl IntoView {
    let detail = LocalResource::new(move || endpoints::invoice(tenant, invoice));
    let after = Callback::new(move |()| {
        detail.refetch();
        changed.run(());
    });
    view! {
        {loaded(detail, move |it: InvoiceView| {
            let title = invoice_figures::title(it.number, &it.status);
            let period = invoice_figures::period_label(it.from, it.to);
            let status = invoice_figures::status_label(&it.status);
            let lines = invoice_figures::lines(&it);
            let corrections = invoice_figures::corrections(&it);
            let sums = invoice_figures::sums(&it);
            let printable = endpoints::invoice_printable_url(tenant, it.id);
            let note = match it.status.as_str() {
                "draft" => Some("A draft: its amounts follow the usage recorded until it is finalized.".to_owned()),
                "void" => Some(format!("Void: {}", it.void_reason.clone().unwrap_or_default())),
                _ => None,
            };
            let is_draft = it.status == "draft";
            let is_void = it.status == "void";
            view! {
                <section class="card invoice" aria-labelledby="invoice-title" data-status=it.status.clone()>
                    <div class="section-header">
                        <h2 id="invoice-title">{title}</h2>
                        <a class="button secondary small" href=printable target="_blank" rel="noopener">"Printable invoice"</a>
                    </div>
                    <p class="muted">{format!("{period} · {status} · {}", it.tenant)}</p>
                    {note.map(|note| view! { <p class="notice" role="note">{note}</p> })}
                    {if lines.is_empty() {
                        view! { <p class="muted">"No calls in this period."</p> }.into_any()
                    } else {
                        view! { <Lines rows=lines /> }.into_any()
                    }}
                    {(!corrections.is_empty()).then(|| view! { <Corrections rows=corrections /> })}
                    <table class="invoice-sums">
                        <tbody>
                            {sums
                                .into_iter()
                                .map(|(label, amount)| view! {
                                    <tr><th scope="row">{label}</th><td class="num price">{amount}</td></tr>
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                    <Show when=move || write.get() && !is_void>
                        <InvoiceActions tenant=tenant invoice=invoice draft=is_draft after=after />
                    </Show>
                </section>
            }
        })}
    }
}

/// Finalize (a draft) and void (with a reason).
#[component]
fn InvoiceActions(tenant: Uuid, invoice: Uuid, draft: bool, after: Callback<()>) -> impl IntoView {
    let ui = Ui::get();
    let finalizing = RwSignal::new(false);
    let finalize = move |_| {
        if finalizing.get_untracked() {
            return;
        }
        finalizing.set(true);
        spawn_local(async move {
            match endpoints::finalize_invoice(tenant, invoice).await {
                Ok(it) => {
                    ui.success(format!(
                        "Finalized as {}: it will not change again.",
                        invoice_figures::title(it.number, &it.status)
                    ));
                    after.run(());
                }
                Err(e) => ui.error(e.message()),
            }
            finalizing.set(false);
        });
    };
    let form = FormState::new();
    let reason = RwSignal::new(String::new());
    let void = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let text = match invoice_figures::void_reason(&reason.get_untracked()) {
            Ok(text) => text,
            Err(errors) => {
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::void_invoice(tenant, invoice, text).await;
            form.finish(&result);
            if result.is_ok() {
                ui.success("Voided: the period may be invoiced again.");
                after.run(());
            }
        });
    };
    view! {
        <div class="invoice-actions">
            {draft.then(|| view! {
                <button
                    type="button"
                    id="finalize-invoice"
                    class="button primary"
                    disabled=move || finalizing.get()
                    on:click=finalize
                >
                    "Finalize invoice"
                </button>
            })}
            <form on:submit=void novalidate class="void-form" aria-label="Void this invoice">
                <FormError form=form />
                <TextField
                    id="void-reason"
                    label="Reason for voiding"
                    value=reason
                    hint="Kept on the invoice and in the audit log. A void invoice keeps its number; its period can then be invoiced again."
                    error=form.field("reason")
                />
                <div class="form-actions">
                    <SubmitButton form=form label="Void invoice" busy_label="Voiding…" />
                </div>
            </form>
        </div>
    }
}
