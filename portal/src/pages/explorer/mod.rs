//! The API explorer: call the tenant's models from the browser as the signed-in user (the
//! portal mints a short-lived data-plane token, so nobody pastes a secret), watch the answer
//! stream in with its status, latency, time to first token and usage, and copy the same call
//! as code.

pub mod code;
pub mod composer;
pub mod response;
pub mod run;

use leptos::prelude::*;
use uuid::Uuid;

use self::code::CodeCard;
use self::composer::{Composer, ComposerCard};
use self::response::ResponseCard;
use self::run::Runner;
use crate::api::data_plane;
use crate::components::form::FormState;
use crate::components::page::{PageHeader, for_tenant};
use crate::components::status::Empty;
use crate::model::errors::FieldErrors;
use crate::state::session::Session;

#[component]
pub fn ExplorerPage() -> impl IntoView {
    view! {
        <PageHeader
            title="API explorer"
            description="Call this tenant's models from the browser as yourself, with no key to paste. Watch the answer arrive, see the exact request and response, and copy the same call as code."
        />
        {for_tenant(|tenant| view! { <TenantExplorer tenant=tenant /> })}
    }
}

#[component]
fn TenantExplorer(tenant: Uuid) -> impl IntoView {
    let session = Session::get();
    let allowed = Memo::new(move |_| session.abilities().call_models);
    view! {
        <Show
            when=move || allowed.get()
            fallback=|| view! {
                <Empty title="Not for your role">
                    <p>"Owners, admins and developers call models; your role in this tenant does not."</p>
                </Empty>
            }
        >
            <Explorer tenant=tenant />
        </Show>
    }
}

#[component]
fn Explorer(tenant: Uuid) -> impl IntoView {
    let models = LocalResource::new(move || data_plane::models(tenant));
    let composer = Composer::new();
    let runner = Runner::new();
    let form = FormState::new();
    let call = Memo::new(move |_| composer.form().to_call());
    let send = Callback::new(move |()| match call.get_untracked() {
        Ok(request) => {
            form.fields.set(FieldErrors::new());
            runner.send(tenant, &request);
        }
        Err(errors) => form.fields.set(errors),
    });
    view! {
        <div class="explorer">
            <ComposerCard
                composer=composer
                models=models
                form=form
                running=Signal::derive(move || runner.running())
                on_send=send
                on_stop=Callback::new(move |()| runner.stop())
            />
            <ResponseCard exchange=runner.exchange />
            <CodeCard call=call />
        </div>
    }
}
