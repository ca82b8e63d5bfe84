//! A portal path that does not exist.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::layout::AuthLayout;
use crate::routes;
use crate::state::ui::Ui;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    Ui::get().set_title("Page not found");
    view! {
        <AuthLayout>
            <h1>"Page not found"</h1>
            <p>"There is no page at this address."</p>
            <A href=routes::HOME attr:class="button primary">"Go to the portal"</A>
        </AuthLayout>
    }
}
