//! Browser sessions: the cookie's secret, what the store keeps of it, the
//! CSRF token bound to it, and the login stages a session moves through.
//!
//! Why: DESIGN.md §4 invariants 3–5. A session cookie is a bearer
//! credential like an API token, so it gets the same treatment: 256 random
//! bits, a distinctive prefix (`rms_`) that scanners and the masker can find,
//! only a keyed hash (HMAC-SHA-256 under the server [`Pepper`]) in the
//! database, constant-time comparison. The CSRF token is derived from the
//! secret with the same key, so nothing more is stored and a token from one
//! session is useless in another.
//!
//! What it does not do: cookies' attributes, timeouts or persistence (the
//! server does), or decide what a stage may reach (the server's router does).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::token::{Pepper, TokenError, fill_random};

/// Prefix of every session cookie value.
pub const SESSION_PREFIX: &str = "rms_";
/// Bytes of a session secret.
const SECRET_LEN: usize = 32;
/// Characters of a cookie value: the prefix and 43 base64url characters.
const VALUE_LEN: usize = SESSION_PREFIX.len() + 43;
const ID_CONTEXT: &[u8] = b"rampart session id v1\0";
const CSRF_CONTEXT: &[u8] = b"rampart session csrf v1\0";

/// A session's secret, as carried by its cookie. Zeroized on drop; `Debug`
/// is redacted.
pub struct SessionSecret(Zeroizing<[u8; SECRET_LEN]>);

impl fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSecret(<redacted>)")
    }
}

impl SessionSecret {
    /// A fresh secret from the OS CSPRNG.
    pub fn generate() -> Result<SessionSecret, TokenError> {
        let mut bytes = Zeroizing::new([0u8; SECRET_LEN]);
        fill_random(&mut bytes[..])?;
        Ok(SessionSecret(bytes))
    }

    /// Reads a cookie value; `None` for anything that is not one (no lookup
    /// is worth making for it).
    pub fn from_cookie_value(value: &str) -> Option<SessionSecret> {
        let body = value.strip_prefix(SESSION_PREFIX)?;
        if value.len() != VALUE_LEN {
            return None;
        }
        let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(body).ok()?);
        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        secret.copy_from_slice(bytes.get(..SECRET_LEN)?);
        Some(SessionSecret(secret))
    }

    /// The cookie value (`rms_` and base64url of the secret).
    pub fn cookie_value(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(VALUE_LEN));
        text.push_str(SESSION_PREFIX);
        URL_SAFE_NO_PAD.encode_string(&self.0[..], &mut text);
        text
    }

    /// What the store keys the session by: a keyed hash, base64url.
    pub fn id_hash(&self, pepper: &Pepper) -> String {
        pepper.keyed_hash(ID_CONTEXT, &[&self.0[..]]).to_encoded()
    }

    /// The CSRF token a cookie-authenticated write must echo in a header.
    pub fn csrf_token(&self, pepper: &Pepper) -> String {
        pepper.keyed_hash(CSRF_CONTEXT, &[&self.0[..]]).to_encoded()
    }

    /// Whether `presented` is this session's CSRF token, in constant time.
    pub fn csrf_matches(&self, pepper: &Pepper, presented: &str) -> bool {
        let expected = self.csrf_token(pepper);
        expected.len() == presented.len()
            && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// How far a session has come through login. Only [`Stage::Active`] reaches
/// the API; the others reach only what completes them (and `/api/me`,
/// logout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The password was right; the second factor is still to come.
    SecondFactor,
    /// Logged in with a one-time password: choose a password first.
    PasswordChange,
    /// The account enforces 2FA and the user has none: enrol first.
    Enrolment,
    Active,
}

impl Stage {
    pub const ALL: &'static [Stage] = &[
        Stage::SecondFactor,
        Stage::PasswordChange,
        Stage::Enrolment,
        Stage::Active,
    ];

    /// The stored and shown form.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::SecondFactor => "second_factor",
            Stage::PasswordChange => "password_change",
            Stage::Enrolment => "two_factor_enrolment",
            Stage::Active => "active",
        }
    }

    pub fn parse(stored: &str) -> Option<Stage> {
        Stage::ALL.iter().copied().find(|s| s.as_str() == stored)
    }

    /// The stage a login lands in once the factors it has are proven:
    /// password change first, then enrolment, then the API.
    pub fn after_factors(must_change_password: bool, enrolment_required: bool) -> Stage {
        if must_change_password {
            Stage::PasswordChange
        } else if enrolment_required {
            Stage::Enrolment
        } else {
            Stage::Active
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pepper() -> Pepper {
        Pepper::new(&[7u8; 32]).unwrap()
    }

    #[test]
    fn cookie_values_round_trip_and_hash_stably() {
        let secret = SessionSecret::generate().unwrap();
        let value = secret.cookie_value();
        assert!(value.starts_with(SESSION_PREFIX));
        assert_eq!(value.len(), VALUE_LEN);
        let back = SessionSecret::from_cookie_value(&value).unwrap();
        assert_eq!(back.id_hash(&pepper()), secret.id_hash(&pepper()));
        assert_ne!(
            secret.id_hash(&pepper()),
            secret.id_hash(&Pepper::new(&[8u8; 32]).unwrap()),
            "the hash is keyed"
        );
        assert_ne!(
            secret.id_hash(&pepper()),
            SessionSecret::generate().unwrap().id_hash(&pepper())
        );
        assert!(!format!("{secret:?}").contains(&value[4..]));
    }

    #[test]
    fn malformed_cookie_values_are_refused() {
        let good = SessionSecret::generate().unwrap().cookie_value();
        for bad in [
            "",
            "rms_",
            &good[..good.len() - 1],
            &format!("{}A", *good),
            &good.replace("rms_", "rmp_"),
            &format!("rms_{}", "!".repeat(43)),
        ] {
            assert!(SessionSecret::from_cookie_value(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let a = SessionSecret::generate().unwrap();
        let b = SessionSecret::generate().unwrap();
        let token = a.csrf_token(&pepper());
        assert!(a.csrf_matches(&pepper(), &token));
        assert!(!b.csrf_matches(&pepper(), &token));
        assert!(!a.csrf_matches(&pepper(), ""));
        assert!(!a.csrf_matches(&pepper(), &token[1..]));
        assert_ne!(
            token,
            a.id_hash(&pepper()),
            "the CSRF token is not the lookup key"
        );
    }

    #[test]
    fn stages_round_trip_and_order_the_remaining_steps() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Some(*stage));
        }
        assert_eq!(Stage::parse("nope"), None);
        assert_eq!(Stage::after_factors(true, true), Stage::PasswordChange);
        assert_eq!(Stage::after_factors(false, true), Stage::Enrolment);
        assert_eq!(Stage::after_factors(false, false), Stage::Active);
    }
}
