//! Copy-to-clipboard with a visible and announced confirmation.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::icons::{CHECK, COPY, icon};
use crate::state::ui::Ui;

async fn write_clipboard(text: &str) -> Result<(), ()> {
    let clipboard = window().navigator().clipboard();
    wasm_bindgen_futures::JsFuture::from(clipboard.write_text(text))
        .await
        .map(drop)
        .map_err(drop)
}

/// A button copying `text`; `label` says what ("Copy key").
#[component]
pub fn CopyButton(
    #[prop(into)] text: Signal<String>,
    #[prop(optional, into)] label: Option<String>,
) -> impl IntoView {
    let label = label.unwrap_or_else(|| "Copy".to_owned());
    let copied = RwSignal::new(false);
    let ui = Ui::get();
    let copy = move |_| {
        let value = text.get_untracked();
        spawn_local(async move {
            match write_clipboard(&value).await {
                Ok(()) => {
                    copied.set(true);
                    ui.success("Copied to the clipboard.");
                    set_timeout(move || copied.set(false), std::time::Duration::from_secs(3));
                }
                Err(()) => {
                    ui.error("The browser did not allow copying: select the text and press Ctrl+C.")
                }
            }
        });
    };
    view! {
        <button type="button" class="button secondary" on:click=copy>
            {move || {
                if copied.get() {
                    view! { {icon(CHECK)} <span>"Copied"</span> }.into_any()
                } else {
                    view! { {icon(COPY)} <span>{label.clone()}</span> }.into_any()
                }
            }}
        </button>
    }
}
