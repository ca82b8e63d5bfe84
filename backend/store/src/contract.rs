//! The contract every `Store` implementation must honour, as reusable async test bodies.
//!
//! Each backend instantiates all of them with [`store_contract_tests!`](crate::store_contract_tests),
//! giving a function that returns a fresh, migrated, empty store.

#![expect(clippy::unwrap_used, reason = "contract tests fail loudly")]

use domain::{
    Actor, ApiKey, ApiKeyId, AuditEntry, KeyHash, RequestId, Tenant, TenantId, TenantStatus,
    UsageAttempt, UsageId, UsageRecord, UsageStatus,
};
use time::OffsetDateTime;

use crate::{Error, Store};

/// Expands to one `#[tokio::test]` per contract test, each on a fresh store from `$make().await`.
///
/// `$make` returns `Option<impl Store>`: `None` skips the test, for a backend whose server is not
/// reachable on a developer machine (the factory must say so loudly, and must fail under CI).
#[macro_export]
macro_rules! store_contract_tests {
    ($make:path) => {
        $crate::store_contract_tests!(@each $make;
            tenants_round_trip_and_list_oldest_first,
            duplicate_tenant_names_conflict,
            missing_tenant_is_not_found,
            tenant_status_changes_and_bumps_revision,
            keys_round_trip_every_field,
            keys_of_one_tenant_never_leak_to_another,
            revoking_hides_key_from_access_data_and_bumps_revision,
            revoking_through_another_tenant_is_not_found,
            duplicate_key_hash_conflicts,
            key_for_missing_tenant_is_not_found,
            usage_round_trips_and_is_idempotent,
            usage_is_scoped_by_tenant_and_newest_first,
            concurrent_usage_batches_all_land,
            large_batches_land_whole_and_replays_add_nothing,
            rollups_hold_each_new_record_once_at_every_grain,
            adjustments_are_added_audited_and_read_by_period,
            corrections_land_while_usage_is_written,
            invoices_are_numbered_once_frozen_and_voided_never_overlapping,
            credit_counts_top_ups_once_and_sums_the_ledger_before_an_instant,
            invoice_payments_resume_and_settle_once_and_hold_the_unpaid,
            rollup_sums_of_absurd_prices_saturate_instead_of_failing,
            users_round_trip_and_emails_are_unique,
            failed_logins_lock_and_a_success_unlocks,
            email_tokens_work_once_and_not_after_expiry,
            sessions_expire_and_a_new_password_ends_them,
            personal_access_tokens_are_per_user,
            members_roles_and_the_last_owner_rule,
            invitations_are_single_use_expiring_and_tenant_scoped,
            keys_update_and_rotate_with_a_grace_period,
            the_audit_log_is_a_verifiable_chain_filtered_by_tenant,
            credentials_are_tenant_scoped_and_reseal_in_one_go,
            routes_and_residency_are_tenant_scoped_and_reach_the_snapshot,
            service_accounts_are_tenant_scoped_and_revocable,
            signing_keys_rotate_and_reseal_with_credentials,
            partners_own_domains_admins_and_sub_tenants,
            affiliations_name_the_partners_of_memberships_and_administration,
            sso_states_work_once_and_domains_have_one_owner,
            semantic_entries_are_tenant_scoped_bounded_and_expire,
            semantic_thresholds_are_per_tenant_exact_and_reach_the_snapshot,
            limit_policies_are_per_scope_replaced_whole_and_reach_the_snapshot,
            alerts_are_raised_once_and_delivered_by_one_claimer_at_a_time,
            ping_succeeds
        );
    };
    (@each $make:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let Some(store) = $make().await else { return };
                $crate::contract::$name(&store).await;
            }
        )*
    };
}

/// Now, truncated to microseconds: the precision every backend keeps.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1000 * 1000)
        .unwrap_or(now)
}

fn tenant(name: &str) -> Tenant {
    let mut res = Tenant::new(name, now()).unwrap();
    res.name = name.to_owned();
    res
}

fn audit() -> AuditEntry {
    AuditEntry::new(None, Actor::cli(), "test.action", now())
}

fn key(tenant: TenantId, secret: &str) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new(),
        tenant_id: tenant,
        name: Some(format!("key {secret}")),
        display_prefix: "sk-test-abcd".into(),
        last_four: "wxyz".into(),
        hash: KeyHash::of(secret),
        allowed_models: vec![],
        scopes: domain::KeyScopes::default(),
        created_by: None,
        rotated_from: None,
        created_at: now(),
        expires_at: None,
        revoked_at: None,
    }
}

/// A usage record with every field set (and no failed tries), for backends' own tests too.
pub fn usage(tenant: TenantId, key: ApiKeyId, created_at: OffsetDateTime) -> UsageRecord {
    UsageRecord {
        id: UsageId::new(),
        request_id: RequestId::new(),
        tenant_id: tenant,
        key_id: key,
        endpoint: "chat.completions".into(),
        model_alias: "gpt".into(),
        provider: "openai".into(),
        upstream_model: "gpt-4o-mini".into(),
        attempts: Vec::new(),
        variant: None,
        stream: true,
        prompt_tokens: 1_000_000_000_000,
        completion_tokens: 20,
        cached_tokens: 3,
        cache_write_tokens: 4,
        reasoning_tokens: 5,
        estimated: false,
        raw_usage: Some(r#"{"prompt_tokens":10,"völlig":"ünïcode"}"#.into()),
        status: UsageStatus::Ok,
        http_status: 200,
        error_code: None,
        latency_ms: 123,
        ttft_ms: Some(45),
        created_at,
        cost: Some(domain::pricing::Money::from_nanos(1_234_567)),
        wholesale: None,
        price: Some(domain::pricing::Money::from_nanos(i64::MAX)),
    }
}

pub async fn tenants_round_trip_and_list_oldest_first(store: &impl Store) {
    let a = tenant("acme");
    let b = tenant("Ünïcode 租户");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    assert_eq!(store.get_tenant(a.id).await.unwrap(), a);
    assert_eq!(store.get_tenant(b.id).await.unwrap(), b);
    assert_eq!(
        store.find_tenant_by_name("Ünïcode 租户").await.unwrap(),
        Some(b.clone())
    );
    assert_eq!(store.find_tenant_by_name("nobody").await.unwrap(), None);
    assert_eq!(store.list_tenants().await.unwrap(), vec![a, b]);
}

pub async fn duplicate_tenant_names_conflict(store: &impl Store) {
    store
        .create_tenant(&tenant("acme"), &audit())
        .await
        .unwrap();
    let err = store
        .create_tenant(&tenant("acme"), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(store.list_tenants().await.unwrap().len(), 1);
}

pub async fn missing_tenant_is_not_found(store: &impl Store) {
    let err = store.get_tenant(TenantId::new()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    let err = store
        .set_tenant_status(TenantId::new(), TenantStatus::Suspended, &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
}

pub async fn tenant_status_changes_and_bumps_revision(store: &impl Store) {
    let a = tenant("acme");
    store.create_tenant(&a, &audit()).await.unwrap();
    let before = store.revision().await.unwrap();
    store
        .set_tenant_status(a.id, TenantStatus::Suspended, &audit())
        .await
        .unwrap();
    assert!(store.revision().await.unwrap() > before);
    assert_eq!(
        store.get_tenant(a.id).await.unwrap().status,
        TenantStatus::Suspended
    );
    let access = store.load_access().await.unwrap();
    assert_eq!(access.tenants[0].status, TenantStatus::Suspended);
}

pub async fn keys_round_trip_every_field(store: &impl Store) {
    let a = tenant("acme");
    store.create_tenant(&a, &audit()).await.unwrap();
    let mut k = key(a.id, "secret-1");
    k.allowed_models = vec!["gpt-4o".into(), "claude-ünï".into()];
    k.expires_at = Some(now() + time::Duration::days(30));
    k.name = None;
    store.insert_key(a.id, &k, &audit()).await.unwrap();
    assert_eq!(store.get_key(a.id, k.id).await.unwrap(), k);
    assert_eq!(store.list_keys(a.id).await.unwrap(), vec![k.clone()]);
    assert_eq!(store.key_owner(k.id).await.unwrap(), Some(a.id));
    assert_eq!(store.key_owner(ApiKeyId::new()).await.unwrap(), None);
    let access = store.load_access().await.unwrap();
    assert_eq!(access.keys, vec![k]);
    assert_eq!(access.tenants, vec![a]);
}

pub async fn keys_of_one_tenant_never_leak_to_another(store: &impl Store) {
    let a = tenant("a");
    let b = tenant("b");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    let ka = key(a.id, "secret-a");
    let kb = key(b.id, "secret-b");
    store.insert_key(a.id, &ka, &audit()).await.unwrap();
    store.insert_key(b.id, &kb, &audit()).await.unwrap();
    assert_eq!(store.list_keys(a.id).await.unwrap(), vec![ka.clone()]);
    assert_eq!(store.list_keys(b.id).await.unwrap(), vec![kb.clone()]);
    let err = store.get_key(a.id, kb.id).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    // A key inserted under a tenant other than its own `tenant_id` is refused, not misfiled.
    let mut sneaky = key(b.id, "secret-sneaky");
    sneaky.tenant_id = b.id;
    let err = store.insert_key(a.id, &sneaky, &audit()).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
}

pub async fn revoking_hides_key_from_access_data_and_bumps_revision(store: &impl Store) {
    let a = tenant("acme");
    store.create_tenant(&a, &audit()).await.unwrap();
    let k = key(a.id, "secret-1");
    let other = key(a.id, "secret-2");
    store.insert_key(a.id, &k, &audit()).await.unwrap();
    store.insert_key(a.id, &other, &audit()).await.unwrap();
    let before = store.revision().await.unwrap();
    let at = now();
    store.revoke_key(a.id, k.id, at, &audit()).await.unwrap();
    assert!(store.revision().await.unwrap() > before);
    let access = store.load_access().await.unwrap();
    assert_eq!(access.keys, vec![other]);
    assert_eq!(
        store.get_key(a.id, k.id).await.unwrap().revoked_at,
        Some(at)
    );
    // A second revocation keeps the first time.
    store
        .revoke_key(a.id, k.id, at + time::Duration::hours(1), &audit())
        .await
        .unwrap();
    assert_eq!(
        store.get_key(a.id, k.id).await.unwrap().revoked_at,
        Some(at)
    );
}

pub async fn revoking_through_another_tenant_is_not_found(store: &impl Store) {
    let a = tenant("a");
    let b = tenant("b");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    let ka = key(a.id, "secret-a");
    store.insert_key(a.id, &ka, &audit()).await.unwrap();
    let err = store
        .revoke_key(b.id, ka.id, now(), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    assert_eq!(store.load_access().await.unwrap().keys, vec![ka]);
}

pub async fn duplicate_key_hash_conflicts(store: &impl Store) {
    let a = tenant("acme");
    store.create_tenant(&a, &audit()).await.unwrap();
    store
        .insert_key(a.id, &key(a.id, "same"), &audit())
        .await
        .unwrap();
    let err = store
        .insert_key(a.id, &key(a.id, "same"), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
}

pub async fn key_for_missing_tenant_is_not_found(store: &impl Store) {
    let ghost = TenantId::new();
    let err = store
        .insert_key(ghost, &key(ghost, "x"), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
}

pub async fn usage_round_trips_and_is_idempotent(store: &impl Store) {
    let a = tenant("acme");
    store.create_tenant(&a, &audit()).await.unwrap();
    let k = key(a.id, "s");
    store.insert_key(a.id, &k, &audit()).await.unwrap();
    let mut first = usage(a.id, k.id, now());
    // Failed over twice before the answer: the tries are kept in order, whole.
    first.attempts = vec![
        UsageAttempt {
            deployment: "east \"primary\" ünï".into(),
            http_status: 503,
            error_code: "upstream_unavailable".into(),
            latency_ms: 1_200,
        },
        UsageAttempt {
            deployment: "west".into(),
            http_status: 429,
            error_code: "upstream_rate_limited".into(),
            latency_ms: 0,
        },
    ];
    let mut second = usage(a.id, k.id, now() + time::Duration::seconds(1));
    second.estimated = true;
    second.raw_usage = None;
    second.ttft_ms = None;
    second.status = UsageStatus::ClientClosed;
    second.error_code = Some("upstream_timeout".into());
    second.http_status = 504;
    second.variant = Some("canary \"b\" ünï".into());
    let records = vec![first.clone(), second.clone()];
    assert_eq!(store.insert_usage(&records).await.unwrap(), 2);
    // Replaying the same batch (as after a spill) inserts nothing new.
    assert_eq!(store.insert_usage(&records).await.unwrap(), 0);
    assert_eq!(store.insert_usage(&[]).await.unwrap(), 0);
    // The second, answered at its first try, reads back with none.
    assert_eq!(
        store.list_usage(a.id, 10).await.unwrap(),
        vec![second, first]
    );
}

pub async fn usage_is_scoped_by_tenant_and_newest_first(store: &impl Store) {
    let a = tenant("a");
    let b = tenant("b");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    let base = now();
    let ua: Vec<_> = (0..3)
        .map(|i| usage(a.id, ApiKeyId::new(), base + time::Duration::seconds(i)))
        .collect();
    let ub = usage(b.id, ApiKeyId::new(), base);
    store.insert_usage(&ua).await.unwrap();
    store.insert_usage(std::slice::from_ref(&ub)).await.unwrap();
    let listed = store.list_usage(a.id, 2).await.unwrap();
    assert_eq!(listed, vec![ua[2].clone(), ua[1].clone()]);
    assert_eq!(store.list_usage(b.id, 10).await.unwrap(), vec![ub.clone()]);
    // A window: from inclusive, to exclusive, oldest first, bounded.
    let window = store
        .usage_between(
            a.id,
            base + time::Duration::seconds(1),
            base + time::Duration::seconds(2),
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(window, vec![ua[1].clone()]);
    let hour = base + time::Duration::hours(1);
    let all = store
        .usage_between(a.id, base, hour, None, 2)
        .await
        .unwrap();
    assert_eq!(all, vec![ua[0].clone(), ua[1].clone()]);
    // The next page starts after the last one's end, even at the same instant.
    let mut twin = usage(a.id, ApiKeyId::new(), ua[1].created_at);
    twin.id = "ffffffff-ffff-ffff-ffff-ffffffffffff".parse().unwrap();
    store
        .insert_usage(std::slice::from_ref(&twin))
        .await
        .unwrap();
    let next = store
        .usage_between(a.id, base, hour, Some(crate::UsageCursor::of(&all[1])), 2)
        .await
        .unwrap();
    assert_eq!(next, vec![twin, ua[2].clone()]);
    assert_eq!(
        store
            .usage_between(b.id, base, hour, None, 10)
            .await
            .unwrap(),
        vec![ub]
    );
}

/// Rollups of `tenant` at `grain` over a wide window, as stored.
async fn stored_rollups(
    store: &impl Store,
    tenant: TenantId,
    grain: domain::rollup::Grain,
) -> Vec<domain::rollup::Rollup> {
    let from = OffsetDateTime::UNIX_EPOCH;
    let to = now() + time::Duration::days(400);
    let mut rollups = store
        .rollups_between(tenant, grain, from, to, 100_000)
        .await
        .unwrap();
    // In the fold's order (a database's collation may order texts otherwise).
    rollups.sort_by(|a, b| {
        (a.start, a.key_id, &a.model_alias, &a.variant, a.shadow).cmp(&(
            b.start,
            b.key_id,
            &b.model_alias,
            &b.variant,
            b.shadow,
        ))
    });
    rollups
}

pub async fn rollups_hold_each_new_record_once_at_every_grain(store: &impl Store) {
    use domain::rollup::{Grain, fold};
    let a = tenant("a");
    let b = tenant("b");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    let (k1, k2) = (ApiKeyId::new(), ApiKeyId::new());
    let base = Grain::Day.floor(now()) + time::Duration::hours(5);
    let mut records: Vec<UsageRecord> = (0..40)
        .map(|i| {
            let mut it = usage(a.id, if i % 3 == 0 { k1 } else { k2 }, base);
            it.created_at = base + time::Duration::seconds(i * 97);
            it.prompt_tokens = 10 + u64::try_from(i).unwrap();
            it.price = Some(domain::pricing::Money::from_nanos(1_000 + i));
            it.latency_ms = u64::try_from(i).unwrap() * 25;
            it.model_alias = if i % 4 == 0 { "claude" } else { "gpt" }.into();
            it.variant = (i % 5 == 0).then(|| "canary ü".to_owned());
            if i % 7 == 0 {
                it.status = UsageStatus::Shadow;
            }
            it
        })
        .collect();
    records.push(usage(b.id, k1, base));
    assert_eq!(store.insert_usage(&records).await.unwrap(), 41);
    let expected = |records: &[UsageRecord], grain: Grain| -> Vec<domain::rollup::Rollup> {
        fold(records.iter().filter(|it| it.tenant_id == a.id))
            .into_iter()
            .filter(|it| it.grain == grain)
            .collect()
    };
    for grain in Grain::ALL {
        assert_eq!(
            stored_rollups(store, a.id, grain).await,
            expected(&records, grain),
            "{grain:?}"
        );
    }
    // A replay adds nothing; a batch that is half replay adds only its new record.
    assert_eq!(store.insert_usage(&records).await.unwrap(), 0);
    let mut late = usage(a.id, k1, base - time::Duration::days(3));
    late.price = Some(domain::pricing::Money::from_nanos(5));
    let mut mixed = records[..10].to_vec();
    mixed.push(late.clone());
    assert_eq!(store.insert_usage(&mixed).await.unwrap(), 1);
    records.push(late);
    for grain in Grain::ALL {
        assert_eq!(
            stored_rollups(store, a.id, grain).await,
            expected(&records, grain),
            "a late record lands in its own old bucket ({grain:?})"
        );
    }
    // A bill's sums per model, summed by the database: the records' own sums, shadow left out.
    for grain in Grain::ALL {
        let sums = store
            .rollup_sums(
                a.id,
                grain,
                OffsetDateTime::UNIX_EPOCH,
                base + time::Duration::days(2),
            )
            .await
            .unwrap();
        let mut expected: Vec<(String, domain::rollup::RollupFigures)> = Vec::new();
        for model in ["claude", "gpt"] {
            let mut figures = domain::rollup::RollupFigures::default();
            records
                .iter()
                .filter(|it| {
                    it.tenant_id == a.id
                        && it.model_alias == model
                        && it.status != UsageStatus::Shadow
                })
                .for_each(|it| figures.add(it));
            figures.latency = Default::default();
            expected.push((model.to_owned(), figures));
        }
        assert_eq!(sums, expected, "{grain:?}");
    }
    // Another tenant's rollups are its own.
    let theirs = stored_rollups(store, b.id, Grain::Day).await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].figures.requests, 1);
    // The window: starts in [from, to), bounded.
    let hours = store
        .rollups_between(
            a.id,
            Grain::Hour,
            base,
            base + time::Duration::hours(1),
            1_000,
        )
        .await
        .unwrap();
    assert!(!hours.is_empty() && hours.iter().all(|it| it.start == base));
    let bounded = store
        .rollups_between(a.id, Grain::Minute, base, base + time::Duration::days(1), 3)
        .await
        .unwrap();
    assert_eq!(bounded.len(), 3);
    // Sums saturate rather than fail the batch: two calls priced at the maximum still land.
    let mut dear = usage(b.id, k2, base);
    dear.price = Some(domain::pricing::Money::from_nanos(i64::MAX));
    let mut dearer = usage(b.id, k2, base);
    dearer.price = Some(domain::pricing::Money::from_nanos(i64::MAX));
    assert_eq!(store.insert_usage(&[dear]).await.unwrap(), 1);
    assert_eq!(store.insert_usage(&[dearer]).await.unwrap(), 1);
    let day = stored_rollups(store, b.id, Grain::Day).await;
    let k2_day = day.iter().find(|it| it.key_id == k2).unwrap();
    assert_eq!(k2_day.figures.price.nanos(), i64::MAX);
    assert_eq!(k2_day.figures.requests, 2);
    // Once folded, the backfill has nothing left to do.
    assert_eq!(store.backfill_rollups().await.unwrap(), 0);
}

pub async fn credit_counts_top_ups_once_and_sums_the_ledger_before_an_instant(store: &impl Store) {
    use domain::credit::TopUp;
    use domain::ledger::{Adjustment, AdjustmentKind};
    use domain::pricing::Money;
    use domain::rollup::Grain;
    let units = |n: i64| Money::from_nanos(n * 500_000_000); // halves of a unit
    let a = tenant("a");
    let b = tenant("b");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    // Yesterday 13:30: day rollups before yesterday, hour rollups for its first 13 hours, and
    // records for the half hour after.
    let at = Grain::Day.floor(now()) - time::Duration::days(1)
        + time::Duration::hours(13)
        + time::Duration::minutes(30);
    assert_eq!(store.credit_account(a.id).await.unwrap(), None);
    store
        .set_credit_account(a.id, true, &audit())
        .await
        .unwrap();
    let fresh = store.credit_account(a.id).await.unwrap().unwrap();
    assert!(fresh.stop_at_zero);
    assert_eq!(fresh.balance, Money::ZERO);
    let top_up = |reference: &str, amount: Money, created_at: OffsetDateTime| TopUp {
        id: domain::TopUpId::new(),
        tenant_id: a.id,
        amount,
        reference: reference.into(),
        reason: "wire transfer".into(),
        author: "ops@example.com".into(),
        created_at,
    };
    let first = top_up("r1", units(20), at - time::Duration::hours(1));
    assert_eq!(
        store.add_top_up(&first, &audit()).await.unwrap(),
        (first.clone(), true)
    );
    // The same reference counts once: nothing added, the first one answered.
    assert_eq!(
        store
            .add_top_up(&top_up("r1", units(4), at), &audit())
            .await
            .unwrap(),
        (first, false)
    );
    let second = top_up("r2", units(10), at + time::Duration::hours(1));
    assert!(store.add_top_up(&second, &audit()).await.unwrap().1);
    let mut ghost = top_up("r3", units(1), at);
    ghost.tenant_id = TenantId::new();
    assert!(matches!(
        store.add_top_up(&ghost, &audit()).await.unwrap_err(),
        Error::NotFound
    ));
    let listed: Vec<String> = store
        .list_top_ups(a.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|it| it.reference)
        .collect();
    assert_eq!(listed, ["r2", "r1"]);

    let priced = |tenant: TenantId, at: OffsetDateTime, price: Money| {
        let mut record = usage(tenant, ApiKeyId::new(), at);
        record.price = Some(price);
        record
    };
    let mut mirror = priced(a.id, at - time::Duration::minutes(15), units(32));
    mirror.status = domain::UsageStatus::Shadow;
    store
        .insert_usage(&[
            priced(a.id, at - time::Duration::days(2), units(2)),
            priced(a.id, at - time::Duration::hours(8), units(4)),
            priced(a.id, at - time::Duration::minutes(20), units(8)),
            priced(a.id, at + time::Duration::minutes(10), units(16)),
            mirror,
            priced(b.id, at - time::Duration::hours(3), units(64)),
        ])
        .await
        .unwrap();
    let correction = |amount: Money, effective_at| Adjustment {
        id: domain::AdjustmentId::new(),
        tenant_id: a.id,
        kind: AdjustmentKind::Credit,
        amount,
        reason: "outage".into(),
        author_id: domain::UserId::new(),
        author: "ops@example.com".into(),
        effective_at,
        created_at: now(),
    };
    store
        .add_adjustment(
            &correction(
                Money::from_nanos(-units(1).nanos()),
                at - time::Duration::days(3),
            ),
            &audit(),
        )
        .await
        .unwrap();
    store
        .add_adjustment(
            &correction(
                Money::from_nanos(-units(100).nanos()),
                at + time::Duration::minutes(1),
            ),
            &audit(),
        )
        .await
        .unwrap();
    // 10 paid in, 1 + 2 + 4 spent, 0.5 credited: 3.5.
    let expected = Money::from_nanos(3_500_000_000);
    assert_eq!(store.credit_balance_at(a.id, at).await.unwrap(), expected);
    let revision = store.revision().await.unwrap();
    let rebased = store.rebase_credit(a.id, at).await.unwrap().unwrap();
    assert_eq!((rebased.as_of, rebased.balance), (at, expected));
    assert!(
        store.revision().await.unwrap() > revision,
        "every node's snapshot follows"
    );
    // An older instant never replaces a newer one (two nodes rebasing at once).
    let kept = store
        .rebase_credit(a.id, at - time::Duration::hours(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((kept.as_of, kept.balance), (at, expected));
    assert_eq!(store.rebase_credit(b.id, at).await.unwrap(), None);
    let accounts = store.credit_accounts().await.unwrap();
    assert_eq!(accounts, vec![rebased.clone()]);
    assert_eq!(
        store.load_access().await.unwrap().credit_accounts,
        vec![rebased]
    );
    store
        .set_credit_account(a.id, false, &audit())
        .await
        .unwrap();
    let changed = store.credit_account(a.id).await.unwrap().unwrap();
    assert!(!changed.stop_at_zero);
    assert_eq!(
        changed.balance, expected,
        "the balance stays until the next rebase"
    );

    // Sums past what an i64 holds (ten top-ups of a billion units) saturate, never fail.
    let rich = tenant("rich");
    store.create_tenant(&rich, &audit()).await.unwrap();
    store
        .set_credit_account(rich.id, true, &audit())
        .await
        .unwrap();
    for i in 0..10 {
        let mut big = top_up(
            &format!("big-{i}"),
            Money::from_nanos(1_000_000_000_000_000_000),
            at,
        );
        big.tenant_id = rich.id;
        assert!(store.add_top_up(&big, &audit()).await.unwrap().1);
    }
    let later = at + time::Duration::minutes(1);
    assert_eq!(
        store.credit_balance_at(rich.id, later).await.unwrap(),
        Money::from_nanos(i64::MAX)
    );
    let rebased = store.rebase_credit(rich.id, later).await.unwrap().unwrap();
    assert_eq!(rebased.balance, Money::from_nanos(i64::MAX));
}

pub async fn invoices_are_numbered_once_frozen_and_voided_never_overlapping(store: &impl Store) {
    use domain::invoice::{Invoice, InvoiceContent, InvoiceStatus};
    use domain::pricing::Money;
    use domain::rollup::RollupFigures;
    let a = tenant("a");
    let b = tenant("b");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    let month = time::Duration::days(30);
    let start = now() - time::Duration::days(90);
    let draft = |tenant: TenantId, from: OffsetDateTime| Invoice {
        id: domain::InvoiceId::new(),
        tenant_id: tenant,
        status: InvoiceStatus::Draft,
        number: None,
        from,
        to: from + month,
        created_by: "finance@example.com".into(),
        created_at: now(),
        finalized_at: None,
        voided_at: None,
        void_reason: None,
        content: None,
    };
    let content = InvoiceContent::compose(
        "USD",
        vec![(
            "gpt \"ünï\"".into(),
            RollupFigures {
                requests: 3,
                price: Money::from_nanos(1_000_000_001),
                ..RollupFigures::default()
            },
        )],
        &[],
        Money::from_nanos(-5),
        None,
    );
    let first = draft(a.id, start);
    store.add_invoice(&first, &audit()).await.unwrap();
    assert_eq!(store.get_invoice(a.id, first.id).await.unwrap(), first);
    // Another tenant sees none of it.
    let err = store.get_invoice(b.id, first.id).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    // Nothing that is not void may cover any part of its period, from either side.
    for from in [
        start,
        start + time::Duration::days(29),
        start - time::Duration::days(29),
    ] {
        let err = store
            .add_invoice(&draft(a.id, from), &audit())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    }
    // Next to it is fine, and so is the same period for another tenant.
    let second = draft(a.id, start + month);
    store.add_invoice(&second, &audit()).await.unwrap();
    let theirs = draft(b.id, start);
    store.add_invoice(&theirs, &audit()).await.unwrap();
    let ghost = draft(TenantId::new(), start);
    let err = store.add_invoice(&ghost, &audit()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");

    // Finalizing freezes the content and numbers from one sequence.
    let (none, seen) = store.finalized_invoices(a.id).await.unwrap();
    assert!(none.is_empty());
    let at = now();
    let frozen = store
        .finalize_invoice(a.id, first.id, &content, seen, at, &audit())
        .await
        .unwrap();
    assert_eq!(frozen.status, InvoiceStatus::Finalized);
    assert_eq!(frozen.finalized_at, Some(at));
    assert_eq!(frozen.content.as_ref(), Some(&content));
    let number = frozen.number.unwrap();
    // Only a draft is finalized, and only against the finalized set it was worked out with.
    let err = store
        .finalize_invoice(a.id, first.id, &content, seen, at, &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let err = store
        .finalize_invoice(a.id, second.id, &content, seen, at, &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "a stale set: {err:?}");
    let (done, seen) = store.finalized_invoices(a.id).await.unwrap();
    assert_eq!(done, vec![frozen.clone()]);
    let (_, their_seen) = store.finalized_invoices(b.id).await.unwrap();
    let their_frozen = store
        .finalize_invoice(b.id, theirs.id, &content, their_seen, at, &audit())
        .await
        .unwrap();
    assert!(their_frozen.number.unwrap() > number);
    let later = store
        .finalize_invoice(a.id, second.id, &content, seen, at, &audit())
        .await
        .unwrap();
    assert!(later.number.unwrap() > their_frozen.number.unwrap());

    // Voiding keeps the row, frees the period, and happens once.
    let void = store
        .void_invoice(a.id, first.id, "wrong rate card", at, &audit())
        .await
        .unwrap();
    assert_eq!(void.status, InvoiceStatus::Void);
    assert_eq!(void.number, Some(number));
    assert_eq!(void.void_reason.as_deref(), Some("wrong rate card"));
    assert_eq!(void.content, Some(content.clone()));
    let err = store
        .void_invoice(a.id, first.id, "again", at, &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let err = store
        .void_invoice(b.id, first.id, "not theirs", at, &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    let reissue = draft(a.id, start);
    store.add_invoice(&reissue, &audit()).await.unwrap();
    let (left, _) = store.finalized_invoices(a.id).await.unwrap();
    assert_eq!(left, vec![later.clone()]);

    // Latest period first.
    let listed = store.list_invoices(a.id, 10).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|it| it.id).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[0], second.id);
    assert!(ids[1..].contains(&first.id) && ids[1..].contains(&reissue.id));
    assert_eq!(store.list_invoices(a.id, 1).await.unwrap().len(), 1);
}

pub async fn adjustments_are_added_audited_and_read_by_period(store: &impl Store) {
    use domain::ledger::{Adjustment, AdjustmentKind};
    let a = tenant("a");
    let b = tenant("b");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    let base = now();
    let adjustment = |tenant: TenantId, kind, nanos, at| Adjustment {
        id: domain::AdjustmentId::new(),
        tenant_id: tenant,
        kind,
        amount: domain::pricing::Money::from_nanos(nanos),
        reason: "goodwill, \"ünïcode\"".into(),
        author_id: domain::UserId::new(),
        author: "finance@example.com".into(),
        effective_at: at,
        created_at: base,
    };
    let credit = adjustment(a.id, AdjustmentKind::Credit, -12_500_000_000, base);
    let later = adjustment(
        a.id,
        AdjustmentKind::Adjustment,
        3,
        base + time::Duration::days(40),
    );
    let theirs = adjustment(b.id, AdjustmentKind::Adjustment, 7, base);
    let entry = || {
        domain::AuditEntry::new(
            Some(a.id),
            domain::Actor::system(),
            "billing.adjustment",
            base,
        )
    };
    for it in [&credit, &later, &theirs] {
        store.add_adjustment(it, &entry()).await.unwrap();
    }
    let period = store
        .adjustments_between(a.id, base, base + time::Duration::days(30))
        .await
        .unwrap();
    assert_eq!(period, vec![credit.clone()]);
    let all = store
        .adjustments_between(a.id, base, base + time::Duration::days(60))
        .await
        .unwrap();
    assert_eq!(all, vec![credit, later]);
    // A tenant that does not exist gets none.
    let ghost = adjustment(TenantId::new(), AdjustmentKind::Credit, -1, base);
    let err = store.add_adjustment(&ghost, &entry()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    let filter = crate::AuditFilter {
        tenant: Some(a.id),
        ..Default::default()
    };
    let events = store.list_audit(&filter, None, 100).await.unwrap();
    assert!(
        events
            .iter()
            .filter(|it| it.entry.action == "billing.adjustment")
            .count()
            >= 2,
        "each correction is audited"
    );
}

/// A correction added while the usage writer writes lands, whichever commits first (on SQLite
/// a transaction that read before its first write failed at once when a batch committed in
/// between).
pub async fn corrections_land_while_usage_is_written(store: &impl Store) {
    use domain::ledger::{Adjustment, AdjustmentKind};
    let a = tenant("acme");
    store.create_tenant(&a, &audit()).await.unwrap();
    let batches: Vec<Vec<UsageRecord>> = (0..16)
        .map(|_| {
            (0..20)
                .map(|_| usage(a.id, ApiKeyId::new(), now()))
                .collect()
        })
        .collect();
    let corrections: Vec<Adjustment> = (0..16)
        .map(|i| Adjustment {
            id: domain::AdjustmentId::new(),
            tenant_id: a.id,
            kind: AdjustmentKind::Adjustment,
            amount: domain::pricing::Money::from_nanos(i + 1),
            reason: "fee".into(),
            author_id: domain::UserId::new(),
            author: "finance@example.com".into(),
            effective_at: now(),
            created_at: now(),
        })
        .collect();
    let entry = || {
        domain::AuditEntry::new(
            Some(a.id),
            domain::Actor::system(),
            "billing.adjustment",
            now(),
        )
    };
    let writes = batches
        .iter()
        .map(|batch| async move { store.insert_usage(batch).await.map(|_| ()) });
    let added = corrections
        .iter()
        .map(|it| async move { store.add_adjustment(it, &entry()).await });
    let (written, added) = futures_util::future::join(
        futures_util::future::join_all(writes),
        futures_util::future::join_all(added),
    )
    .await;
    for result in written.into_iter().chain(added) {
        result.unwrap();
    }
    let period = store
        .adjustments_between(
            a.id,
            now() - time::Duration::hours(1),
            now() + time::Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(period.len(), 16);
    assert_eq!(store.list_usage(a.id, 1000).await.unwrap().len(), 320);
}

pub async fn concurrent_usage_batches_all_land(store: &impl Store) {
    let a = tenant("acme");
    store.create_tenant(&a, &audit()).await.unwrap();
    let batches: Vec<Vec<UsageRecord>> = (0..8)
        .map(|_| {
            (0..50)
                .map(|_| usage(a.id, ApiKeyId::new(), now()))
                .collect()
        })
        .collect();
    let inserted =
        futures_util::future::join_all(batches.iter().map(|batch| store.insert_usage(batch))).await;
    let total: u64 = inserted.into_iter().map(|it| it.unwrap()).sum();
    assert_eq!(total, 400);
    assert_eq!(store.list_usage(a.id, 1000).await.unwrap().len(), 400);
}

pub async fn large_batches_land_whole_and_replays_add_nothing(store: &impl Store) {
    let a = tenant("acme");
    store.create_tenant(&a, &audit()).await.unwrap();
    // Several full statement chunks and a short last one, whatever the backend's chunk size.
    let batch: Vec<UsageRecord> = (0..1037)
        .map(|_| usage(a.id, ApiKeyId::new(), now()))
        .collect();
    assert_eq!(store.insert_usage(&batch).await.unwrap(), 1037);
    assert_eq!(store.insert_usage(&batch[100..700]).await.unwrap(), 0);
    let mut mixed = batch[..10].to_vec();
    mixed.push(usage(a.id, ApiKeyId::new(), now()));
    assert_eq!(store.insert_usage(&mixed).await.unwrap(), 1);
    assert_eq!(store.list_usage(a.id, 5000).await.unwrap().len(), 1038);
}

pub async fn ping_succeeds(store: &impl Store) {
    store.ping().await.unwrap();
    assert!(["sqlite", "postgres"].contains(&store.backend()));
}

fn user(email: &str) -> domain::User {
    domain::User {
        id: domain::UserId::new(),
        email: domain::Email::parse(email).unwrap(),
        display_name: Some(format!("User {email}")),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        email_verified_at: None,
        is_operator: false,
        failed_logins: 0,
        locked_until: None,
        created_at: now(),
    }
}

async fn owned_tenant(store: &impl Store, name: &str, owner: &domain::User) -> Tenant {
    let t = tenant(name);
    store
        .create_tenant_with_owner(&t, owner.id, &audit())
        .await
        .unwrap();
    t
}

pub async fn users_round_trip_and_emails_are_unique(store: &impl Store) {
    let ada = user("ada@example.com");
    store.create_user(&ada, &audit()).await.unwrap();
    assert_eq!(store.get_user(ada.id).await.unwrap(), ada);
    assert_eq!(
        store.find_user_by_email(&ada.email).await.unwrap(),
        Some(ada.clone())
    );
    let err = store
        .create_user(&user("ada@example.com"), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(store.count_users().await.unwrap(), 1);
    let at = now();
    store
        .mark_email_verified(ada.id, at, &audit())
        .await
        .unwrap();
    store.set_operator(ada.id, true, &audit()).await.unwrap();
    let got = store.get_user(ada.id).await.unwrap();
    assert_eq!((got.email_verified_at, got.is_operator), (Some(at), true));
    assert!(matches!(
        store.get_user(domain::UserId::new()).await,
        Err(Error::NotFound)
    ));
}

pub async fn failed_logins_lock_and_a_success_unlocks(store: &impl Store) {
    let ada = user("ada@example.com");
    store.create_user(&ada, &audit()).await.unwrap();
    let until = now() + time::Duration::minutes(15);
    let counts =
        futures_util::future::join_all((0..5).map(|_| store.record_failed_login(ada.id, 5, until)))
            .await;
    let mut counts: Vec<u32> = counts.into_iter().map(|it| it.unwrap()).collect();
    counts.sort_unstable();
    assert_eq!(counts, [1, 2, 3, 4, 5], "parallel failures are all counted");
    let locked = store.get_user(ada.id).await.unwrap();
    assert_eq!(locked.locked_until, Some(until));
    store.record_successful_login(ada.id).await.unwrap();
    let unlocked = store.get_user(ada.id).await.unwrap();
    assert_eq!((unlocked.failed_logins, unlocked.locked_until), (0, None));
}

pub async fn email_tokens_work_once_and_not_after_expiry(store: &impl Store) {
    use domain::session::{EmailPurpose, EmailToken};
    let ada = user("ada@example.com");
    store.create_user(&ada, &audit()).await.unwrap();
    let token = |secret: &str, lifetime: time::Duration| EmailToken {
        hash: KeyHash::of(secret),
        user_id: ada.id,
        purpose: EmailPurpose::VerifyEmail,
        created_at: now(),
        expires_at: now() + lifetime,
    };
    store
        .create_email_token(&token("t1", time::Duration::hours(1)))
        .await
        .unwrap();
    let err = store
        .use_email_token(KeyHash::of("t1"), EmailPurpose::ResetPassword, now())
        .await;
    assert!(matches!(err, Err(Error::NotFound)), "wrong purpose");
    assert_eq!(
        store
            .use_email_token(KeyHash::of("t1"), EmailPurpose::VerifyEmail, now())
            .await
            .unwrap(),
        ada.id
    );
    let again = store
        .use_email_token(KeyHash::of("t1"), EmailPurpose::VerifyEmail, now())
        .await;
    assert!(matches!(again, Err(Error::NotFound)), "single use");
    store
        .create_email_token(&token("t2", time::Duration::seconds(-1)))
        .await
        .unwrap();
    let expired = store
        .use_email_token(KeyHash::of("t2"), EmailPurpose::VerifyEmail, now())
        .await;
    assert!(matches!(expired, Err(Error::NotFound)));
}

pub async fn sessions_expire_and_a_new_password_ends_them(store: &impl Store) {
    use domain::session::Session;
    let ada = user("ada@example.com");
    store.create_user(&ada, &audit()).await.unwrap();
    let session = |secret: &str, lifetime: time::Duration| Session {
        id_hash: KeyHash::of(secret),
        user_id: ada.id,
        csrf_token: "csrf".into(),
        created_at: now(),
        expires_at: now() + lifetime,
        ip: Some("127.0.0.1".into()),
        user_agent: Some("test ü".into()),
    };
    let live = session("s1", time::Duration::days(1));
    store.create_session(&live).await.unwrap();
    store
        .create_session(&session("s2", time::Duration::seconds(-1)))
        .await
        .unwrap();
    assert_eq!(
        store.get_session(KeyHash::of("s1"), now()).await.unwrap(),
        Some(live)
    );
    assert_eq!(
        store.get_session(KeyHash::of("s2"), now()).await.unwrap(),
        None
    );
    store.delete_session(KeyHash::of("s1")).await.unwrap();
    assert_eq!(
        store.get_session(KeyHash::of("s1"), now()).await.unwrap(),
        None
    );
    store
        .create_session(&session("s3", time::Duration::days(1)))
        .await
        .unwrap();
    store
        .set_password(ada.id, "new-hash", &audit())
        .await
        .unwrap();
    assert_eq!(
        store.get_session(KeyHash::of("s3"), now()).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .get_user(ada.id)
            .await
            .unwrap()
            .password_hash
            .as_deref(),
        Some("new-hash")
    );
}

pub async fn personal_access_tokens_are_per_user(store: &impl Store) {
    use domain::session::PersonalAccessToken;
    let ada = user("ada@example.com");
    let bob = user("bob@example.com");
    store.create_user(&ada, &audit()).await.unwrap();
    store.create_user(&bob, &audit()).await.unwrap();
    let token = PersonalAccessToken {
        id: domain::TokenId::new(),
        user_id: ada.id,
        name: "ci".into(),
        hash: KeyHash::of("pat-1"),
        display_prefix: "slc_pat-abcd".into(),
        last_four: "wxyz".into(),
        created_at: now(),
        expires_at: None,
        revoked_at: None,
    };
    store.create_token(&token, &audit()).await.unwrap();
    assert_eq!(
        store.find_token(KeyHash::of("pat-1")).await.unwrap(),
        Some(token.clone())
    );
    assert_eq!(
        store.list_tokens(ada.id).await.unwrap(),
        vec![token.clone()]
    );
    assert!(store.list_tokens(bob.id).await.unwrap().is_empty());
    let err = store
        .revoke_token(bob.id, token.id, now(), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "another user's token");
    store
        .revoke_token(ada.id, token.id, now(), &audit())
        .await
        .unwrap();
    assert!(
        store
            .find_token(KeyHash::of("pat-1"))
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
}

pub async fn members_roles_and_the_last_owner_rule(store: &impl Store) {
    use domain::Role;
    let ada = user("ada@example.com");
    let bob = user("bob@example.com");
    store.create_user(&ada, &audit()).await.unwrap();
    store.create_user(&bob, &audit()).await.unwrap();
    let acme = owned_tenant(store, "acme", &ada).await;
    let other = owned_tenant(store, "other", &bob).await;
    assert_eq!(
        store.role_of(acme.id, ada.id).await.unwrap(),
        Some(Role::Owner)
    );
    assert_eq!(store.role_of(acme.id, bob.id).await.unwrap(), None);
    assert_eq!(
        store.tenants_of(ada.id).await.unwrap(),
        vec![(acme.clone(), Role::Owner)]
    );
    // The only owner can neither be demoted nor removed.
    let err = store
        .set_member_role(acme.id, ada.id, Role::Admin, &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    let err = store
        .remove_member(acme.id, ada.id, &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(
        store.role_of(acme.id, ada.id).await.unwrap(),
        Some(Role::Owner),
        "rolled back"
    );
    // Another tenant's member is not found through this tenant.
    let err = store
        .set_member_role(acme.id, bob.id, Role::Viewer, &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    let members = store.list_members(other.id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!((members[0].user_id, members[0].role), (bob.id, Role::Owner));
    assert_eq!(members[0].email, bob.email);
}

pub async fn invitations_are_single_use_expiring_and_tenant_scoped(store: &impl Store) {
    use domain::Role;
    use domain::session::Invitation;
    let ada = user("ada@example.com");
    let bob = user("bob@example.com");
    store.create_user(&ada, &audit()).await.unwrap();
    store.create_user(&bob, &audit()).await.unwrap();
    let acme = owned_tenant(store, "acme", &ada).await;
    let other = owned_tenant(store, "other", &bob).await;
    let invite = |secret: &str, lifetime: time::Duration| Invitation {
        id: domain::InvitationId::new(),
        tenant_id: acme.id,
        email: bob.email.clone(),
        role: Role::Developer,
        token_hash: KeyHash::of(secret),
        invited_by: ada.id,
        created_at: now(),
        expires_at: now() + lifetime,
        accepted_at: None,
        revoked_at: None,
    };
    let open = invite("inv-1", time::Duration::days(1));
    store.create_invitation(&open, &audit()).await.unwrap();
    assert_eq!(
        store.find_invitation(KeyHash::of("inv-1")).await.unwrap(),
        Some(open.clone())
    );
    assert_eq!(
        store.list_invitations(acme.id).await.unwrap(),
        vec![open.clone()]
    );
    assert!(store.list_invitations(other.id).await.unwrap().is_empty());
    assert_eq!(
        store
            .accept_invitation(open.id, bob.id, now(), &audit())
            .await
            .unwrap(),
        (acme.id, Role::Developer)
    );
    assert_eq!(
        store.role_of(acme.id, bob.id).await.unwrap(),
        Some(Role::Developer)
    );
    let again = store
        .accept_invitation(open.id, bob.id, now(), &audit())
        .await;
    assert!(matches!(again, Err(Error::NotFound)), "single use");

    let expired = invite("inv-2", time::Duration::seconds(-1));
    store.create_invitation(&expired, &audit()).await.unwrap();
    assert!(matches!(
        store
            .accept_invitation(expired.id, bob.id, now(), &audit())
            .await,
        Err(Error::NotFound)
    ));

    let revoked = invite("inv-3", time::Duration::days(1));
    store.create_invitation(&revoked, &audit()).await.unwrap();
    let err = store
        .revoke_invitation(other.id, revoked.id, now(), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "through another tenant");
    store
        .revoke_invitation(acme.id, revoked.id, now(), &audit())
        .await
        .unwrap();
    assert!(matches!(
        store
            .accept_invitation(revoked.id, bob.id, now(), &audit())
            .await,
        Err(Error::NotFound)
    ));

    // Accepting into a tenant one belongs to already is a conflict, and changes nothing.
    let dup = invite("inv-4", time::Duration::days(1));
    store.create_invitation(&dup, &audit()).await.unwrap();
    let err = store
        .accept_invitation(dup.id, bob.id, now(), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert!(
        store
            .find_invitation(KeyHash::of("inv-4"))
            .await
            .unwrap()
            .unwrap()
            .accepted_at
            .is_none()
    );
}

pub async fn keys_update_and_rotate_with_a_grace_period(store: &impl Store) {
    let a = tenant("acme");
    let b = tenant("other");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    let mut k = key(a.id, "old");
    store.insert_key(a.id, &k, &audit()).await.unwrap();
    k.name = Some("renamed".into());
    k.allowed_models = vec!["gpt".into()];
    k.scopes.endpoints = vec!["embeddings".into()];
    k.scopes.ip_allowlist = vec!["10.0.0.0/8".parse().unwrap()];
    k.scopes.limits.requests_per_minute = Some(60);
    store.update_key(a.id, &k, &audit()).await.unwrap();
    assert_eq!(store.get_key(a.id, k.id).await.unwrap(), k);
    assert!(matches!(
        store.update_key(b.id, &k, &audit()).await,
        Err(Error::NotFound)
    ));

    let grace = now() + time::Duration::hours(1);
    let mut new = key(a.id, "new");
    new.rotated_from = Some(k.id);
    store
        .rotate_key(a.id, k.id, grace, &new, &audit())
        .await
        .unwrap();
    assert_eq!(
        store.get_key(a.id, k.id).await.unwrap().expires_at,
        Some(grace)
    );
    assert_eq!(store.get_key(a.id, new.id).await.unwrap(), new);
    let access = store.load_access().await.unwrap();
    assert_eq!(access.keys.len(), 2, "both work during the grace period");
    // A rotation never extends an earlier expiry, nor works through another tenant.
    let mut newer = key(a.id, "newer");
    newer.rotated_from = Some(k.id);
    store
        .rotate_key(
            a.id,
            k.id,
            grace + time::Duration::days(1),
            &newer,
            &audit(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_key(a.id, k.id).await.unwrap().expires_at,
        Some(grace)
    );
    let mut stray = key(b.id, "stray");
    stray.tenant_id = b.id;
    assert!(matches!(
        store.rotate_key(b.id, k.id, grace, &stray, &audit()).await,
        Err(Error::NotFound)
    ));
}

pub async fn the_audit_log_is_a_verifiable_chain_filtered_by_tenant(store: &impl Store) {
    let a = tenant("acme");
    let b = tenant("other");
    let for_tenant = |t: &Tenant, action: &str| {
        AuditEntry::new(Some(t.id), Actor::cli(), action, now()).target("tenant", t.id)
    };
    store
        .create_tenant(&a, &for_tenant(&a, "tenant.create"))
        .await
        .unwrap();
    store
        .create_tenant(&b, &for_tenant(&b, "tenant.create"))
        .await
        .unwrap();
    let mut k = key(a.id, "s");
    store
        .insert_key(
            a.id,
            &k,
            &for_tenant(&a, "key.create").change(None, Some("{\"name\":\"ü\"}".into())),
        )
        .await
        .unwrap();
    k.name = Some("x".into());
    store
        .update_key(a.id, &k, &for_tenant(&a, "key.update"))
        .await
        .unwrap();
    // A failed change leaves no event behind.
    let err = store
        .create_tenant(&tenant("acme"), &for_tenant(&a, "tenant.create"))
        .await;
    assert!(err.is_err());
    let logins: Vec<AuditEntry> = (0..10)
        .map(|i| for_tenant(&b, &format!("login.{i}")))
        .collect();
    let parallel = futures_util::future::join_all(logins.iter().map(|it| store.record(it))).await;
    assert!(parallel.into_iter().all(|it| it.is_ok()));

    let chain = store.audit_chain(0, 1000).await.unwrap();
    assert_eq!(chain.len(), 14);
    let (last, _) = domain::audit::verify_chain((0, domain::audit::GENESIS), &chain).unwrap();
    assert_eq!(last, 14);

    let mine = store
        .list_audit(
            &crate::AuditFilter {
                tenant: Some(a.id),
                ..Default::default()
            },
            None,
            100,
        )
        .await
        .unwrap();
    let actions: Vec<&str> = mine.iter().map(|it| it.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        ["key.update", "key.create", "tenant.create"],
        "newest first, this tenant only"
    );
    assert_eq!(mine[1].entry.after.as_deref(), Some("{\"name\":\"ü\"}"));
    let keys_only = store
        .list_audit(
            &crate::AuditFilter {
                tenant: Some(a.id),
                action_prefix: Some("key.".into()),
                ..Default::default()
            },
            None,
            100,
        )
        .await
        .unwrap();
    assert_eq!(keys_only.len(), 2);
    let literal = store
        .list_audit(
            &crate::AuditFilter {
                action_prefix: Some("key_".into()),
                ..Default::default()
            },
            None,
            100,
        )
        .await
        .unwrap();
    assert!(
        literal.is_empty(),
        "`_` in a prefix is literal, not a wildcard"
    );
    let filter = crate::AuditFilter {
        tenant: Some(b.id),
        ..Default::default()
    };
    let all_b = store.list_audit(&filter, None, 100).await.unwrap();
    assert_eq!(all_b.len(), 11);
    let first_page = store.list_audit(&filter, None, 4).await.unwrap();
    let second_page = store
        .list_audit(&filter, Some(first_page[3].seq), 4)
        .await
        .unwrap();
    assert_eq!(first_page[..], all_b[..4]);
    assert_eq!(
        second_page[..],
        all_b[4..8],
        "a cursor continues where the page ended"
    );
}

pub async fn credentials_are_tenant_scoped_and_reseal_in_one_go(store: &impl Store) {
    use domain::credential::ProviderCredential;
    use domain::crypto::{MasterKey, seal};
    let a = tenant("acme");
    let b = tenant("other");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    let master = MasterKey::generate();
    let credential = |tenant: TenantId, name: &str| ProviderCredential {
        id: domain::CredentialId::new(),
        tenant_id: tenant,
        name: name.into(),
        provider: "openai".into(),
        base_url: Some("https://api.openai.com/v1".into()),
        sealed: seal(&master, b"sk-secret").unwrap(),
        mask: "sk-s…cret".into(),
        created_by: None,
        created_at: now(),
    };
    let ours = credential(a.id, "prod");
    store.create_credential(&ours, &audit()).await.unwrap();
    store
        .create_credential(&credential(b.id, "prod"), &audit())
        .await
        .unwrap();
    let err = store
        .create_credential(&credential(a.id, "prod"), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(
        store.list_credentials(a.id).await.unwrap(),
        vec![ours.clone()]
    );
    let err = store
        .delete_credential(b.id, ours.id, &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "through another tenant");

    let all = store.sealed_secrets().await.unwrap();
    assert_eq!(all.len(), 2);
    let new_master = MasterKey::generate();
    let resealed: Vec<_> = all
        .iter()
        .map(|(id, sealed)| {
            (
                id.clone(),
                domain::crypto::reseal(std::slice::from_ref(&master), &new_master, sealed).unwrap(),
            )
        })
        .collect();
    store.reseal_secrets(&resealed, &audit()).await.unwrap();
    let stored = store.list_credentials(a.id).await.unwrap().remove(0);
    assert_eq!(
        domain::crypto::open(&[new_master], &stored.sealed).unwrap(),
        b"sk-secret"
    );
    store
        .delete_credential(a.id, ours.id, &audit())
        .await
        .unwrap();
    assert!(store.list_credentials(a.id).await.unwrap().is_empty());
}

pub async fn routes_and_residency_are_tenant_scoped_and_reach_the_snapshot(store: &impl Store) {
    use domain::route::{RouteSpec, RouteTarget, Serves, TenantRoute};
    let a = tenant("acme");
    let b = tenant("other");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    let spec = |model: &str| RouteSpec {
        strategy: "weighted".into(),
        targets: vec![
            RouteTarget {
                serves: Serves::Model {
                    model: model.into(),
                    deployment: Some("east".into()),
                },
                weight: 3,
                priority: 0,
            },
            RouteTarget {
                serves: Serves::OwnCredential {
                    provider: "openai".into(),
                    upstream_model: "gpt-4.1".into(),
                },
                weight: 1,
                priority: 1,
            },
        ],
        max_attempts: Some(3),
        timeout_ms: Some(30_000),
        fallback_on_context_window: true,
        cache_ttl_seconds: None,
    };
    let created = now();
    let route = TenantRoute {
        tenant_id: a.id,
        alias: "fast".into(),
        spec: spec("gpt-4o"),
        updated_by: None,
        created_at: created,
        updated_at: created,
    };
    let before = store.revision().await.unwrap();
    assert!(store.put_route(&route, &audit()).await.unwrap(), "created");
    assert!(store.revision().await.unwrap() > before);
    let mut other = route.clone();
    other.tenant_id = b.id;
    other.spec = spec("claude");
    assert!(store.put_route(&other, &audit()).await.unwrap());
    assert_eq!(store.list_routes(a.id).await.unwrap(), vec![route.clone()]);

    let mut replaced = route.clone();
    replaced.spec = spec("gpt-4o-mini");
    replaced.created_at = created + time::Duration::hours(1);
    replaced.updated_at = created + time::Duration::hours(1);
    assert!(
        !store.put_route(&replaced, &audit()).await.unwrap(),
        "replaced"
    );
    let stored = store.list_routes(a.id).await.unwrap().remove(0);
    assert_eq!(stored.spec, replaced.spec);
    assert_eq!(stored.created_at, created, "created stays");
    assert_eq!(stored.updated_at, replaced.updated_at);

    let access = store.load_access().await.unwrap();
    assert_eq!(access.routes.len(), 2);
    assert!(
        access
            .routes
            .iter()
            .any(|it| it.tenant_id == b.id && it.spec == other.spec)
    );

    let err = store
        .delete_route(b.id, "nope", &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    store.delete_route(a.id, "fast", &audit()).await.unwrap();
    assert!(store.list_routes(a.id).await.unwrap().is_empty());
    assert_eq!(
        store.list_routes(b.id).await.unwrap().len(),
        1,
        "the other tenant's stays"
    );
}

fn service_account(tenant: TenantId, name: &str) -> domain::service_account::ServiceAccount {
    domain::service_account::ServiceAccount {
        id: domain::ServiceAccountId::new(),
        tenant_id: tenant,
        name: name.into(),
        secret_hash: KeyHash::of(&format!("secret-of-{name}-{tenant}")),
        secret_last_four: "abcd".into(),
        allowed_models: vec!["mock".into()],
        scopes: domain::KeyScopes {
            endpoints: vec!["chat.completions".into()],
            ip_allowlist: vec!["10.0.0.0/8".parse().unwrap()],
            limits: domain::KeyLimits {
                requests_per_minute: Some(10),
                ..Default::default()
            },
            regions: vec!["eu".into()],
        },
        created_by: None,
        created_at: now(),
        revoked_at: None,
    }
}

pub async fn service_accounts_are_tenant_scoped_and_revocable(store: &impl Store) {
    let a = tenant("acme");
    let b = tenant("other");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    let ours = service_account(a.id, "ci");
    let theirs = service_account(b.id, "ci");
    let before = store.revision().await.unwrap();
    store.create_service_account(&ours, &audit()).await.unwrap();
    store
        .create_service_account(&theirs, &audit())
        .await
        .unwrap();
    assert!(store.revision().await.unwrap() > before);
    assert_eq!(
        store.list_service_accounts(a.id).await.unwrap(),
        vec![ours.clone()]
    );
    assert_eq!(
        store.get_service_account(a.id, ours.id).await.unwrap(),
        ours
    );
    let err = store.get_service_account(b.id, ours.id).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "through another tenant");
    assert_eq!(
        store.find_service_account(ours.id).await.unwrap(),
        Some(ours.clone())
    );
    let access = store.load_access().await.unwrap();
    assert_eq!(access.service_accounts.len(), 2);

    let new_hash = KeyHash::of("a new secret");
    let err = store
        .replace_service_account_secret(b.id, ours.id, new_hash, "wxyz", &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "through another tenant");
    store
        .replace_service_account_secret(a.id, ours.id, new_hash, "wxyz", &audit())
        .await
        .unwrap();
    let stored = store.get_service_account(a.id, ours.id).await.unwrap();
    assert_eq!(
        (stored.secret_hash, stored.secret_last_four.as_str()),
        (new_hash, "wxyz")
    );

    let err = store
        .revoke_service_account(b.id, ours.id, now(), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "through another tenant");
    let before = store.revision().await.unwrap();
    store
        .revoke_service_account(a.id, ours.id, now(), &audit())
        .await
        .unwrap();
    assert!(store.revision().await.unwrap() > before);
    let err = store
        .revoke_service_account(a.id, ours.id, now(), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "revoking twice");
    let access = store.load_access().await.unwrap();
    assert_eq!(
        access
            .service_accounts
            .iter()
            .map(|it| it.id)
            .collect::<Vec<_>>(),
        vec![theirs.id],
        "a revoked account leaves the snapshot"
    );
    assert!(
        store
            .list_service_accounts(a.id)
            .await
            .unwrap()
            .remove(0)
            .revoked_at
            .is_some()
    );
    let err = store
        .replace_service_account_secret(a.id, ours.id, new_hash, "wxyz", &audit())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::NotFound),
        "a revoked account keeps its secret"
    );
}

pub async fn signing_keys_rotate_and_reseal_with_credentials(store: &impl Store) {
    use domain::crypto::{MasterKey, seal};
    use domain::service_account::SigningKey;
    let master = MasterKey::generate();
    let key = |kid: &str, at: OffsetDateTime| SigningKey {
        kid: kid.into(),
        algorithm: "ES256".into(),
        private_key: seal(&master, kid.as_bytes()).unwrap(),
        public_jwk: format!("{{\"kid\":\"{kid}\"}}"),
        created_at: at,
        retired_at: None,
    };
    let first = key("k1", now() - time::Duration::days(40));
    store
        .insert_signing_key(&first, now(), &audit())
        .await
        .unwrap();
    let before = store.revision().await.unwrap();
    let grace_end = now() + time::Duration::minutes(15);
    let second = key("k2", now());
    store
        .insert_signing_key(&second, grace_end, &audit())
        .await
        .unwrap();
    assert!(store.revision().await.unwrap() > before);
    let all = store.signing_keys().await.unwrap();
    assert_eq!(
        all.iter().map(|it| it.kid.as_str()).collect::<Vec<_>>(),
        ["k2", "k1"],
        "newest first"
    );
    assert_eq!(all[0].retired_at, None);
    assert_eq!(
        all[1].retired_at,
        Some(grace_end),
        "the old key verifies until its tokens expire"
    );
    assert_eq!(
        store.load_access().await.unwrap().signing_keys.len(),
        2,
        "a key in its grace period still verifies"
    );
    let third = key("k3", now());
    // A later rotation never extends an earlier grace period.
    store
        .insert_signing_key(
            &key("k2b", now()),
            now() + time::Duration::hours(1),
            &audit(),
        )
        .await
        .unwrap();
    let all = store.signing_keys().await.unwrap();
    assert_eq!(
        all.iter().find(|it| it.kid == "k1").unwrap().retired_at,
        Some(grace_end)
    );
    store
        .insert_signing_key(&third, now() - time::Duration::seconds(1), &audit())
        .await
        .unwrap();
    let verifying: Vec<String> = store
        .load_access()
        .await
        .unwrap()
        .signing_keys
        .into_iter()
        .map(|it| it.kid)
        .collect();
    assert_eq!(
        verifying,
        ["k3"],
        "retiring now cuts every grace period short"
    );
    let all = store.signing_keys().await.unwrap();
    assert!(all[1..].iter().all(|it| it.retired_at < Some(now())));

    let sealed = store.sealed_secrets().await.unwrap();
    assert_eq!(sealed.len(), 4);
    let new_master = MasterKey::generate();
    let resealed: Vec<_> = sealed
        .iter()
        .map(|(id, sealed)| {
            (
                id.clone(),
                domain::crypto::reseal(std::slice::from_ref(&master), &new_master, sealed).unwrap(),
            )
        })
        .collect();
    store.reseal_secrets(&resealed, &audit()).await.unwrap();
    for key in store.signing_keys().await.unwrap() {
        assert_eq!(
            domain::crypto::open(std::slice::from_ref(&new_master), &key.private_key).unwrap(),
            key.kid.as_bytes()
        );
    }
}

fn partner(name: &str, prefix: &str, domains: &[&str]) -> domain::partner::Partner {
    domain::partner::Partner {
        id: domain::PartnerId::new(),
        name: name.into(),
        branding: domain::partner::Branding::platform(name),
        key_prefix: prefix.into(),
        domains: domains
            .iter()
            .map(|it| domain::partner::PartnerDomain::vouched((*it).to_owned(), now()))
            .collect(),
        created_at: now(),
    }
}

fn hosts(partner: &domain::partner::Partner) -> Vec<(&str, bool)> {
    partner
        .domains
        .iter()
        .map(|it| (it.host.as_str(), it.is_verified()))
        .collect()
}

pub async fn affiliations_name_the_partners_of_memberships_and_administration(store: &impl Store) {
    let sorted = |mut found: Vec<Option<domain::PartnerId>>| {
        found.sort();
        found
    };
    let ada = user("ada@customer.example");
    let bob = user("bob@acme.example");
    store.create_user(&ada, &audit()).await.unwrap();
    store.create_user(&bob, &audit()).await.unwrap();
    assert!(
        store.partner_affiliations(ada.id).await.unwrap().is_empty(),
        "a new account belongs nowhere"
    );
    let acme = partner("Acme", "sk-acme", &[]);
    store
        .create_partner(&acme, Some(bob.id), &audit())
        .await
        .unwrap();
    let mut sub = tenant("customer");
    sub.partner_id = Some(acme.id);
    store
        .create_tenant_with_owner(&sub, ada.id, &audit())
        .await
        .unwrap();
    let mut second = tenant("customer two");
    second.partner_id = Some(acme.id);
    store
        .create_tenant_with_owner(&second, ada.id, &audit())
        .await
        .unwrap();
    assert_eq!(
        store.partner_affiliations(ada.id).await.unwrap(),
        [Some(acme.id)],
        "each partner once"
    );
    assert_eq!(
        store.partner_affiliations(bob.id).await.unwrap(),
        [Some(acme.id)],
        "administrators belong to their partner"
    );
    owned_tenant(store, "direct", &ada).await;
    assert_eq!(
        sorted(store.partner_affiliations(ada.id).await.unwrap()),
        [None, Some(acme.id)],
        "a platform tenant counts as `None`"
    );
}

pub async fn partners_own_domains_admins_and_sub_tenants(store: &impl Store) {
    let ada = user("ada@partner.example");
    let bob = user("bob@other.example");
    store.create_user(&ada, &audit()).await.unwrap();
    store.create_user(&bob, &audit()).await.unwrap();
    let acme = partner("Acme", "sk-acme", &["ai.acme.example"]);
    let before = store.revision().await.unwrap();
    store
        .create_partner(&acme, Some(ada.id), &audit())
        .await
        .unwrap();
    assert!(store.revision().await.unwrap() > before);
    let other = partner("Other", "sk-other", &[]);
    store
        .create_partner(&other, Some(bob.id), &audit())
        .await
        .unwrap();
    for clash in [
        partner("Acme", "sk-new", &[]),
        partner("New", "sk-acme", &[]),
        partner("New", "sk-new", &["ai.acme.example"]),
    ] {
        let err = store
            .create_partner(&clash, None, &audit())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    }
    assert_eq!(store.get_partner(acme.id).await.unwrap(), acme);
    assert_eq!(store.list_partners().await.unwrap().len(), 2);
    assert_eq!(store.partners_of(ada.id).await.unwrap(), vec![acme.clone()]);
    assert!(store.is_partner_admin(acme.id, ada.id).await.unwrap());
    assert_eq!(
        store.partner_by_host("ai.acme.example").await.unwrap(),
        Some(acme.clone())
    );
    assert_eq!(
        store.partner_by_host("elsewhere.example").await.unwrap(),
        None
    );
    assert!(!store.is_partner_admin(acme.id, bob.id).await.unwrap());

    let mut branding = acme.branding.clone();
    branding.display_name = "Acme Intelligence".into();
    branding.primary_color = "#ff6600".into();
    let before = store.revision().await.unwrap();
    store
        .update_branding(acme.id, &branding, &audit())
        .await
        .unwrap();
    assert!(
        store.revision().await.unwrap() > before,
        "branding reaches every node"
    );
    // A claim is pending until proved; pending claims of one host may coexist (nobody
    // squats a domain by claiming it first), a verified one excludes every other.
    let portal = domain::partner::PartnerDomain::pending("portal.acme.example".into(), now());
    store
        .add_partner_domain(acme.id, &portal, &audit())
        .await
        .unwrap();
    let err = store
        .add_partner_domain(acme.id, &portal, &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "claimed twice: {err:?}");
    let rival = domain::partner::PartnerDomain::pending("portal.acme.example".into(), now());
    store
        .add_partner_domain(other.id, &rival, &audit())
        .await
        .unwrap();
    assert_eq!(
        store.partner_by_host("portal.acme.example").await.unwrap(),
        None,
        "a pending claim resolves to nobody"
    );
    let err = store
        .add_partner_domain(
            other.id,
            &domain::partner::PartnerDomain::pending("ai.acme.example".into(), now()),
            &audit(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Conflict(_)),
        "verified by another partner"
    );
    let err = store
        .verify_partner_domain(other.id, "elsewhere.example", now(), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "no such claim");
    let before = store.revision().await.unwrap();
    let proved_at = now();
    store
        .verify_partner_domain(acme.id, "portal.acme.example", proved_at, &audit())
        .await
        .unwrap();
    assert!(
        store.revision().await.unwrap() > before,
        "every node learns it"
    );
    assert_eq!(
        store
            .partner_by_host("portal.acme.example")
            .await
            .unwrap()
            .map(|it| it.id),
        Some(acme.id)
    );
    let err = store
        .verify_partner_domain(other.id, "portal.acme.example", now(), &audit())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Conflict(_)),
        "one verified owner: {err:?}"
    );
    store
        .verify_partner_domain(acme.id, "portal.acme.example", now(), &audit())
        .await
        .unwrap();
    let err = store
        .remove_partner_domain(other.id, "ai.acme.example", &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "through another partner");
    let access = store.load_access().await.unwrap();
    let loaded = access.partners.iter().find(|it| it.id == acme.id).unwrap();
    assert_eq!(loaded.branding, branding);
    assert_eq!(
        hosts(loaded),
        [("ai.acme.example", true), ("portal.acme.example", true)]
    );
    let proved = &loaded.domains[1];
    assert_eq!(
        (proved.challenge.as_str(), proved.verified_at),
        (portal.challenge.as_str(), Some(proved_at)),
        "the challenge is kept and a second proof keeps the first time"
    );
    assert_eq!(
        hosts(&store.get_partner(other.id).await.unwrap()),
        [("portal.acme.example", false)]
    );
    store
        .remove_partner_domain(acme.id, "ai.acme.example", &audit())
        .await
        .unwrap();
    assert_eq!(
        hosts(&store.get_partner(acme.id).await.unwrap()),
        [("portal.acme.example", true)]
    );

    store
        .add_partner_admin(acme.id, bob.id, now(), &audit())
        .await
        .unwrap();
    let err = store
        .add_partner_admin(acme.id, bob.id, now(), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)));
    let admins = store.list_partner_admins(acme.id).await.unwrap();
    assert_eq!(
        admins
            .iter()
            .map(|it| it.email.as_str())
            .collect::<Vec<_>>(),
        ["ada@partner.example", "bob@other.example"]
    );
    store
        .remove_partner_admin(acme.id, ada.id, &audit())
        .await
        .unwrap();
    let err = store
        .remove_partner_admin(acme.id, bob.id, &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "the last admin stays");
    assert_eq!(store.list_partner_admins(acme.id).await.unwrap().len(), 1);

    let mut sub = tenant("customer one");
    sub.partner_id = Some(acme.id);
    store.create_tenant(&sub, &audit()).await.unwrap();
    store
        .create_tenant(&tenant("direct"), &audit())
        .await
        .unwrap();
    assert_eq!(
        store.list_partner_tenants(acme.id).await.unwrap(),
        vec![sub.clone()]
    );
    assert!(
        store
            .list_partner_tenants(other.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.get_tenant(sub.id).await.unwrap().partner_id,
        Some(acme.id)
    );

    // The snapshot knows who reaches which tenant: members with their role, partner
    // administrators in the partner's sub-tenants, and operators everywhere.
    let own = owned_tenant(store, "ada's own", &ada).await;
    let before = store.revision().await.unwrap();
    store.set_operator(ada.id, true, &audit()).await.unwrap();
    assert!(store.revision().await.unwrap() > before);
    let access = store.load_access().await.unwrap();
    assert!(access.reach.contains(&crate::TenantReach {
        user: bob.id,
        tenant: sub.id,
        role: None,
    }));
    assert!(access.reach.contains(&crate::TenantReach {
        user: ada.id,
        tenant: own.id,
        role: Some(domain::Role::Owner),
    }));
    assert!(
        !access
            .reach
            .iter()
            .any(|it| it.user == ada.id && it.tenant == sub.id),
        "ada no longer administers acme"
    );
    assert_eq!(access.operators, vec![ada.id]);
}

pub async fn sso_states_work_once_and_domains_have_one_owner(store: &impl Store) {
    use domain::sso::{SsoDomain, SsoState};
    let state = SsoState {
        state_hash: KeyHash::of("state"),
        provider: "okta".into(),
        nonce: "nonce".into(),
        pkce_verifier: "verifier".into(),
        return_to: "/keys".into(),
        created_at: now(),
        expires_at: now() + time::Duration::minutes(10),
    };
    store.create_sso_state(&state).await.unwrap();
    assert_eq!(
        store.take_sso_state(state.state_hash).await.unwrap(),
        Some(state.clone())
    );
    assert_eq!(
        store.take_sso_state(state.state_hash).await.unwrap(),
        None,
        "a state works once"
    );

    let a = tenant("acme");
    let b = tenant("other");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    let rule = |tenant: TenantId, provider: &str| SsoDomain {
        domain: "acme.example".into(),
        tenant_id: tenant,
        provider: provider.into(),
        created_at: now(),
    };
    store
        .set_sso_domain(&rule(a.id, "okta"), &audit())
        .await
        .unwrap();
    store
        .set_sso_domain(&rule(a.id, "google"), &audit())
        .await
        .unwrap();
    let err = store
        .set_sso_domain(&rule(b.id, "okta"), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(
        store
            .sso_domain("acme.example")
            .await
            .unwrap()
            .unwrap()
            .provider,
        "google"
    );
    assert_eq!(store.list_sso_domains(a.id).await.unwrap().len(), 1);
    assert!(store.list_sso_domains(b.id).await.unwrap().is_empty());
    let err = store
        .remove_sso_domain(b.id, "acme.example", &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "through another tenant");
    store
        .remove_sso_domain(a.id, "acme.example", &audit())
        .await
        .unwrap();
    assert_eq!(store.sso_domain("acme.example").await.unwrap(), None);
}

fn semantic_entry(
    id: &str,
    alias: &str,
    created: OffsetDateTime,
    ttl_secs: i64,
) -> crate::SemanticEntry {
    crate::SemanticEntry {
        id: id.into(),
        alias: alias.into(),
        scope: "ab12".into(),
        vector: vec![1.0, -0.25, 0.1, f32::MIN_POSITIVE],
        body: r#"{"id":"chatcmpl-1","choices":[]}"#.into(),
        counts: domain::llm::TokenCounts {
            prompt: 11,
            completion: 7,
            cached: 1,
            cache_write: 2,
            reasoning: 3,
        },
        deployment: "east".into(),
        created_at: created,
        expires_at: created + time::Duration::seconds(ttl_secs),
    }
}

pub async fn semantic_entries_are_tenant_scoped_bounded_and_expire(store: &impl Store) {
    let a = tenant("acme");
    let b = tenant("other");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    let t0 = now();
    let first = semantic_entry("1", "chat", t0, 60);
    let second = semantic_entry("2", "chat", t0 + time::Duration::seconds(1), 60);
    let expired = semantic_entry("3", "chat", t0 - time::Duration::seconds(120), 60);
    store.put_semantic_entry(a.id, &first).await.unwrap();
    store.put_semantic_entry(a.id, &expired).await.unwrap();
    // The same id in another tenant is another entry.
    store.put_semantic_entry(b.id, &second).await.unwrap();
    let mut b_second = second.clone();
    b_second.id = "1".into();
    store.put_semantic_entry(b.id, &b_second).await.unwrap();
    let err = store
        .put_semantic_entry(TenantId::new(), &first)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");

    let loaded = store.load_semantic_entries(t0, 100).await.unwrap();
    assert_eq!(loaded.len(), 3, "the expired one is not loaded");
    assert!(
        loaded.contains(&(a.id, first.clone())),
        "every field kept exactly"
    );
    assert_eq!(
        loaded.iter().filter(|(tenant, _)| *tenant == b.id).count(),
        2,
        "each under its own tenant"
    );
    assert!(
        loaded
            .iter()
            .all(|(tenant, it)| *tenant != a.id || it.id == "1")
    );
    let newest = store.load_semantic_entries(t0, 1).await.unwrap();
    assert_eq!(newest.len(), 1, "bounded");
    assert_eq!(newest[0].1.created_at, second.created_at, "newest first");

    assert_eq!(store.delete_expired_semantic_entries(t0).await.unwrap(), 1);
    assert_eq!(store.delete_expired_semantic_entries(t0).await.unwrap(), 0);
    let later = t0 + time::Duration::seconds(3600);
    assert!(
        store
            .load_semantic_entries(later, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.delete_expired_semantic_entries(later).await.unwrap(),
        3
    );
}

pub async fn semantic_thresholds_are_per_tenant_exact_and_reach_the_snapshot(store: &impl Store) {
    use domain::tenant::SemanticThreshold;
    let a = tenant("acme");
    let b = tenant("other");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    assert_eq!(store.tenant_semantic_threshold(a.id).await.unwrap(), None);
    let threshold = SemanticThreshold::from_fraction(0.9731).unwrap();
    let before = store.revision().await.unwrap();
    store
        .set_tenant_semantic_threshold(a.id, Some(threshold), &audit())
        .await
        .unwrap();
    assert!(store.revision().await.unwrap() > before, "nodes reload");
    assert_eq!(
        store.tenant_semantic_threshold(a.id).await.unwrap(),
        Some(threshold)
    );
    assert_eq!(store.tenant_semantic_threshold(b.id).await.unwrap(), None);
    let access = store.load_access().await.unwrap();
    assert_eq!(access.semantic_thresholds, vec![(a.id, threshold)]);
    store
        .set_tenant_semantic_threshold(a.id, None, &audit())
        .await
        .unwrap();
    assert_eq!(store.tenant_semantic_threshold(a.id).await.unwrap(), None);
    assert!(
        store
            .load_access()
            .await
            .unwrap()
            .semantic_thresholds
            .is_empty()
    );
    let err = store
        .set_tenant_semantic_threshold(TenantId::new(), Some(threshold), &audit())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    let err = store
        .tenant_semantic_threshold(TenantId::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
}

pub async fn limit_policies_are_per_scope_replaced_whole_and_reach_the_snapshot(
    store: &impl Store,
) {
    use domain::limits::{
        Budget, BudgetAmount, BudgetPeriod, LimitPolicy, PolicyScope, ScopedPolicy,
    };
    let a = tenant("acme");
    store.create_tenant(&a, &audit()).await.unwrap();
    let scope = PolicyScope::Tenant(a.id);
    assert_eq!(store.limit_policy(scope).await.unwrap(), None);
    let mut policy = LimitPolicy::default();
    policy.rates.requests_per_minute = Some(60);
    policy.budgets.push(Budget {
        period: BudgetPeriod::Rolling30Days,
        amount: BudgetAmount::Spend(domain::pricing::Money::from_nanos(25_000_000_000)),
        hard: false,
        alert_at_percent: vec![50, 100],
    });
    policy.denied_models.push("ünïcode-model".into());
    let before = store.revision().await.unwrap();
    store
        .set_limit_policy(scope, Some(&policy), &audit())
        .await
        .unwrap();
    assert!(store.revision().await.unwrap() > before, "nodes reload");
    assert_eq!(
        store.limit_policy(scope).await.unwrap(),
        Some(policy.clone())
    );
    assert_eq!(
        store.limit_policy(PolicyScope::Platform).await.unwrap(),
        None,
        "scopes are apart"
    );
    let mut platform = LimitPolicy::default();
    platform.rates.max_concurrent = Some(5);
    store
        .set_limit_policy(PolicyScope::Platform, Some(&platform), &audit())
        .await
        .unwrap();
    let mut replaced = LimitPolicy::default();
    replaced.rates.tokens_per_day = Some(9);
    store
        .set_limit_policy(scope, Some(&replaced), &audit())
        .await
        .unwrap();
    assert_eq!(
        store.limit_policy(scope).await.unwrap(),
        Some(replaced.clone())
    );
    let mut loaded = store.load_access().await.unwrap().limit_policies;
    loaded.sort_by_key(|it| matches!(it.scope, PolicyScope::Tenant(_)));
    assert_eq!(
        loaded,
        vec![
            ScopedPolicy {
                scope: PolicyScope::Platform,
                policy: platform
            },
            ScopedPolicy {
                scope,
                policy: replaced
            },
        ]
    );
    store.set_limit_policy(scope, None, &audit()).await.unwrap();
    assert_eq!(store.limit_policy(scope).await.unwrap(), None);
    assert_eq!(store.load_access().await.unwrap().limit_policies.len(), 1);
}

pub async fn alerts_are_raised_once_and_delivered_by_one_claimer_at_a_time(store: &impl Store) {
    use domain::limits::{
        AlertRecipient, AttemptOutcome, BudgetAlert, BudgetPeriod, Delivery, WebhookEndpoint,
    };
    let a = tenant("acme");
    store.create_tenant(&a, &audit()).await.unwrap();
    let now = OffsetDateTime::now_utc();
    let alert = |percent: u16| BudgetAlert {
        id: domain::AlertId::new(),
        tenant_id: a.id,
        partner_id: None,
        owner: "tenant".into(),
        key_id: None,
        budget: "spend".into(),
        period: BudgetPeriod::Month,
        period_id: "2026-12".into(),
        threshold_percent: percent,
        limit: "10".into(),
        used: "8.5".into(),
        hard: true,
        raised_at: now,
    };
    let first = alert(80);
    assert!(store.raise_alert(&first).await.unwrap());
    assert!(
        !store.raise_alert(&alert(80)).await.unwrap(),
        "the same threshold of the same period is raised once"
    );
    assert!(store.raise_alert(&alert(100)).await.unwrap());
    let listed = store
        .list_alerts(AlertRecipient::Tenant(a.id), 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|it| it.delivery == Delivery::Pending && it.attempts == 0)
    );

    // Two nodes claim at once: each alert goes to one of them.
    let lease = time::Duration::minutes(1);
    let (one, two) = futures_util::join!(
        store.claim_due_alerts(now, lease, 10),
        store.claim_due_alerts(now, lease, 10)
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one.len() + two.len(), 2, "{one:?} {two:?}");
    assert!(one.iter().chain(&two).all(|it| it.attempts == 1));
    assert!(
        store
            .claim_due_alerts(now, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    // A failed attempt is due again at its retry; then it is delivered.
    let retry_at = now + time::Duration::seconds(5);
    store
        .alert_attempted(
            first.id,
            &AttemptOutcome::Retry {
                at: retry_at,
                error: "503 ünïcode".into(),
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .claim_due_alerts(now, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_due_alerts(retry_at, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].alert, first);
    assert_eq!(again[0].attempts, 2);
    assert_eq!(again[0].last_error.as_deref(), Some("503 ünïcode"));
    store
        .alert_attempted(first.id, &AttemptOutcome::Delivered(retry_at))
        .await
        .unwrap();
    let listed = store
        .list_alerts(AlertRecipient::Tenant(a.id), 10)
        .await
        .unwrap();
    let delivered = listed.iter().find(|it| it.alert.id == first.id).unwrap();
    assert_eq!(delivered.delivery, Delivery::Delivered);
    assert!(delivered.delivered_at.is_some());
    assert!(
        store
            .list_alerts(AlertRecipient::Partner(domain::PartnerId::new()), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Webhooks: one per recipient, replaced, removed; their secrets are re-sealable.
    let recipient = AlertRecipient::Tenant(a.id);
    assert_eq!(store.webhook(recipient).await.unwrap(), None);
    let sealed = domain::crypto::Keyring::new(domain::crypto::MasterKey::generate(), vec![])
        .seal(b"whsec_x")
        .unwrap();
    let endpoint = WebhookEndpoint {
        url: "https://hooks.example/ü".into(),
        secret: sealed,
        created_at: now.replace_nanosecond(0).unwrap(),
        updated_at: now.replace_nanosecond(0).unwrap(),
    };
    store
        .set_webhook(recipient, Some(&endpoint), &audit())
        .await
        .unwrap();
    assert_eq!(
        store.webhook(recipient).await.unwrap(),
        Some(endpoint.clone())
    );
    assert!(
        store
            .sealed_secrets()
            .await
            .unwrap()
            .iter()
            .any(|(id, _)| *id == crate::SecretRef::Webhook(recipient))
    );
    store.set_webhook(recipient, None, &audit()).await.unwrap();
    assert_eq!(store.webhook(recipient).await.unwrap(), None);
}

pub async fn invoice_payments_resume_and_settle_once_and_hold_the_unpaid(store: &impl Store) {
    use domain::invoice::{Invoice, InvoiceContent, InvoiceStatus};
    use domain::payment::{InvoicePayment, PaymentStatus};
    use domain::pricing::Money;
    let a = tenant("a");
    let b = tenant("b");
    store.create_tenant(&a, &audit()).await.unwrap();
    store.create_tenant(&b, &audit()).await.unwrap();
    let content = InvoiceContent::compose("USD", Vec::new(), &[], Money::from_nanos(7), None);
    let start = now() - time::Duration::days(90);
    let mut finalized = Vec::new();
    for (n, tenant) in [a.id, a.id, b.id].into_iter().enumerate() {
        let from = start + time::Duration::days(30 * i64::try_from(n).unwrap());
        let draft = Invoice {
            id: domain::InvoiceId::new(),
            tenant_id: tenant,
            status: InvoiceStatus::Draft,
            number: None,
            from,
            to: from + time::Duration::days(30),
            created_by: "system".into(),
            created_at: now(),
            finalized_at: None,
            voided_at: None,
            void_reason: None,
            content: None,
        };
        store.add_invoice(&draft, &audit()).await.unwrap();
        let (_, seen) = store.finalized_invoices(tenant).await.unwrap();
        let at = now() + time::Duration::seconds(i64::try_from(n).unwrap());
        finalized.push(
            store
                .finalize_invoice(tenant, draft.id, &content, seen, at, &audit())
                .await
                .unwrap(),
        );
    }
    // A draft is never sent; finalized ones from `since` on are, earliest first.
    let to_send = store.invoices_to_send(start, 10).await.unwrap();
    assert_eq!(
        to_send.iter().map(|it| it.id).collect::<Vec<_>>(),
        finalized.iter().map(|it| it.id).collect::<Vec<_>>()
    );
    let later = finalized[1].finalized_at.unwrap();
    assert_eq!(store.invoices_to_send(later, 10).await.unwrap().len(), 2);
    assert_eq!(store.invoices_to_send(start, 1).await.unwrap().len(), 1);

    // The customer kept is the first one; a partner's are kept apart from its tenants'.
    let payer = domain::payment::Payer::Tenant(a.id);
    assert_eq!(store.billing_customer(payer).await.unwrap(), None);
    assert_eq!(
        store.keep_billing_customer(payer, "cus_1").await.unwrap(),
        "cus_1"
    );
    assert_eq!(
        store.keep_billing_customer(payer, "cus_2").await.unwrap(),
        "cus_1"
    );
    assert_eq!(
        store.billing_customer(payer).await.unwrap().as_deref(),
        Some("cus_1")
    );
    let other = domain::payment::Payer::Tenant(b.id);
    assert_eq!(store.billing_customer(other).await.unwrap(), None);
    let partner = domain::payment::Payer::Partner(domain::PartnerId::new());
    assert_eq!(store.billing_customer(partner).await.unwrap(), None);
    assert_eq!(
        store.keep_billing_customer(partner, "cus_p").await.unwrap(),
        "cus_p"
    );
    assert_eq!(
        store.keep_billing_customer(partner, "cus_q").await.unwrap(),
        "cus_p"
    );
    assert_eq!(
        store.billing_customer(payer).await.unwrap().as_deref(),
        Some("cus_1")
    );

    // Progress is saved while sending; the invoice stays to send until it leaves `sending`.
    let first = &finalized[0];
    let mut payment = InvoicePayment::sending(first.id, a.id, now());
    payment.provider_invoice = Some("in_1".into());
    payment.items_sent = 2;
    assert!(store.save_invoice_payment(&payment).await.unwrap());
    assert_eq!(
        store.invoice_payment(first.id).await.unwrap().as_ref(),
        Some(&payment)
    );
    assert_eq!(store.invoices_to_send(start, 10).await.unwrap().len(), 3);
    let revision = store.revision().await.unwrap();
    let due = now() - time::Duration::days(1);
    payment.status = PaymentStatus::Open;
    payment.items_sent = 3;
    payment.due_at = Some(due);
    payment.suspend_at = Some(due + time::Duration::hours(1));
    payment.hosted_url = Some("https://pay.example/in_1".into());
    assert!(store.save_invoice_payment(&payment).await.unwrap());
    assert!(
        store.revision().await.unwrap() > revision,
        "a tenant fell due"
    );
    assert_eq!(store.invoices_to_send(start, 10).await.unwrap().len(), 2);
    // Once out of `sending`, a late save of a sync changes nothing.
    let mut stale = payment.clone();
    stale.status = PaymentStatus::Sending;
    assert!(!store.save_invoice_payment(&stale).await.unwrap());
    assert_eq!(
        store
            .invoice_payment(first.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        PaymentStatus::Open
    );
    // A second unpaid invoice: the hold is the earliest instant.
    let mut second = InvoicePayment::sending(finalized[1].id, a.id, now());
    second.provider_invoice = Some("in_2".into());
    second.status = PaymentStatus::Open;
    second.suspend_at = Some(due + time::Duration::days(5));
    assert!(store.save_invoice_payment(&second).await.unwrap());
    let holds = store.load_access().await.unwrap().payment_holds;
    assert_eq!(holds, vec![(a.id, due + time::Duration::hours(1))]);

    // Settling: failed only while due, paid once, void never after paid; each change audited.
    let at = now();
    let (failed, changed) = store
        .settle_invoice_payment("in_1", PaymentStatus::Failed, at, &audit())
        .await
        .unwrap()
        .unwrap();
    assert!(changed);
    assert_eq!(failed.status, PaymentStatus::Failed);
    assert_eq!(failed.failed_at, Some(at));
    let revision = store.revision().await.unwrap();
    let (paid, changed) = store
        .settle_invoice_payment("in_1", PaymentStatus::Paid, at, &audit())
        .await
        .unwrap()
        .unwrap();
    assert!(changed);
    assert_eq!((paid.status, paid.paid_at), (PaymentStatus::Paid, Some(at)));
    assert!(store.revision().await.unwrap() > revision);
    for change in [
        PaymentStatus::Paid,
        PaymentStatus::Failed,
        PaymentStatus::Void,
    ] {
        let (after, changed) = store
            .settle_invoice_payment("in_1", change, now(), &audit())
            .await
            .unwrap()
            .unwrap();
        assert!(!changed, "{change:?}");
        assert_eq!(after, paid);
    }
    assert!(
        store
            .settle_invoice_payment("in_unknown", PaymentStatus::Paid, at, &audit())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .settle_invoice_payment("in_1", PaymentStatus::Open, at, &audit())
            .await
            .is_err()
    );
    // The paid one holds nothing; the other still does, until voided.
    let holds = store.load_access().await.unwrap().payment_holds;
    assert_eq!(holds, vec![(a.id, due + time::Duration::days(5))]);
    let (void, changed) = store
        .settle_invoice_payment("in_2", PaymentStatus::Void, at, &audit())
        .await
        .unwrap()
        .unwrap();
    assert!(changed);
    assert_eq!(void.status, PaymentStatus::Void);
    assert!(store.load_access().await.unwrap().payment_holds.is_empty());
    let mut listed = store.invoice_payments(a.id).await.unwrap();
    listed.sort_by_key(|it| it.provider_invoice.clone());
    assert_eq!(
        listed
            .iter()
            .map(|it| (it.provider_invoice.as_deref(), it.status))
            .collect::<Vec<_>>(),
        vec![
            (Some("in_1"), PaymentStatus::Paid),
            (Some("in_2"), PaymentStatus::Void)
        ]
    );
    assert!(store.invoice_payments(b.id).await.unwrap().is_empty());
}

pub async fn rollup_sums_of_absurd_prices_saturate_instead_of_failing(store: &impl Store) {
    use domain::pricing::Money;
    use domain::rollup::Grain;
    let a = tenant("a");
    store.create_tenant(&a, &audit()).await.unwrap();
    let day = Grain::Day.floor(now()) - time::Duration::days(3);
    let mut records = Vec::new();
    for (n, nanos) in [i64::MAX - 10, i64::MAX - 10, 5, 6, 7]
        .into_iter()
        .enumerate()
    {
        let at = day + time::Duration::days(i64::try_from(n % 3).unwrap());
        let mut record = usage(a.id, ApiKeyId::new(), at + time::Duration::hours(1));
        record.price = Some(Money::from_nanos(nanos));
        record.model_alias = if nanos > 10 { "dear" } else { "cheap" }.into();
        records.push(record);
    }
    store.insert_usage(&records).await.unwrap();
    let sums = store
        .rollup_sums(a.id, Grain::Day, day, day + time::Duration::days(3))
        .await
        .unwrap();
    let price = |model: &str| {
        sums.iter()
            .find(|(it, _)| it == model)
            .map(|(_, it)| it.price)
            .unwrap()
    };
    assert_eq!(price("dear"), Money::from_nanos(i64::MAX));
    assert_eq!(price("cheap"), Money::from_nanos(18));
}
