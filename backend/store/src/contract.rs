//! The contract every `Store` implementation must honour, as reusable async test bodies.
//!
//! Each backend instantiates all of them with [`store_contract_tests!`](crate::store_contract_tests),
//! giving a function that returns a fresh, migrated, empty store.

#![expect(clippy::unwrap_used, reason = "contract tests fail loudly")]

use domain::{
    ApiKey, ApiKeyId, KeyHash, RequestId, Tenant, TenantId, TenantStatus, UsageId, UsageRecord,
    UsageStatus,
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

fn key(tenant: TenantId, secret: &str) -> ApiKey {
    ApiKey {
        id: ApiKeyId::new(),
        tenant_id: tenant,
        name: Some(format!("key {secret}")),
        display_prefix: "sk-test-abcd".into(),
        last_four: "wxyz".into(),
        hash: KeyHash::of(secret),
        allowed_models: vec![],
        created_at: now(),
        expires_at: None,
        revoked_at: None,
    }
}

fn usage(tenant: TenantId, key: ApiKeyId, created_at: OffsetDateTime) -> UsageRecord {
    UsageRecord {
        id: UsageId::new(),
        request_id: RequestId::new(),
        tenant_id: tenant,
        key_id: key,
        endpoint: "chat.completions".into(),
        model_alias: "gpt".into(),
        provider: "openai".into(),
        upstream_model: "gpt-4o-mini".into(),
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
    }
}

pub async fn tenants_round_trip_and_list_oldest_first(store: &impl Store) {
    let a = tenant("acme");
    let b = tenant("Ünïcode 租户");
    store.create_tenant(&a).await.unwrap();
    store.create_tenant(&b).await.unwrap();
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
    store.create_tenant(&tenant("acme")).await.unwrap();
    let err = store.create_tenant(&tenant("acme")).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(store.list_tenants().await.unwrap().len(), 1);
}

pub async fn missing_tenant_is_not_found(store: &impl Store) {
    let err = store.get_tenant(TenantId::new()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    let err = store
        .set_tenant_status(TenantId::new(), TenantStatus::Suspended)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
}

pub async fn tenant_status_changes_and_bumps_revision(store: &impl Store) {
    let a = tenant("acme");
    store.create_tenant(&a).await.unwrap();
    let before = store.revision().await.unwrap();
    store
        .set_tenant_status(a.id, TenantStatus::Suspended)
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
    store.create_tenant(&a).await.unwrap();
    let mut k = key(a.id, "secret-1");
    k.allowed_models = vec!["gpt-4o".into(), "claude-ünï".into()];
    k.expires_at = Some(now() + time::Duration::days(30));
    k.name = None;
    store.insert_key(a.id, &k).await.unwrap();
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
    store.create_tenant(&a).await.unwrap();
    store.create_tenant(&b).await.unwrap();
    let ka = key(a.id, "secret-a");
    let kb = key(b.id, "secret-b");
    store.insert_key(a.id, &ka).await.unwrap();
    store.insert_key(b.id, &kb).await.unwrap();
    assert_eq!(store.list_keys(a.id).await.unwrap(), vec![ka.clone()]);
    assert_eq!(store.list_keys(b.id).await.unwrap(), vec![kb.clone()]);
    let err = store.get_key(a.id, kb.id).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    // A key inserted under a tenant other than its own `tenant_id` is refused, not misfiled.
    let mut sneaky = key(b.id, "secret-sneaky");
    sneaky.tenant_id = b.id;
    let err = store.insert_key(a.id, &sneaky).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
}

pub async fn revoking_hides_key_from_access_data_and_bumps_revision(store: &impl Store) {
    let a = tenant("acme");
    store.create_tenant(&a).await.unwrap();
    let k = key(a.id, "secret-1");
    let other = key(a.id, "secret-2");
    store.insert_key(a.id, &k).await.unwrap();
    store.insert_key(a.id, &other).await.unwrap();
    let before = store.revision().await.unwrap();
    let at = now();
    store.revoke_key(a.id, k.id, at).await.unwrap();
    assert!(store.revision().await.unwrap() > before);
    let access = store.load_access().await.unwrap();
    assert_eq!(access.keys, vec![other]);
    assert_eq!(
        store.get_key(a.id, k.id).await.unwrap().revoked_at,
        Some(at)
    );
    // A second revocation keeps the first time.
    store
        .revoke_key(a.id, k.id, at + time::Duration::hours(1))
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
    store.create_tenant(&a).await.unwrap();
    store.create_tenant(&b).await.unwrap();
    let ka = key(a.id, "secret-a");
    store.insert_key(a.id, &ka).await.unwrap();
    let err = store.revoke_key(b.id, ka.id, now()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
    assert_eq!(store.load_access().await.unwrap().keys, vec![ka]);
}

pub async fn duplicate_key_hash_conflicts(store: &impl Store) {
    let a = tenant("acme");
    store.create_tenant(&a).await.unwrap();
    store.insert_key(a.id, &key(a.id, "same")).await.unwrap();
    let err = store
        .insert_key(a.id, &key(a.id, "same"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
}

pub async fn key_for_missing_tenant_is_not_found(store: &impl Store) {
    let ghost = TenantId::new();
    let err = store.insert_key(ghost, &key(ghost, "x")).await.unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
}

pub async fn usage_round_trips_and_is_idempotent(store: &impl Store) {
    let a = tenant("acme");
    store.create_tenant(&a).await.unwrap();
    let k = key(a.id, "s");
    store.insert_key(a.id, &k).await.unwrap();
    let first = usage(a.id, k.id, now());
    let mut second = usage(a.id, k.id, now() + time::Duration::seconds(1));
    second.estimated = true;
    second.raw_usage = None;
    second.ttft_ms = None;
    second.status = UsageStatus::ClientClosed;
    second.error_code = Some("upstream_timeout".into());
    second.http_status = 504;
    let records = vec![first.clone(), second.clone()];
    assert_eq!(store.insert_usage(&records).await.unwrap(), 2);
    // Replaying the same batch (as after a spill) inserts nothing new.
    assert_eq!(store.insert_usage(&records).await.unwrap(), 0);
    assert_eq!(store.insert_usage(&[]).await.unwrap(), 0);
    assert_eq!(
        store.list_usage(a.id, 10).await.unwrap(),
        vec![second, first]
    );
}

pub async fn usage_is_scoped_by_tenant_and_newest_first(store: &impl Store) {
    let a = tenant("a");
    let b = tenant("b");
    store.create_tenant(&a).await.unwrap();
    store.create_tenant(&b).await.unwrap();
    let base = now();
    let ua: Vec<_> = (0..3)
        .map(|i| usage(a.id, ApiKeyId::new(), base + time::Duration::seconds(i)))
        .collect();
    let ub = usage(b.id, ApiKeyId::new(), base);
    store.insert_usage(&ua).await.unwrap();
    store.insert_usage(std::slice::from_ref(&ub)).await.unwrap();
    let listed = store.list_usage(a.id, 2).await.unwrap();
    assert_eq!(listed, vec![ua[2].clone(), ua[1].clone()]);
    assert_eq!(store.list_usage(b.id, 10).await.unwrap(), vec![ub]);
}

pub async fn concurrent_usage_batches_all_land(store: &impl Store) {
    let a = tenant("acme");
    store.create_tenant(&a).await.unwrap();
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
    store.create_tenant(&a).await.unwrap();
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
