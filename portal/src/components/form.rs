//! Form controls that always have a visible label, a hint and an error tied to the input
//! (`aria-describedby`, `aria-invalid`), and a submit button that shows it is busy.

use leptos::prelude::*;

use crate::api::ApiError;
use crate::model::errors::FieldErrors;

/// The state every form needs: busy while sending, the last failure, and per-field messages.
#[derive(Debug, Clone, Copy)]
pub struct FormState {
    pub busy: RwSignal<bool>,
    pub error: RwSignal<Option<ApiError>>,
    pub fields: RwSignal<FieldErrors>,
}

impl Default for FormState {
    fn default() -> Self {
        Self::new()
    }
}

impl FormState {
    pub fn new() -> Self {
        FormState {
            busy: RwSignal::new(false),
            error: RwSignal::new(None),
            fields: RwSignal::new(FieldErrors::new()),
        }
    }

    /// The message for one field, tracked.
    pub fn field(self, name: &'static str) -> Signal<Option<String>> {
        Signal::derive(move || self.fields.with(|it| it.get(name)))
    }

    /// Starts a submission: clears old messages; false when one is already running.
    pub fn begin(self) -> bool {
        if self.busy.get_untracked() {
            return false;
        }
        self.busy.set(true);
        self.error.set(None);
        self.fields.set(FieldErrors::new());
        true
    }

    /// The portal's own checks failed: show them, send nothing.
    pub fn invalid(self, errors: FieldErrors) {
        self.fields.set(errors);
        self.busy.set(false);
    }

    /// Ends a submission with the server's answer.
    pub fn finish<T>(self, result: &Result<T, ApiError>) {
        if let Err(error) = result {
            self.fields.set(FieldErrors::from_api(error));
            self.error.set(Some(error.clone()));
        }
        self.busy.set(false);
    }
}

fn described_by(id: &str, hint: bool, error: bool) -> Option<String> {
    let ids: Vec<String> = [(hint, "hint"), (error, "error")]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, kind)| format!("{id}-{kind}"))
        .collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

/// A labelled text input (or, with `multiline`, a textarea).
#[component]
pub fn TextField(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    value: RwSignal<String>,
    /// The input's `type`; `text` by default.
    #[prop(optional, into)]
    kind: Option<Signal<String>>,
    #[prop(optional, into)] error: Option<Signal<Option<String>>>,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional, into)] autocomplete: Option<String>,
    #[prop(optional, into)] placeholder: Option<String>,
    #[prop(optional)] required: bool,
    #[prop(optional)] multiline: bool,
) -> impl IntoView {
    let error = error.unwrap_or_else(|| Signal::derive(|| None));
    let has_hint = hint.is_some();
    let describedby = {
        let id = id.clone();
        move || described_by(&id, has_hint, error.with(Option::is_some))
    };
    let invalid = move || {
        if error.with(Option::is_some) {
            "true"
        } else {
            "false"
        }
    };
    let control = if multiline {
        view! {
            <textarea
                id=id.clone()
                name=id.clone()
                rows="3"
                placeholder=placeholder
                required=required
                aria-invalid=invalid
                aria-describedby=describedby
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            ></textarea>
        }
        .into_any()
    } else {
        view! {
            <input
                id=id.clone()
                name=id.clone()
                type=move || kind.map_or_else(|| "text".to_owned(), |it| it.get())
                autocomplete=autocomplete
                placeholder=placeholder
                required=required
                aria-invalid=invalid
                aria-describedby=describedby
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        }
        .into_any()
    };
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    view! {
        <div class="field" class:invalid=move || error.with(Option::is_some)>
            <label for=id>
                {label}
                {required.then(|| view! { <span class="required" aria-hidden="true">" *"</span> })}
            </label>
            {hint.map(|hint| view! { <p class="hint" id=hint_id>{hint}</p> })}
            {control}
            {move || {
                error.get().map(|message| view! { <p class="field-error" id=error_id.clone()>{message}</p> })
            }}
        </div>
    }
}

/// A labelled select; `options` are (value, label) pairs.
#[component]
pub fn SelectField(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    value: RwSignal<String>,
    #[prop(into)] options: Signal<Vec<(String, String)>>,
    #[prop(optional, into)] error: Option<Signal<Option<String>>>,
    #[prop(optional, into)] hint: Option<String>,
) -> impl IntoView {
    let error = error.unwrap_or_else(|| Signal::derive(|| None));
    let has_hint = hint.is_some();
    let describedby = {
        let id = id.clone();
        move || described_by(&id, has_hint, error.with(Option::is_some))
    };
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    view! {
        <div class="field" class:invalid=move || error.with(Option::is_some)>
            <label for=id.clone()>{label}</label>
            {hint.map(|hint| view! { <p class="hint" id=hint_id>{hint}</p> })}
            <select
                id=id.clone()
                name=id
                aria-describedby=describedby
                on:change=move |ev| value.set(event_target_value(&ev))
            >
                {move || {
                    options
                        .get()
                        .into_iter()
                        .map(|(option, text)| {
                            let selected = value.get_untracked() == option;
                            view! { <option value=option selected=selected>{text}</option> }
                        })
                        .collect_view()
                }}
            </select>
            {move || {
                error.get().map(|message| view! { <p class="field-error" id=error_id.clone()>{message}</p> })
            }}
        </div>
    }
}

/// A labelled checkbox.
#[component]
pub fn Checkbox(
    #[prop(into)] id: String,
    #[prop(into)] label: String,
    checked: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <div class="checkbox">
            <input
                id=id.clone()
                type="checkbox"
                prop:checked=move || checked.get()
                on:change=move |ev| checked.set(event_target_checked(&ev))
            />
            <label for=id>{label}</label>
        </div>
    }
}

/// The form's failure, announced to screen readers.
#[component]
pub fn FormError(form: FormState) -> impl IntoView {
    move || {
        form.error.get().map(|error| {
            view! {
                <div class="notice error" role="alert">
                    <p>{error.message()}</p>
                </div>
            }
        })
    }
}

/// The primary button of a form; disabled and labelled "…" while the form is busy.
#[component]
pub fn SubmitButton(
    form: FormState,
    #[prop(into)] label: String,
    #[prop(optional, into)] busy_label: Option<String>,
) -> impl IntoView {
    let busy_label = busy_label.unwrap_or_else(|| "Working…".to_owned());
    view! {
        <button
            type="submit"
            class="button primary"
            aria-busy=move || if form.busy.get() { "true" } else { "false" }
            disabled=move || form.busy.get()
        >
            {move || if form.busy.get() { busy_label.clone() } else { label.clone() }}
        </button>
    }
}

/// The message for a field whose name is computed (a row's), tracked.
pub fn field_error(
    form: FormState,
    name: impl Fn() -> String + Send + Sync + 'static,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        let name = name();
        form.fields.with(|it| it.get(&name))
    })
}

/// Select options from `(value, words)` pairs.
pub fn options(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(value, words)| ((*value).to_owned(), (*words).to_owned()))
        .collect()
}
