//! The semantic response cache: a route's kept answer served to a prompt that means the same
//! as the one that got it, judged by the cosine similarity of their embeddings.
//!
//! It is the cache stage's second tier, asked only after the exact cache missed, and only on
//! routes that opt in (`cache = { ttl_secs, semantic = { ... } }`). The prompt is embedded by
//! the route's embedding model through `dispatch`, as the tenant (its own credentials and data
//! residency apply), and that call is recorded as the tenant's embeddings usage: it is a real
//! upstream call. Entries match only within one tenant, one alias and one *scope*: the
//! request's hash with the conversation left out but the system prompt kept, so a different
//! temperature, tool, response format or system prompt never matches.
//!
//! By default only single-turn prompts take part (one user message, after at most one system
//! message): a follow-up in a conversation means something only with what came before. A
//! route may set `multi_turn = true` to embed the whole conversation instead.
//!
//! Each node searches an index in its memory, per tenant and alias, bounded (the oldest entry
//! goes first) and pruned of expired entries; every kept entry is also written to the store
//! in the background, and a starting node loads what has not expired, so the cache survives
//! restarts. A node does not see another running node's new entries until it restarts.
//! Whatever fails here (the embedding call, its 2-second limit, the store) only makes a miss.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use domain::TenantId;
use domain::llm::{ChatRequest, Content, EmbeddingInput, EmbeddingRequest, Message, Role};
use domain::tenant::SemanticThreshold;
use providers::UsageReport;
use serde::Deserialize;
use store::{SemanticEntry, Store};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cache::{CacheDirective, Entry, Key};
use crate::call::{CallRecord, RequestCtx};
use crate::catalog::{Catalog, Route};
use crate::chat::recorded;
use crate::dispatch::{dispatch, unsupported};
use crate::telemetry::Endpoint;
use crate::{Error, Gateway};

/// How a route's semantic tier is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemanticPolicy {
    /// The configured alias whose embeddings compare prompts (never the route itself).
    pub embedding_model: Arc<str>,
    /// The least similarity that counts as the same prompt, unless the tenant set its own.
    pub threshold: SemanticThreshold,
    /// Whether whole conversations take part, not just single-turn prompts.
    pub multi_turn: bool,
    /// Entries kept per tenant and alias on each node; the oldest goes first.
    pub max_entries: usize,
}

/// Longest the embedding call may take before the call goes on uncached.
pub const EMBED_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest a write of an entry to the store may take before it is given up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a starting node waits for the kept entries.
const LOAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Most entries a starting node loads (the newest).
const LOAD_LIMIT: u32 = 100_000;
/// How often a node deletes expired entries from the store.
const SWEEP_INTERVAL: Duration = Duration::from_secs(600);
/// Rounding slack: a prompt and its own copy must reach a threshold of exactly 1.
const EPSILON: f64 = 1e-6;

/// The semantic tier's part of one call's cache stage.
#[derive(Debug, Default)]
pub(crate) struct Lookup {
    /// What a miss keeps its answer under: set when the prompt was embedded.
    pending: Option<Pending>,
    pub hit: Option<Hit>,
}

#[derive(Debug)]
struct Pending {
    scope: Key,
    vector: Arc<[f32]>,
}

/// A kept answer to a similar prompt.
#[derive(Debug)]
pub(crate) struct Hit {
    pub entry: Arc<Entry>,
    pub similarity: f32,
}

impl Hit {
    /// The similarity as the `x-cache-similarity` header shows it: four decimals.
    pub(crate) fn similarity_text(&self) -> String {
        format!("{:.4}", self.similarity.clamp(0.0, 1.0))
    }
}

#[derive(Debug)]
struct Item {
    scope: Key,
    vector: Arc<[f32]>,
    entry: Arc<Entry>,
    expires_at: OffsetDateTime,
}

/// Entries per tenant and alias, oldest first.
type Shelves = HashMap<(TenantId, Arc<str>), VecDeque<Item>>;

/// This node's semantic index, and where its entries are kept across restarts.
pub struct SemanticCache {
    index: Index,
    store: Arc<dyn Store>,
    tasks: TaskTracker,
}

impl std::fmt::Debug for SemanticCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shelves = self
            .index
            .shelves
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("SemanticCache")
            .field("shelves", &shelves.len())
            .finish_non_exhaustive()
    }
}

impl SemanticCache {
    pub(crate) fn new(store: Arc<dyn Store>, tasks: TaskTracker) -> Self {
        SemanticCache {
            index: Index::default(),
            store,
            tasks,
        }
    }

    /// Loads the kept entries of routes that have a semantic tier (bounded in number and
    /// time; a store that fails leaves the index empty), and starts deleting expired ones
    /// from the store every [`SWEEP_INTERVAL`] until `cancel`. Does nothing when no route has
    /// a semantic tier.
    pub(crate) async fn start(&self, catalog: &Catalog, cancel: CancellationToken) {
        if !catalog.routes().any(|it| it.semantic.is_some()) {
            return;
        }
        let now = OffsetDateTime::now_utc();
        let load = self.store.load_semantic_entries(now, LOAD_LIMIT);
        match tokio::time::timeout(LOAD_TIMEOUT, load).await {
            Ok(Ok(rows)) => {
                let mut loaded = 0_usize;
                // Newest first from the store: inserted oldest first, so the bound keeps the
                // newest.
                for (tenant, row) in rows.into_iter().rev() {
                    let Some(route) = catalog.get(&row.alias) else {
                        continue;
                    };
                    let (Some(policy), Some(scope)) = (&route.semantic, Key::from_hex(&row.scope))
                    else {
                        continue;
                    };
                    let entry = Entry {
                        body: Bytes::from(row.body),
                        counts: row.counts,
                        deployment: row.deployment.into(),
                    };
                    let item = Item {
                        scope,
                        vector: row.vector.into(),
                        entry: Arc::new(entry),
                        expires_at: row.expires_at,
                    };
                    self.index
                        .insert(tenant, &route.alias, item, policy.max_entries, now);
                    loaded += 1;
                }
                tracing::info!(entries = loaded, "semantic cache loaded");
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %providers::error_chain(&e), "the semantic cache's entries could not be loaded; it starts empty");
            }
            Err(_) => tracing::warn!(
                "the semantic cache's entries took too long to load; it starts empty"
            ),
        }
        let store = self.store.clone();
        self.tasks.spawn(async move {
            loop {
                let now = OffsetDateTime::now_utc();
                if let Err(e) = store.delete_expired_semantic_entries(now).await {
                    tracing::debug!(error = %e, "expired semantic cache entries could not be deleted");
                }
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(SWEEP_INTERVAL) => {}
                }
            }
        });
    }

    /// The semantic tier of a chat call to `route`: nothing when the route has none, the
    /// caller said `no-cache` or `no-store`, or the prompt does not take part; else the
    /// prompt's embedding, and the most similar kept answer at or above the threshold.
    pub(crate) async fn lookup(
        gw: &Gateway,
        ctx: &RequestCtx,
        route: &Route,
        endpoint: Endpoint,
        req: &ChatRequest,
    ) -> Lookup {
        let Some(policy) = &route.semantic else {
            return Lookup::default();
        };
        if ctx.cache != CacheDirective::Use {
            return Lookup::default();
        }
        let Some(text) = prompt(&req.messages, policy.multi_turn) else {
            return Lookup::default();
        };
        let Some(embedder) = gw.catalog.get(&policy.embedding_model) else {
            return Lookup::default();
        };
        // A caller kept to regions the embedding model has no deployment in is not embedded
        // at all (rather than a failed embeddings call recorded on each of its calls).
        if ctx.principal.restricted()
            && !embedder
                .deployments
                .iter()
                .any(|it| ctx.principal.allows_region(it.region.as_deref()))
        {
            return Lookup::default();
        }
        let Some(scope) = Key::of(ctx, endpoint, &route.alias, &scope_of(req)) else {
            return Lookup::default();
        };
        let outcome = |word: &'static str| {
            metrics::counter!(
                "gateway_semantic_cache_lookups_total",
                "model" => route.metric_label.to_string(),
                "outcome" => word,
            )
            .increment(1);
        };
        let vector = match tokio::time::timeout(EMBED_TIMEOUT, embed(gw, ctx, embedder, text)).await
        {
            Ok(Ok(vector)) => vector,
            Ok(Err(e)) => {
                outcome("error");
                tracing::debug!(error = %e.message, "semantic cache: the prompt could not be embedded");
                return Lookup::default();
            }
            Err(_) => {
                outcome("error");
                tracing::debug!("semantic cache: the embedding took too long");
                return Lookup::default();
            }
        };
        let threshold = ctx.principal.semantic_threshold.unwrap_or(policy.threshold);
        let best = gw.semantic.index.best(
            ctx.principal.tenant_id(),
            &route.alias,
            &scope,
            &vector,
            OffsetDateTime::now_utc(),
        );
        let hit = best
            .filter(|(_, similarity)| f64::from(*similarity) + EPSILON >= threshold.fraction())
            .map(|(entry, similarity)| Hit { entry, similarity });
        outcome(if hit.is_some() { "hit" } else { "miss" });
        Lookup {
            pending: Some(Pending { scope, vector }),
            hit,
        }
    }

    /// Keeps a complete answer that reported its usage under the prompt's embedding: in this
    /// node's index at once, in the store in the background.
    pub(crate) fn keep(
        &self,
        lookup: &Lookup,
        ctx: &RequestCtx,
        route: &Route,
        body: &Bytes,
        usage: Option<&UsageReport>,
        deployment: &Arc<str>,
    ) {
        let (Some(pending), Some(usage), Some(policy), Some(exact)) =
            (&lookup.pending, usage, &route.semantic, route.cache)
        else {
            return;
        };
        let tenant = ctx.principal.tenant_id();
        let now = OffsetDateTime::now_utc();
        let expires_at = now + exact.ttl;
        let entry = Arc::new(Entry {
            body: body.clone(),
            counts: usage.counts,
            deployment: deployment.clone(),
        });
        let item = Item {
            scope: pending.scope,
            vector: pending.vector.clone(),
            entry,
            expires_at,
        };
        self.index
            .insert(tenant, &route.alias, item, policy.max_entries, now);
        // JSON is UTF-8; an answer that is not is kept on this node only.
        let Ok(text) = std::str::from_utf8(body) else {
            return;
        };
        let row = SemanticEntry {
            id: uuid::Uuid::now_v7().to_string(),
            alias: route.alias.to_string(),
            scope: pending.scope.hex(),
            vector: pending.vector.to_vec(),
            body: text.to_owned(),
            counts: usage.counts,
            deployment: deployment.to_string(),
            created_at: now,
            expires_at,
        };
        let store = self.store.clone();
        self.tasks.spawn(async move {
            let put = store.put_semantic_entry(tenant, &row);
            match tokio::time::timeout(WRITE_TIMEOUT, put).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(error = %e, "a semantic cache entry was not stored"),
                Err(_) => tracing::debug!("a semantic cache entry took too long to store"),
            }
        });
    }
}

/// The entries a node searches, per tenant and alias.
#[derive(Debug, Default)]
struct Index {
    shelves: RwLock<Shelves>,
}

impl Index {
    /// The most similar unexpired entry of `scope` in the tenant's shelf of `alias`.
    fn best(
        &self,
        tenant: TenantId,
        alias: &Arc<str>,
        scope: &Key,
        vector: &[f32],
        now: OffsetDateTime,
    ) -> Option<(Arc<Entry>, f32)> {
        let shelves = self.shelves.read().unwrap_or_else(PoisonError::into_inner);
        let shelf = shelves.get(&(tenant, alias.clone()))?;
        shelf
            .iter()
            .filter(|it| it.scope == *scope && it.expires_at > now)
            .map(|it| (it, cosine(&it.vector, vector)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(it, similarity)| (it.entry.clone(), similarity))
    }

    /// Adds `item` to the tenant's shelf of `alias`, dropping expired entries and then the
    /// oldest beyond `max_entries`.
    fn insert(
        &self,
        tenant: TenantId,
        alias: &Arc<str>,
        item: Item,
        max_entries: usize,
        now: OffsetDateTime,
    ) {
        let mut shelves = self.shelves.write().unwrap_or_else(PoisonError::into_inner);
        let shelf = shelves.entry((tenant, alias.clone())).or_default();
        shelf.retain(|it| it.expires_at > now);
        shelf.push_back(item);
        while shelf.len() > max_entries.max(1) {
            shelf.pop_front();
        }
    }
}

/// The text that stands for a prompt: the user's message of a single-turn call (one user
/// message with text, after at most one system or developer message); with `multi_turn`, a
/// longer conversation's messages as `role: text` lines. `None`: the call does not take part.
pub(crate) fn prompt(messages: &[Message], multi_turn: bool) -> Option<String> {
    let is_system = |it: &Message| matches!(it.role, Role::System | Role::Developer);
    let rest = match messages {
        [first, rest @ ..] if is_system(first) => rest,
        all => all,
    };
    if let [only] = rest
        && only.role == Role::User
        && only.tool_calls.is_none()
    {
        return text_of(only);
    }
    if !multi_turn || rest.is_empty() {
        return None;
    }
    let mut res = String::new();
    for message in messages.iter().filter(|it| !is_system(it)) {
        let role = match message.role {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool | Role::Function => "tool",
            Role::System | Role::Developer => continue,
        };
        res.push_str(role);
        res.push_str(": ");
        if let Some(text) = text_of(message) {
            res.push_str(&text);
        }
        for call in message.tool_calls.iter().flatten() {
            res.push_str(&call.function.name);
            res.push_str(&call.function.arguments);
        }
        res.push('\n');
    }
    Some(res)
}

fn text_of(message: &Message) -> Option<String> {
    let text = match message.content.as_ref()? {
        Content::Text(text) => text.clone(),
        parts @ Content::Parts(_) => parts.joined_text(),
    };
    (!text.trim().is_empty()).then_some(text)
}

/// The request as its scope is hashed: everything but the conversation, with the system
/// and developer messages kept (a different system prompt is a different question).
fn scope_of(req: &ChatRequest) -> serde_json::Value {
    let mut value = serde_json::to_value(req).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        let system: Vec<&Message> = req
            .messages
            .iter()
            .filter(|it| matches!(it.role, Role::System | Role::Developer))
            .collect();
        fields.insert(
            "messages".into(),
            serde_json::to_value(system).unwrap_or_default(),
        );
        fields.insert("semantic".into(), serde_json::Value::Bool(true));
    }
    value
}

/// Embeds `text` with the embedding model's route, as the caller's tenant, recorded as its
/// embeddings usage.
async fn embed(
    gw: &Gateway,
    ctx: &RequestCtx,
    route: &Arc<Route>,
    text: String,
) -> Result<Arc<[f32]>, Error> {
    let req = EmbeddingRequest {
        model: route.alias.to_string(),
        input: EmbeddingInput::Text(text),
        encoding_format: None,
        dimensions: None,
        user: None,
        extra: domain::llm::Extra::new(),
    };
    // The gateway's own step: the key needs neither the embeddings endpoint nor the model.
    let record = CallRecord::new(gw.usage.clone(), ctx, route, Endpoint::Embeddings, false);
    let (sent, record) = dispatch(
        ctx,
        route,
        record,
        |provider| provider.capabilities().embeddings,
        || unsupported(route, "embeddings"),
        |provider, call| provider.embed(&req, call),
    )
    .await?;
    let reply = sent.answer;
    let vector = vector_of(&reply.body);
    recorded(record, sent.asked, reply.usage, || {
        (req.input.texts().join("\n"), String::new())
    });
    vector.ok_or_else(|| Error::internal("the embedding model's answer has no usable vector"))
}

/// The normalised vector of an OpenAI-shaped embeddings answer's first item.
fn vector_of(body: &[u8]) -> Option<Arc<[f32]>> {
    #[derive(Deserialize)]
    struct Answer {
        data: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        embedding: Vec<f32>,
    }
    let answer: Answer = serde_json::from_slice(body).ok()?;
    let mut vector = answer.data.into_iter().next()?.embedding;
    normalise(&mut vector).then(|| vector.into())
}

/// Scales `vector` to length 1, so that a dot product is the cosine; `false` for a vector
/// with no direction (all zeros, or not finite).
pub(crate) fn normalise(vector: &mut [f32]) -> bool {
    let norm = vector.iter().map(|it| it * it).sum::<f32>().sqrt();
    if !norm.is_finite() || norm == 0.0 {
        return false;
    }
    for it in vector.iter_mut() {
        *it /= norm;
    }
    true
}

/// The cosine similarity of two normalised vectors; 0 for vectors of different lengths
/// (another embedding model's).
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(value: serde_json::Value) -> Vec<Message> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn vectors_are_normalised_and_compared_by_their_dot_product() {
        let mut a = vec![3.0, 4.0];
        assert!(normalise(&mut a));
        assert_eq!(a, vec![0.6, 0.8]);
        let mut zero = vec![0.0, 0.0];
        assert!(!normalise(&mut zero));
        assert!(!normalise(&mut [f32::NAN, 1.0]));
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-6);
        assert!(cosine(&a, &[0.8, -0.6]).abs() < 1e-6, "orthogonal");
        assert_eq!(cosine(&a, &[1.0]), 0.0, "another model's vector");
        let mut weather = vec![1.0, 0.05, 0.0];
        let mut forecast = vec![0.96, 0.2, 0.0];
        normalise(&mut weather);
        normalise(&mut forecast);
        let similarity = cosine(&weather, &forecast);
        assert!((0.98..0.99).contains(&similarity), "{similarity}");
    }

    #[test]
    fn the_vector_is_read_from_the_first_item_of_an_openai_answer() {
        let body = json!({"object": "list", "data": [{"embedding": [0.0, 2.0], "index": 0}]});
        let vector = vector_of(&serde_json::to_vec(&body).unwrap()).unwrap();
        assert_eq!(&*vector, &[0.0, 1.0]);
        assert!(vector_of(br#"{"data": []}"#).is_none());
        assert!(vector_of(br#"{"data": [{"embedding": [0, 0]}]}"#).is_none());
        assert!(vector_of(b"not json").is_none());
    }

    #[test]
    fn only_single_turn_prompts_take_part_unless_the_route_says_multi_turn() {
        let single = messages(json!([{"role": "user", "content": "What is the weather?"}]));
        assert_eq!(
            prompt(&single, false).as_deref(),
            Some("What is the weather?")
        );
        let with_system = messages(json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "weather?"}]}
        ]));
        assert_eq!(prompt(&with_system, false).as_deref(), Some("weather?"));
        let conversation = messages(json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": "Sunny."},
            {"role": "user", "content": "and tomorrow?"}
        ]));
        assert_eq!(prompt(&conversation, false), None);
        assert_eq!(
            prompt(&conversation, true).as_deref(),
            Some("user: weather?\nassistant: Sunny.\nuser: and tomorrow?\n")
        );
        for not_single in [
            json!([{"role": "system", "content": "a"}, {"role": "system", "content": "b"}, {"role": "user", "content": "c"}]),
            json!([{"role": "assistant", "content": "hello"}]),
            json!([{"role": "user", "content": "   "}]),
            json!([{"role": "system", "content": "only a system prompt"}]),
        ] {
            assert_eq!(
                prompt(&messages(not_single.clone()), false),
                None,
                "{not_single}"
            );
        }
        assert_eq!(
            prompt(&messages(json!([{"role": "system", "content": "x"}])), true),
            None
        );
    }

    #[test]
    fn the_scope_keeps_every_parameter_and_the_system_prompt_but_not_the_question() {
        let req =
            |value: serde_json::Value| -> ChatRequest { serde_json::from_value(value).unwrap() };
        let a = scope_of(&req(json!({"model": "m", "temperature": 0.2, "messages": [
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "weather?"}]})));
        let b = scope_of(&req(json!({"model": "m", "temperature": 0.2, "messages": [
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "forecast?"}]})));
        assert_eq!(a, b);
        let warmer = scope_of(&req(json!({"model": "m", "temperature": 0.9, "messages": [
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "weather?"}]})));
        assert_ne!(a, warmer);
        let other_system = scope_of(&req(json!({"model": "m", "temperature": 0.2, "messages": [
            {"role": "system", "content": "Be a pirate."}, {"role": "user", "content": "weather?"}]})));
        assert_ne!(a, other_system);
    }

    fn item(vector: &[f32], expires_at: OffsetDateTime, scope: Key) -> Item {
        let mut normalised = vector.to_vec();
        assert!(normalise(&mut normalised));
        Item {
            scope,
            vector: normalised.into(),
            entry: Arc::new(Entry {
                body: Bytes::from(format!("{vector:?}")),
                counts: domain::llm::TokenCounts::default(),
                deployment: "d".into(),
            }),
            expires_at,
        }
    }

    #[test]
    fn shelves_are_bounded_oldest_out_expired_skipped_and_pruned() {
        let cache = Index::default();
        let tenant = TenantId::new();
        let alias: Arc<str> = "chat".into();
        let now = OffsetDateTime::now_utc();
        let later = now + time::Duration::minutes(5);
        let scope = Key::from_hex(&"ab".repeat(32)).unwrap();
        let other_scope = Key::from_hex(&"cd".repeat(32)).unwrap();
        for i in 0..5_u8 {
            let v = [f32::from(i), 1.0];
            cache.insert(tenant, &alias, item(&v, later, scope), 3, now);
        }
        let len = |cache: &Index| cache.shelves.read().unwrap()[&(tenant, alias.clone())].len();
        assert_eq!(len(&cache), 3, "bounded");
        // The first two ([0, 1] and [1, 1]) were evicted: [0, 1] itself is no longer found.
        let (entry, similarity) = cache
            .best(tenant, &alias, &scope, &[0.0, 1.0], now)
            .unwrap();
        assert_eq!(&entry.body[..], b"[2.0, 1.0]");
        assert!((similarity - 1.0).abs() > 1e-3);
        assert!(
            cache
                .best(tenant, &alias, &other_scope, &[0.0, 1.0], now)
                .is_none()
        );
        assert!(
            cache
                .best(TenantId::new(), &alias, &scope, &[0.0, 1.0], now)
                .is_none()
        );
        assert!(
            cache
                .best(tenant, &"other".into(), &scope, &[0.0, 1.0], now)
                .is_none()
        );
        // Expired entries are never found, and are dropped at the next insert.
        let after = later + time::Duration::seconds(1);
        assert!(
            cache
                .best(tenant, &alias, &scope, &[0.0, 1.0], after)
                .is_none()
        );
        let fresh = after + time::Duration::minutes(5);
        cache.insert(tenant, &alias, item(&[1.0, 0.0], fresh, scope), 3, after);
        assert_eq!(len(&cache), 1, "pruned");
    }
}
