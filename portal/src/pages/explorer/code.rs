//! The request as code to copy (curl, Python, JavaScript), following the form as it is typed.
//! Tabs follow the WAI-ARIA tabs pattern: arrow keys move between languages.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::components::copy::CopyButton;
use crate::model::chat_form::ChatCall;
use crate::model::errors::FieldErrors;
use crate::model::snippets::{self, KEY_VARIABLE, Language};
use crate::state::ui::origin;

#[component]
pub fn CodeCard(call: Memo<Result<ChatCall, FieldErrors>>) -> impl IntoView {
    let language = RwSignal::new(Language::Curl);
    let base_url = snippets::base_url(&origin());
    let code = Signal::derive(move || {
        call.with(|it| match it {
            Ok(call) => language.get().snippet(call, &base_url),
            Err(_) => String::new(),
        })
    });
    let select = move |next: Language| {
        language.set(next);
        if let Some(tab) = document()
            .get_element_by_id(&tab_id(next))
            .and_then(|it| it.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = tab.focus();
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let all = Language::ALL;
        let at = all
            .iter()
            .position(|it| *it == language.get_untracked())
            .unwrap_or(0);
        let next = match ev.key().as_str() {
            "ArrowRight" => all[(at + 1) % all.len()],
            "ArrowLeft" => all[(at + all.len() - 1) % all.len()],
            "Home" => all[0],
            "End" => all[all.len() - 1],
            _ => return,
        };
        ev.prevent_default();
        select(next);
    };
    view! {
        <section class="card" aria-labelledby="explorer-code">
            <div class="section-header">
                <h2 id="explorer-code">"The same call as code"</h2>
                <CopyButton text=code label="Copy code" />
            </div>
            <p class="hint">
                "Set " <code>{KEY_VARIABLE}</code> " to one of this tenant's API keys first. The explorer's own token is short-lived and never appears here."
            </p>
            <div role="tablist" aria-label="Language" class="tabs" on:keydown=on_key>
                {Language::ALL
                    .into_iter()
                    .map(|it| {
                        let selected = move || language.get() == it;
                        view! {
                            <button
                                type="button"
                                role="tab"
                                id=tab_id(it)
                                class="tab"
                                aria-selected=move || if selected() { "true" } else { "false" }
                                aria-controls="snippet-panel"
                                tabindex=move || if selected() { "0" } else { "-1" }
                                on:click=move |_| select(it)
                            >
                                {it.label()}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <div role="tabpanel" id="snippet-panel" aria-labelledby=move || tab_id(language.get())>
                {move || {
                    let text = code.get();
                    if text.is_empty() {
                        view! { <p class="muted">"Complete the request above to see it as code."</p> }.into_any()
                    } else {
                        view! { <pre class="snippet code-block"><code id="snippet-code">{text}</code></pre> }.into_any()
                    }
                }}
            </div>
        </section>
    }
}

fn tab_id(language: Language) -> String {
    format!("snippet-tab-{}", language.id())
}
