//! Users, sessions, personal access tokens, members, invitations and the audit log.

/// The columns of `users`, as `user_from_row` reads them.
#[macro_export]
#[doc(hidden)]
macro_rules! user_columns {
    () => {
        "id, email, display_name, password_hash, email_verified_at, is_operator, failed_logins, \
         locked_until, created_at"
    };
}

/// The columns of `personal_access_tokens`, as `token_from_row` reads them.
#[macro_export]
#[doc(hidden)]
macro_rules! token_columns {
    () => {
        "id, user_id, name, token_hash, display_prefix, last_four, created_at, expires_at, revoked_at"
    };
}

/// The columns of `invitations`, as `invitation_from_row` reads them.
#[macro_export]
#[doc(hidden)]
macro_rules! invitation_columns {
    () => {
        "id, tenant_id, email, role, token_hash, invited_by, created_at, expires_at, accepted_at, \
         revoked_at"
    };
}

/// The columns of `audit_events`, as `audit_from_row` reads them.
#[macro_export]
#[doc(hidden)]
macro_rules! audit_columns {
    () => {
        "seq, id, tenant_id, actor_kind, actor_id, actor_label, action, target_kind, target_id, \
         ip, before_json, after_json, created_at, prev_hash, hash"
    };
}

#[macro_export]
#[doc(hidden)]
macro_rules! impl_account_store {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Fails with `Conflict` when `tenant` would have no owner left.
            async fn ensure_an_owner_remains(
                tx: &mut ::sqlx::Transaction<'_, $db>,
                tenant: ::domain::TenantId,
            ) -> ::std::result::Result<(), ::store::Error> {
                let owners: i64 = ::sqlx::query_scalar(
                    "select count(*) from memberships where tenant_id = $1 and role = 'owner'",
                )
                .bind(tenant.to_string())
                .fetch_one(&mut **tx)
                .await
                .map_err($crate::map_err)?;
                if owners == 0 {
                    return Err(::store::Error::Conflict(
                        "a tenant must keep at least one owner".into(),
                    ));
                }
                Ok(())
            }
        }

        #[::async_trait::async_trait]
        impl ::store::AccountStore for $store {
            async fn create_user(
                &self,
                user: &::domain::User,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                ::sqlx::query(concat!(
                    "insert into users (",
                    $crate::user_columns!(),
                    ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ))
                .bind(user.id.to_string())
                .bind(user.email.as_str())
                .bind(&user.display_name)
                .bind(&user.password_hash)
                .bind(user.email_verified_at.map($crate::micros))
                .bind(user.is_operator)
                .bind(i64::from(user.failed_logins))
                .bind(user.locked_until.map($crate::micros))
                .bind($crate::micros(user.created_at))
                .execute(&mut *tx)
                .await
                .map_err(|e| match $crate::map_err(e) {
                    ::store::Error::Conflict(_) => ::store::Error::Conflict(
                        "an account with this email address exists already".into(),
                    ),
                    other => other,
                })?;
                Self::append_audit(&mut tx, audit).await?;
                tx.commit().await.map_err($crate::map_err)
            }

            async fn get_user(&self, id: ::domain::UserId) -> Result<::domain::User, ::store::Error> {
                let row = ::sqlx::query(concat!("select ", $crate::user_columns!(), " from users where id = $1"))
                    .bind(id.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                $crate::user_from_row(&row)
            }

            async fn find_user_by_email(
                &self,
                email: &::domain::Email,
            ) -> Result<Option<::domain::User>, ::store::Error> {
                let row = ::sqlx::query(concat!("select ", $crate::user_columns!(), " from users where email = $1"))
                    .bind(email.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                row.as_ref().map($crate::user_from_row).transpose()
            }

            async fn count_users(&self) -> Result<u64, ::store::Error> {
                let n: i64 = ::sqlx::query_scalar("select count(*) from users")
                    .fetch_one(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn record_failed_login(
                &self,
                id: ::domain::UserId,
                max_failures: u32,
                lock_until: ::time::OffsetDateTime,
            ) -> Result<u32, ::store::Error> {
                let failures: i64 = ::sqlx::query_scalar(
                    "update users set failed_logins = failed_logins + 1, \
                     locked_until = case when failed_logins + 1 >= $1 then $2 else locked_until end \
                     where id = $3 returning failed_logins",
                )
                .bind(i64::from(max_failures))
                .bind($crate::micros(lock_until))
                .bind(id.to_string())
                .fetch_one(&self.pool)
                .await
                .map_err($crate::map_err)?;
                Ok(u32::try_from(failures).unwrap_or(u32::MAX))
            }

            async fn record_successful_login(&self, id: ::domain::UserId) -> Result<(), ::store::Error> {
                ::sqlx::query("update users set failed_logins = 0, locked_until = null where id = $1")
                    .bind(id.to_string())
                    .execute(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                Ok(())
            }

            async fn set_password(
                &self,
                id: ::domain::UserId,
                hash: &str,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query(
                    "update users set password_hash = $1, failed_logins = 0, locked_until = null where id = $2",
                )
                .bind(hash)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                ::sqlx::query("delete from sessions where user_id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                Self::append_audit(&mut tx, audit).await?;
                tx.commit().await.map_err($crate::map_err)
            }

            async fn mark_email_verified(
                &self,
                id: ::domain::UserId,
                at: ::time::OffsetDateTime,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query(
                    "update users set email_verified_at = coalesce(email_verified_at, $1) where id = $2",
                )
                .bind($crate::micros(at))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::append_audit(&mut tx, audit).await?;
                tx.commit().await.map_err($crate::map_err)
            }

            async fn set_operator(
                &self,
                id: ::domain::UserId,
                operator: bool,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query("update users set is_operator = $1 where id = $2")
                    .bind(operator)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                // Operators reach every tenant from the data plane's snapshot too.
                Self::commit_change(tx, audit).await
            }

            async fn create_email_token(
                &self,
                token: &::domain::session::EmailToken,
            ) -> Result<(), ::store::Error> {
                ::sqlx::query(
                    "insert into email_tokens (token_hash, user_id, purpose, created_at, expires_at) \
                     values ($1, $2, $3, $4, $5)",
                )
                .bind(token.hash.to_hex())
                .bind(token.user_id.to_string())
                .bind(token.purpose.as_str())
                .bind($crate::micros(token.created_at))
                .bind($crate::micros(token.expires_at))
                .execute(&self.pool)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn use_email_token(
                &self,
                hash: ::domain::KeyHash,
                purpose: ::domain::session::EmailPurpose,
                now: ::time::OffsetDateTime,
            ) -> Result<::domain::UserId, ::store::Error> {
                let user: Option<String> = ::sqlx::query_scalar(
                    "update email_tokens set used_at = $1 \
                     where token_hash = $2 and purpose = $3 and used_at is null and expires_at > $1 \
                     returning user_id",
                )
                .bind($crate::micros(now))
                .bind(hash.to_hex())
                .bind(purpose.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::map_err)?;
                user.ok_or(::store::Error::NotFound)?
                    .parse()
                    .map_err(|e| ::store::Error::Other(Box::new(e)))
            }
        }

        #[::async_trait::async_trait]
        impl ::store::SessionStore for $store {
            async fn create_session(
                &self,
                session: &::domain::session::Session,
            ) -> Result<(), ::store::Error> {
                ::sqlx::query(
                    "insert into sessions (id_hash, user_id, csrf_token, created_at, expires_at, ip, user_agent) \
                     values ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(session.id_hash.to_hex())
                .bind(session.user_id.to_string())
                .bind(&session.csrf_token)
                .bind($crate::micros(session.created_at))
                .bind($crate::micros(session.expires_at))
                .bind(&session.ip)
                .bind(&session.user_agent)
                .execute(&self.pool)
                .await
                .map_err($crate::map_err)?;
                Ok(())
            }

            async fn get_session(
                &self,
                id_hash: ::domain::KeyHash,
                now: ::time::OffsetDateTime,
            ) -> Result<Option<::domain::session::Session>, ::store::Error> {
                let row = ::sqlx::query(
                    "select id_hash, user_id, csrf_token, created_at, expires_at, ip, user_agent \
                     from sessions where id_hash = $1 and expires_at > $2",
                )
                .bind(id_hash.to_hex())
                .bind($crate::micros(now))
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::map_err)?;
                row.as_ref().map($crate::session_from_row).transpose()
            }

            async fn delete_session(&self, id_hash: ::domain::KeyHash) -> Result<(), ::store::Error> {
                ::sqlx::query("delete from sessions where id_hash = $1")
                    .bind(id_hash.to_hex())
                    .execute(&self.pool)
                    .await
                    .map_err($crate::map_err)?;
                Ok(())
            }

            async fn create_token(
                &self,
                token: &::domain::session::PersonalAccessToken,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                ::sqlx::query(concat!(
                    "insert into personal_access_tokens (",
                    $crate::token_columns!(),
                    ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ))
                .bind(token.id.to_string())
                .bind(token.user_id.to_string())
                .bind(&token.name)
                .bind(token.hash.to_hex())
                .bind(&token.display_prefix)
                .bind(&token.last_four)
                .bind($crate::micros(token.created_at))
                .bind(token.expires_at.map($crate::micros))
                .bind(token.revoked_at.map($crate::micros))
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                Self::append_audit(&mut tx, audit).await?;
                tx.commit().await.map_err($crate::map_err)
            }

            async fn list_tokens(
                &self,
                user: ::domain::UserId,
            ) -> Result<Vec<::domain::session::PersonalAccessToken>, ::store::Error> {
                let rows = ::sqlx::query(concat!(
                    "select ",
                    $crate::token_columns!(),
                    " from personal_access_tokens where user_id = $1 order by created_at, id"
                ))
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::token_from_row).collect()
            }

            async fn find_token(
                &self,
                hash: ::domain::KeyHash,
            ) -> Result<Option<::domain::session::PersonalAccessToken>, ::store::Error> {
                let row = ::sqlx::query(concat!(
                    "select ",
                    $crate::token_columns!(),
                    " from personal_access_tokens where token_hash = $1"
                ))
                .bind(hash.to_hex())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::map_err)?;
                row.as_ref().map($crate::token_from_row).transpose()
            }

            async fn revoke_token(
                &self,
                user: ::domain::UserId,
                id: ::domain::TokenId,
                at: ::time::OffsetDateTime,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query(
                    "update personal_access_tokens set revoked_at = coalesce(revoked_at, $1) \
                     where user_id = $2 and id = $3",
                )
                .bind($crate::micros(at))
                .bind(user.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::append_audit(&mut tx, audit).await?;
                tx.commit().await.map_err($crate::map_err)
            }
        }

        #[::async_trait::async_trait]
        impl ::store::MemberStore for $store {
            async fn create_tenant_with_owner(
                &self,
                tenant: &::domain::Tenant,
                owner: ::domain::UserId,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                ::sqlx::query("insert into tenants (id, name, status, partner_id, created_at) values ($1, $2, $3, $4, $5)")
                    .bind(tenant.id.to_string())
                    .bind(&tenant.name)
                    .bind(tenant.status.as_str())
                    .bind(tenant.partner_id.map(|it| it.to_string()))
                    .bind($crate::micros(tenant.created_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match $crate::map_err(e) {
                        ::store::Error::Conflict(_) => ::store::Error::Conflict(format!(
                            "a tenant named `{}` exists already",
                            tenant.name
                        )),
                        other => other,
                    })?;
                ::sqlx::query(
                    "insert into memberships (tenant_id, user_id, role, created_at) values ($1, $2, 'owner', $3)",
                )
                .bind(tenant.id.to_string())
                .bind(owner.to_string())
                .bind($crate::micros(tenant.created_at))
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                Self::commit_change(tx, audit).await
            }

            async fn tenants_of(
                &self,
                user: ::domain::UserId,
            ) -> Result<Vec<(::domain::Tenant, ::domain::Role)>, ::store::Error> {
                let rows = ::sqlx::query(
                    "select t.id, t.name, t.status, t.partner_id, t.created_at, m.role from memberships m \
                     join tenants t on t.id = m.tenant_id where m.user_id = $1 \
                     order by t.created_at, t.id",
                )
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::tenant_role_from_row).collect()
            }

            async fn role_of(
                &self,
                tenant: ::domain::TenantId,
                user: ::domain::UserId,
            ) -> Result<Option<::domain::Role>, ::store::Error> {
                let role: Option<String> = ::sqlx::query_scalar(
                    "select role from memberships where tenant_id = $1 and user_id = $2",
                )
                .bind(tenant.to_string())
                .bind(user.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::map_err)?;
                Ok(role.as_deref().and_then(::domain::Role::parse))
            }

            async fn list_members(
                &self,
                tenant: ::domain::TenantId,
            ) -> Result<Vec<::domain::session::Member>, ::store::Error> {
                let rows = ::sqlx::query(
                    "select m.tenant_id, m.user_id, u.email, u.display_name, m.role, m.created_at \
                     from memberships m join users u on u.id = m.user_id where m.tenant_id = $1 \
                     order by m.created_at, m.user_id",
                )
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::member_from_row).collect()
            }

            async fn set_member_role(
                &self,
                tenant: ::domain::TenantId,
                user: ::domain::UserId,
                role: ::domain::Role,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query("update memberships set role = $1 where tenant_id = $2 and user_id = $3")
                    .bind(role.as_str())
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::ensure_an_owner_remains(&mut tx, tenant).await?;
                Self::commit_change(tx, audit).await
            }

            async fn remove_member(
                &self,
                tenant: ::domain::TenantId,
                user: ::domain::UserId,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query("delete from memberships where tenant_id = $1 and user_id = $2")
                    .bind(tenant.to_string())
                    .bind(user.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::ensure_an_owner_remains(&mut tx, tenant).await?;
                Self::commit_change(tx, audit).await
            }

            async fn create_invitation(
                &self,
                invitation: &::domain::session::Invitation,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                ::sqlx::query(concat!(
                    "insert into invitations (",
                    $crate::invitation_columns!(),
                    ") values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ))
                .bind(invitation.id.to_string())
                .bind(invitation.tenant_id.to_string())
                .bind(invitation.email.as_str())
                .bind(invitation.role.as_str())
                .bind(invitation.token_hash.to_hex())
                .bind(invitation.invited_by.to_string())
                .bind($crate::micros(invitation.created_at))
                .bind($crate::micros(invitation.expires_at))
                .bind(invitation.accepted_at.map($crate::micros))
                .bind(invitation.revoked_at.map($crate::micros))
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                Self::append_audit(&mut tx, audit).await?;
                tx.commit().await.map_err($crate::map_err)
            }

            async fn list_invitations(
                &self,
                tenant: ::domain::TenantId,
            ) -> Result<Vec<::domain::session::Invitation>, ::store::Error> {
                let rows = ::sqlx::query(concat!(
                    "select ",
                    $crate::invitation_columns!(),
                    " from invitations where tenant_id = $1 order by created_at desc, id desc"
                ))
                .bind(tenant.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::invitation_from_row).collect()
            }

            async fn revoke_invitation(
                &self,
                tenant: ::domain::TenantId,
                id: ::domain::InvitationId,
                at: ::time::OffsetDateTime,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query(
                    "update invitations set revoked_at = $1 where tenant_id = $2 and id = $3 \
                     and accepted_at is null and revoked_at is null",
                )
                .bind($crate::micros(at))
                .bind(tenant.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::append_audit(&mut tx, audit).await?;
                tx.commit().await.map_err($crate::map_err)
            }

            async fn find_invitation(
                &self,
                token: ::domain::KeyHash,
            ) -> Result<Option<::domain::session::Invitation>, ::store::Error> {
                let row = ::sqlx::query(concat!(
                    "select ",
                    $crate::invitation_columns!(),
                    " from invitations where token_hash = $1"
                ))
                .bind(token.to_hex())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::map_err)?;
                row.as_ref().map($crate::invitation_from_row).transpose()
            }

            async fn accept_invitation(
                &self,
                id: ::domain::InvitationId,
                user: ::domain::UserId,
                now: ::time::OffsetDateTime,
                audit: &::domain::AuditEntry,
            ) -> Result<(::domain::TenantId, ::domain::Role), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let row: Option<(String, String)> = ::sqlx::query_as(
                    "update invitations set accepted_at = $1 \
                     where id = $2 and accepted_at is null and revoked_at is null and expires_at > $1 \
                     returning tenant_id, role",
                )
                .bind($crate::micros(now))
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                let (tenant, role) = row.ok_or(::store::Error::NotFound)?;
                ::sqlx::query("insert into memberships (tenant_id, user_id, role, created_at) values ($1, $2, $3, $4)")
                    .bind(&tenant)
                    .bind(user.to_string())
                    .bind(&role)
                    .bind($crate::micros(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| match $crate::map_err(e) {
                        ::store::Error::Conflict(_) => ::store::Error::Conflict(
                            "you are a member of this tenant already".into(),
                        ),
                        other => other,
                    })?;
                Self::commit_change(tx, audit).await?;
                let tenant = tenant.parse().map_err(|e| ::store::Error::Other(Box::new(e)))?;
                let role = ::domain::Role::parse(&role)
                    .ok_or_else(|| ::store::Error::Other("corrupt invitation role".into()))?;
                Ok((tenant, role))
            }
        }

        #[::async_trait::async_trait]
        impl ::store::AuditStore for $store {
            async fn record(&self, entry: &::domain::AuditEntry) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                Self::append_audit(&mut tx, entry).await?;
                tx.commit().await.map_err($crate::map_err)
            }

            async fn list_audit(
                &self,
                filter: &::store::AuditFilter,
                before_seq: Option<i64>,
                limit: u32,
            ) -> Result<Vec<::domain::AuditEvent>, ::store::Error> {
                let mut query: ::sqlx::QueryBuilder<'_, $db> = ::sqlx::QueryBuilder::new(concat!(
                    "select ",
                    $crate::audit_columns!(),
                    " from audit_events where 1 = 1"
                ));
                if let Some(tenant) = filter.tenant {
                    query.push(" and tenant_id = ").push_bind(tenant.to_string());
                }
                if let Some(prefix) = &filter.action_prefix {
                    // Escape LIKE metacharacters: the prefix is taken literally.
                    let escaped = prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                    query
                        .push(" and action like ")
                        .push_bind(format!("{escaped}%"))
                        .push(" escape '\\'");
                }
                if let Some(actor) = &filter.actor_id {
                    query.push(" and actor_id = ").push_bind(actor.clone());
                }
                if let Some(since) = filter.since {
                    query.push(" and created_at >= ").push_bind($crate::micros(since));
                }
                if let Some(until) = filter.until {
                    query.push(" and created_at < ").push_bind($crate::micros(until));
                }
                if let Some(before) = before_seq {
                    query.push(" and seq < ").push_bind(before);
                }
                query.push(" order by seq desc limit ").push_bind(i64::from(limit));
                let rows = query.build().fetch_all(&self.pool).await.map_err($crate::map_err)?;
                rows.iter().map($crate::audit_from_row).collect()
            }

            async fn audit_chain(
                &self,
                after_seq: i64,
                limit: u32,
            ) -> Result<Vec<::domain::AuditEvent>, ::store::Error> {
                let rows = ::sqlx::query(concat!(
                    "select ",
                    $crate::audit_columns!(),
                    " from audit_events where seq > $1 order by seq limit $2"
                ))
                .bind(after_seq)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.iter().map($crate::audit_from_row).collect()
            }
        }
    };
}
