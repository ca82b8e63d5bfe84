//! "Get started": how to make a first call, on one page: a key (or who gives one), the base
//! URL for OpenAI's and Anthropic's SDKs, and a first call to one of the tenant's models as
//! `curl`, Python and JavaScript, each with a copy button.

use api_types::manage::ModelRouteView;
use leptos::prelude::*;
use leptos_router::components::A;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::copy::CopyButton;
use crate::components::page::{PageHeader, for_tenant};
use crate::components::status::{Empty, loaded};
use crate::model::get_started::{self, Snippet};
use crate::model::snippets::KEY_VARIABLE;
use crate::routes;
use crate::state::session::Session;
use crate::state::ui::origin;

#[component]
pub fn GetStartedPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Get started"
            description="Three steps to a first call: a key, the base URL, and a request any OpenAI or Anthropic client can make."
        />
        {for_tenant(|tenant| view! { <Steps tenant=tenant /> })}
    }
}

#[component]
fn Steps(tenant: Uuid) -> impl IntoView {
    let session = Session::get();
    let see_keys = session.abilities().see_keys;
    let (openai, anthropic) = get_started::base_urls(&origin());
    let models = LocalResource::new(move || endpoints::models(tenant));
    view! {
        <section class="card get-started" aria-labelledby="start-key">
            <h2 id="start-key">"1. An API key"</h2>
            {if see_keys {
                view! {
                    <p>
                        "Create one on the " <A href=routes::KEYS>"API keys"</A>
                        " page: its secret is shown once. Keep it in the "
                        <code>{KEY_VARIABLE}</code> " environment variable, as the code below expects."
                    </p>
                }
                .into_any()
            } else {
                view! {
                    <p>
                        "Your role does not manage keys: ask an owner or admin of this tenant for one, and keep it in the "
                        <code>{KEY_VARIABLE}</code> " environment variable."
                    </p>
                }
                .into_any()
            }}
        </section>
        <section class="card get-started" aria-labelledby="start-url">
            <h2 id="start-url">"2. The base URL"</h2>
            <dl class="record base-urls">
                <dt>"OpenAI's SDKs, LangChain, curl"</dt>
                <dd><code id="base-url-openai">{openai.clone()}</code> <CopyButton text=openai label="Copy URL" /></dd>
                <dt>"Anthropic's SDKs"</dt>
                <dd><code id="base-url-anthropic">{anthropic.clone()}</code> <CopyButton text=anthropic label="Copy URL" /></dd>
            </dl>
        </section>
        <section class="card get-started" aria-labelledby="start-call">
            <h2 id="start-call">"3. A first call"</h2>
            {loaded(models, |models: Vec<ModelRouteView>| {
                if models.is_empty() {
                    return view! {
                        <Empty title="No models yet">
                            <p>"This tenant can call no model yet: the platform's operators add them."</p>
                        </Empty>
                    }
                    .into_any();
                }
                view! { <FirstCall models=models /> }.into_any()
            })}
        </section>
    }
}

#[component]
fn FirstCall(models: Vec<ModelRouteView>) -> impl IntoView {
    let aliases: Vec<String> = models.into_iter().map(|it| it.alias).collect();
    let model = RwSignal::new(aliases.first().cloned().unwrap_or_default());
    let snippets = Memo::new(move |_| get_started::snippets(&origin(), &model.get()));
    view! {
        <div class="field">
            <label for="start-model">"Model"</label>
            <select id="start-model" on:change=move |ev| model.set(event_target_value(&ev))>
                {aliases
                    .into_iter()
                    .map(|alias| view! { <option value=alias.clone()>{alias.clone()}</option> })
                    .collect_view()}
            </select>
        </div>
        {move || {
            snippets
                .get()
                .into_iter()
                .map(|snippet| view! { <SnippetBlock snippet=snippet /> })
                .collect_view()
        }}
    }
}

#[component]
fn SnippetBlock(snippet: Snippet) -> impl IntoView {
    let Snippet { id, label, code } = snippet;
    let title = format!("start-snippet-{id}");
    let labelled_by = title.clone();
    view! {
        <section class="start-snippet" aria-labelledby=labelled_by data-snippet=id>
            <div class="section-header">
                <h3 id=title>{label}</h3>
                <CopyButton text=code.clone() label=format!("Copy {label}") />
            </div>
            <pre class="snippet code-block"><code>{code}</code></pre>
        </section>
    }
}
