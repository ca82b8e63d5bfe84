//! Tenants, their members and roles, invitations, and the audit trail they can read.

use domain::session::{INVITATION_LIFETIME, Invitation, Member, random_token};
use domain::{
    AuditEvent, Email, InvitationId, KeyHash, Permission, Role, Tenant, TenantId, UserId,
};
use store::AuditFilter;
use time::OffsetDateTime;

use crate::mail::Message;
use crate::{Access, Error, Identity, Manager};

/// A new invitation and its secret link, shown once to the inviter.
#[derive(Debug, Clone)]
pub struct InvitationLink {
    pub invitation: Invitation,
    pub url: String,
}

impl Manager {
    /// Creates a tenant owned by the caller.
    ///
    /// # Errors
    /// An unverified caller, an invalid or taken name.
    pub async fn create_tenant(&self, identity: &Identity, name: &str) -> Result<Tenant, Error> {
        if !identity.user.is_verified() {
            return Err(Error::EmailNotVerified);
        }
        let tenant = Tenant::new(name, OffsetDateTime::now_utc())
            .map_err(|e| Error::invalid("name", e.to_string()))?;
        let audit = identity
            .audit(Some(tenant.id), "tenant.create")
            .target("tenant", tenant.id)
            .change(
                None,
                Some(serde_json::json!({ "name": tenant.name }).to_string()),
            );
        self.store
            .create_tenant_with_owner(&tenant, identity.user.id, &audit)
            .await?;
        self.changed().await;
        Ok(tenant)
    }

    /// The tenants the caller belongs to (every tenant, for operators), with the caller's role.
    ///
    /// # Errors
    /// Store failures.
    pub async fn tenants_of(
        &self,
        identity: &Identity,
    ) -> Result<Vec<(Tenant, Option<Role>)>, Error> {
        let mine = self.store.tenants_of(identity.user.id).await?;
        if !identity.user.is_operator {
            return Ok(mine.into_iter().map(|(t, r)| (t, Some(r))).collect());
        }
        let all = self.store.list_tenants().await?;
        Ok(all
            .into_iter()
            .map(|t| {
                let role = mine.iter().find(|(m, _)| m.id == t.id).map(|(_, r)| *r);
                (t, role)
            })
            .collect())
    }

    /// One tenant the caller may see.
    ///
    /// # Errors
    /// As for [`Manager::authorize`].
    pub async fn tenant(
        &self,
        identity: &Identity,
        tenant: TenantId,
    ) -> Result<(Tenant, Access), Error> {
        let access = self
            .authorize(identity, tenant, Permission::ViewTenant)
            .await?;
        Ok((self.store.get_tenant(tenant).await?, access))
    }

    /// # Errors
    /// As for [`Manager::authorize`].
    pub async fn members(
        &self,
        identity: &Identity,
        tenant: TenantId,
    ) -> Result<Vec<Member>, Error> {
        self.authorize(identity, tenant, Permission::ViewMembers)
            .await?;
        Ok(self.store.list_members(tenant).await?)
    }

    /// Changes a member's role.
    ///
    /// # Errors
    /// Missing permission, touching owners without being one, removing the last owner.
    pub async fn set_member_role(
        &self,
        identity: &Identity,
        tenant: TenantId,
        user: UserId,
        role: Role,
    ) -> Result<(), Error> {
        let access = self
            .authorize(identity, tenant, Permission::ManageMembers)
            .await?;
        let current = self
            .store
            .role_of(tenant, user)
            .await?
            .ok_or(Error::NotFound("member"))?;
        if !access.may_assign(current) || !access.may_assign(role) {
            return Err(Error::Forbidden(
                "only owners may make or change owners".into(),
            ));
        }
        let audit = identity
            .audit(Some(tenant), "member.role_change")
            .target("user", user)
            .change(
                Some(serde_json::json!({ "role": current.as_str() }).to_string()),
                Some(serde_json::json!({ "role": role.as_str() }).to_string()),
            );
        self.store
            .set_member_role(tenant, user, role, &audit)
            .await
            .map_err(Error::missing("member"))?;
        self.changed().await;
        Ok(())
    }

    /// Removes a member (a member may also leave on their own).
    ///
    /// # Errors
    /// As for [`Manager::set_member_role`].
    pub async fn remove_member(
        &self,
        identity: &Identity,
        tenant: TenantId,
        user: UserId,
    ) -> Result<(), Error> {
        let leaving = user == identity.user.id;
        let access = if leaving {
            self.authorize(identity, tenant, Permission::ViewTenant)
                .await?
        } else {
            self.authorize(identity, tenant, Permission::ManageMembers)
                .await?
        };
        let current = self
            .store
            .role_of(tenant, user)
            .await?
            .ok_or(Error::NotFound("member"))?;
        if !leaving && !access.may_assign(current) {
            return Err(Error::Forbidden("only owners may remove owners".into()));
        }
        let audit = identity
            .audit(
                Some(tenant),
                if leaving {
                    "member.leave"
                } else {
                    "member.remove"
                },
            )
            .target("user", user)
            .change(
                Some(serde_json::json!({ "role": current.as_str() }).to_string()),
                None,
            );
        self.store
            .remove_member(tenant, user, &audit)
            .await
            .map_err(Error::missing("member"))?;
        self.changed().await;
        Ok(())
    }

    /// Invites someone by email; the link is mailed and returned once.
    ///
    /// # Errors
    /// Missing permission, inviting to a role above one's own, an invalid address.
    pub async fn invite(
        &self,
        identity: &Identity,
        tenant: TenantId,
        email: &str,
        role: Role,
    ) -> Result<InvitationLink, Error> {
        let access = self
            .authorize(identity, tenant, Permission::ManageMembers)
            .await?;
        if !access.may_assign(role) {
            return Err(Error::Forbidden("only owners may invite owners".into()));
        }
        let email = Email::parse(email).map_err(|e| Error::invalid("email", e.to_string()))?;
        let members = self.store.list_members(tenant).await?;
        if members.iter().any(|it| it.email == email) {
            return Err(Error::Conflict(format!("`{email}` is a member already")));
        }
        let now = OffsetDateTime::now_utc();
        let secret = random_token();
        let invitation = Invitation {
            id: InvitationId::new(),
            tenant_id: tenant,
            email: email.clone(),
            role,
            token_hash: KeyHash::of(&secret),
            invited_by: identity.user.id,
            created_at: now,
            expires_at: now + INVITATION_LIFETIME,
            accepted_at: None,
            revoked_at: None,
        };
        let audit = identity
            .audit(Some(tenant), "invitation.create")
            .target("invitation", invitation.id)
            .change(
                None,
                Some(
                    serde_json::json!({ "email": email.as_str(), "role": role.as_str() })
                        .to_string(),
                ),
            );
        self.store.create_invitation(&invitation, &audit).await?;
        let tenant = self.store.get_tenant(tenant).await?;
        let tenant_name = tenant.name.clone();
        let crate::accounts::MailOrigin { base, brand } = self.tenant_mail_origin(&tenant).await?;
        let url = format!("{base}/accept-invitation?token={secret}");
        let sent = self
            .mailer
            .send(Message {
                to: email,
                subject: match &brand {
                    Some(name) => format!("{name}: you are invited to {tenant_name}"),
                    None => format!("You are invited to {tenant_name}"),
                },
                body: format!(
                    "Hello,\n\n{} invites you to join {tenant_name} as {}. Accept here:\n\n{url}\n\nThe link works once, for 7 days.\n{}",
                    identity.user.email,
                    role.as_str(),
                    brand.as_ref().map(|name| format!("\n{name}\n")).unwrap_or_default()
                ),
            })
            .await;
        if let Err(e) = sent {
            // The invitation stands and its link is in the answer: the inviter can pass it on.
            tracing::error!(error = %e, "invitation mail could not be sent");
        }
        Ok(InvitationLink { invitation, url })
    }

    /// # Errors
    /// As for [`Manager::authorize`].
    pub async fn invitations(
        &self,
        identity: &Identity,
        tenant: TenantId,
    ) -> Result<Vec<Invitation>, Error> {
        self.authorize(identity, tenant, Permission::ViewMembers)
            .await?;
        Ok(self.store.list_invitations(tenant).await?)
    }

    /// # Errors
    /// Missing permission; `NotFound` when the invitation is not open in this tenant.
    pub async fn revoke_invitation(
        &self,
        identity: &Identity,
        tenant: TenantId,
        id: InvitationId,
    ) -> Result<(), Error> {
        self.authorize(identity, tenant, Permission::ManageMembers)
            .await?;
        let audit = identity
            .audit(Some(tenant), "invitation.revoke")
            .target("invitation", id);
        self.store
            .revoke_invitation(tenant, id, OffsetDateTime::now_utc(), &audit)
            .await
            .map_err(Error::missing("invitation"))
    }

    /// Accepts an invitation for the signed-in caller, whose address must be the invited one.
    ///
    /// # Errors
    /// `Invalid` (`token`) for unknown, used, revoked or expired links; `Forbidden` for
    /// another address; `Conflict` when already a member.
    pub async fn accept_invitation(
        &self,
        identity: &Identity,
        token: &str,
    ) -> Result<(TenantId, Role), Error> {
        let now = OffsetDateTime::now_utc();
        let invitation = self
            .store
            .find_invitation(KeyHash::of(token.trim()))
            .await?
            .filter(|it| it.is_open(now))
            .ok_or_else(|| {
                Error::invalid(
                    "token",
                    "the invitation is invalid, used, revoked or expired",
                )
            })?;
        if invitation.email != identity.user.email {
            return Err(Error::Forbidden(
                "this invitation is for another email address; sign in as the invited person"
                    .into(),
            ));
        }
        let audit = identity
            .audit(Some(invitation.tenant_id), "invitation.accept")
            .target("invitation", invitation.id)
            .change(
                None,
                Some(serde_json::json!({ "role": invitation.role.as_str() }).to_string()),
            );
        let res = self
            .store
            .accept_invitation(invitation.id, identity.user.id, now, &audit)
            .await
            .map_err(|e| match e {
                store::Error::NotFound => Error::invalid(
                    "token",
                    "the invitation is invalid, used, revoked or expired",
                ),
                other => other.into(),
            })?;
        // Accepting proves the address.
        if !identity.user.is_verified() {
            let verified = identity
                .audit(None, "user.verify_email")
                .target("user", identity.user.id);
            self.store
                .mark_email_verified(identity.user.id, now, &verified)
                .await?;
        }
        self.changed().await;
        Ok(res)
    }

    /// The tenant's audit trail, newest first.
    ///
    /// # Errors
    /// Missing permission.
    pub async fn audit_events(
        &self,
        identity: &Identity,
        tenant: TenantId,
        mut filter: AuditFilter,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, Error> {
        self.authorize(identity, tenant, Permission::ViewAudit)
            .await?;
        filter.tenant = Some(tenant);
        Ok(self
            .store
            .list_audit(&filter, before_seq, limit.clamp(1, 500))
            .await?)
    }
}
