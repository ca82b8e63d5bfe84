//! API keys: 256 random bits behind a visible prefix, stored only as a SHA-256 hash.
//!
//! A plain SHA-256 is the right hash here (not argon2): the secret has 256 bits of entropy,
//! so there is nothing to brute-force, and the data plane must verify a key in microseconds.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::{ApiKeyId, TenantId, UserId};

/// 43 alphanumeric characters carry 43 * log2(62) = 256.03 bits.
const SECRET_CHARS: usize = 43;
/// How many characters after the prefix stay visible in listings.
const VISIBLE_SECRET_CHARS: usize = 4;

/// The SHA-256 of a full key string; the only form in which keys are stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash(pub [u8; 32]);

impl KeyHash {
    pub fn of(full_key: &str) -> Self {
        KeyHash(Sha256::digest(full_key.as_bytes()).into())
    }

    pub fn to_hex(self) -> String {
        let mut res = String::with_capacity(64);
        for byte in self.0 {
            res.push(char::from(HEX[usize::from(byte >> 4)]));
            res.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        res
    }

    /// Parses 64 lowercase or uppercase hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut res = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            res[i] = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Some(KeyHash(res))
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHash({}…)", &self.to_hex()[..8])
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// A full key string as presented by a client or shown once at creation.
///
/// `Debug` never prints the secret, so a key cannot leak through a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySecret(String);

impl KeySecret {
    pub fn new(full_key: String) -> Self {
        KeySecret(full_key)
    }

    /// The secret itself: only for showing it once to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> KeyHash {
        KeyHash::of(&self.0)
    }
}

impl fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeySecret(<redacted>)")
    }
}

/// Why a key prefix was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("key prefix must be 2 to 24 characters of a-z, 0-9 and `-`, starting with a letter")]
pub struct KeyPrefixError;

/// Checks a visible key prefix such as `sk-sluice` or a partner's own.
///
/// # Errors
/// When the prefix is not 2 to 24 characters of `a-z`, `0-9` and `-` starting with a letter.
pub fn validate_prefix(prefix: &str) -> Result<(), KeyPrefixError> {
    let ok_len = (2..=24).contains(&prefix.len());
    let ok_first = prefix.starts_with(|c: char| c.is_ascii_lowercase());
    let ok_chars = prefix
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok_len && ok_first && ok_chars {
        Ok(())
    } else {
        Err(KeyPrefixError)
    }
}

/// A freshly generated key: the secret (shown once) and what is stored about it.
#[derive(Debug)]
pub struct NewKeySecret {
    pub secret: KeySecret,
    pub hash: KeyHash,
    /// The prefix plus the first characters of the secret, shown in listings.
    pub display_prefix: String,
    pub last_four: String,
}

impl NewKeySecret {
    /// Generates `"{prefix}-{43 random alphanumerics}"` from a CSPRNG (ChaCha, seeded by the
    /// operating system).
    ///
    /// # Errors
    /// When `prefix` is not a valid key prefix.
    pub fn generate(prefix: &str) -> Result<Self, KeyPrefixError> {
        validate_prefix(prefix)?;
        let random: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(SECRET_CHARS)
            .map(char::from)
            .collect();
        let full = format!("{prefix}-{random}");
        let display_prefix = format!("{prefix}-{}", &random[..VISIBLE_SECRET_CHARS]);
        let last_four = random[SECRET_CHARS - 4..].to_owned();
        let secret = KeySecret::new(full);
        Ok(NewKeySecret {
            hash: secret.hash(),
            secret,
            display_prefix,
            last_four,
        })
    }
}

/// What the store knows about an API key. The secret itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: Option<String>,
    pub display_prefix: String,
    pub last_four: String,
    pub hash: KeyHash,
    /// Model aliases this key may use; empty means every model.
    pub allowed_models: Vec<String>,
    pub scopes: KeyScopes,
    pub created_by: Option<UserId>,
    /// The key this one replaced, when it was made by a rotation.
    pub rotated_from: Option<ApiKeyId>,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// The data-plane endpoints a key can be limited to.
pub const ENDPOINTS: [&str; 5] = [
    "chat.completions",
    "completions",
    "embeddings",
    "messages",
    "models",
];

/// What a key may reach beyond its models: endpoints, client addresses, and limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyScopes {
    /// Endpoints (from [`ENDPOINTS`]) this key may call; empty means all.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Client networks this key may be used from; empty means anywhere.
    #[serde(default)]
    pub ip_allowlist: Vec<IpNet>,
    #[serde(default)]
    pub limits: KeyLimits,
    /// Regions whose deployments may serve this key's calls; empty means any (within the
    /// tenant's own restriction).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
}

/// Per-key limits, enforced by the data plane's admit stage on every node (one Redis round
/// trip per call with Redis; in process without).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_day: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_day: Option<u64>,
    /// Calls in progress at once, streams included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    /// Spend cap per calendar month, in micro-dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_budget_micros: Option<i64>,
    /// Spend and token budgets per period, as a tenant's policy has them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<crate::limits::Budget>,
}

impl KeyLimits {
    /// Whether any limit is set: a key without one costs the admit stage a branch.
    pub fn any(&self) -> bool {
        *self != KeyLimits::default()
    }
}

impl KeyScopes {
    pub fn allows_endpoint(&self, endpoint: &str) -> bool {
        self.endpoints.is_empty() || self.endpoints.iter().any(|it| it == endpoint)
    }

    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.ip_allowlist.is_empty() || self.ip_allowlist.iter().any(|net| net.contains(&ip))
    }
}

/// Why a key cannot be used right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUnusable {
    Revoked,
    Expired,
}

impl ApiKey {
    /// Checks revocation and expiry at `now`.
    ///
    /// # Errors
    /// When the key is revoked or past its expiry.
    pub fn check_usable(&self, now: OffsetDateTime) -> Result<(), KeyUnusable> {
        if self.revoked_at.is_some_and(|at| at <= now) {
            return Err(KeyUnusable::Revoked);
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            return Err(KeyUnusable::Expired);
        }
        Ok(())
    }

    pub fn allows_model(&self, alias: &str) -> bool {
        self.allowed_models.is_empty() || self.allowed_models.iter().any(|it| it == alias)
    }
}

/// Describes how a key is written in listings: `sk-sluice-AbCd…wxyz`.
pub fn masked(display_prefix: &str, last_four: &str) -> String {
    format!("{display_prefix}…{last_four}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_prefix_entropy_and_matching_hash() {
        let a = NewKeySecret::generate("sk-sluice").unwrap();
        let b = NewKeySecret::generate("sk-sluice").unwrap();
        assert_ne!(a.secret, b.secret);
        let full = a.secret.expose();
        assert!(full.starts_with("sk-sluice-"));
        assert_eq!(full.len(), "sk-sluice-".len() + SECRET_CHARS);
        assert!(
            full["sk-sluice-".len()..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        );
        assert_eq!(a.hash, KeyHash::of(full));
        assert!(full.starts_with(&a.display_prefix));
        assert!(full.ends_with(&a.last_four));
        assert_eq!(format!("{:?}", a.secret), "KeySecret(<redacted>)");
    }

    #[test]
    fn bad_prefixes_are_rejected() {
        for bad in ["", "s", "Sk-x", "sk_x", "-sk", "sk x", &"a".repeat(25)] {
            assert_eq!(validate_prefix(bad), Err(KeyPrefixError), "{bad:?}");
        }
        assert!(validate_prefix("acme-live").is_ok());
    }

    #[test]
    fn key_hash_hex_round_trips() {
        let hash = KeyHash::of("sk-test-123");
        assert_eq!(KeyHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(KeyHash::from_hex(&hash.to_hex().to_uppercase()), Some(hash));
        assert_eq!(KeyHash::from_hex("zz"), None);
        assert_eq!(KeyHash::from_hex(&"g".repeat(64)), None);
    }

    #[test]
    fn revoked_and_expired_keys_are_unusable() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(1000);
        let mut key = ApiKey {
            id: ApiKeyId::new(),
            tenant_id: TenantId::new(),
            name: None,
            display_prefix: "sk-x-abcd".into(),
            last_four: "wxyz".into(),
            hash: KeyHash::of("x"),
            allowed_models: vec![],
            scopes: KeyScopes::default(),
            created_by: None,
            rotated_from: None,
            created_at: now,
            expires_at: None,
            revoked_at: None,
        };
        assert_eq!(key.check_usable(now), Ok(()));
        key.expires_at = Some(now);
        assert_eq!(key.check_usable(now), Err(KeyUnusable::Expired));
        key.expires_at = Some(now + time::Duration::seconds(1));
        assert_eq!(key.check_usable(now), Ok(()));
        key.revoked_at = Some(now);
        assert_eq!(key.check_usable(now), Err(KeyUnusable::Revoked));
    }

    #[test]
    fn endpoint_and_network_scopes_limit_use() {
        let scopes = KeyScopes {
            endpoints: vec!["embeddings".into()],
            ip_allowlist: vec![
                "10.0.0.0/8".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
            limits: KeyLimits::default(),
            regions: Vec::new(),
        };
        assert!(scopes.allows_endpoint("embeddings"));
        assert!(!scopes.allows_endpoint("chat.completions"));
        assert!(scopes.allows_ip("10.1.2.3".parse().unwrap()));
        assert!(scopes.allows_ip("2001:db8::1".parse().unwrap()));
        assert!(!scopes.allows_ip("192.168.1.1".parse().unwrap()));
        assert!(KeyScopes::default().allows_ip("192.168.1.1".parse().unwrap()));
        let json = serde_json::to_string(&scopes).unwrap();
        assert_eq!(serde_json::from_str::<KeyScopes>(&json).unwrap(), scopes);
    }

    #[test]
    fn model_scopes_limit_aliases() {
        let mut key = ApiKey {
            id: ApiKeyId::new(),
            tenant_id: TenantId::new(),
            name: None,
            display_prefix: String::new(),
            last_four: String::new(),
            hash: KeyHash::of("x"),
            allowed_models: vec![],
            scopes: KeyScopes::default(),
            created_by: None,
            rotated_from: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            expires_at: None,
            revoked_at: None,
        };
        assert!(key.allows_model("anything"));
        key.allowed_models = vec!["gpt-4o".into()];
        assert!(key.allows_model("gpt-4o"));
        assert!(!key.allows_model("gpt-4o-mini"));
    }
}
