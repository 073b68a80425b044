//! Login sessions, as rows. The session secret never reaches the store:
//! rows are keyed by a keyed hash of it, computed by the server.

use std::future::Future;

use crate::StoreError;

/// One browser session. `stage` is the server's login stage (second factor
/// pending, password change required, enrolment required, active), opaque
/// to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Keyed hash of the session secret: the lookup key.
    pub id_hash: String,
    pub user_id: String,
    pub stage: String,
    pub created_at_ms: i64,
    pub last_seen_ms: i64,
    /// The absolute end, whatever the activity.
    pub expires_at_ms: i64,
    pub source_ip: Option<String>,
    pub revoked_at_ms: Option<i64>,
}

/// Where sessions live. Deleting a user deletes their sessions.
pub trait SessionRepo {
    /// Fails with [`StoreError::Conflict`] if the user does not exist.
    fn insert_session(
        &self,
        session: &Session,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn session(
        &self,
        id_hash: &str,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Records activity; `last_seen_ms` never moves backwards.
    fn touch_session(
        &self,
        id_hash: &str,
        at_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Moves a session to another login stage (only if not revoked).
    fn set_session_stage(
        &self,
        id_hash: &str,
        stage: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes one session; revoking again keeps the first time.
    fn revoke_session(
        &self,
        id_hash: &str,
        at_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every live session of a user except `keep` (the caller's own,
    /// after a password change); returns how many were revoked.
    fn revoke_sessions_of(
        &self,
        user_id: &str,
        keep: Option<&str>,
        at_ms: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes sessions that ended (expired or revoked) before `before_ms`.
    fn delete_ended_sessions(
        &self,
        before_ms: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
