//! Loading, empty and error states, the same on every page.

use leptos::prelude::*;

use crate::api::ApiError;

/// A page section that is loading.
#[component]
pub fn Loading(#[prop(optional, into)] what: Option<String>) -> impl IntoView {
    let text = what.map_or_else(|| "Loading…".to_owned(), |it| format!("Loading {it}…"));
    view! {
        <div class="loading" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true"></span>
            <span>{text}</span>
        </div>
    }
}

/// A list with nothing in it yet, and what to do about that.
#[component]
pub fn Empty(#[prop(into)] title: String, children: Children) -> impl IntoView {
    view! {
        <div class="empty">
            <p class="empty-title">{title}</p>
            <div class="empty-body">{children()}</div>
        </div>
    }
}

/// A failed load or action, with a retry when one makes sense.
#[component]
pub fn ErrorNotice(
    error: ApiError,
    #[prop(optional, into)] retry: Option<Callback<()>>,
) -> impl IntoView {
    view! {
        <div class="notice error" role="alert">
            <p>{error.message()}</p>
            {retry
                .map(|retry| {
                    view! {
                        <button type="button" class="button secondary small" on:click=move |_| retry.run(())>
                            "Try again"
                        </button>
                    }
                })}
        </div>
    }
}

/// Renders a resource: loading, then the error (with a retry) or `render` of the value.
pub fn loaded<T, V>(
    resource: LocalResource<Result<T, ApiError>>,
    render: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    move || match resource.get() {
        None => view! { <Loading /> }.into_any(),
        Some(Err(error)) => {
            view! { <ErrorNotice error=error retry=Callback::new(move |_| resource.refetch()) /> }
                .into_any()
        }
        Some(Ok(value)) => render(value).into_any(),
    }
}
