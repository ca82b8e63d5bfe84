//! The exact-match response cache: a complete answer kept for a route's TTL, keyed by
//! everything that shapes it, and never shared across tenants.
//!
//! The key is a SHA-256 of the tenant, the endpoint, the effective alias and the request as
//! the gateway read it, without what does not change the answer (`stream`, `stream_options`,
//! `user`): so a streamed request may be served from an answer first given whole, and two
//! requests that differ in any sampling parameter, system prompt, tool or response format
//! never share an entry. Entries live in process (bounded by their bytes) and, with Redis, in
//! Redis too, so every node shares them; a cache that fails only misses.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use domain::TenantId;
use domain::llm::TokenCounts;
use providers::UsageReport;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use store::SharedCache;

use crate::call::RequestCtx;
use crate::catalog::Route;
use crate::headers::{self, HeaderText, ResponseHeaders};
use crate::telemetry::Endpoint;

/// How long a route's answers are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    pub ttl: Duration,
}

/// What the caller's `cache-control` asks of the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheDirective {
    #[default]
    Use,
    /// `no-cache`: answer fresh, but keep the answer.
    Refresh,
    /// `no-store`: neither read nor keep.
    Bypass,
}

impl CacheDirective {
    /// Reads a `cache-control` request header's value.
    pub fn from_header(value: &str) -> Self {
        let mut res = CacheDirective::Use;
        for directive in value.split(',').map(str::trim) {
            if directive.eq_ignore_ascii_case("no-store") {
                return CacheDirective::Bypass;
            }
            if directive.eq_ignore_ascii_case("no-cache") {
                res = CacheDirective::Refresh;
            }
        }
        res
    }
}

/// A kept answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The complete JSON answer, as the client got it.
    pub body: Bytes,
    pub counts: TokenCounts,
    /// The deployment that first gave it.
    pub deployment: Arc<str>,
}

/// An entry's form in Redis: a version byte, then `postcard`.
#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    body: &'a [u8],
    counts: [u64; 5],
    deployment: &'a str,
}

const WIRE_VERSION: u8 = 1;

impl Entry {
    fn encode(&self) -> Option<Vec<u8>> {
        let c = self.counts;
        let wire = Wire {
            body: &self.body,
            counts: [c.prompt, c.completion, c.cached, c.cache_write, c.reasoning],
            deployment: &self.deployment,
        };
        postcard::to_extend(&wire, vec![WIRE_VERSION]).ok()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let (&version, rest) = bytes.split_first()?;
        if version != WIRE_VERSION {
            return None;
        }
        let wire: Wire<'_> = postcard::from_bytes(rest).ok()?;
        let [prompt, completion, cached, cache_write, reasoning] = wire.counts;
        Some(Entry {
            body: Bytes::copy_from_slice(wire.body),
            counts: TokenCounts {
                prompt,
                completion,
                cached,
                cache_write,
                reasoning,
            },
            deployment: wire.deployment.into(),
        })
    }
}

/// The regions a caller is kept to, as the cache key covers them.
#[derive(Debug, Clone, Copy, Default)]
struct Residency<'a> {
    tenant: Option<&'a [String]>,
    key: &'a [String],
}

impl<'a> Residency<'a> {
    fn of(principal: &'a crate::Principal) -> Self {
        Residency {
            tenant: principal.tenant_regions.as_deref(),
            key: &principal.key.scopes.regions,
        }
    }
}

/// A cache key: the hash of everything that shapes the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key([u8; 32]);

impl Key {
    /// `None` when the request cannot be read back (it always can: it was just parsed).
    pub(crate) fn of(
        ctx: &RequestCtx,
        endpoint: Endpoint,
        alias: &str,
        request: &impl Serialize,
    ) -> Option<Self> {
        Key::scoped(
            ctx.principal.tenant_id(),
            Residency::of(&ctx.principal),
            endpoint,
            alias,
            request,
        )
    }

    /// The key within one tenant and, for a caller restricted to regions, within exactly
    /// that restriction: an answer from one region's deployment never reaches a caller kept
    /// to another.
    fn scoped(
        tenant: TenantId,
        residency: Residency<'_>,
        endpoint: Endpoint,
        alias: &str,
        request: &impl Serialize,
    ) -> Option<Self> {
        let mut value = serde_json::to_value(request).ok()?;
        if let Some(fields) = value.as_object_mut() {
            for ignored in ["stream", "stream_options", "user"] {
                fields.remove(ignored);
            }
        }
        let mut hash = Sha256::new();
        hash.update(b"sluice-response-cache-v1\0");
        hash.update(tenant.to_string().as_bytes());
        hash.update(b"\0");
        hash.update(endpoint.as_str().as_bytes());
        hash.update(b"\0");
        hash.update(alias.as_bytes());
        hash.update(b"\0");
        if residency.tenant.is_some() || !residency.key.is_empty() {
            for region in residency.tenant.unwrap_or_default() {
                hash.update(b"tenant-region:");
                hash.update(region.as_bytes());
                hash.update(b"\0");
            }
            for region in residency.key {
                hash.update(b"key-region:");
                hash.update(region.as_bytes());
                hash.update(b"\0");
            }
        }
        hash.update(serde_json::to_vec(&value).ok()?);
        Some(Key(hash.finalize().into()))
    }

    /// Reads back [`Key::hex`]'s form.
    pub(crate) fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 {
            return None;
        }
        let mut res = [0_u8; 32];
        for (i, byte) in res.iter_mut().enumerate() {
            *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
        }
        Some(Key(res))
    }

    pub(crate) fn hex(&self) -> String {
        use std::fmt::Write;
        self.0.iter().fold(String::with_capacity(64), |mut res, b| {
            let _ = write!(res, "{b:02x}");
            res
        })
    }
}

#[derive(Debug)]
struct Local {
    entry: Arc<Entry>,
    ttl: Duration,
}

/// Each entry lives for the TTL of the route that stored it.
struct PerEntryTtl;

impl moka::Expiry<Key, Arc<Local>> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _: &Key,
        value: &Arc<Local>,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The cache stage of one call: the key when its route keeps answers, and the answer kept
/// for it, if any.
#[derive(Debug, Default)]
pub(crate) struct Lookup {
    key: Option<Key>,
    ttl: Duration,
    pub hit: Option<Arc<Entry>>,
}

impl Lookup {
    /// Says whether the answer came from the cache, on routes that keep answers.
    pub(crate) fn mark(&self, headers: &mut ResponseHeaders) {
        if self.key.is_some() {
            let word = if self.hit.is_some() { "hit" } else { "miss" };
            headers.set(headers::CACHE, HeaderText::Static(word));
        }
    }

    /// Keeps a complete answer that reported its usage (without it, a hit could not be billed
    /// as the call was).
    pub(crate) fn keep(
        &self,
        cache: &ResponseCache,
        body: &Bytes,
        usage: Option<&UsageReport>,
        deployment: &Arc<str>,
    ) {
        let (Some(key), Some(usage)) = (self.key, usage) else {
            return;
        };
        cache.put(
            key,
            Entry {
                body: body.clone(),
                counts: usage.counts,
                deployment: deployment.clone(),
            },
            self.ttl,
        );
    }
}

/// How long a lookup in the shared cache may take before it counts as a miss.
const SHARED_TIMEOUT: Duration = Duration::from_millis(100);

/// The response cache of this node.
pub struct ResponseCache {
    local: moka::sync::Cache<Key, Arc<Local>>,
    shared: Option<Arc<dyn SharedCache>>,
    /// Runs the writes to the shared cache, so that shutdown waits for them.
    tasks: tokio_util::task::TaskTracker,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("entries", &self.local.entry_count())
            .field("shared", &self.shared)
            .finish()
    }
}

impl ResponseCache {
    /// A cache holding at most `max_bytes` of answers in process, in front of `shared`.
    pub fn new(
        max_bytes: u64,
        shared: Option<Arc<dyn SharedCache>>,
        tasks: tokio_util::task::TaskTracker,
    ) -> Self {
        let local = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_: &Key, value: &Arc<Local>| {
                let bytes = value.entry.body.len() + value.entry.deployment.len() + 128;
                u32::try_from(bytes).unwrap_or(u32::MAX)
            })
            .expire_after(PerEntryTtl)
            .build();
        ResponseCache {
            local,
            shared,
            tasks,
        }
    }

    /// The cache stage of a call to `route` at `endpoint`: nothing when the route keeps no
    /// answers or the caller said `no-store`; no read when it said `no-cache`.
    pub(crate) async fn lookup(
        &self,
        ctx: &RequestCtx,
        route: &Route,
        endpoint: Endpoint,
        request: &impl Serialize,
    ) -> Lookup {
        let Some(policy) = route.cache else {
            return Lookup::default();
        };
        if ctx.cache == CacheDirective::Bypass {
            return Lookup::default();
        }
        let Some(key) = Key::of(ctx, endpoint, &route.alias, request) else {
            return Lookup::default();
        };
        let hit = if ctx.cache == CacheDirective::Refresh {
            None
        } else {
            self.get(&key, policy.ttl).await
        };
        metrics::counter!(
            "gateway_cache_lookups_total",
            "model" => route.metric_label.to_string(),
            "outcome" => if hit.is_some() { "hit" } else { "miss" },
        )
        .increment(1);
        Lookup {
            key: Some(key),
            ttl: policy.ttl,
            hit,
        }
    }

    /// The kept answer for `key`, from this node or the shared cache.
    pub(crate) async fn get(&self, key: &Key, ttl: Duration) -> Option<Arc<Entry>> {
        if let Some(local) = self.local.get(key) {
            return Some(local.entry.clone());
        }
        let shared = self.shared.as_ref()?;
        let found = tokio::time::timeout(SHARED_TIMEOUT, shared.get(&key.hex())).await;
        let bytes = match found {
            Ok(Ok(Some(bytes))) => bytes,
            Ok(Ok(None)) => return None,
            Ok(Err(e)) => {
                metrics::counter!("gateway_cache_errors_total").increment(1);
                tracing::debug!(error = %e, "shared response cache unavailable");
                return None;
            }
            Err(_) => {
                metrics::counter!("gateway_cache_errors_total").increment(1);
                return None;
            }
        };
        let entry = Arc::new(Entry::decode(&bytes)?);
        // Kept here for what is left of the route's TTL at most (the shared copy's own
        // expiry is not known here): the route's TTL again is an upper bound, a short one.
        self.local.insert(
            *key,
            Arc::new(Local {
                entry: entry.clone(),
                ttl: ttl.min(Duration::from_secs(5)),
            }),
        );
        Some(entry)
    }

    /// Keeps `entry` for `ttl`, here at once and in the shared cache in the background.
    pub(crate) fn put(&self, key: Key, entry: Entry, ttl: Duration) {
        let entry = Arc::new(entry);
        if let Some(shared) = &self.shared
            && let Some(bytes) = entry.encode()
        {
            let shared = shared.clone();
            self.tasks.spawn(async move {
                let name = key.hex();
                let put = shared.put(&name, &bytes, ttl);
                if !matches!(
                    tokio::time::timeout(SHARED_TIMEOUT * 5, put).await,
                    Ok(Ok(()))
                ) {
                    metrics::counter!("gateway_cache_errors_total").increment(1);
                }
            });
        }
        self.local.insert(key, Arc::new(Local { entry, ttl }));
    }
}

/// The `x-upstream-deployment` of a kept answer: the route's own shared header value when
/// the deployment that gave it is still in the route (no copy per hit), else its name.
pub(crate) fn deployment_header(route: &Route, entry: &Entry) -> crate::headers::HeaderText {
    let shared = route
        .deployments
        .iter()
        .find(|it| *it.name == *entry.deployment)
        .map(|it| it.name_header.clone());
    crate::headers::HeaderText::Shared(
        shared.unwrap_or_else(|| Bytes::copy_from_slice(entry.deployment.as_bytes())),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_differ_by_tenant_alias_endpoint_and_every_parameter_but_not_by_streaming() {
        let tenant = TenantId::new();
        let other = TenantId::new();
        let base = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2});
        let key = |tenant, endpoint, alias: &str, body: &serde_json::Value| {
            Key::scoped(tenant, Residency::default(), endpoint, alias, body).unwrap()
        };
        let k = key(tenant, Endpoint::ChatCompletions, "m", &base);
        let mut streamed = base.clone();
        streamed["stream"] = json!(true);
        streamed["stream_options"] = json!({"include_usage": true});
        streamed["user"] = json!("u-1");
        assert_eq!(k, key(tenant, Endpoint::ChatCompletions, "m", &streamed));
        assert_ne!(k, key(other, Endpoint::ChatCompletions, "m", &base));
        assert_ne!(k, key(tenant, Endpoint::Messages, "m", &base));
        assert_ne!(k, key(tenant, Endpoint::ChatCompletions, "n", &base));
        for (field, value) in [
            ("temperature", json!(0.3)),
            ("top_p", json!(0.9)),
            ("seed", json!(1)),
            ("max_tokens", json!(5)),
            (
                "tools",
                json!([{"type": "function", "function": {"name": "f"}}]),
            ),
            ("response_format", json!({"type": "json_object"})),
            (
                "messages",
                json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]),
            ),
        ] {
            let mut changed = base.clone();
            changed[field] = value;
            assert_ne!(
                k,
                key(tenant, Endpoint::ChatCompletions, "m", &changed),
                "{field}"
            );
        }
        // A caller kept to regions shares answers only with callers kept to the same ones.
        let eu = ["eu".to_owned()];
        let us = ["us".to_owned()];
        let kept = |tenant_regions: Option<&[String]>, key_regions: &[String]| {
            let residency = Residency {
                tenant: tenant_regions,
                key: key_regions,
            };
            Key::scoped(tenant, residency, Endpoint::ChatCompletions, "m", &base).unwrap()
        };
        assert_ne!(k, kept(Some(&eu), &[]));
        assert_ne!(kept(Some(&eu), &[]), kept(Some(&us), &[]));
        assert_ne!(kept(Some(&eu), &[]), kept(None, &eu), "tenant's or key's");
        assert_eq!(kept(Some(&eu), &[]), kept(Some(&eu), &[]));
        assert_eq!(Key::from_hex(&k.hex()), Some(k));
        assert_eq!(Key::from_hex("ab"), None);
        assert_eq!(Key::from_hex(&"zz".repeat(32)), None);
    }

    #[test]
    fn an_entry_survives_its_trip_through_redis_form() {
        let entry = Entry {
            body: Bytes::from_static(b"{\"id\":\"x\"}"),
            counts: TokenCounts {
                prompt: 1,
                completion: 2,
                cached: 3,
                cache_write: 4,
                reasoning: 5,
            },
            deployment: "east".into(),
        };
        let bytes = entry.encode().unwrap();
        assert_eq!(Entry::decode(&bytes), Some(entry));
        assert_eq!(Entry::decode(&[9, 1, 2]), None, "an unknown version misses");
        assert_eq!(Entry::decode(&[]), None);
    }

    #[test]
    fn directives_from_cache_control() {
        assert_eq!(
            CacheDirective::from_header("no-cache"),
            CacheDirective::Refresh
        );
        assert_eq!(
            CacheDirective::from_header("max-age=0, No-Store"),
            CacheDirective::Bypass
        );
        assert_eq!(
            CacheDirective::from_header("max-age=60"),
            CacheDirective::Use
        );
    }

    #[tokio::test]
    async fn entries_expire_with_their_ttl_and_the_cache_is_bounded_by_bytes() {
        let cache = ResponseCache::new(4096, None, tokio_util::task::TaskTracker::new());
        let tenant = TenantId::new();
        let key = |i: u32| {
            Key::scoped(
                tenant,
                Residency::default(),
                Endpoint::ChatCompletions,
                "m",
                &json!({"i": i}),
            )
            .unwrap()
        };
        let entry = |len: usize| Entry {
            body: Bytes::from(vec![b'x'; len]),
            counts: TokenCounts::default(),
            deployment: "d".into(),
        };
        cache.put(key(0), entry(10), Duration::from_millis(50));
        assert!(cache.get(&key(0), Duration::from_secs(1)).await.is_some());
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(cache.get(&key(0), Duration::from_secs(1)).await.is_none());
        for i in 1..100 {
            cache.put(key(i), entry(1000), Duration::from_secs(60));
        }
        cache.local.run_pending_tasks();
        assert!(
            cache.local.weighted_size() <= 4096,
            "{}",
            cache.local.weighted_size()
        );
    }
}
