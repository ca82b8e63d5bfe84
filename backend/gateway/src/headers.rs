//! Response headers the pipeline's stages add to an answer or an error (routing today; limits
//! and the cache next). The gateway does not know HTTP: `http-api` writes them out as they are.
//! No name says which platform serves the call: a partner's domain stays white-label.

use bytes::Bytes;
use smallvec::SmallVec;

/// Which deployment of the route answered (the operator's name for it).
pub const DEPLOYMENT: &str = "x-upstream-deployment";
/// How many tries the call took, the answering one included.
pub const ATTEMPTS: &str = "x-upstream-attempts";
/// What the call costs the caller, in the platform's currency (the same amount as the answer's
/// `usage.cost`); on complete answers only, since a stream's headers leave before its price
/// is known (its final usage chunk carries it).
pub const COST: &str = "x-request-cost";
/// OpenAI's rate-limit headers, on answers and refusals of calls under a limit.
pub const LIMIT_REQUESTS: &str = "x-ratelimit-limit-requests";
pub const REMAINING_REQUESTS: &str = "x-ratelimit-remaining-requests";
pub const RESET_REQUESTS: &str = "x-ratelimit-reset-requests";
pub const LIMIT_TOKENS: &str = "x-ratelimit-limit-tokens";
pub const REMAINING_TOKENS: &str = "x-ratelimit-remaining-tokens";
pub const RESET_TOKENS: &str = "x-ratelimit-reset-tokens";
/// `false` on a refusal no retry can cure (a spent budget): OpenAI's SDKs read it.
pub const SHOULD_RETRY: &str = "x-should-retry";
/// `hit` or `miss`, on models whose answers the response cache keeps.
pub const CACHE: &str = "x-cache";
/// How similar the prompt was to the one a semantic cache hit was kept for (four decimals).
pub const CACHE_SIMILARITY: &str = "x-cache-similarity";

/// A header's value, kept in the form it was produced in: nothing is formatted or copied
/// until the response is written (a `Bytes` is shared, not copied, into the response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderText {
    Shared(Bytes),
    Static(&'static str),
    Number(u64),
    Money(domain::pricing::Money),
}

impl std::fmt::Display for HeaderText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderText::Shared(text) => f.write_str(&String::from_utf8_lossy(text)),
            HeaderText::Static(text) => f.write_str(text),
            HeaderText::Number(n) => write!(f, "{n}"),
            HeaderText::Money(amount) => write!(f, "{amount}"),
        }
    }
}

/// The headers stages added, in the order they added them; a few fit without allocating.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseHeaders(SmallVec<[(&'static str, HeaderText); 4]>);

impl ResponseHeaders {
    /// Room for `n` headers (beyond the few held inline, one allocation for all).
    pub(crate) fn with_capacity(n: usize) -> Self {
        ResponseHeaders(SmallVec::with_capacity(n))
    }

    /// Sets `name`, replacing an earlier value.
    pub fn set(&mut self, name: &'static str, value: HeaderText) {
        match self.0.iter_mut().find(|(it, _)| *it == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// Adds `name`, which the caller knows is not set yet (no search).
    pub(crate) fn add_new(&mut self, name: &'static str, value: HeaderText) {
        debug_assert!(self.get(name).is_none(), "{name} is set already");
        self.0.push((name, value));
    }

    /// Adds every header of `other`, whose names the caller knows are not set yet.
    pub(crate) fn add_new_all(&mut self, other: &ResponseHeaders) {
        self.0.reserve(other.0.len());
        for (name, value) in other.iter() {
            self.add_new(name, value.clone());
        }
    }

    /// Sets every header of `other`, replacing values of the same names.
    pub fn merge(&mut self, other: &ResponseHeaders) {
        for (name, value) in other.iter() {
            self.set(name, value.clone());
        }
    }

    pub fn get(&self, name: &str) -> Option<&HeaderText> {
        self.0.iter().find(|(it, _)| *it == name).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &HeaderText)> {
        self.0.iter().map(|(name, value)| (*name, value))
    }
}
