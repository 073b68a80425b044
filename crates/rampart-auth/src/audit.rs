//! Audit events and the hash chain that makes tampering detectable
//! (DESIGN.md §4, invariant 6).
//!
//! Why: every security-relevant action is recorded (who, what, when, from
//! where, outcome), and an operator must be able to prove the log was not
//! edited. Each [`Record`] carries `prev_hash` and
//! `hash = SHA-256(prev_hash ‖ canonical JSON of the event)`; the first record
//! links to [`GENESIS_HASH`]. [`verify`] recomputes the chain and says which
//! `seq` broke and how; given the expected [`ChainHead`] (kept apart from the
//! log) it also detects truncation.
//!
//! Canonical encoding ([`canonical_json`]): the event as JSON with object keys
//! sorted by their UTF-8 bytes, no whitespace, strings escaped as `serde_json`
//! escapes them, numbers as `serde_json` prints them. It is computed here, not
//! by `serde_json::to_string`, so a feature flag elsewhere in the build (e.g.
//! `preserve_order`) cannot change it.
//!
//! What it does not do: storage, querying, or signing heads. A chain proves
//! internal consistency; an attacker who can rewrite the whole log *and* the
//! stored head is out of reach of any hash chain.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::rbac::Scope;

/// The security-relevant actions (issue 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditAction {
    LoginSucceeded,
    /// Harness calls this UNSUCCESSFUL_LOGIN.
    LoginFailed,
    AccountLockedOut,
    AccountUnlocked,
    Logout,
    PasswordChanged,
    TwoFactorEnrolled,
    TwoFactorDisabled,
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
    TwoFactorEnforcementChanged,
    ApiKeyCreated,
    ApiKeyDeleted,
    TokenCreated,
    TokenRotated,
    TokenRevoked,
    AccountCreated,
    AccountUpdated,
    AccountDeleted,
    OrganizationCreated,
    OrganizationUpdated,
    OrganizationDeleted,
    ProjectCreated,
    ProjectUpdated,
    ProjectDeleted,
    UserCreated,
    UserUpdated,
    UserDeleted,
    UserGroupCreated,
    UserGroupUpdated,
    UserGroupDeleted,
    UserGroupMembershipChanged,
    ServiceAccountCreated,
    ServiceAccountUpdated,
    ServiceAccountDeleted,
    RoleCreated,
    RoleUpdated,
    RoleDeleted,
    ResourceGroupCreated,
    ResourceGroupUpdated,
    ResourceGroupDeleted,
    RoleBindingCreated,
    RoleBindingDeleted,
    SecretCreated,
    SecretUpdated,
    SecretDeleted,
    PipelineCreated,
    PipelineUpdated,
    PipelineDeleted,
    /// A run was queued (its executor is the actor).
    RunQueued,
    RunAborted,
    /// A run's step was refused a secret its executor may not access.
    SecretAccessDenied,
    AllowlistUpdated,
    AuthSettingsUpdated,
    RequestBlocked,
    AccessDenied,
}

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Actor {
    User {
        id: String,
    },
    ServiceAccount {
        id: String,
    },
    /// Unauthenticated; `claimed` is the login name tried, if any.
    Anonymous {
        claimed: Option<String>,
    },
    /// Rampart itself (first-start setup, expiry sweeps).
    System,
}

/// What was acted on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditResource {
    /// The resource kind, e.g. `USER`, `SECRET`, `ROLE_BINDING`.
    pub kind: String,
    pub id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

/// One audit event. `seq` is assigned by [`Chain::append`]. `details` must
/// never hold a secret, password or token value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    pub seq: u64,
    /// Unix time in milliseconds.
    pub time: i64,
    pub actor: Actor,
    pub action: AuditAction,
    pub resource: AuditResource,
    pub scope: Option<Scope>,
    pub source_ip: Option<IpAddr>,
    pub outcome: Outcome,
    pub details: Value,
}

/// A SHA-256 digest, written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash(pub [u8; 32]);

/// The `prev_hash` of the first record.
pub const GENESIS_HASH: ChainHash = ChainHash([0; 32]);

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({self})")
    }
}

/// A string that is not 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a SHA-256 hash: expected 64 lowercase hex digits")]
pub struct BadHash(pub String);

impl std::str::FromStr for ChainHash {
    type Err = BadHash;

    /// Strict: lowercase only, so each hash has exactly one spelling.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadHash(s.to_owned());
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let mut v = 0u8;
            for &c in pair {
                let d = match c {
                    b'0'..=b'9' => c - b'0',
                    b'a'..=b'f' => c - b'a' + 10,
                    _ => return Err(bad()),
                };
                v = (v << 4) | d;
            }
            *o = v;
        }
        Ok(ChainHash(out))
    }
}

impl Serialize for ChainHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChainHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A stored audit record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub event: AuditEvent,
    pub prev_hash: ChainHash,
    pub hash: ChainHash,
}

/// The end of a chain: how many records and the last hash. Kept apart from
/// the log (or published), it lets [`verify`] detect truncation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub count: u64,
    pub last_hash: ChainHash,
}

impl ChainHead {
    pub const GENESIS: ChainHead = ChainHead {
        count: 0,
        last_hash: GENESIS_HASH,
    };
}

/// Why a chain failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error(
        "audit record at position {position} has seq {found}, expected {expected}: an event was deleted, inserted or reordered"
    )]
    SeqGap {
        position: usize,
        expected: u64,
        found: u64,
    },
    #[error(
        "audit record seq {seq}: prev_hash does not match the previous record's hash: the previous record was modified or removed"
    )]
    BrokenLink { seq: u64 },
    #[error(
        "audit record seq {seq}: stored hash does not match its contents: the event was modified"
    )]
    HashMismatch { seq: u64 },
    #[error(
        "audit log ends at {found} records but the expected head has {expected}: records were truncated or the head is stale"
    )]
    Truncated { expected: u64, found: u64 },
    #[error(
        "audit log's last hash (seq {seq}) differs from the expected head: the tail was rewritten"
    )]
    HeadMismatch { seq: u64 },
    #[error("audit event seq {seq} cannot be encoded: {message}")]
    Encoding { seq: u64, message: String },
}

impl ChainError {
    /// How many records, from the first, verified before this problem.
    pub fn verified_records(&self) -> u64 {
        match self {
            ChainError::SeqGap { expected, .. } => expected.saturating_sub(1),
            ChainError::BrokenLink { seq }
            | ChainError::HashMismatch { seq }
            | ChainError::Encoding { seq, .. } => seq.saturating_sub(1),
            ChainError::Truncated { found, .. } => *found,
            ChainError::HeadMismatch { seq } => *seq,
        }
    }
}

/// The canonical encoding of an event (see the module docs).
pub fn canonical_json(event: &AuditEvent) -> Result<String, ChainError> {
    let value = serde_json::to_value(event).map_err(|e| ChainError::Encoding {
        seq: event.seq,
        message: e.to_string(),
    })?;
    let mut out = String::new();
    write_canonical(&value, &mut out);
    Ok(out)
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            // Scalars print the same with or without `preserve_order`.
            out.push_str(&value.to_string());
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
    }
}

/// `SHA-256(prev_hash ‖ canonical_json(event))`.
pub fn record_hash(prev_hash: &ChainHash, event: &AuditEvent) -> Result<ChainHash, ChainError> {
    let body = canonical_json(event)?;
    let mut h = Sha256::new();
    h.update(prev_hash.0);
    h.update(body.as_bytes());
    Ok(ChainHash(h.finalize().into()))
}

/// The writer's side of the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    head: ChainHead,
}

impl Default for Chain {
    fn default() -> Self {
        Chain::new()
    }
}

impl Chain {
    /// An empty chain starting at [`GENESIS_HASH`].
    pub fn new() -> Self {
        Chain {
            head: ChainHead::GENESIS,
        }
    }

    /// Continues a stored chain from its head.
    pub fn resume(head: ChainHead) -> Self {
        Chain { head }
    }

    pub fn head(&self) -> ChainHead {
        self.head
    }

    /// Appends `event`, setting its `seq` to the next number (from 1).
    pub fn append(&mut self, mut event: AuditEvent) -> Result<Record, ChainError> {
        event.seq = self.head.count.saturating_add(1);
        let prev_hash = self.head.last_hash;
        let hash = record_hash(&prev_hash, &event)?;
        self.head = ChainHead {
            count: event.seq,
            last_hash: hash,
        };
        Ok(Record {
            event,
            prev_hash,
            hash,
        })
    }
}

/// Verifies a whole log from genesis; see [`verify_from`].
pub fn verify(records: &[Record], expected_head: Option<&ChainHead>) -> Result<(), ChainError> {
    verify_from(&ChainHead::GENESIS, records, expected_head)
}

/// Verifies `records` as the continuation of a chain at `start` (so a log
/// can be checked page by page). With `expected_head`, the records must end
/// exactly there.
pub fn verify_from(
    start: &ChainHead,
    records: &[Record],
    expected_head: Option<&ChainHead>,
) -> Result<(), ChainError> {
    let mut head = *start;
    for (position, record) in records.iter().enumerate() {
        let expected = head.count.saturating_add(1);
        let seq = record.event.seq;
        if seq != expected {
            return Err(ChainError::SeqGap {
                position,
                expected,
                found: seq,
            });
        }
        if record.prev_hash != head.last_hash {
            return Err(ChainError::BrokenLink { seq });
        }
        if record_hash(&record.prev_hash, &record.event)? != record.hash {
            return Err(ChainError::HashMismatch { seq });
        }
        head = ChainHead {
            count: seq,
            last_hash: record.hash,
        };
    }
    if let Some(want) = expected_head {
        if head.count < want.count {
            return Err(ChainError::Truncated {
                expected: want.count,
                found: head.count,
            });
        }
        if head != *want {
            return Err(ChainError::HeadMismatch { seq: head.count });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn event(n: u64) -> AuditEvent {
        AuditEvent {
            seq: 0,
            time: 1_764_000_000_000 + i64::try_from(n).unwrap(),
            actor: Actor::User {
                id: format!("user{n}"),
            },
            action: if n.is_multiple_of(2) {
                AuditAction::LoginFailed
            } else {
                AuditAction::RoleBindingCreated
            },
            resource: AuditResource {
                kind: "USER".into(),
                id: Some(format!("u{n}")),
            },
            scope: Some(Scope::project("acc", "org", "proj")),
            source_ip: Some("192.0.2.7".parse().unwrap()),
            outcome: Outcome::Success,
            details: json!({"zeta": n, "alpha": ["x", {"b": true, "a": null}], "ü": "é\"\n"}),
        }
    }

    fn chain(n: u64) -> (Vec<Record>, ChainHead) {
        let mut c = Chain::new();
        let records = (0..n).map(|i| c.append(event(i)).unwrap()).collect();
        (records, c.head())
    }

    #[test]
    fn intact_chain_verifies_and_links() {
        let (records, head) = chain(5);
        assert_eq!(records[0].prev_hash, GENESIS_HASH);
        assert_eq!(records[3].prev_hash, records[2].hash);
        assert_eq!(head.count, 5);
        assert_eq!(verify(&records, Some(&head)), Ok(()));
        assert_eq!(verify(&[], Some(&ChainHead::GENESIS)), Ok(()));
        // resuming continues the same chain
        let mut resumed = Chain::resume(ChainHead {
            count: 2,
            last_hash: records[1].hash,
        });
        assert_eq!(resumed.append(event(2)).unwrap(), records[2]);
        // page-by-page verification
        let mid = ChainHead {
            count: 3,
            last_hash: records[2].hash,
        };
        assert_eq!(verify_from(&mid, &records[3..], Some(&head)), Ok(()));
    }

    #[test]
    fn canonical_json_sorts_keys_without_whitespace() {
        let mut e = event(1);
        e.details = json!({"b": 1, "a": {"d": [1, 2], "c": "x y"}});
        let s = canonical_json(&e).unwrap();
        assert!(
            s.contains(r#""details":{"a":{"c":"x y","d":[1,2]},"b":1}"#),
            "{s}"
        );
        assert!(
            s.starts_with(r#"{"action":"ROLE_BINDING_CREATED","actor":"#),
            "{s}"
        );
        assert_eq!(canonical_json(&e).unwrap(), s, "deterministic");
    }

    #[test]
    fn modified_event_is_detected() {
        let (mut records, head) = chain(4);
        records[1].event.outcome = Outcome::Failure;
        assert_eq!(
            verify(&records, Some(&head)),
            Err(ChainError::HashMismatch { seq: 2 })
        );
    }

    #[test]
    fn modified_event_with_recomputed_hash_breaks_the_next_link() {
        let (mut records, head) = chain(4);
        records[1].event.details = json!({"forged": true});
        records[1].hash = record_hash(&records[1].prev_hash, &records[1].event).unwrap();
        assert_eq!(
            verify(&records, Some(&head)),
            Err(ChainError::BrokenLink { seq: 3 })
        );
    }

    #[test]
    fn deleted_event_is_detected() {
        let (mut records, head) = chain(4);
        records.remove(1);
        assert_eq!(
            verify(&records, Some(&head)),
            Err(ChainError::SeqGap {
                position: 1,
                expected: 2,
                found: 3
            })
        );
        // renumbering to hide the gap breaks the hash chain instead
        records[1].event.seq = 2;
        let err = verify(&records, None).unwrap_err();
        assert_eq!(err, ChainError::BrokenLink { seq: 2 });
        assert!(err.to_string().contains("seq 2"));
    }

    #[test]
    fn reordering_is_detected() {
        let (mut records, _) = chain(4);
        records.swap(1, 2);
        assert_eq!(
            verify(&records, None),
            Err(ChainError::SeqGap {
                position: 1,
                expected: 2,
                found: 3
            })
        );
    }

    #[test]
    fn truncation_is_detected_only_with_the_head() {
        let (mut records, head) = chain(4);
        records.truncate(2);
        assert_eq!(
            verify(&records, None),
            Ok(()),
            "a prefix is self-consistent"
        );
        assert_eq!(
            verify(&records, Some(&head)),
            Err(ChainError::Truncated {
                expected: 4,
                found: 2
            })
        );
    }

    #[test]
    fn rewritten_tail_is_detected_against_the_head() {
        let (mut records, head) = chain(3);
        records.pop();
        let mut forged = Chain::resume(ChainHead {
            count: 2,
            last_hash: records[1].hash,
        });
        let mut e = event(9);
        e.outcome = Outcome::Denied;
        records.push(forged.append(e).unwrap());
        assert_eq!(verify(&records, None), Ok(()));
        assert_eq!(
            verify(&records, Some(&head)),
            Err(ChainError::HeadMismatch { seq: 3 })
        );
    }

    #[test]
    fn hashes_round_trip_strictly() {
        let (records, _) = chain(1);
        let s = records[0].hash.to_string();
        assert_eq!(s.parse::<ChainHash>().unwrap(), records[0].hash);
        assert!(s.to_uppercase().parse::<ChainHash>().is_err());
        assert!("00".parse::<ChainHash>().is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_single_byte_change_is_detected(which in 0usize..4, pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let (records, head) = chain(4);
            let mut lines: Vec<Vec<u8>> = records.iter().map(|r| serde_json::to_vec(r).unwrap()).collect();
            let line = &mut lines[which];
            let at = pos.index(line.len());
            prop_assume!(line[at] != byte);
            line[at] = byte;
            let parsed: Result<Vec<Record>, _> = lines.iter().map(|l| serde_json::from_slice::<Record>(l)).collect();
            if let Ok(parsed) = parsed {
                prop_assert!(verify(&parsed, Some(&head)).is_err(), "undetected change at byte {} of record {}", at, which);
            }
        }
    }
}
