//! Writing, reading and verifying the audit trail (DESIGN.md §4 invariant 6):
//! one hash chain per account, appended through the store's serialised
//! append so replicas cannot fork it.
//!
//! Requests refused by an IP allowlist are recorded too, but coalesced: one
//! event per account, address and surface per minute, carrying how many were
//! refused, so a flood from a blocked network cannot fill the database.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rampart_auth::allowlist::Surface;
use rampart_auth::audit::{
    Actor, AuditAction, AuditEvent, AuditResource, Chain, ChainError, ChainHash, ChainHead,
    GENESIS_HASH, Outcome, Record,
};
use rampart_auth::rbac::Scope;
use rampart_store::{AuditHead, AuditRepo, AuditRow, Store, StoreError};
use serde_json::Value;

use crate::error::ApiError;
use crate::scope::now_ms;

/// Window of the blocked-request coalescing.
const BLOCKED_WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered by the coalescing at most.
const BLOCKED_MAX: usize = 10_000;
/// Records read per page when verifying.
const VERIFY_PAGE: u32 = 1000;
/// Appends retried when another writer got in the way.
const APPEND_ATTEMPTS: usize = 5;

/// What to record; `time` and `seq` are filled in when it is appended.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub account: String,
    pub actor: Actor,
    pub action: AuditAction,
    pub resource_kind: &'static str,
    pub resource_id: Option<String>,
    pub scope: Option<Scope>,
    pub ip: Option<IpAddr>,
    pub outcome: Outcome,
    /// Never a secret, password or token.
    pub details: Value,
}

impl Entry {
    pub fn new(
        account: &str,
        actor: Actor,
        action: AuditAction,
        resource_kind: &'static str,
    ) -> Self {
        Entry {
            account: account.to_owned(),
            actor,
            action,
            resource_kind,
            resource_id: None,
            scope: None,
            ip: None,
            outcome: Outcome::Success,
            details: Value::Null,
        }
    }

    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.resource_id = Some(id.into());
        self
    }

    pub fn scope(mut self, scope: &Scope) -> Self {
        self.scope = Some(scope.clone());
        self
    }

    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

struct BlockedWindow {
    started: Instant,
    suppressed: u64,
}

/// The audit writer.
pub(crate) struct AuditLog {
    store: Store,
    blocked: Mutex<HashMap<(String, IpAddr, Surface), BlockedWindow>>,
}

/// The stored form of an actor, for filtering.
pub(crate) fn actor_key(actor: &Actor) -> String {
    match actor {
        Actor::User { id } => format!("user:{id}"),
        Actor::ServiceAccount { id } => format!("service_account:{id}"),
        Actor::Anonymous { .. } => "anonymous".into(),
        Actor::System => "system".into(),
    }
}

/// The stored form of an enum that serialises as one string.
pub(crate) fn name_of<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl AuditLog {
    pub fn new(store: Store) -> Self {
        AuditLog {
            store,
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// Appends `entry` to its account's chain. A failure is logged and
    /// becomes a 500: an action whose record cannot be written is reported.
    pub async fn record(&self, entry: Entry) -> Result<(), ApiError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.append(&entry).await {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict(_)) if attempt < APPEND_ATTEMPTS => continue,
                Err(error) => {
                    return Err(ApiError::internal(
                        &format!("cannot write an audit event ({:?})", entry.action),
                        error,
                    ));
                }
            }
        }
    }

    async fn append(&self, entry: &Entry) -> Result<AuditRow, StoreError> {
        let event = AuditEvent {
            seq: 0,
            time: now_ms(),
            actor: entry.actor.clone(),
            action: entry.action,
            resource: AuditResource {
                kind: entry.resource_kind.to_owned(),
                id: entry.resource_id.clone(),
            },
            scope: entry.scope.clone(),
            source_ip: entry.ip,
            outcome: entry.outcome,
            details: entry.details.clone(),
        };
        let account = entry.account.clone();
        self.store
            .append_audit(&entry.account, move |head| {
                let head = match head {
                    None => ChainHead::GENESIS,
                    Some(head) => ChainHead {
                        count: u64::try_from(head.count).map_err(|e| e.to_string())?,
                        last_hash: head
                            .last_hash
                            .parse()
                            .map_err(|e: rampart_auth::audit::BadHash| e.0)?,
                    },
                };
                let record = Chain::resume(head)
                    .append(event)
                    .map_err(|e| e.to_string())?;
                let row = row_of(&account, &record)?;
                let head = AuditHead {
                    count: row.seq,
                    last_hash: record.hash.to_string(),
                };
                Ok((row, head))
            })
            .await
    }

    /// Records a request an allowlist refused, coalesced per minute.
    pub async fn blocked(&self, account: &str, ip: IpAddr, surface: Surface, path: &str) {
        let key = (account.to_owned(), ip, surface);
        let suppressed = {
            let mut blocked = self
                .blocked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = Instant::now();
            if let Some(window) = blocked.get_mut(&key)
                && now.duration_since(window.started) < BLOCKED_WINDOW
            {
                window.suppressed += 1;
                return;
            }
            if blocked.len() >= BLOCKED_MAX {
                blocked.retain(|_, w| now.duration_since(w.started) < BLOCKED_WINDOW);
            }
            let previous = blocked.insert(
                key,
                BlockedWindow {
                    started: now,
                    suppressed: 0,
                },
            );
            previous.map_or(0, |w| w.suppressed)
        };
        let entry = Entry::new(
            account,
            Actor::Anonymous { claimed: None },
            AuditAction::RequestBlocked,
            "IP_ALLOWLIST",
        )
        .ip(ip)
        .outcome(Outcome::Denied)
        .details(serde_json::json!({
            "surface": surface,
            "path": path,
            "suppressed_since_last_event": suppressed,
        }));
        // A blocked request is answered 401 whatever happens here.
        let _ = self.record(entry).await;
    }
}

/// The stored row of a record: the record itself, and copies of its fields
/// in columns for filtering.
fn row_of(account: &str, record: &Record) -> Result<AuditRow, String> {
    Ok(AuditRow {
        account: account.to_owned(),
        seq: i64::try_from(record.event.seq).map_err(|e| e.to_string())?,
        time_ms: record.event.time,
        action: name_of(&record.event.action),
        actor: actor_key(&record.event.actor),
        resource_kind: record.event.resource.kind.clone(),
        resource_id: record.event.resource.id.clone(),
        outcome: name_of(&record.event.outcome),
        source_ip: record.event.source_ip.map(|ip| ip.to_string()),
        record: serde_json::to_string(record).map_err(|e| e.to_string())?,
    })
}

/// The filter columns of `row` that disagree with its record: a query by
/// them would otherwise find (or miss) events the chain does not vouch for.
fn altered_columns(row: &AuditRow, record: &Record) -> Vec<&'static str> {
    let Ok(expected) = row_of(&row.account, record) else {
        return vec!["seq"];
    };
    [
        ("seq", row.seq == expected.seq),
        ("time_ms", row.time_ms == expected.time_ms),
        ("action", row.action == expected.action),
        ("actor", row.actor == expected.actor),
        ("resource_kind", row.resource_kind == expected.resource_kind),
        ("resource_id", row.resource_id == expected.resource_id),
        ("outcome", row.outcome == expected.outcome),
        ("source_ip", row.source_ip == expected.source_ip),
    ]
    .into_iter()
    .filter_map(|(column, same)| (!same).then_some(column))
    .collect()
}

/// The result of verifying one account's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub account: String,
    /// Records checked.
    pub records: u64,
    /// What is wrong, if anything.
    pub problem: Option<String>,
}

/// Verifies every account's chain against its stored head: a modified,
/// deleted, inserted or reordered record, or a truncated tail, is reported.
pub(crate) async fn verify_all(store: &Store) -> Result<Vec<ChainReport>, StoreError> {
    let mut reports = Vec::new();
    for account in store.audit_accounts().await? {
        reports.push(verify_account(store, &account).await?);
    }
    Ok(reports)
}

/// Verifies one account's chain.
pub(crate) async fn verify_account(
    store: &Store,
    account: &str,
) -> Result<ChainReport, StoreError> {
    let expected = match store.audit_head(account).await? {
        None => ChainHead::GENESIS,
        Some(head) => match parse_head(&head) {
            Ok(head) => head,
            Err(problem) => {
                return Ok(ChainReport {
                    account: account.to_owned(),
                    records: 0,
                    problem: Some(problem),
                });
            }
        },
    };
    let mut at = ChainHead::GENESIS;
    let mut after = 0;
    loop {
        let rows = store.audit_range(account, after, VERIFY_PAGE).await?;
        if rows.is_empty() {
            break;
        }
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            match serde_json::from_str::<Record>(&row.record) {
                Ok(record) => {
                    let altered = altered_columns(row, &record);
                    if !altered.is_empty() {
                        return Ok(ChainReport {
                            account: account.to_owned(),
                            records: u64::try_from(row.seq.saturating_sub(1)).unwrap_or(0),
                            problem: Some(format!(
                                "audit record seq {}: its {} column(s) disagree with the chained record: they were modified",
                                row.seq,
                                altered.join(", ")
                            )),
                        });
                    }
                    records.push(record);
                }
                Err(error) => {
                    return Ok(ChainReport {
                        account: account.to_owned(),
                        records: at.count,
                        problem: Some(format!(
                            "audit record seq {} is not a readable record ({error}): it was modified",
                            row.seq
                        )),
                    });
                }
            }
        }
        if let Err(error) = rampart_auth::audit::verify_from(&at, &records, None) {
            return Ok(report(account, at.count, Some(error)));
        }
        if let Some(last) = records.last() {
            at = ChainHead {
                count: last.event.seq,
                last_hash: last.hash,
            };
        }
        after = rows.last().map_or(after, |r| r.seq);
    }
    let tail = rampart_auth::audit::verify_from(&at, &[], Some(&expected)).err();
    Ok(report(account, at.count, tail))
}

fn report(account: &str, records: u64, error: Option<ChainError>) -> ChainReport {
    ChainReport {
        account: account.to_owned(),
        records: error.as_ref().map_or(records, ChainError::verified_records),
        problem: error.map(|e| e.to_string()),
    }
}

fn parse_head(head: &AuditHead) -> Result<ChainHead, String> {
    let count = u64::try_from(head.count)
        .map_err(|_| format!("the stored audit head count {} is negative", head.count))?;
    let last_hash: ChainHash = if count == 0 {
        GENESIS_HASH
    } else {
        head.last_hash
            .parse()
            .map_err(|_| "the stored audit head hash is not a SHA-256 hex digest".to_string())?
    };
    Ok(ChainHead { count, last_hash })
}
