//! The tenant's own aliases: the list with edit and delete, and the editor with its rows
//! (a platform model, or a provider with the tenant's own key), options and a live preview
//! of the split. Its checks live in `model::route_form`.

use api_types::manage::{ByokProviderView, ModelRouteView, RouteView};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{
    Checkbox, FormError, FormState, SelectField, SubmitButton, TextField,
};
use crate::components::icons::{CLOSE, PLUS, icon};
use crate::components::status::Empty;
use crate::model::route_form::{KIND_MODEL, KIND_OWN_KEY, RouteForm, RouteRow, STRATEGIES};
use crate::state::ui::Ui;

/// One row being edited.
#[derive(Debug, Clone, Copy)]
struct Row {
    id: u64,
    kind: RwSignal<String>,
    model: RwSignal<String>,
    deployment: RwSignal<String>,
    provider: RwSignal<String>,
    upstream_model: RwSignal<String>,
    weight: RwSignal<String>,
    priority: RwSignal<String>,
}

impl Row {
    fn typed(self) -> RouteRow {
        RouteRow {
            kind: self.kind.get(),
            model: self.model.get(),
            deployment: self.deployment.get(),
            provider: self.provider.get(),
            upstream_model: self.upstream_model.get(),
            weight: self.weight.get(),
            priority: self.priority.get(),
        }
    }
}

/// What the editor holds. Copy, so the list's buttons can load it.
#[derive(Debug, Clone, Copy)]
pub struct Editor {
    open: RwSignal<bool>,
    /// Editing a stored alias (its name is fixed) rather than making a new one.
    editing: RwSignal<bool>,
    alias: RwSignal<String>,
    strategy: RwSignal<String>,
    rows: RwSignal<Vec<Row>>,
    max_attempts: RwSignal<String>,
    timeout_ms: RwSignal<String>,
    cache_ttl_seconds: RwSignal<String>,
    fallback: RwSignal<bool>,
    next_id: StoredValue<u64>,
}

impl Editor {
    pub fn new() -> Self {
        Editor {
            open: RwSignal::new(false),
            editing: RwSignal::new(false),
            alias: RwSignal::new(String::new()),
            strategy: RwSignal::new("priority".to_owned()),
            rows: RwSignal::new(Vec::new()),
            max_attempts: RwSignal::new(String::new()),
            timeout_ms: RwSignal::new(String::new()),
            cache_ttl_seconds: RwSignal::new(String::new()),
            fallback: RwSignal::new(false),
            next_id: StoredValue::new(0),
        }
    }

    /// The form as typed, tracked (the preview follows it).
    fn form(self) -> RouteForm {
        RouteForm {
            alias: self.alias.get(),
            strategy: self.strategy.get(),
            rows: self
                .rows
                .with(|rows| rows.iter().map(|it| it.typed()).collect()),
            max_attempts: self.max_attempts.get(),
            timeout_ms: self.timeout_ms.get(),
            cache_ttl_seconds: self.cache_ttl_seconds.get(),
            fallback_on_context_window: self.fallback.get(),
        }
    }

    fn row(self, typed: RouteRow) -> Row {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        Row {
            id,
            kind: RwSignal::new(typed.kind),
            model: RwSignal::new(typed.model),
            deployment: RwSignal::new(typed.deployment),
            provider: RwSignal::new(typed.provider),
            upstream_model: RwSignal::new(typed.upstream_model),
            weight: RwSignal::new(typed.weight),
            priority: RwSignal::new(typed.priority),
        }
    }

    /// Opens the editor on `form`: a stored alias when `editing`, else a new one.
    fn load(self, form: RouteForm, editing: bool) {
        let rows: Vec<Row> = form.rows.into_iter().map(|it| self.row(it)).collect();
        self.alias.set(form.alias);
        self.strategy.set(form.strategy);
        self.rows.set(rows);
        self.max_attempts.set(form.max_attempts);
        self.timeout_ms.set(form.timeout_ms);
        self.cache_ttl_seconds.set(form.cache_ttl_seconds);
        self.fallback.set(form.fallback_on_context_window);
        self.editing.set(editing);
        self.open.set(true);
    }

    /// Opens it on a new alias over `first_model`.
    pub fn start(self, first_model: &str) {
        self.load(
            RouteForm {
                strategy: "priority".to_owned(),
                rows: vec![RouteRow::new(first_model)],
                ..RouteForm::default()
            },
            false,
        );
    }

    pub fn is_open(self) -> bool {
        self.open.get()
    }

    pub fn edit(self, view: &RouteView) {
        self.load(RouteForm::from_view(view), true);
    }
}

impl Default for Editor {
    fn default() -> Self {
        Self::new()
    }
}

/// The tenant's aliases, with edit and delete for those who may.
#[component]
pub fn OwnAliases(
    tenant: Uuid,
    routes: Vec<RouteView>,
    editor: Editor,
    allowed: bool,
    first_model: String,
    on_changed: Callback<()>,
) -> impl IntoView {
    let ui = Ui::get();
    let target = RwSignal::new(None::<String>);
    let confirm_open = RwSignal::new(false);
    let delete = Callback::new(move |()| {
        let Some(alias) = target.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match endpoints::delete_route(tenant, &alias).await {
                Ok(()) => {
                    ui.success(format!(
                        "Deleted {alias}: calls naming it are refused from now on."
                    ));
                    on_changed.run(());
                }
                Err(e) => ui.error(e.message()),
            }
        });
    });
    let empty = routes.is_empty();
    view! {
        <section class="card" aria-labelledby="own-aliases-title">
            <h2 id="own-aliases-title">"Your aliases"</h2>
            <p class="muted">"Name your own model: spread it over the platform's models and deployments and over providers you brought your own key for. Keys call it like any model, on every node within a second of saving."</p>
            {allowed.then(|| view! {
                <div class="toolbar">
                    <button type="button" class="button small" on:click=move |_| editor.start(&first_model)>
                        {icon(PLUS)}
                        <span>"New alias"</span>
                    </button>
                </div>
            })}
            {if empty {
                view! {
                    <Empty title="No aliases yet">
                        <p>"Your keys call the platform's models by their names."</p>
                    </Empty>
                }
                .into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Alias"</th>
                                    <th scope="col">"Strategy"</th>
                                    <th scope="col">"Calls go to"</th>
                                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {routes
                                    .into_iter()
                                    .map(|route| {
                                        let goes_to = route
                                            .resolved
                                            .iter()
                                            .map(|it| it.name.clone())
                                            .collect::<Vec<_>>()
                                            .join(", ");
                                        let alias = route.alias.clone();
                                        let for_edit = route.clone();
                                        view! {
                                            <tr data-alias=route.alias.clone()>
                                                <th scope="row"><code>{route.alias.clone()}</code></th>
                                                <td>{route.strategy.replace('_', " ")}</td>
                                                <td>{goes_to}</td>
                                                <td class="actions">
                                                    {allowed.then(move || view! {
                                                        <button type="button" class="button secondary small" on:click=move |_| editor.edit(&for_edit)>
                                                            "Edit"
                                                        </button>
                                                        <button
                                                            type="button"
                                                            class="button danger small"
                                                            on:click=move |_| {
                                                                target.set(Some(alias.clone()));
                                                                confirm_open.set(true);
                                                            }
                                                        >
                                                            "Delete"
                                                        </button>
                                                    })}
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
            }}
        </section>
        <ConfirmDialog
            open=confirm_open
            id="delete-route"
            title="Delete this alias?"
            message=Signal::derive(move || target.get().map(|alias| format!(
                "Calls naming {alias} are refused as an unknown model within a second."
            )).unwrap_or_default())
            confirm_label="Delete alias"
            danger=true
            on_confirm=delete
        />
    }
}

/// The editor: name, strategy, rows, options, preview, save.
#[component]
pub fn RouteEditor(
    tenant: Uuid,
    editor: Editor,
    models: Vec<ModelRouteView>,
    providers: Vec<ByokProviderView>,
    on_saved: Callback<()>,
) -> impl IntoView {
    let ui = Ui::get();
    let form = FormState::new();
    let models = StoredValue::new(models);
    let providers = StoredValue::new(providers);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let (alias, request) = match editor.form().to_request() {
            Ok(it) => it,
            Err(errors) => {
                form.invalid(errors);
                return;
            }
        };
        spawn_local(async move {
            let result = endpoints::put_route(tenant, &alias, &request).await;
            form.finish(&result);
            if let Ok(saved) = result {
                ui.success(format!(
                    "Saved {}: calls to it go to {}.",
                    saved.alias,
                    saved
                        .resolved
                        .iter()
                        .map(|it| it.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                editor.open.set(false);
                on_saved.run(());
            }
        });
    };
    let strategies: Vec<(String, String)> = STRATEGIES
        .iter()
        .map(|(value, words)| ((*value).to_owned(), (*words).to_owned()))
        .collect();
    let title = move || {
        if editor.editing.get() {
            format!("Edit {}", editor.alias.get())
        } else {
            "New alias".to_owned()
        }
    };
    let first_model = models.with_value(|all| {
        all.iter()
            .find(|it| !it.tenant_defined)
            .map(|it| it.alias.clone())
            .unwrap_or_default()
    });
    view! {
        <section class="card route-editor" aria-labelledby="route-editor-title">
            <h2 id="route-editor-title">{title}</h2>
            <form on:submit=submit novalidate>
                <FormError form=form />
                <div class="field-row">
                    <Show
                        when=move || !editor.editing.get()
                        fallback=|| ()
                    >
                        <TextField id="route-alias" label="Alias" value=editor.alias required=true error=form.field("alias") hint="What your keys send as model: letters, digits, . _ : -" />
                    </Show>
                    <SelectField id="route-strategy" label="Strategy" value=editor.strategy options=Signal::derive(move || strategies.clone()) error=form.field("strategy") />
                </div>
                <fieldset class="field route-rows" class:invalid=move || form.field("deployments").with(Option::is_some)>
                    <legend>"Deployments"</legend>
                    <ol class="route-row-list">
                        <For each=move || editor.rows.get() key=|row| row.id let:row>
                            <RowEditor editor=editor row=row models=models providers=providers />
                        </For>
                    </ol>
                    {move || form.field("deployments").get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
                    <button
                        type="button"
                        class="button secondary small"
                        on:click=move |_| {
                            let row = editor.row(RouteRow::new(&first_model));
                            editor.rows.update(|rows| rows.push(row));
                        }
                    >
                        {icon(PLUS)}
                        <span>"Add deployment"</span>
                    </button>
                </fieldset>
                <div class="field-row">
                    <TextField id="route-max-attempts" label="Tries in all" value=editor.max_attempts error=form.field("max_attempts") hint="1 to 10; empty: one per deployment." />
                    <TextField id="route-timeout" label="Deadline (ms)" value=editor.timeout_ms error=form.field("timeout_ms") hint="Over every try; empty: the providers' own." />
                    <TextField id="route-cache-ttl" label="Cache answers (s)" value=editor.cache_ttl_seconds error=form.field("cache_ttl_seconds") hint="Empty: not cached." />
                </div>
                <Checkbox id="route-fallback-context" label="A prompt too long for one deployment goes on to the next" checked=editor.fallback />
                <div class="route-preview" aria-live="polite">
                    <h3>"Preview"</h3>
                    <table>
                        <thead>
                            <tr><th scope="col">"Deployment"</th><th scope="col">"Share of first tries"</th></tr>
                        </thead>
                        <tbody>
                            {move || editor
                                .form()
                                .preview()
                                .into_iter()
                                .map(|(label, share)| view! { <tr><th scope="row">{label}</th><td class="share">{share}</td></tr> })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>
                <div class="actions">
                    <SubmitButton form=form label="Save alias" busy_label="Saving…" />
                    <button type="button" class="button secondary" on:click=move |_| editor.open.set(false)>"Cancel"</button>
                </div>
            </form>
        </section>
    }
}

#[component]
fn RowEditor(
    editor: Editor,
    row: Row,
    models: StoredValue<Vec<ModelRouteView>>,
    providers: StoredValue<Vec<ByokProviderView>>,
) -> impl IntoView {
    let number = move || {
        editor
            .rows
            .with(|all| all.iter().position(|it| it.id == row.id))
            .map_or(0, |it| it + 1)
    };
    let count = move || editor.rows.with(Vec::len);
    let kinds = vec![
        (KIND_MODEL.to_owned(), "A model".to_owned()),
        (KIND_OWN_KEY.to_owned(), "Your own provider key".to_owned()),
    ];
    let model_options = Signal::derive(move || {
        let editing = editor.alias.get();
        models.with_value(|all| {
            all.iter()
                .filter(|it| !(it.tenant_defined && it.alias == editing))
                .map(|it| {
                    let words = if it.tenant_defined {
                        format!("{} (your alias)", it.alias)
                    } else {
                        it.alias.clone()
                    };
                    (it.alias.clone(), words)
                })
                .collect::<Vec<_>>()
        })
    });
    let deployment_options = Signal::derive(move || {
        let model = row.model.get();
        let mut options = vec![(String::new(), "All of its deployments".to_owned())];
        models.with_value(|all| {
            if let Some(found) = all
                .iter()
                .find(|it| it.alias == model && !it.tenant_defined)
            {
                options.extend(
                    found
                        .deployments
                        .iter()
                        .map(|it| (it.name.clone(), format!("{} ({})", it.name, it.provider))),
                );
            }
        });
        options
    });
    let provider_options = Signal::derive(move || {
        providers.with_value(|all| {
            all.iter()
                .map(|it| (it.name.clone(), format!("{} ({})", it.name, it.kind)))
                .collect::<Vec<_>>()
        })
    });
    if row.provider.get_untracked().is_empty()
        && let Some(first) = providers.with_value(|all| all.first().map(|it| it.name.clone()))
    {
        row.provider.set(first);
    }
    let id = move |field: &str| format!("route-row-{}-{field}", row.id);
    view! {
        <li class="route-row" data-row=number>
            <div class="route-row-head">
                <strong>{move || format!("Deployment {}", number())}</strong>
                <button
                    type="button"
                    class="icon-button"
                    aria-label=move || format!("Remove deployment {}", number())
                    disabled=move || count() <= 1
                    on:click=move |_| editor.rows.update(|rows| rows.retain(|it| it.id != row.id))
                >
                    {icon(CLOSE)}
                </button>
            </div>
            <div class="field-row">
                <SelectField id=id("kind") label="Served by" value=row.kind options=Signal::derive(move || kinds.clone()) />
                <Show
                    when=move || row.kind.get() == KIND_MODEL
                    fallback=move || view! {
                        <SelectField id=id("provider") label="Provider" value=row.provider options=provider_options hint="Calls carry your key for it, never the platform's." />
                        <TextField id=id("upstream") label="Provider's model" value=row.upstream_model required=true />
                    }
                >
                    <SelectField id=id("model") label="Model" value=row.model options=model_options />
                    <SelectField id=id("deployment") label="Deployment" value=row.deployment options=deployment_options />
                </Show>
                <TextField id=id("weight") label="Weight" value=row.weight />
                <TextField id=id("priority") label="Priority" value=row.priority hint="Lower first; higher are fallbacks." />
            </div>
        </li>
    }
}
