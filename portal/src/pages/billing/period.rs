//! What the tenant's Billing page and the partner console's statements share: the month
//! picker, and the links that download the chosen month's entries.

use leptos::prelude::*;

use crate::components::form::SelectField;
use crate::model::billing_period::{self, BillingPeriod};
use crate::state::ui::now;

/// A labelled select of this month and the eleven before it; sets `period` on a change.
#[component]
pub fn PeriodPicker(#[prop(into)] id: String, period: RwSignal<BillingPeriod>) -> impl IntoView {
    // The months offered when the page opened: a page left open over a month's end keeps its
    // list (and its choice) until it is opened again.
    let at = now();
    let value = RwSignal::new(period.get_untracked().value());
    Effect::new(move |_| {
        if let Some(chosen) = BillingPeriod::parse(&value.get())
            && chosen != period.get_untracked()
        {
            period.set(chosen);
        }
    });
    let options = Signal::derive(move || billing_period::choices(at));
    view! {
        <SelectField id=id label="Billing period" value=value options=options hint="Calendar months, in UTC." />
    }
}

/// The period's entries as files: links the browser follows to save the API's attachment
/// (the session cookie goes along; the portal never holds the file), and the bill as a page to
/// print, in a new tab.
#[component]
pub fn Downloads(
    #[prop(into)] csv: Signal<String>,
    #[prop(into)] json: Signal<String>,
    #[prop(into)] printable: Signal<String>,
) -> impl IntoView {
    view! {
        <div class="downloads" role="group" aria-label="Download this period's entries">
            <a class="button secondary small" href=csv download="">"Download CSV"</a>
            <a class="button secondary small" href=json download="">"Download JSON"</a>
            <a class="button secondary small" href=printable target="_blank" rel="noopener">"Printable bill"</a>
        </div>
    }
}

/// What a running month's figures are: so far, not final.
#[component]
pub fn RunningNote(period: BillingPeriod) -> impl IntoView {
    view! {
        <p class="muted small billing-running" role="note">
            {format!(
                "{} is still running: these figures grow as calls are made and are final once it ends (midnight UTC).",
                period.label()
            )}
        </p>
    }
}
