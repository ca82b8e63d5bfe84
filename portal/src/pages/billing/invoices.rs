//! The tenant's invoices, under its bill: the list (latest period first) and the chosen one's
//! lines, corrections and sums with its printable page, and how each is being paid (finalized
//! invoices are collected through Stripe when the platform configures it: the chosen invoice's
//! card says when it is due, links to where it is paid, and is looked at again while its payment
//! may change). Whoever writes the tenant's bill (the platform's operators, the tenant's
//! partner) also sees what a partner's sub-tenant's invoice charges the partner (wholesale,
//! which is what is collected, from the partner), drafts the last month's invoice, finalizes a draft and voids one that is not
//! paid, saying why.

use api_types::billing::{InvoiceListView, InvoiceView};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use super::bill::{Corrections, Lines};
use crate::api::endpoints;
use crate::components::form::{FormError, FormState, SubmitButton, TextField};
use crate::components::status::{Empty, loaded};
use crate::model::invoice_figures::{self, PaymentFigures};
use crate::state::session::Session;
use crate::state::ui::{Ui, now};

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
                                    <th scope="col">"Payment"</th>
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
                                        let payment = match row.payment_status.clone() {
                                            Some(status) => view! {
                                                <span class=format!("badge payment-{status}")>{row.payment}</span>
                                            }
                                            .into_any(),
                                            None => view! {
                                                <span aria-hidden="true">{row.payment}</span>
                                                <span class="sr-only">"Not sent for payment"</span>
                                            }
                                            .into_any(),
                                        };
                                        view! {
                                            <tr data-invoice=id.to_string() data-status=row.status data-payment=row.payment_status.clone()>
                                                <th scope="row">{row.title}</th>
                                                <td>{row.period}</td>
                                                <td><span class="badge">{row.status}</span></td>
                                                <td class="payment">{payment}</td>
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
    watch_payment(tenant, invoice, detail, after);
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
            let may_void = invoice_figures::may_void(&it);
            let payment = it.payment.as_ref().map(|it| invoice_figures::payment(it, now()));
            let charge = invoice_figures::partner_charge(&it);
            let paid = payment.as_ref().is_some_and(|it| it.status == "paid");
            view! {
                <section class="card invoice" aria-labelledby="invoice-title" data-status=it.status.clone()>
                    <div class="section-header">
                        <h2 id="invoice-title">{title}</h2>
                        <a class="button secondary small" href=printable target="_blank" rel="noopener">"Printable invoice"</a>
                    </div>
                    <p class="muted">{format!("{period} · {status} · {}", it.tenant)}</p>
                    {note.map(|note| view! { <p class="notice" role="note">{note}</p> })}
                    {payment.map(|payment| view! { <Payment payment=payment /> })}
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
                    {charge.map(|charge| view! { <PartnerChargeCard charge=charge /> })}
                    <Show when=move || write.get() && may_void>
                        <InvoiceActions tenant=tenant invoice=invoice draft=is_draft after=after />
                    </Show>
                    <Show when=move || write.get() && paid>
                        <p class="muted">"A paid invoice is not voided: correct it with a credit, which the next invoice carries."</p>
                    </Show>
                </section>
            }
        })}
    }
}

/// Looks at the shown invoice again while its payment may change without anyone here acting
/// (being sent to the provider, or awaiting payment there), and shows it (and the list) anew
/// only when it did, so a void reason being typed is not lost to a refresh that changed nothing.
fn watch_payment(
    tenant: Uuid,
    invoice: Uuid,
    detail: LocalResource<Result<InvoiceView, crate::api::ApiError>>,
    after: Callback<()>,
) {
    let checks = RwSignal::new(0_u32);
    Effect::new(move |_| {
        checks.track();
        let Some(every) = detail.with(|it| match it {
            Some(Ok(it)) => invoice_figures::payment_refresh(it, now()),
            _ => None,
        }) else {
            return;
        };
        let check = move || {
            let shown = detail.with_untracked(|it| match it {
                Some(Ok(it)) => Some(it.payment.clone()),
                _ => None,
            });
            spawn_local(async move {
                let fresh = endpoints::invoice(tenant, invoice).await;
                if checks.try_get_untracked().is_none() {
                    // The card was closed meanwhile.
                    return;
                }
                match fresh {
                    Ok(fresh) if shown.as_ref() != Some(&fresh.payment) => after.run(()),
                    // Unchanged, or a failed look (the card keeps what it shows): again later.
                    _ => checks.update(|it| *it = it.wrapping_add(1)),
                }
            });
        };
        if let Ok(handle) = set_timeout_with_handle(check, every) {
            on_cleanup(move || handle.clear());
        }
    });
}

/// What the platform charges the tenant's partner for this invoice, at wholesale: what the
/// payment below collects, from the partner (shown to the partner and operators only).
#[component]
fn PartnerChargeCard(charge: invoice_figures::PartnerCharge) -> impl IntoView {
    view! {
        <section class="partner-charge" aria-labelledby="partner-charge-title">
            <h3 id="partner-charge-title">"Charged to the partner"</h3>
            <p class="muted">
                "The same calls at the partner's wholesale price: what the platform collects, from the partner. The tenant's own members do not see this."
            </p>
            <table>
                <thead>
                    <tr>
                        <th scope="col">"Model"</th>
                        <th scope="col" class="num">"Requests"</th>
                        <th scope="col" class="num">"Wholesale"</th>
                    </tr>
                </thead>
                <tbody>
                    {charge
                        .lines
                        .into_iter()
                        .map(|(model, requests, amount)| view! {
                            <tr><th scope="row">{model}</th><td class="num">{requests}</td><td class="num price">{amount}</td></tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
            <table class="invoice-sums">
                <tbody>
                    {charge
                        .sums
                        .into_iter()
                        .map(|(label, amount)| view! {
                            <tr><th scope="row">{label}</th><td class="num price">{amount}</td></tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// How the invoice is being paid: the status, its dates, when unpaid calls stop, and where to
/// pay it.
#[component]
fn Payment(payment: PaymentFigures) -> impl IntoView {
    let PaymentFigures {
        status,
        label,
        dates,
        suspension,
        suspended,
        pay_url,
    } = payment;
    view! {
        <section class="invoice-payment" aria-labelledby="invoice-payment-title" data-payment=status.clone()>
            <h3 id="invoice-payment-title">"Payment"</h3>
            <dl class="record">
                <dt>"Status"</dt>
                <dd><span class=format!("badge payment-{status}") id="invoice-payment-status">{label}</span></dd>
                {dates
                    .into_iter()
                    .map(|(label, at)| view! { <dt>{label}</dt><dd>{at}</dd> })
                    .collect_view()}
            </dl>
            {suspension.map(|text| if suspended {
                view! { <p class="notice error" role="alert">{text}</p> }.into_any()
            } else {
                view! { <p class="notice" role="note">{text}</p> }.into_any()
            })}
            {pay_url.map(|url| view! {
                <a class="button primary" href=url target="_blank" rel="noopener noreferrer">
                    "Pay this invoice"
                </a>
            })}
        </section>
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
