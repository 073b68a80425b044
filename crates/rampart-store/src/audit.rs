//! The audit log, as rows: one hash chain per account. The store keeps the
//! chain's records and its head (count and last hash, kept apart so a
//! truncated log is detectable) and serialises appends; it computes no
//! hashes — the caller's closure does, from the head it is handed.
//!
//! The table is append-only: triggers refuse UPDATE and DELETE (so a bug or
//! a stray statement cannot rewrite history; someone with the database's
//! owner rights can still drop them, which the hash chain then exposes).

use std::future::Future;

use crate::StoreError;

/// One stored audit record. The filter columns copy fields of `record`;
/// readers render `record`, which is what the chain covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub account: String,
    /// 1, 2, 3, ... within the account.
    pub seq: i64,
    pub time_ms: i64,
    pub action: String,
    /// `user:ID`, `service_account:ID`, `anonymous` or `system`.
    pub actor: String,
    pub resource_kind: String,
    pub resource_id: Option<String>,
    pub outcome: String,
    pub source_ip: Option<String>,
    /// The whole record (event, previous hash, hash) as JSON.
    pub record: String,
}

/// The end of an account's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    pub count: i64,
    /// Hex; the genesis value for an empty chain is chosen by the caller.
    pub last_hash: String,
}

/// A query over one account's log; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Any of these actions (empty: all).
    pub actions: Vec<String>,
    pub actor: Option<String>,
    pub resource_kind: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Option<String>,
    /// Inclusive.
    pub from_ms: Option<i64>,
    /// Exclusive.
    pub to_ms: Option<i64>,
    /// Only records with a smaller seq (paging backwards from the newest).
    pub before_seq: Option<i64>,
    /// At most this many (the caller bounds it).
    pub limit: u32,
}

/// What an append's closure returns: the row to insert and the new head.
pub type Appended = (AuditRow, AuditHead);

/// Where audit records live.
pub trait AuditRepo {
    /// Appends one record to `account`'s chain, atomically: the current head
    /// (`None` for an empty chain) is read under a lock that serialises
    /// appenders across connections and replicas, `build` turns it into the
    /// row and the new head, and both are written in one transaction. An
    /// error from `build` aborts the append with [`StoreError::Corrupt`].
    fn append_audit<F>(
        &self,
        account: &str,
        build: F,
    ) -> impl Future<Output = Result<AuditRow, StoreError>> + Send
    where
        F: FnOnce(Option<AuditHead>) -> Result<Appended, String> + Send;

    fn audit_head(
        &self,
        account: &str,
    ) -> impl Future<Output = Result<Option<AuditHead>, StoreError>> + Send;

    /// Matching records, newest first.
    fn audit_query(
        &self,
        account: &str,
        filter: &AuditFilter,
    ) -> impl Future<Output = Result<Vec<AuditRow>, StoreError>> + Send;

    /// Up to `limit` records with seq > `after_seq`, oldest first (for
    /// verifying the chain page by page).
    fn audit_range(
        &self,
        account: &str,
        after_seq: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditRow>, StoreError>> + Send;

    /// Every account with an audit chain (a head), sorted.
    fn audit_accounts(&self) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}
