//! The tenant's audit log: who did what, when, from where, before and after; filtered, newest
//! first, one page at a time.

use api_types::manage::{AuditEventView, Page};
use leptos::prelude::*;
use uuid::Uuid;

use crate::api::endpoints;
use crate::api::paths::AuditQuery;
use crate::components::form::{FormState, TextField};
use crate::components::page::{PageHeader, for_tenant};
use crate::components::status::{Empty, loaded};
use crate::model::audit_filter::{ACTION_PREFIXES, AuditForm, PAGE_SIZE};
use crate::model::format;
use crate::state::session::Session;

#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Audit log"
            description="Every change in this tenant: who made it, when, from which address, and the target before and after. Secrets never appear here."
        />
        {for_tenant(|tenant| view! { <TenantAudit tenant=tenant /> })}
    }
}

#[component]
fn TenantAudit(tenant: Uuid) -> impl IntoView {
    let session = Session::get();
    let allowed = Memo::new(move |_| session.abilities().read_audit);
    let query = RwSignal::new(AuditQuery {
        limit: PAGE_SIZE,
        ..AuditQuery::default()
    });
    // The cursors of the pages before this one, to go back.
    let previous = RwSignal::new(Vec::<Option<String>>::new());
    let events = LocalResource::new(move || {
        let query = query.get();
        async move {
            if allowed.get_untracked() {
                endpoints::audit_events(tenant, &query).await
            } else {
                Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                })
            }
        }
    });

    let action = RwSignal::new(String::new());
    let actor = RwSignal::new(String::new());
    let since = RwSignal::new(String::new());
    let until = RwSignal::new(String::new());
    let form = FormState::new();
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let filters = AuditForm {
            action: action.get_untracked(),
            actor: actor.get_untracked(),
            since: since.get_untracked(),
            until: until.get_untracked(),
        };
        match filters.to_query() {
            Ok(next) => {
                form.fields.set(Default::default());
                previous.set(Vec::new());
                query.set(next);
            }
            Err(errors) => form.fields.set(errors),
        }
    };
    let clear = move |_| {
        for it in [action, actor, since, until] {
            it.set(String::new());
        }
        form.fields.set(Default::default());
        previous.set(Vec::new());
        query.set(AuditQuery {
            limit: PAGE_SIZE,
            ..AuditQuery::default()
        });
    };
    let older = move |cursor: String| {
        let current = query.with_untracked(|it| it.cursor.clone());
        previous.update(|it| it.push(current));
        query.update(|it| it.cursor = Some(cursor));
    };
    let newer = move |_| {
        let mut back = None;
        previous.update(|it| back = it.pop());
        if let Some(cursor) = back {
            query.update(|it| it.cursor = cursor);
        }
    };

    view! {
        <Show
            when=move || allowed.get()
            fallback=|| view! {
                <Empty title="Owners, admins and finance only">
                    <p>"Your role does not include reading this tenant's audit log."</p>
                </Empty>
            }
        >
            <section class="card" aria-labelledby="audit-filters">
                <h2 id="audit-filters">"Filters"</h2>
                <form on:submit=apply novalidate class="filters">
                    <div class="field-row">
                        <TextField id="audit-action" label="Action starts with" value=action placeholder="key." hint="Like key., member. or key.revoke" />
                        <TextField id="audit-actor" label="Actor (user id)" value=actor error=form.field("actor") />
                        <TextField id="audit-since" label="From (UTC)" kind="date" value=since error=form.field("since") />
                        <TextField id="audit-until" label="To (UTC)" kind="date" value=until error=form.field("until") />
                    </div>
                    <p class="hint">
                        "Common actions: "
                        {ACTION_PREFIXES
                            .iter()
                            .map(|prefix| view! {
                                <button type="button" class="chip" on:click=move |_| action.set((*prefix).to_owned())>{*prefix}</button>
                            })
                            .collect_view()}
                    </p>
                    <div class="form-actions">
                        <button type="submit" class="button primary">"Apply filters"</button>
                        <button type="button" class="button secondary" on:click=clear>"Clear"</button>
                    </div>
                </form>
            </section>
            <section class="card" aria-labelledby="audit-events" aria-live="polite">
                <h2 id="audit-events">"Events"</h2>
                {loaded(events, move |page: Page<AuditEventView>| {
                    let next = page.next_cursor.clone();
                    let has_previous = !previous.with_untracked(Vec::is_empty);
                    let list = if page.items.is_empty() {
                        view! { <Empty title="No events"><p>"Nothing matches these filters."</p></Empty> }.into_any()
                    } else {
                        view! {
                            <ol class="audit-list">
                                {page.items.into_iter().map(|event| view! { <AuditEvent event=event /> }).collect_view()}
                            </ol>
                        }
                        .into_any()
                    };
                    view! {
                        {list}
                        <nav class="pager" aria-label="Audit pages">
                            <button type="button" class="button secondary small" disabled=!has_previous on:click=newer>
                                "← Newer"
                            </button>
                            <button
                                type="button"
                                class="button secondary small"
                                disabled=next.is_none()
                                on:click=move |_| {
                                    if let Some(cursor) = next.clone() {
                                        older(cursor);
                                    }
                                }
                            >
                                "Older →"
                            </button>
                        </nav>
                    }
                })}
            </section>
        </Show>
    }
}

#[component]
fn AuditEvent(event: AuditEventView) -> impl IntoView {
    let target = match (&event.target_kind, &event.target_id) {
        (Some(kind), Some(id)) => format!("{kind} {id}"),
        (Some(kind), None) => kind.clone(),
        _ => String::new(),
    };
    let pretty = |value: &Option<serde_json::Value>| {
        value
            .as_ref()
            .map(|it| serde_json::to_string_pretty(it).unwrap_or_default())
    };
    let before = pretty(&event.before);
    let after = pretty(&event.after);
    let has_details = before.is_some() || after.is_some();
    view! {
        <li class="audit-event">
            <div class="audit-summary">
                <code class="action">{event.action.clone()}</code>
                <span>" by " <strong>{format::actor(&event.actor)}</strong></span>
                {(!target.is_empty()).then(|| view! { <span class="muted">" on " {target.clone()}</span> })}
                <time datetime=event.created_at.unix_timestamp().to_string() class="muted">
                    {format::datetime(event.created_at)}
                </time>
                {event.ip.clone().map(|ip| view! { <span class="muted">" from " {ip}</span> })}
            </div>
            {has_details.then(|| view! {
                <details>
                    <summary>"Before and after"</summary>
                    <div class="diff">
                        <div>
                            <p class="diff-label">"Before"</p>
                            <pre>{before.clone().unwrap_or_else(|| "—".to_owned())}</pre>
                        </div>
                        <div>
                            <p class="diff-label">"After"</p>
                            <pre>{after.clone().unwrap_or_else(|| "—".to_owned())}</pre>
                        </div>
                    </div>
                </details>
            })}
        </li>
    }
}
