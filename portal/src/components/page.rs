//! What every signed-in page starts with: a heading with its actions, and the current tenant
//! (or an invitation to create one).

use leptos::prelude::*;
use leptos_router::components::A;
use uuid::Uuid;

use super::status::Empty;
use crate::routes;
use crate::state::session::Session;
use crate::state::ui::Ui;

/// The page's `<h1>` and description; also sets the tab title.
#[component]
pub fn PageHeader(
    #[prop(into)] title: String,
    #[prop(optional, into)] description: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    Ui::get().set_title(&title);
    view! {
        <header class="page-header">
            <div>
                <h1>{title}</h1>
                {description.map(|it| view! { <p class="lead">{it}</p> })}
            </div>
            {children.map(|children| view! { <div class="page-actions">{children()}</div> })}
        </header>
    }
}

/// Renders `page` for the current tenant, again whenever the tenant switcher changes it.
pub fn for_tenant<V: IntoView + 'static>(
    page: impl Fn(Uuid) -> V + Send + Sync + 'static,
) -> impl IntoView {
    let session = Session::get();
    let current = Memo::new(move |_| session.tenant_id());
    move || match current.get() {
        Some(tenant) => page(tenant).into_any(),
        None => view! {
            <Empty title="No tenant yet">
                <p>"Keys, members and the audit log belong to a tenant."</p>
                <A href=routes::TENANTS>"Create your first tenant"</A>
            </Empty>
        }
        .into_any(),
    }
}
