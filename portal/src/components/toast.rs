//! The toasts' corner: successes are announced politely, failures assertively.

use leptos::prelude::*;

use super::icons::{CLOSE, icon};
use crate::state::toasts::ToastKind;
use crate::state::ui::Ui;

#[component]
pub fn ToastHost() -> impl IntoView {
    let ui = Ui::get();
    view! {
        <div class="toasts" aria-live="polite" aria-relevant="additions">
            <For each=move || ui.toasts.get().items key=|toast| toast.id let:toast>
                <div
                    class="toast"
                    class:error=toast.kind == ToastKind::Error
                    role=if toast.kind == ToastKind::Error { "alert" } else { "status" }
                >
                    <span>{toast.text.clone()}</span>
                    <button
                        type="button"
                        class="icon-button"
                        aria-label="Dismiss"
                        on:click=move |_| ui.dismiss(toast.id)
                    >
                        {icon(CLOSE)}
                    </button>
                </div>
            </For>
        </div>
    }
}
