//! A secret shown once (a new API key, token or invitation link): read-only, selectable, with
//! a copy button and a plain warning that it will not be shown again. `CopyField` is one such
//! labelled value, for secrets that come in parts (a client id and its secret).

use leptos::prelude::*;

use super::copy::CopyButton;

#[component]
pub fn SecretOnce(
    #[prop(into)] id: String,
    #[prop(into)] title: String,
    #[prop(into)] secret: String,
    #[prop(into)] note: String,
    on_done: Callback<()>,
) -> impl IntoView {
    let copy_text = secret.clone();
    let title_id = format!("{id}-title");
    let labelled_by = title_id.clone();
    let input_id = id.clone();
    view! {
        <section class="secret-once" aria-labelledby=labelled_by>
            <h3 id=title_id>{title}</h3>
            <p class="warning">{note}</p>
            <div class="secret-row">
                <label class="sr-only" for=input_id>"Secret"</label>
                <input
                    id=id
                    class="secret"
                    readonly
                    value=secret
                    spellcheck="false"
                    on:focus=move |ev| {
                        use wasm_bindgen::JsCast;
                        if let Some(input) = ev
                            .target()
                            .and_then(|it| it.dyn_into::<web_sys::HtmlInputElement>().ok())
                        {
                            input.select();
                        }
                    }
                />
                <CopyButton text=copy_text label="Copy" />
            </div>
            <button type="button" class="button secondary small" on:click=move |_| on_done.run(())>
                "Done, I have stored it"
            </button>
        </section>
    }
}

/// A labelled, read-only value with its own copy button ("Copy client secret").
#[component]
pub fn CopyField(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    #[prop(into)] value: String,
) -> impl IntoView {
    // "Client ID" → "Copy client ID".
    let mut chars = label.chars();
    let lowered: String = chars
        .next()
        .map(|first| first.to_lowercase().chain(chars).collect())
        .unwrap_or_default();
    let copy_label = format!("Copy {lowered}");
    let copy_text = value.clone();
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <div class="secret-row">
                <input
                    id=id
                    class="secret"
                    readonly
                    value=value
                    spellcheck="false"
                    on:focus=move |ev| {
                        use wasm_bindgen::JsCast;
                        if let Some(input) = ev
                            .target()
                            .and_then(|it| it.dyn_into::<web_sys::HtmlInputElement>().ok())
                        {
                            input.select();
                        }
                    }
                />
                <CopyButton text=copy_text label=copy_label />
            </div>
        </div>
    }
}
