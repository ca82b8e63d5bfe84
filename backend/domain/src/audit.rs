//! The audit log: append-only records of every management action, chained by hashes so that
//! an edited or deleted record is detected.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::{AuditEventId, TenantId};

/// The hash the first event of the chain points back to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `user`, `token` (a personal access token), `operator` (the CLI) or `system`.
    pub kind: String,
    pub id: Option<String>,
    /// A human label (an email address), kept even if the user is later deleted.
    pub label: Option<String>,
}

impl Actor {
    pub fn cli() -> Self {
        Actor {
            kind: "operator".into(),
            id: None,
            label: Some("command line".into()),
        }
    }

    /// The server itself, for scheduled work such as signing-key rotation.
    pub fn system() -> Self {
        Actor {
            kind: "system".into(),
            id: None,
            label: Some("scheduler".into()),
        }
    }
}

/// An action about to be recorded; the store assigns its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: AuditEventId,
    /// `None` for platform-level actions.
    pub tenant_id: Option<TenantId>,
    pub actor: Actor,
    /// Dotted and stable: `key.create`, `member.role_change`.
    pub action: String,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    /// The caller's address.
    pub ip: Option<String>,
    /// JSON of the target before and after the action (secrets never included).
    pub before: Option<String>,
    pub after: Option<String>,
    pub created_at: OffsetDateTime,
}

impl AuditEntry {
    pub fn new(
        tenant_id: Option<TenantId>,
        actor: Actor,
        action: &str,
        created_at: OffsetDateTime,
    ) -> Self {
        AuditEntry {
            id: AuditEventId::new(),
            tenant_id,
            actor,
            action: action.to_owned(),
            target_kind: None,
            target_id: None,
            ip: None,
            before: None,
            after: None,
            created_at,
        }
    }

    pub fn target(mut self, kind: &str, id: impl ToString) -> Self {
        self.target_kind = Some(kind.to_owned());
        self.target_id = Some(id.to_string());
        self
    }

    pub fn from_ip(mut self, ip: Option<String>) -> Self {
        self.ip = ip;
        self
    }

    pub fn change(mut self, before: Option<String>, after: Option<String>) -> Self {
        self.before = before;
        self.after = after;
        self
    }
}

/// A recorded event: an entry with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub seq: i64,
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an event: SHA-256 over the previous hash and every field, each length-prefixed
/// so that no two different events serialise alike.
pub fn chain_hash(prev_hash: &str, seq: i64, entry: &AuditEntry) -> String {
    let mut hasher = Sha256::new();
    let mut field = |value: Option<&str>| match value {
        None => hasher.update(b"\xff"),
        Some(value) => {
            hasher.update((value.len() as u64).to_be_bytes());
            hasher.update(value.as_bytes());
        }
    };
    let micros = (entry.created_at.unix_timestamp_nanos() / 1000).to_string();
    field(Some(prev_hash));
    field(Some(&seq.to_string()));
    field(Some(&entry.id.to_string()));
    field(entry.tenant_id.map(|it| it.to_string()).as_deref());
    field(Some(&entry.actor.kind));
    field(entry.actor.id.as_deref());
    field(entry.actor.label.as_deref());
    field(Some(&entry.action));
    field(entry.target_kind.as_deref());
    field(entry.target_id.as_deref());
    field(entry.ip.as_deref());
    field(entry.before.as_deref());
    field(entry.after.as_deref());
    field(Some(&micros));
    crate::api_key::KeyHash(hasher.finalize().into()).to_hex()
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("event {seq} does not follow event {expected_seq}: a record is missing")]
    Gap { seq: i64, expected_seq: i64 },
    #[error("event {seq} does not point to the hash of the event before it")]
    BrokenLink { seq: i64 },
    #[error("event {seq} was altered: its content does not match its hash")]
    Altered { seq: i64 },
}

/// Checks a run of consecutive events, starting after `prev` (`(seq, hash)` of the event
/// before the first, or `(0, GENESIS)` from the start).
///
/// # Errors
/// The first broken link, gap or altered event.
pub fn verify_chain<'a>(
    prev: (i64, &str),
    events: impl IntoIterator<Item = &'a AuditEvent>,
) -> Result<(i64, String), ChainError> {
    let (mut seq, mut hash) = (prev.0, prev.1.to_owned());
    for event in events {
        if event.seq != seq + 1 {
            return Err(ChainError::Gap {
                seq: event.seq,
                expected_seq: seq + 1,
            });
        }
        if event.prev_hash != hash {
            return Err(ChainError::BrokenLink { seq: event.seq });
        }
        if chain_hash(&hash, event.seq, &event.entry) != event.hash {
            return Err(ChainError::Altered { seq: event.seq });
        }
        seq = event.seq;
        hash.clone_from(&event.hash);
    }
    Ok((seq, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let entry = AuditEntry::new(
                    None,
                    Actor::cli(),
                    "tenant.create",
                    OffsetDateTime::UNIX_EPOCH,
                )
                .target("tenant", seq);
                let hash = chain_hash(&prev, seq, &entry);
                let event = AuditEvent {
                    seq,
                    entry,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                event
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let events = chain(5);
        let (seq, hash) = verify_chain((0, GENESIS), &events).unwrap();
        assert_eq!((seq, hash), (5, events[4].hash.clone()));
    }

    #[test]
    fn edits_deletions_and_relinks_are_detected() {
        let mut events = chain(5);
        events[2].entry.after = Some("{\"role\":\"owner\"}".into());
        assert_eq!(
            verify_chain((0, GENESIS), &events),
            Err(ChainError::Altered { seq: 3 })
        );

        let mut events = chain(5);
        events.remove(2);
        assert_eq!(
            verify_chain((0, GENESIS), &events),
            Err(ChainError::Gap {
                seq: 4,
                expected_seq: 3
            })
        );

        let mut events = chain(5);
        events[3].prev_hash = GENESIS.into();
        assert_eq!(
            verify_chain((0, GENESIS), &events),
            Err(ChainError::BrokenLink { seq: 4 })
        );
    }
}
