//! Partners, their domains and administrators.

/// Loads every partner matching `$where` (a `where ...` clause over `partners p`, binding
/// `$bind` as `$1` when given), with its domains, oldest first.
#[macro_export]
#[doc(hidden)]
macro_rules! load_partners {
    ($executor:expr, $where:expr $(, $bind:expr)?) => {{
        let rows = ::sqlx::query(concat!(
            "select p.id, p.name, p.branding, p.key_prefix, p.created_at from partners p ",
            $where,
            " order by p.created_at, p.id"
        ))
        $(.bind($bind))?
        .fetch_all(&mut *$executor)
        .await
        .map_err($crate::map_err)?;
        let mut partners: Vec<::domain::partner::Partner> = rows
            .iter()
            .map($crate::partner_from_row)
            .collect::<Result<_, _>>()?;
        if !partners.is_empty() {
            let domains: Vec<(String, String, String, i64, Option<i64>)> = ::sqlx::query_as(
                "select partner_id, host, challenge, created_at, verified_at from partner_domains \
                 order by created_at, host",
            )
            .fetch_all(&mut *$executor)
            .await
            .map_err($crate::map_err)?;
            for (partner_id, host, challenge, created_at, verified_at) in domains {
                if let Some(partner) = partners
                    .iter_mut()
                    .find(|it| it.id.to_string() == partner_id)
                {
                    partner.domains.push(::domain::partner::PartnerDomain {
                        host,
                        challenge,
                        created_at: $crate::from_micros(created_at)?,
                        verified_at: verified_at.map($crate::from_micros).transpose()?,
                    });
                }
            }
        }
        Ok::<_, ::store::Error>(partners)
    }};
}

#[macro_export]
#[doc(hidden)]
macro_rules! impl_partner_store {
    ($store:ty, $db:ty) => {
        impl $store {
            fn partner_conflict(e: ::sqlx::Error, what: &str) -> ::store::Error {
                match $crate::map_err(e) {
                    ::store::Error::Conflict(_) => ::store::Error::Conflict(what.to_owned()),
                    other => other,
                }
            }

            /// Inserts a claim of `partner`, refusing a host another partner holds verified
            /// (the unique index on verified hosts catches a race with a concurrent proof).
            async fn insert_partner_domain(
                tx: &mut ::sqlx::Transaction<'static, $db>,
                partner: ::domain::PartnerId,
                domain: &::domain::partner::PartnerDomain,
            ) -> Result<(), ::store::Error> {
                let taken: Option<(String,)> = ::sqlx::query_as(
                    "select partner_id from partner_domains \
                     where host = $1 and verified_at is not null and partner_id <> $2",
                )
                .bind(&domain.host)
                .bind(partner.to_string())
                .fetch_optional(&mut **tx)
                .await
                .map_err($crate::map_err)?;
                if taken.is_some() {
                    return Err(::store::Error::Conflict(
                        "that domain belongs to another partner".into(),
                    ));
                }
                ::sqlx::query(
                    "insert into partner_domains (partner_id, host, challenge, created_at, verified_at) \
                     values ($1, $2, $3, $4, $5)",
                )
                .bind(partner.to_string())
                .bind(&domain.host)
                .bind(&domain.challenge)
                .bind($crate::micros(domain.created_at))
                .bind(domain.verified_at.map($crate::micros))
                .execute(&mut **tx)
                .await
                .map_err(|e| {
                    Self::partner_conflict(
                        e,
                        "that domain is the partner's already, or belongs to another partner",
                    )
                })?;
                Ok(())
            }
        }

        #[::async_trait::async_trait]
        impl ::store::PartnerStore for $store {
            async fn create_partner(
                &self,
                partner: &::domain::partner::Partner,
                first_admin: Option<::domain::UserId>,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let branding = ::serde_json::to_string(&partner.branding)
                    .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                ::sqlx::query(
                    "insert into partners (id, name, branding, key_prefix, created_at) \
                     values ($1, $2, $3, $4, $5)",
                )
                .bind(partner.id.to_string())
                .bind(&partner.name)
                .bind(branding)
                .bind(&partner.key_prefix)
                .bind($crate::micros(partner.created_at))
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    Self::partner_conflict(e, "a partner with that name or key prefix exists already")
                })?;
                for domain in &partner.domains {
                    if let Err(e) = Self::insert_partner_domain(&mut tx, partner.id, domain).await {
                        let _ = tx.rollback().await;
                        return Err(e);
                    }
                }
                if let Some(user) = first_admin {
                    ::sqlx::query(
                        "insert into partner_admins (partner_id, user_id, created_at) values ($1, $2, $3)",
                    )
                    .bind(partner.id.to_string())
                    .bind(user.to_string())
                    .bind($crate::micros(partner.created_at))
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                }
                Self::commit_change(tx, audit).await
            }

            async fn get_partner(
                &self,
                id: ::domain::PartnerId,
            ) -> Result<::domain::partner::Partner, ::store::Error> {
                let mut conn = self.pool.acquire().await.map_err($crate::map_err)?;
                let mut partners =
                    $crate::load_partners!(conn, "where p.id = $1", id.to_string())?;
                partners.pop().ok_or(::store::Error::NotFound)
            }

            async fn list_partners(
                &self,
            ) -> Result<Vec<::domain::partner::Partner>, ::store::Error> {
                let mut conn = self.pool.acquire().await.map_err($crate::map_err)?;
                $crate::load_partners!(conn, "")
            }

            async fn partner_by_host(
                &self,
                host: &str,
            ) -> Result<Option<::domain::partner::Partner>, ::store::Error> {
                let mut conn = self.pool.acquire().await.map_err($crate::map_err)?;
                let mut partners = $crate::load_partners!(
                    conn,
                    "where p.id in (select partner_id from partner_domains \
                     where host = $1 and verified_at is not null)",
                    host.to_owned()
                )?;
                Ok(partners.pop())
            }

            async fn partners_of(
                &self,
                user: ::domain::UserId,
            ) -> Result<Vec<::domain::partner::Partner>, ::store::Error> {
                let mut conn = self.pool.acquire().await.map_err($crate::map_err)?;
                $crate::load_partners!(
                    conn,
                    "where p.id in (select partner_id from partner_admins where user_id = $1)",
                    user.to_string()
                )
            }

            async fn is_partner_admin(
                &self,
                partner: ::domain::PartnerId,
                user: ::domain::UserId,
            ) -> Result<bool, ::store::Error> {
                let row: Option<(String,)> = ::sqlx::query_as(
                    "select partner_id from partner_admins where partner_id = $1 and user_id = $2",
                )
                .bind(partner.to_string())
                .bind(user.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err($crate::map_err)?;
                Ok(row.is_some())
            }

            async fn update_branding(
                &self,
                partner: ::domain::PartnerId,
                branding: &::domain::partner::Branding,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let branding = ::serde_json::to_string(branding)
                    .map_err(|e| ::store::Error::Other(Box::new(e)))?;
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query("update partners set branding = $1 where id = $2")
                    .bind(branding)
                    .bind(partner.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::commit_change(tx, audit).await
            }

            async fn add_partner_domain(
                &self,
                partner: ::domain::PartnerId,
                domain: &::domain::partner::PartnerDomain,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                if let Err(e) = Self::insert_partner_domain(&mut tx, partner, domain).await {
                    // Released now, not when the connection is next used: on SQLite the
                    // failed insert holds the write lock, and the next claim of the same
                    // host (read, then write) would fail with "database is locked".
                    let _ = tx.rollback().await;
                    return Err(e);
                }
                Self::commit_change(tx, audit).await
            }

            async fn verify_partner_domain(
                &self,
                partner: ::domain::PartnerId,
                host: &str,
                at: ::time::OffsetDateTime,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query(
                    "update partner_domains set verified_at = coalesce(verified_at, $1) \
                     where partner_id = $2 and host = $3",
                )
                .bind($crate::micros(at))
                .bind(partner.to_string())
                .bind(host)
                .execute(&mut *tx)
                .await
                .map_err(|e| Self::partner_conflict(e, "that domain belongs to another partner"));
                let changed = done.and_then(|it| $crate::one_row_changed(it.rows_affected()));
                if let Err(e) = changed {
                    let _ = tx.rollback().await;
                    return Err(e);
                }
                Self::commit_change(tx, audit).await
            }

            async fn partner_affiliations(
                &self,
                user: ::domain::UserId,
            ) -> Result<Vec<Option<::domain::PartnerId>>, ::store::Error> {
                let rows: Vec<(Option<String>,)> = ::sqlx::query_as(
                    "select t.partner_id from memberships m join tenants t on t.id = m.tenant_id \
                     where m.user_id = $1 \
                     union select partner_id from partner_admins where user_id = $1",
                )
                .bind(user.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.into_iter()
                    .map(|(partner,)| {
                        partner
                            .map(|it| it.parse().map_err(|e| ::store::Error::Other(Box::new(e))))
                            .transpose()
                    })
                    .collect()
            }

            async fn remove_partner_domain(
                &self,
                partner: ::domain::PartnerId,
                host: &str,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done =
                    ::sqlx::query("delete from partner_domains where partner_id = $1 and host = $2")
                        .bind(partner.to_string())
                        .bind(host)
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                Self::commit_change(tx, audit).await
            }

            async fn add_partner_admin(
                &self,
                partner: ::domain::PartnerId,
                user: ::domain::UserId,
                at: ::time::OffsetDateTime,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                ::sqlx::query(
                    "insert into partner_admins (partner_id, user_id, created_at) values ($1, $2, $3)",
                )
                .bind(partner.to_string())
                .bind(user.to_string())
                .bind($crate::micros(at))
                .execute(&mut *tx)
                .await
                .map_err(|e| Self::partner_conflict(e, "that user administers the partner already"))?;
                Self::commit_change(tx, audit).await
            }

            async fn remove_partner_admin(
                &self,
                partner: ::domain::PartnerId,
                user: ::domain::UserId,
                audit: &::domain::AuditEntry,
            ) -> Result<(), ::store::Error> {
                let mut tx = self.pool.begin().await.map_err($crate::map_err)?;
                let done = ::sqlx::query(
                    "delete from partner_admins where partner_id = $1 and user_id = $2",
                )
                .bind(partner.to_string())
                .bind(user.to_string())
                .execute(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                $crate::one_row_changed(done.rows_affected())?;
                let (left,): (i64,) = ::sqlx::query_as(
                    "select count(*) from partner_admins where partner_id = $1",
                )
                .bind(partner.to_string())
                .fetch_one(&mut *tx)
                .await
                .map_err($crate::map_err)?;
                if left == 0 {
                    return Err(::store::Error::Conflict(
                        "a partner keeps at least one administrator".into(),
                    ));
                }
                Self::commit_change(tx, audit).await
            }

            async fn list_partner_admins(
                &self,
                partner: ::domain::PartnerId,
            ) -> Result<Vec<::domain::partner::PartnerAdmin>, ::store::Error> {
                let rows: Vec<(String, String, i64)> = ::sqlx::query_as(
                    "select a.user_id, u.email, a.created_at from partner_admins a \
                     join users u on u.id = a.user_id where a.partner_id = $1 \
                     order by a.created_at, a.user_id",
                )
                .bind(partner.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?;
                rows.into_iter()
                    .map(|(user, email, at)| {
                        Ok(::domain::partner::PartnerAdmin {
                            user_id: user
                                .parse()
                                .map_err(|e| ::store::Error::Other(Box::new(e)))?,
                            email,
                            added_at: $crate::from_micros(at)?,
                        })
                    })
                    .collect()
            }

            async fn list_partner_tenants(
                &self,
                partner: ::domain::PartnerId,
            ) -> Result<Vec<::domain::Tenant>, ::store::Error> {
                ::sqlx::query(
                    "select id, name, status, partner_id, created_at from tenants \
                     where partner_id = $1 order by created_at, id",
                )
                .bind(partner.to_string())
                .fetch_all(&self.pool)
                .await
                .map_err($crate::map_err)?
                .iter()
                .map($crate::tenant_from_row)
                .collect()
            }
        }
    };
}
