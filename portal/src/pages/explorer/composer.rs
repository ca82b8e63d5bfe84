//! The explorer's request form: model, messages (system, user, assistant), temperature, max
//! tokens, streaming and tools as JSON. Its checks live in `model::chat_form`.

use leptos::prelude::*;

use crate::api::ApiError;
use crate::components::form::{Checkbox, FormState, SelectField, TextField};
use crate::components::icons::{CLOSE, PLUS, icon};
use crate::components::status::ErrorNotice;
use crate::model::chat_form::{ChatForm, MessageDraft, Role, TOOLS_EXAMPLE};

/// The model select's value for "type a model name instead".
const OTHER_MODEL: &str = "(another)";

/// One message being composed.
#[derive(Debug, Clone, Copy)]
pub struct MessageRow {
    id: u64,
    role: RwSignal<Role>,
    content: RwSignal<String>,
}

/// What the form holds. Copy, so the page's parts share it.
#[derive(Debug, Clone, Copy)]
pub struct Composer {
    model: RwSignal<String>,
    custom_model: RwSignal<String>,
    messages: RwSignal<Vec<MessageRow>>,
    temperature: RwSignal<String>,
    max_tokens: RwSignal<String>,
    stream: RwSignal<bool>,
    tools: RwSignal<String>,
    next_id: StoredValue<u64>,
}

impl Default for Composer {
    fn default() -> Self {
        Self::new()
    }
}

impl Composer {
    pub fn new() -> Self {
        let composer = Composer {
            model: RwSignal::new(String::new()),
            custom_model: RwSignal::new(String::new()),
            messages: RwSignal::new(Vec::new()),
            temperature: RwSignal::new(String::new()),
            max_tokens: RwSignal::new(String::new()),
            stream: RwSignal::new(true),
            tools: RwSignal::new(String::new()),
            next_id: StoredValue::new(0),
        };
        composer.add_message();
        composer
    }

    /// The form as typed, tracked (the code snippets follow it).
    pub fn form(self) -> ChatForm {
        let model = self.model.get();
        ChatForm {
            model: if model == OTHER_MODEL {
                self.custom_model.get()
            } else {
                model
            },
            messages: self.messages.with(|all| {
                all.iter()
                    .map(|it| MessageDraft {
                        role: it.role.get(),
                        content: it.content.get(),
                    })
                    .collect()
            }),
            temperature: self.temperature.get(),
            max_tokens: self.max_tokens.get(),
            stream: self.stream.get(),
            tools: self.tools.get(),
        }
    }

    /// Picks the first model once the list is known, unless one is chosen already.
    fn default_model(self, models: &[String]) {
        if self.model.get_untracked().is_empty() {
            self.model.set(
                models
                    .first()
                    .cloned()
                    .unwrap_or_else(|| OTHER_MODEL.to_owned()),
            );
        }
    }

    fn add_message(self) {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        let last = self
            .messages
            .with_untracked(|all| all.last().map(|it| it.role.get_untracked()));
        let row = MessageRow {
            id,
            role: RwSignal::new(Role::after(last)),
            content: RwSignal::new(String::new()),
        };
        self.messages.update(|all| all.push(row));
    }

    fn remove_message(self, id: u64) {
        self.messages.update(|all| all.retain(|it| it.id != id));
    }
}

/// The form; `on_send` runs on submit, `on_stop` stops the call under way.
#[component]
pub fn ComposerCard(
    composer: Composer,
    models: LocalResource<Result<Vec<String>, ApiError>>,
    form: FormState,
    running: Signal<bool>,
    on_send: Callback<()>,
    on_stop: Callback<()>,
) -> impl IntoView {
    Effect::new(move |_| {
        if let Some(Ok(list)) = models.get() {
            composer.default_model(&list);
        }
    });
    let options = Signal::derive(move || {
        let mut options: Vec<(String, String)> = match models.get() {
            Some(Ok(list)) => list.into_iter().map(|it| (it.clone(), it)).collect(),
            _ => Vec::new(),
        };
        options.push((OTHER_MODEL.to_owned(), "Another model…".to_owned()));
        options
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        on_send.run(());
    };
    view! {
        <section class="card" aria-labelledby="explorer-request">
            <h2 id="explorer-request">"Request"</h2>
            <form on:submit=submit novalidate class="composer">
                {move || match models.get() {
                    None => view! { <p class="hint" role="status">"Loading the models this tenant may use…"</p> }.into_any(),
                    Some(Err(error)) => view! {
                        <ErrorNotice error=error retry=Callback::new(move |()| models.refetch()) />
                    }.into_any(),
                    Some(Ok(_)) => ().into_any(),
                }}
                <div class="field-row">
                    <SelectField
                        id="explorer-model"
                        label="Model"
                        value=composer.model
                        options=options
                        error=form.field("model")
                        hint="The models this tenant may call."
                    />
                    <Show when=move || composer.model.get() == OTHER_MODEL>
                        <TextField
                            id="explorer-custom-model"
                            label="Model name"
                            value=composer.custom_model
                            hint="Any model alias, as the API takes it."
                        />
                    </Show>
                </div>
                <Messages composer=composer error=form.field("messages") />
                <div class="field-row">
                    <TextField
                        id="explorer-temperature"
                        label="Temperature"
                        value=composer.temperature
                        placeholder="default"
                        hint="0 to 2; empty for the model's default."
                        error=form.field("temperature")
                    />
                    <TextField
                        id="explorer-max-tokens"
                        label="Max tokens"
                        value=composer.max_tokens
                        placeholder="default"
                        hint="The longest answer, in tokens."
                        error=form.field("max_tokens")
                    />
                </div>
                <Checkbox id="explorer-stream" label="Stream the answer" checked=composer.stream />
                <div class="field tools-field" class:invalid=move || form.field("tools").with(Option::is_some)>
                    <div class="section-header">
                        <label for="explorer-tools">"Tools (JSON)"</label>
                        <button type="button" class="button secondary small" on:click=move |_| composer.tools.set(TOOLS_EXAMPLE.to_owned())>
                            "Insert an example"
                        </button>
                    </div>
                    <p class="hint" id="explorer-tools-hint">"A JSON array of tools the model may call; empty for none."</p>
                    <textarea
                        id="explorer-tools"
                        class="code-input"
                        rows="6"
                        spellcheck="false"
                        aria-describedby=move || if form.field("tools").with(Option::is_some) { "explorer-tools-hint explorer-tools-error" } else { "explorer-tools-hint" }
                        aria-invalid=move || if form.field("tools").with(Option::is_some) { "true" } else { "false" }
                        prop:value=move || composer.tools.get()
                        on:input=move |ev| composer.tools.set(event_target_value(&ev))
                    ></textarea>
                    {move || form.field("tools").get().map(|message| view! { <p class="field-error" id="explorer-tools-error">{message}</p> })}
                </div>
                <div class="form-actions">
                    <button type="submit" class="button primary" disabled=move || running.get()>
                        {move || if running.get() { "Sending…" } else { "Send request" }}
                    </button>
                    <Show when=move || running.get()>
                        <button type="button" class="button secondary" on:click=move |_| on_stop.run(())>
                            "Stop"
                        </button>
                    </Show>
                </div>
            </form>
        </section>
    }
}

/// The conversation: a role and a text per message, in order.
#[component]
fn Messages(composer: Composer, error: Signal<Option<String>>) -> impl IntoView {
    let count = move || composer.messages.with(Vec::len);
    view! {
        <fieldset class="field messages" class:invalid=move || error.with(Option::is_some)>
            <legend>"Messages"</legend>
            <ol class="message-list">
                <For each=move || composer.messages.get() key=|row| row.id let:row>
                    <Message composer=composer row=row count=Signal::derive(count) />
                </For>
            </ol>
            {move || error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            <button type="button" class="button secondary small" on:click=move |_| composer.add_message()>
                {icon(PLUS)}
                <span>"Add message"</span>
            </button>
        </fieldset>
    }
}

#[component]
fn Message(composer: Composer, row: MessageRow, count: Signal<usize>) -> impl IntoView {
    let number = move || {
        composer
            .messages
            .with(|all| all.iter().position(|it| it.id == row.id))
            .map_or(0, |it| it + 1)
    };
    let content_id = format!("explorer-message-{}", row.id);
    let role_id = format!("explorer-message-{}-role", row.id);
    view! {
        <li class="message-row">
            <div class="message-head">
                <label class="sr-only" for=role_id.clone()>{move || format!("Role of message {}", number())}</label>
                <select
                    id=role_id
                    class="role-select"
                    on:change=move |ev| {
                        if let Some(role) = Role::parse(&event_target_value(&ev)) {
                            row.role.set(role);
                        }
                    }
                >
                    {Role::ALL
                        .into_iter()
                        .map(|role| view! {
                            <option value=role.as_str() selected=move || row.role.get() == role>{role.label()}</option>
                        })
                        .collect_view()}
                </select>
                <label for=content_id.clone()>{move || format!("Message {}", number())}</label>
                <button
                    type="button"
                    class="icon-button"
                    aria-label=move || format!("Remove message {}", number())
                    disabled=move || count.get() <= 1
                    on:click=move |_| composer.remove_message(row.id)
                >
                    {icon(CLOSE)}
                </button>
            </div>
            <textarea
                id=content_id
                rows="3"
                prop:value=move || row.content.get()
                on:input=move |ev| row.content.set(event_target_value(&ev))
            ></textarea>
        </li>
    }
}
