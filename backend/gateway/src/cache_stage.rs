//! A chat call's cache stage: the exact cache, then, when it misses on a route that opts in,
//! the semantic cache. One answer kept, one header saying whether it came from either.
//!
//! A route without a semantic tier pays one branch more than the exact cache alone.

use std::sync::Arc;

use bytes::Bytes;
use domain::llm::ChatRequest;
use providers::UsageReport;

use crate::Gateway;
use crate::cache::{self, Entry};
use crate::call::RequestCtx;
use crate::catalog::Route;
use crate::headers::{self, HeaderText, ResponseHeaders};
use crate::semantic::{self, SemanticCache};
use crate::telemetry::Endpoint;

/// What the cache stage found for one call, and what its answer is kept under.
#[derive(Debug)]
pub(crate) struct Cached {
    exact: cache::Lookup,
    semantic: semantic::Lookup,
}

impl Cached {
    /// Looks for a kept answer: the exact one first, then a similar prompt's.
    pub(crate) async fn lookup(
        gw: &Gateway,
        ctx: &RequestCtx,
        route: &Route,
        endpoint: Endpoint,
        req: &ChatRequest,
    ) -> Self {
        let exact = gw.cache.lookup(ctx, route, endpoint, req).await;
        let semantic = if exact.hit.is_some() || route.semantic.is_none() {
            semantic::Lookup::default()
        } else {
            // Boxed: the similar prompt's lookup embeds the prompt through dispatch, a large
            // state every call's would otherwise make room for.
            Box::pin(SemanticCache::lookup(gw, ctx, route, endpoint, req)).await
        };
        Cached { exact, semantic }
    }

    /// The kept answer this call is served from, if any.
    pub(crate) fn hit(&self) -> Option<&Arc<Entry>> {
        self.exact
            .hit
            .as_ref()
            .or(self.semantic.hit.as_ref().map(|it| &it.entry))
    }

    /// Says whether the answer came from the cache (and, for a similar prompt's, how similar).
    pub(crate) fn mark(&self, headers: &mut ResponseHeaders) {
        match &self.semantic.hit {
            Some(hit) => {
                headers.set(headers::CACHE, HeaderText::Static("hit"));
                headers.set(
                    headers::CACHE_SIMILARITY,
                    HeaderText::Shared(Bytes::from(hit.similarity_text())),
                );
            }
            None => self.exact.mark(headers),
        }
    }

    /// Keeps a complete answer in both tiers the route uses.
    pub(crate) fn keep(
        &self,
        gw: &Gateway,
        ctx: &RequestCtx,
        route: &Route,
        body: &Bytes,
        usage: Option<&UsageReport>,
        deployment: &Arc<str>,
    ) {
        self.exact.keep(&gw.cache, body, usage, deployment);
        gw.semantic
            .keep(&self.semantic, ctx, route, body, usage, deployment);
    }
}
