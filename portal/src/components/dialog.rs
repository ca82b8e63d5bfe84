//! A confirmation before anything destructive. Built on `<dialog>` opened as a modal, so the
//! browser traps focus, closes it on Escape and restores focus afterwards.

use leptos::html;
use leptos::prelude::*;

/// Asks "are you sure?"; `on_confirm` runs only on the confirm button.
#[component]
pub fn ConfirmDialog(
    /// Set to open, cleared when closed by any means.
    open: RwSignal<bool>,
    #[prop(into)] id: String,
    #[prop(into)] title: String,
    #[prop(into)] message: Signal<String>,
    #[prop(into)] confirm_label: String,
    #[prop(optional)] danger: bool,
    on_confirm: Callback<()>,
    /// Extra inputs (a grace period, say).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let dialog = NodeRef::<html::Dialog>::new();
    Effect::new(move |_| {
        let wanted = open.get();
        if let Some(element) = dialog.get() {
            if wanted && !element.open() {
                // Fails only if the dialog is not connected; then nothing is shown.
                let _ = element.show_modal();
            } else if !wanted && element.open() {
                element.close();
            }
        }
    });
    let title_id = format!("{id}-title");
    let message_id = format!("{id}-message");
    let (labelled_by, described_by) = (title_id.clone(), message_id.clone());
    view! {
        <dialog
            node_ref=dialog
            id=id
            class="dialog"
            aria-labelledby=labelled_by
            aria-describedby=described_by
            on:close=move |_| open.set(false)
        >
            <form on:submit=move |ev| {
                ev.prevent_default();
                open.set(false);
                on_confirm.run(());
            }>
                <h2 id=title_id>{title}</h2>
                <p id=message_id>{move || message.get()}</p>
                {children.map(|children| children())}
                <div class="dialog-actions">
                    <button type="button" class="button secondary" autofocus on:click=move |_| open.set(false)>
                        "Cancel"
                    </button>
                    <button type="submit" class=if danger { "button danger" } else { "button primary" }>
                        {confirm_label}
                    </button>
                </div>
            </form>
        </dialog>
    }
}
