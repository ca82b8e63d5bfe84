//! The tenant's members (change a role, remove someone) and invitations (invite with a role,
//! revoke an open one).

use api_types::manage::{CreateInvitationRequest, CreatedInvitation, InvitationView, MemberView};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::endpoints;
use crate::components::dialog::ConfirmDialog;
use crate::components::form::{FormError, FormState, SelectField, SubmitButton, TextField};
use crate::components::page::{PageHeader, for_tenant};
use crate::components::secret::SecretOnce;
use crate::components::status::{Empty, loaded};
use crate::model::errors::FieldErrors;
use crate::model::{format, validate};
use crate::state::session::Session;
use crate::state::ui::{Ui, now};

#[component]
pub fn MembersPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Members"
            description="People in this tenant and what their role lets them do. Invitations are emailed and work once, for 7 days."
        />
        {for_tenant(|tenant| view! { <TenantMembers tenant=tenant /> })}
    }
}

/// Who is being removed or which invitation revoked, waiting for the confirmation.
#[derive(Debug, Clone)]
enum Pending {
    Remove(MemberView),
    Revoke(InvitationView),
}

#[component]
fn TenantMembers(tenant: Uuid) -> impl IntoView {
    let session = Session::get();
    let ui = Ui::get();
    let members = LocalResource::new(move || endpoints::members(tenant));
    let invitations = LocalResource::new(move || endpoints::invitations(tenant));
    let abilities = Memo::new(move |_| session.abilities());
    let me = Memo::new(move |_| session.user.with(|it| it.as_ref().map(|u| u.id)));
    let pending = RwSignal::new(None::<Pending>);
    let confirm_open = RwSignal::new(false);

    let confirm = Callback::new(move |()| {
        let Some(action) = pending.get_untracked() else {
            return;
        };
        spawn_local(async move {
            let result = match &action {
                Pending::Remove(member) => endpoints::remove_member(tenant, member.user_id).await,
                Pending::Revoke(invitation) => {
                    endpoints::revoke_invitation(tenant, invitation.id).await
                }
            };
            match (result, action) {
                (Ok(()), Pending::Remove(member)) => {
                    ui.success(format!("Removed {}.", member.email));
                    members.refetch();
                }
                (Ok(()), Pending::Revoke(invitation)) => {
                    ui.success(format!("Revoked the invitation of {}.", invitation.email));
                    invitations.refetch();
                }
                (Err(e), _) => ui.error(e.message()),
            }
        });
    });
    let message = Signal::derive(move || {
        pending.with(|it| match it {
            Some(Pending::Remove(member)) => format!(
                "{} loses access to this tenant at once. You can invite them again later.",
                member.email
            ),
            Some(Pending::Revoke(invitation)) => {
                format!("The link sent to {} stops working.", invitation.email)
            }
            None => String::new(),
        })
    });

    view! {
        <section class="card" aria-labelledby="members-title">
            <h2 id="members-title">"Members"</h2>
            {loaded(members, move |list: Vec<MemberView>| {
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Member"</th>
                                    <th scope="col">"Role"</th>
                                    <th scope="col">"Joined"</th>
                                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list
                                    .into_iter()
                                    .map(|member| {
                                        let for_remove = member.clone();
                                        let editable = move || {
                                            let a = abilities.get();
                                            a.manage_members
                                                && (a.manage_owners || member.role != api_types::manage::RoleName::Owner)
                                        };
                                        let is_me = me.get_untracked() == Some(member.user_id);
                                        let joined = format::date(member.joined_at);
                                        let role_label = format::role(member.role);
                                        let for_editor = member.clone();
                                        view! {
                                            <tr>
                                                <th scope="row">
                                                    <span class="member-email">{member.email.clone()}</span>
                                                    {member.display_name.clone().map(|n| view! { <span class="muted">" · " {n}</span> })}
                                                    {is_me.then(|| view! { <span class="badge">"You"</span> })}
                                                </th>
                                                <td>
                                                    {move || if editable() {
                                                        view! { <RoleEditor tenant=tenant member=for_editor.clone() on_changed=Callback::new(move |()| members.refetch()) /> }.into_any()
                                                    } else {
                                                        view! { <span>{role_label}</span> }.into_any()
                                                    }}
                                                </td>
                                                <td>{joined}</td>
                                                <td class="actions">
                                                    <Show when=move || editable() || is_me>
                                                        <button
                                                            type="button"
                                                            class="button danger small"
                                                            on:click={
                                                                let member = for_remove.clone();
                                                                move |_| {
                                                                    pending.set(Some(Pending::Remove(member.clone())));
                                                                    confirm_open.set(true);
                                                                }
                                                            }
                                                        >
                                                            {if is_me { "Leave" } else { "Remove" }}
                                                        </button>
                                                    </Show>
                                                </td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
            })}
        </section>
        <Show when=move || abilities.get().manage_members>
            <InviteForm tenant=tenant on_invited=Callback::new(move |()| invitations.refetch()) />
        </Show>
        <section class="card" aria-labelledby="invitations-title">
            <h2 id="invitations-title">"Invitations"</h2>
            {loaded(invitations, move |list: Vec<InvitationView>| {
                if list.is_empty() {
                    return view! { <Empty title="No invitations"><p>"Invite a colleague with the form above."</p></Empty> }.into_any();
                }
                let today = now();
                view! {
                    <div class="table-wrap">
                        <table>
                            <thead>
                                <tr>
                                    <th scope="col">"Email"</th>
                                    <th scope="col">"Role"</th>
                                    <th scope="col">"Status"</th>
                                    <th scope="col">"Expires"</th>
                                    <th scope="col"><span class="sr-only">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list
                                    .into_iter()
                                    .map(|invitation| {
                                        let open = invitation.status == "pending";
                                        let for_revoke = invitation.clone();
                                        view! {
                                            <tr class:inactive=!open>
                                                <th scope="row">{invitation.email.clone()}</th>
                                                <td>{format::role(invitation.role)}</td>
                                                <td><span class=format!("badge status-{}", invitation.status)>{invitation.status.clone()}</span></td>
                                                <td>{format::relative(invitation.expires_at, today)}</td>
                                                <td class="actions">
                                                    <Show when=move || open && abilities.get().manage_members>
                                                        <button
                                                            type="button"
                                                            class="button danger small"
                                                            on:click={
                                                                let invitation = for_revoke.clone();
                                                                move |_| {
                                                                    pending.set(Some(Pending::Revoke(invitation.clone())));
                                                                    confirm_open.set(true);
                                                                }
                                                            }
                                                        >
                                                            "Revoke"
                                                        </button>
                                                    </Show>
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
            })}
        </section>
        <ConfirmDialog
            open=confirm_open
            id="members-confirm"
            title="Are you sure?"
            message=message
            confirm_label="Yes, do it"
            danger=true
            on_confirm=confirm
        />
    }
}

/// A role select with its own "Change" button: changing a role is deliberate, not a side
/// effect of arrowing through a select.
#[component]
fn RoleEditor(tenant: Uuid, member: MemberView, on_changed: Callback<()>) -> impl IntoView {
    let ui = Ui::get();
    let session = Session::get();
    let chosen = RwSignal::new(format::role_value(member.role).to_owned());
    let select_id = format!("role-{}", member.user_id);
    let label = format!("Role of {}", member.email);
    let user = member.user_id;
    let current = member.role;
    let options = Signal::derive(move || {
        let owners = session.abilities().manage_owners;
        format::ROLES
            .iter()
            .filter(|role| {
                owners || **role != api_types::manage::RoleName::Owner || current == **role
            })
            .map(|role| {
                (
                    format::role_value(*role).to_owned(),
                    format::role(*role).to_owned(),
                )
            })
            .collect::<Vec<_>>()
    });
    let apply = move |_| {
        let Some(role) = format::parse_role(&chosen.get_untracked()) else {
            return;
        };
        spawn_local(async move {
            match endpoints::set_member_role(tenant, user, role).await {
                Ok(()) => {
                    ui.success(format!("Role changed to {}.", format::role(role)));
                    on_changed.run(());
                }
                Err(e) => ui.error(e.message()),
            }
        });
    };
    view! {
        <div class="role-editor">
            <label class="sr-only" for=select_id.clone()>{label}</label>
            <select id=select_id on:change=move |ev| chosen.set(event_target_value(&ev))>
                {move || options.get().into_iter().map(|(value, text)| {
                    let selected = value == format::role_value(current);
                    view! { <option value=value selected=selected>{text}</option> }
                }).collect_view()}
            </select>
            <button
                type="button"
                class="button secondary small"
                disabled=move || chosen.get() == format::role_value(current)
                on:click=apply
            >
                "Change"
            </button>
        </div>
    }
}

#[component]
fn InviteForm(tenant: Uuid, on_invited: Callback<()>) -> impl IntoView {
    let session = Session::get();
    let email = RwSignal::new(String::new());
    let role = RwSignal::new("developer".to_owned());
    let form = FormState::new();
    let invited = RwSignal::new(None::<CreatedInvitation>);
    let roles = Signal::derive(move || {
        let owners = session.abilities().manage_owners;
        format::ROLES
            .iter()
            .filter(|it| owners || **it != api_types::manage::RoleName::Owner)
            .map(|it| {
                (
                    format::role_value(*it).to_owned(),
                    format!("{}: {}", format::role(*it), format::role_summary(*it)),
                )
            })
            .collect::<Vec<_>>()
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.begin() {
            return;
        }
        let mut errors = FieldErrors::new();
        let address = validate::email(&email.get_untracked())
            .map_err(|e| errors.add("email", e))
            .ok();
        let chosen = format::parse_role(&role.get_untracked());
        if chosen.is_none() {
            errors.add("role", "Choose a role.");
        }
        let (Some(address), Some(chosen)) = (address, chosen) else {
            form.invalid(errors);
            return;
        };
        let request = CreateInvitationRequest {
            email: address,
            role: chosen,
        };
        spawn_local(async move {
            let result = endpoints::invite(tenant, &request).await;
            form.finish(&result);
            if let Ok(created) = result {
                email.set(String::new());
                invited.set(Some(created));
                on_invited.run(());
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="invite-title">
            <h2 id="invite-title">"Invite a colleague"</h2>
            {move || invited.get().map(|created| view! {
                <SecretOnce
                    id="invitation-link"
                    title=format!("Invitation for {}", created.invitation.email)
                    secret=created.url
                    note="We emailed this link. You can also pass it on yourself: it is shown only now, and works once, for the invited address."
                    on_done=Callback::new(move |()| invited.set(None))
                />
            })}
            <form on:submit=submit novalidate>
                <FormError form=form />
                <div class="field-row">
                    <TextField id="invite-email" label="Email address" kind="email" value=email required=true error=form.field("email") />
                    <SelectField id="invite-role" label="Role" value=role options=roles error=form.field("role") />
                </div>
                <SubmitButton form=form label="Send invitation" busy_label="Inviting…" />
            </form>
        </section>
    }
}
