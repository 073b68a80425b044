//! The gate of every request (DESIGN.md §4 invariant 3): the client address
//! (believing `X-Forwarded-For` only from trusted proxies), then the
//! account's IP allowlist, then the credential — an API token
//! (`x-api-key` or `Authorization: Bearer`) or a session cookie — and for
//! sessions the login stage and CSRF. Only the routes in [`PUBLIC`] are
//! reachable without a principal; handlers get a [`Caller`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rampart_auth::allowlist::Surface;
use rampart_auth::audit::Actor;
use rampart_auth::rbac::Principal;
use rampart_auth::session::{SessionSecret, Stage};
use rampart_auth::token;
use rampart_store::{IdentityRepo, SessionRepo};

use crate::backend::Core;
use crate::error::ApiError;
use crate::http::AppState;
use crate::scope::{ms_of, now_ms};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "rampart_session";
/// The header a cookie-authenticated write must carry the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Session activity is written at most this often (the inactivity timeout
/// is therefore exact to this much).
const TOUCH_EVERY_MS: i64 = 60_000;

/// Routes anyone may call: health, the API description, login.
pub(crate) const PUBLIC: &[&str] = &[
    "/healthz",
    "/readyz",
    "/api/openapi.json",
    "/api/auth/login",
];

/// The TCP peer of a connection; set by the connection loop.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerAddr(pub SocketAddr);

/// The client's address as the gate determined it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .ok_or_else(|| ApiError::internal("routing", "a request reached a handler ungated"))
    }
}

/// How the caller authenticated.
#[derive(Debug, Clone)]
pub(crate) enum Credential {
    Session {
        id_hash: String,
        stage: Stage,
        user_id: String,
    },
    Token {
        token_id: String,
    },
}

/// The authenticated principal of a request.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub account: String,
    pub principal: Arc<Principal>,
    pub credential: Credential,
    pub ip: IpAddr,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        match self.principal.kind {
            rampart_auth::rbac::PrincipalKind::User => Actor::User {
                id: self.principal.id.clone(),
            },
            rampart_auth::rbac::PrincipalKind::ServiceAccount => Actor::ServiceAccount {
                id: self.principal.id.clone(),
            },
        }
    }

    /// The user behind the request, if a user (by session or personal token).
    pub fn user_id(&self) -> Option<&str> {
        (self.principal.kind == rampart_auth::rbac::PrincipalKind::User)
            .then_some(self.principal.id.as_str())
    }

    /// The token's id, when the caller used a token.
    pub fn token_id(&self) -> Option<&str> {
        match &self.credential {
            Credential::Token { token_id } => Some(token_id),
            Credential::Session { .. } => None,
        }
    }

    /// The session, for what only a logged-in browser may do (choosing a
    /// password, enrolling 2FA, minting personal tokens): a stolen token
    /// must not be able to entrench itself.
    pub fn session(&self) -> Result<(&str, &str), ApiError> {
        match &self.credential {
            Credential::Session {
                id_hash, user_id, ..
            } => Ok((id_hash, user_id)),
            Credential::Token { .. } => Err(ApiError::Forbidden(
                "this needs a login session, not an API token: log in with your password".into(),
            )),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthenticated(UNAUTHENTICATED.into()))
    }
}

const UNAUTHENTICATED: &str = "authentication required: log in, or send an API token in the x-api-key or Authorization: Bearer header";

/// The middleware on every documented route.
pub(crate) async fn gate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    match admit(&state.core, &mut request).await {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

async fn admit(core: &Core, request: &mut Request) -> Result<(), ApiError> {
    let peer = request
        .extensions()
        .get::<PeerAddr>()
        .copied()
        .ok_or_else(|| ApiError::internal("routing", "a request without a peer address"))?;
    let forwarded: Vec<&str> = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let ip = core
        .trusted_proxies
        .client_ip(peer.0.ip(), &forwarded)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    request.extensions_mut().insert(ClientIp(ip));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let method = request.method().clone();
    // By path: a public path with another method gets its 405 unauthenticated.
    if PUBLIC.iter().any(|p| *p == route) {
        return Ok(());
    }
    let path = request.uri().path().to_owned();
    let caller = authenticate(core, request.headers(), &method, ip, &path)
        .await?
        .ok_or_else(|| ApiError::Unauthenticated(UNAUTHENTICATED.into()))?;
    if let Credential::Session { stage, .. } = &caller.credential {
        stage_allows(*stage, &method, &route)?;
    }
    request.extensions_mut().insert(caller);
    Ok(())
}

/// What a session that has not finished logging in may reach.
fn stage_allows(stage: Stage, method: &Method, route: &str) -> Result<(), ApiError> {
    let always = matches!(
        (method, route),
        (&Method::GET, "/api/me") | (&Method::POST, "/api/auth/logout")
    );
    let (allowed, code, message) = match stage {
        Stage::Active => return Ok(()),
        Stage::SecondFactor => (
            method == Method::POST && route == "/api/auth/mfa",
            "second_factor_required",
            "enter your TOTP code or a recovery code at POST /api/auth/mfa first",
        ),
        Stage::PasswordChange => (
            method == Method::PUT && route == "/api/me/password",
            "password_change_required",
            "you logged in with a one-time password: choose your own at PUT /api/me/password first",
        ),
        Stage::Enrolment => (
            method == Method::POST && matches!(route, "/api/me/totp" | "/api/me/totp/confirm"),
            "two_factor_enrolment_required",
            "this account requires two-factor authentication: enrol at POST /api/me/totp and confirm at POST /api/me/totp/confirm first",
        ),
    };
    if always || allowed {
        Ok(())
    } else {
        Err(ApiError::StageRequired {
            code,
            message: message.into(),
        })
    }
}

/// The request's principal, `None` when it carries no credential at all.
async fn authenticate(
    core: &Core,
    headers: &HeaderMap,
    method: &Method,
    ip: IpAddr,
    path: &str,
) -> Result<Option<Caller>, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let presented = token::from_headers(header("x-api-key"), header("authorization"))
        .map_err(|e| ApiError::Unauthenticated(e.to_string()))?;
    if let Some(parsed) = presented {
        return by_token(core, &parsed, ip, path).await.map(Some);
    }
    let Some(secret) = session_cookie(headers) else {
        return Ok(None);
    };
    let caller = by_session(core, &secret, ip, path).await?;
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let presented = header(CSRF_HEADER).unwrap_or_default();
        if !secret.csrf_matches(core.keys.pepper(), presented) {
            return Err(ApiError::StageRequired {
                code: "csrf",
                message: format!(
                    "a write with a session cookie needs this session's CSRF token in the {CSRF_HEADER} header (login returns it)"
                ),
            });
        }
    }
    Ok(Some(caller))
}

async fn by_token(
    core: &Core,
    parsed: &token::ParsedToken,
    ip: IpAddr,
    path: &str,
) -> Result<Caller, ApiError> {
    let invalid = || ApiError::Unauthenticated("the API token is not valid".into());
    let snapshot = core.access.snapshot().await?;
    let cached = core
        .access
        .token(&parsed.id(), &snapshot)
        .await?
        .ok_or_else(invalid)?;
    // The allowlist comes before the credential is checked (invariant 3);
    // the lookup by public id only told which account to ask.
    if !snapshot.ip_allowed(&cached.row.account, ip, Surface::Api) {
        core.audit
            .blocked(&cached.row.account, ip, Surface::Api, path)
            .await;
        return Err(ApiError::IpBlocked(ip.to_string()));
    }
    if !token::verify(parsed, &cached.hash, core.keys.pepper()) {
        return Err(invalid());
    }
    cached
        .validity
        .check_at(SystemTime::now())
        .map_err(|e| ApiError::Unauthenticated(e.to_string()))?;
    if let Some(refusal) = cached.owner_refusal {
        return Err(ApiError::Unauthenticated(format!(
            "the API token cannot be used: {refusal}"
        )));
    }
    core.access.record_use(&cached.row.token_id, now_ms());
    Ok(Caller {
        account: cached.row.account.clone(),
        principal: cached.principal.clone(),
        credential: Credential::Token {
            token_id: cached.row.token_id.clone(),
        },
        ip,
    })
}

/// The session secret in the `Cookie` header, if a well-formed one is there.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<SessionSecret> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .and_then(|(_, value)| SessionSecret::from_cookie_value(value.trim()))
}

async fn by_session(
    core: &Core,
    secret: &SessionSecret,
    ip: IpAddr,
    path: &str,
) -> Result<Caller, ApiError> {
    let ended = || ApiError::Unauthenticated("your session has ended; log in again".into());
    let id_hash = secret.id_hash(core.keys.pepper());
    let session = core
        .store
        .session(&id_hash)
        .await?
        .filter(|s| s.revoked_at_ms.is_none())
        .ok_or_else(ended)?;
    let user = core
        .store
        .user(&session.user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(ended)?;
    let snapshot = core.access.snapshot().await?;
    if !snapshot.ip_allowed(&user.account, ip, Surface::Ui) {
        core.audit
            .blocked(&user.account, ip, Surface::Ui, path)
            .await;
        return Err(ApiError::IpBlocked(ip.to_string()));
    }
    let now = now_ms();
    let settings = snapshot.settings(&user.account);
    let idle_limit = ms_of(std::time::UNIX_EPOCH + settings.inactivity());
    if now >= session.expires_at_ms || now - session.last_seen_ms >= idle_limit {
        core.store.revoke_session(&id_hash, now).await?;
        return Err(ended());
    }
    let stage = Stage::parse(&session.stage)
        .ok_or_else(|| ApiError::internal("a stored session", "unknown login stage"))?;
    if now - session.last_seen_ms >= TOUCH_EVERY_MS {
        core.store.touch_session(&id_hash, now).await?;
    }
    Ok(Caller {
        account: user.account.clone(),
        principal: Arc::new(snapshot.user_principal(&user.id)),
        credential: Credential::Session {
            id_hash,
            stage,
            user_id: user.id,
        },
        ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfinished_logins_reach_only_what_finishes_them() {
        let post = Method::POST;
        assert!(stage_allows(Stage::SecondFactor, &post, "/api/auth/mfa").is_ok());
        assert!(stage_allows(Stage::SecondFactor, &Method::GET, "/api/me").is_ok());
        assert!(stage_allows(Stage::SecondFactor, &post, "/api/auth/logout").is_ok());
        assert!(stage_allows(Stage::SecondFactor, &post, "/api/me/totp").is_err());
        assert!(stage_allows(Stage::PasswordChange, &Method::PUT, "/api/me/password").is_ok());
        assert!(stage_allows(Stage::PasswordChange, &Method::GET, "/api/orgs").is_err());
        assert!(stage_allows(Stage::Enrolment, &post, "/api/me/totp/confirm").is_ok());
        assert!(stage_allows(Stage::Enrolment, &Method::PUT, "/api/me/password").is_err());
        assert!(stage_allows(Stage::Active, &Method::DELETE, "/api/orgs/{org}").is_ok());
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let secret = SessionSecret::generate().unwrap();
        let mut headers = HeaderMap::new();
        let value = format!(
            "theme=dark; {SESSION_COOKIE}={}; x=1",
            *secret.cookie_value()
        );
        headers.insert(axum::http::header::COOKIE, value.parse().unwrap());
        assert!(session_cookie(&headers).is_some());
        headers.insert(
            axum::http::header::COOKIE,
            format!("{SESSION_COOKIE}=rms_short").parse().unwrap(),
        );
        assert!(session_cookie(&headers).is_none());
    }
}
