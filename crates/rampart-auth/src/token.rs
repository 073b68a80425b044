//! API tokens: format, parsing, keyed storage hash, constant-time check.
//!
//! Why: DESIGN.md §4 invariant 4. A token is `rmp_` followed by 64 base64url
//! characters (no padding) encoding 48 bytes:
//!
//! | bytes | what |
//! |---|---|
//! | 12 | token id (96 bits, public): the store looks the token up by it in O(1) |
//! | 32 | secret (256 bits from the operating system's CSPRNG) |
//! | 4  | checksum: the first 4 bytes of SHA-256(`rmp_` ‖ id ‖ secret) |
//!
//! The distinctive prefix lets secret scanners (and `rampart-mask`, which
//! masks `rmp_` followed by at least 43 base64url characters) find leaked
//! tokens; the checksum rejects a mistyped token before any lookup. The store
//! keeps only [`StoredHash`] = HMAC-SHA-256(server pepper, id ‖ secret), so a
//! database dump alone does not let anyone use or brute-force tokens; checks
//! compare in constant time.
//!
//! What it does not do: look tokens up, decide permissions, or track last
//! use — the server and the store do, using [`TokenValidity`] for expiry,
//! revocation and rotation.

use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;
use zeroize::Zeroizing;

/// Prefix of every Rampart API token.
pub const TOKEN_PREFIX: &str = "rmp_";
/// Bytes of the public token id.
pub const ID_LEN: usize = 12;
/// Bytes of the secret part.
pub const SECRET_LEN: usize = 32;
const CHECKSUM_LEN: usize = 4;
const RAW_LEN: usize = ID_LEN + SECRET_LEN + CHECKSUM_LEN;
/// Base64url characters after the prefix (48 bytes, no padding).
pub const BODY_LEN: usize = RAW_LEN / 3 * 4;
/// Total length of a token.
pub const TOKEN_LEN: usize = TOKEN_PREFIX.len() + BODY_LEN;
/// Shortest pepper (server key) accepted, in bytes.
pub const MIN_PEPPER_LEN: usize = 32;
/// Domain separation for the storage hash.
const HASH_CONTEXT: &[u8] = b"rampart api token v1\0";

/// Why a token, header or pepper was refused. Never carries a token value.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    /// Does not start with `rmp_`.
    #[error("token does not start with `{TOKEN_PREFIX}`; use a Rampart API token")]
    MissingPrefix,
    /// Wrong length.
    #[error("token is {len} characters long, expected {TOKEN_LEN}; copy the whole token")]
    WrongLength {
        /// Length of the rejected token.
        len: usize,
    },
    /// Characters outside base64url.
    #[error(
        "token contains characters other than A-Z, a-z, 0-9, `-` and `_`; copy the token exactly"
    )]
    BadCharacters,
    /// The checksum does not match: a typo or a truncated copy.
    #[error("token checksum does not match; the token was mistyped or altered")]
    BadChecksum,
    /// `x-api-key` and `Authorization: Bearer` carry different tokens.
    #[error(
        "the x-api-key and Authorization headers carry different tokens; send the token in one of them"
    )]
    ConflictingHeaders,
    /// `Authorization` uses another scheme than Bearer.
    #[error("the Authorization header must use the Bearer scheme for API tokens")]
    NotBearer,
    /// The pepper is too short.
    #[error("token pepper is {len} bytes; configure at least {MIN_PEPPER_LEN} random bytes")]
    WeakPepper {
        /// Length of the rejected pepper.
        len: usize,
    },
    /// The operating system's random number generator failed.
    #[error("could not draw random bytes from the operating system: {0}")]
    Random(String),
    /// The requested expiry is in the past.
    #[error("token expiry is not in the future; choose a later expiry")]
    ExpiryInPast,
    /// The requested expiry is later than the account allows, or missing
    /// where the account requires one.
    #[error(
        "this account allows tokens to live at most {max_secs} seconds; choose an expiry within that"
    )]
    ExpiryTooFar {
        /// The account's maximum lifetime in seconds.
        max_secs: u64,
    },
    /// A stored hash or token id is not in its encoded form.
    #[error("stored {what} is not valid base64url of {len} bytes; the row is corrupt")]
    BadEncoding {
        /// Which value.
        what: &'static str,
        /// Expected byte length.
        len: usize,
    },
}

/// The server-side key of the storage hashes (tokens and TOTP recovery
/// codes). Keep it outside the database; `Debug` shows nothing of it.
#[derive(Clone)]
pub struct Pepper(Zeroizing<Vec<u8>>);

impl Pepper {
    /// Wraps configured key bytes; at least [`MIN_PEPPER_LEN`] of them.
    pub fn new(bytes: &[u8]) -> Result<Pepper, TokenError> {
        if bytes.len() < MIN_PEPPER_LEN {
            return Err(TokenError::WeakPepper { len: bytes.len() });
        }
        Ok(Pepper(Zeroizing::new(bytes.to_vec())))
    }

    /// A fresh random 32-byte pepper.
    pub fn generate() -> Result<Pepper, TokenError> {
        let mut bytes = Zeroizing::new(vec![0u8; MIN_PEPPER_LEN]);
        fill_random(&mut bytes)?;
        Ok(Pepper(bytes))
    }

    /// The key bytes, to persist in the server's key file.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// HMAC-SHA-256 of `context` ‖ `parts` under this pepper.
    pub(crate) fn keyed_hash(&self, context: &[u8], parts: &[&[u8]]) -> StoredHash {
        // HMAC accepts keys of any length, so this cannot fail; the fallback
        // keeps the function total without a panic path.
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => return StoredHash([0u8; 32]),
        };
        mac.update(context);
        for part in parts {
            mac.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(&mac.finalize().into_bytes());
        StoredHash(out)
    }
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper(<redacted>)")
    }
}

pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), TokenError> {
    getrandom::fill(buf).map_err(|e| TokenError::Random(e.to_string()))
}

/// A keyed hash (HMAC-SHA-256 under the [`Pepper`]) as stored in the
/// database. Compare with [`StoredHash::ct_eq`] only.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredHash([u8; 32]);

impl StoredHash {
    /// Constant-time equality.
    pub fn ct_eq(&self, other: &StoredHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// The base64url (no padding) form to store.
    pub fn to_encoded(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Reads the form [`StoredHash::to_encoded`] wrote.
    pub fn from_encoded(s: &str) -> Result<StoredHash, TokenError> {
        decode_fixed::<32>(s, "token hash").map(StoredHash)
    }
}

impl fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoredHash(<redacted>)")
    }
}

fn decode_fixed<const N: usize>(s: &str, what: &'static str) -> Result<[u8; N], TokenError> {
    let bad = TokenError::BadEncoding { what, len: N };
    if s.len() > N.div_ceil(3) * 4 {
        return Err(bad);
    }
    let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| TokenError::BadEncoding { what, len: N })
}

/// The public part of a token: the store's lookup key. Shown in listings.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId([u8; ID_LEN]);

impl TokenId {
    /// The base64url form (16 characters) used as the database key.
    pub fn to_encoded(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Reads the form [`TokenId::to_encoded`] wrote.
    pub fn from_encoded(s: &str) -> Result<TokenId, TokenError> {
        decode_fixed::<ID_LEN>(s, "token id").map(TokenId)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_encoded())
    }
}

impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenId({})", self.to_encoded())
    }
}

/// A token's full value, shown to its owner once at creation. Zeroized on
/// drop; `Debug` is redacted.
pub struct PlainToken(Zeroizing<String>);

impl PlainToken {
    /// The token text, for the one-time creation response.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainToken(<redacted>)")
    }
}

/// What [`generate`] returns: the value to show once, and what to store.
#[derive(Debug)]
pub struct GeneratedToken {
    /// Show once, never store.
    pub plain: PlainToken,
    /// Store: the lookup key.
    pub id: TokenId,
    /// Store: the keyed hash to check presented tokens against.
    pub hash: StoredHash,
}

/// A well-formed token with a valid checksum (not yet known to the store).
pub struct ParsedToken {
    id: TokenId,
    secret: Zeroizing<[u8; SECRET_LEN]>,
}

impl ParsedToken {
    /// The id to look the stored hash up by.
    pub fn id(&self) -> TokenId {
        self.id
    }

    /// The keyed hash of this token, as [`generate`] stored it.
    pub fn hash(&self, pepper: &Pepper) -> StoredHash {
        pepper.keyed_hash(HASH_CONTEXT, &[&self.id.0, &self.secret[..]])
    }
}

impl fmt::Debug for ParsedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedToken")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

fn checksum(id: &[u8], secret: &[u8]) -> [u8; CHECKSUM_LEN] {
    let digest = Sha256::new()
        .chain_update(TOKEN_PREFIX.as_bytes())
        .chain_update(id)
        .chain_update(secret)
        .finalize();
    let mut out = [0u8; CHECKSUM_LEN];
    out.copy_from_slice(&digest[..CHECKSUM_LEN]);
    out
}

/// Mints a new token: 96-bit id and 256-bit secret from the OS CSPRNG.
pub fn generate(pepper: &Pepper) -> Result<GeneratedToken, TokenError> {
    let mut raw = Zeroizing::new([0u8; RAW_LEN]);
    fill_random(&mut raw[..ID_LEN + SECRET_LEN])?;
    let sum = checksum(&raw[..ID_LEN], &raw[ID_LEN..ID_LEN + SECRET_LEN]);
    raw[ID_LEN + SECRET_LEN..].copy_from_slice(&sum);
    let mut id = [0u8; ID_LEN];
    id.copy_from_slice(&raw[..ID_LEN]);
    let id = TokenId(id);
    let hash = pepper.keyed_hash(HASH_CONTEXT, &[&id.0, &raw[ID_LEN..ID_LEN + SECRET_LEN]]);
    let mut text = String::with_capacity(TOKEN_LEN);
    text.push_str(TOKEN_PREFIX);
    URL_SAFE_NO_PAD.encode_string(&raw[..], &mut text);
    Ok(GeneratedToken {
        plain: PlainToken(Zeroizing::new(text)),
        id,
        hash,
    })
}

/// Checks format and checksum only (no lookup, no pepper).
pub fn parse(token: &str) -> Result<ParsedToken, TokenError> {
    let body = token
        .strip_prefix(TOKEN_PREFIX)
        .ok_or(TokenError::MissingPrefix)?;
    if token.len() != TOKEN_LEN {
        return Err(TokenError::WrongLength {
            len: token.chars().count(),
        });
    }
    if !body
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(TokenError::BadCharacters);
    }
    let raw = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenError::BadCharacters)?,
    );
    if raw.len() != RAW_LEN {
        return Err(TokenError::WrongLength { len: token.len() });
    }
    let expected = checksum(&raw[..ID_LEN], &raw[ID_LEN..ID_LEN + SECRET_LEN]);
    if !bool::from(expected.ct_eq(&raw[ID_LEN + SECRET_LEN..])) {
        return Err(TokenError::BadChecksum);
    }
    let mut id = [0u8; ID_LEN];
    id.copy_from_slice(&raw[..ID_LEN]);
    let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
    secret.copy_from_slice(&raw[ID_LEN..ID_LEN + SECRET_LEN]);
    Ok(ParsedToken {
        id: TokenId(id),
        secret,
    })
}

/// Whether `parsed` is the token `stored` was made from, in constant time.
pub fn verify(parsed: &ParsedToken, stored: &StoredHash, pepper: &Pepper) -> bool {
    parsed.hash(pepper).ct_eq(stored)
}

/// The token a request presents in `x-api-key` (Harness's header) or
/// `Authorization: Bearer`, parsed; `Ok(None)` when neither header is there.
/// Both present is accepted only when they carry the same token.
pub fn from_headers(
    x_api_key: Option<&str>,
    authorization: Option<&str>,
) -> Result<Option<ParsedToken>, TokenError> {
    let bearer = match authorization.map(str::trim) {
        None => None,
        Some(value) => {
            let (scheme, rest) = value.split_once(' ').ok_or(TokenError::NotBearer)?;
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(TokenError::NotBearer);
            }
            Some(rest.trim())
        }
    };
    let api_key = x_api_key.map(str::trim);
    let token = match (api_key, bearer) {
        (None, None) => return Ok(None),
        (Some(a), Some(b)) => {
            if !bool::from(a.as_bytes().ct_eq(b.as_bytes())) {
                return Err(TokenError::ConflictingHeaders);
            }
            a
        }
        (Some(t), None) | (None, Some(t)) => t,
    };
    parse(token).map(Some)
}

/// Checks an expiry requested at creation or rotation time against the
/// account's maximum token lifetime (`None`: no limit) and returns the expiry
/// to store.
pub fn check_expiry(
    now: SystemTime,
    requested: Option<SystemTime>,
    max_lifetime: Option<Duration>,
) -> Result<Option<SystemTime>, TokenError> {
    if requested.is_some_and(|at| at <= now) {
        return Err(TokenError::ExpiryInPast);
    }
    let Some(max) = max_lifetime else {
        return Ok(requested);
    };
    let too_far = TokenError::ExpiryTooFar {
        max_secs: max.as_secs(),
    };
    let latest = now.checked_add(max);
    match (requested, latest) {
        (Some(at), Some(latest)) if at <= latest => Ok(Some(at)),
        (Some(at), None) => Ok(Some(at)),
        _ => Err(too_far),
    }
}

/// Why a known token is not usable now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TokenRejected {
    /// Revoked by its owner or an admin.
    #[error("token has been revoked; create a new token")]
    Revoked,
    /// Past its expiry.
    #[error("token has expired; create or rotate a token")]
    Expired,
    /// Replaced by rotation and past the grace period of the old value.
    #[error("token was rotated and its old value is no longer accepted; use the new value")]
    RotatedOut,
}

/// Lifecycle metadata of a stored token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenValidity {
    /// The token is refused from this instant on (`None`: no expiry).
    pub expires_at: Option<SystemTime>,
    /// Set when the token was rotated: the old value is refused from this
    /// instant on (the caller's choice, default the rotation time).
    pub rotated_grace_end: Option<SystemTime>,
    /// Revoked tokens are refused at once.
    pub revoked: bool,
}

impl TokenValidity {
    /// Why the token is refused at `now`, if it is.
    pub fn check_at(&self, now: SystemTime) -> Result<(), TokenRejected> {
        if self.revoked {
            return Err(TokenRejected::Revoked);
        }
        if self.rotated_grace_end.is_some_and(|end| now >= end) {
            return Err(TokenRejected::RotatedOut);
        }
        if self.expires_at.is_some_and(|end| now >= end) {
            return Err(TokenRejected::Expired);
        }
        Ok(())
    }

    /// Whether the token is usable at `now`.
    pub fn is_valid_at(&self, now: SystemTime) -> bool {
        self.check_at(now).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rampart_mask::{MaskConfig, SecretSet};

    fn pepper() -> Pepper {
        Pepper::new(&[7u8; 32]).unwrap()
    }

    #[test]
    fn generated_token_has_the_documented_shape() {
        let t = generate(&pepper()).unwrap();
        let s = t.plain.expose();
        assert!(s.starts_with("rmp_"));
        assert_eq!(s.len(), TOKEN_LEN);
        assert_eq!(TOKEN_LEN, 68);
        assert!(
            s[4..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        const { assert!(BODY_LEN >= rampart_mask::RAMPART_TOKEN_MIN_BODY) };
        let parsed = parse(s).unwrap();
        assert_eq!(parsed.id(), t.id);
        assert!(verify(&parsed, &t.hash, &pepper()));
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let t = generate(&pepper()).unwrap();
        let secret_part = &t.plain.expose()[20..];
        let debug = format!(
            "{t:?} {:?} {:?}",
            parse(t.plain.expose()).unwrap(),
            pepper()
        );
        assert!(!debug.contains(secret_part), "{debug}");
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn verify_rejects_other_pepper_and_other_token() {
        let a = generate(&pepper()).unwrap();
        let b = generate(&pepper()).unwrap();
        let pa = parse(a.plain.expose()).unwrap();
        assert!(!verify(&pa, &b.hash, &pepper()));
        let other = Pepper::new(&[8u8; 32]).unwrap();
        assert!(!verify(&pa, &a.hash, &other));
    }

    #[test]
    fn stored_forms_round_trip_and_reject_garbage() {
        let t = generate(&pepper()).unwrap();
        let h = StoredHash::from_encoded(&t.hash.to_encoded()).unwrap();
        assert!(h.ct_eq(&t.hash));
        assert_eq!(TokenId::from_encoded(&t.id.to_string()).unwrap(), t.id);
        for bad in ["", "!!!!", "AAAA", &"A".repeat(10_000)] {
            assert!(StoredHash::from_encoded(bad).is_err());
            assert!(TokenId::from_encoded(bad).is_err());
        }
    }

    #[test]
    fn weak_pepper_refused() {
        assert_eq!(
            Pepper::new(&[1u8; 16]).unwrap_err(),
            TokenError::WeakPepper { len: 16 }
        );
        assert_eq!(Pepper::generate().unwrap().expose().len(), 32);
    }

    #[test]
    fn malformed_tokens_are_errors() {
        let good = generate(&pepper()).unwrap();
        let good = good.plain.expose();
        let cases: Vec<(String, TokenError)> = vec![
            (String::new(), TokenError::MissingPrefix),
            ("ghp_abc".into(), TokenError::MissingPrefix),
            (format!("RMP_{}", &good[4..]), TokenError::MissingPrefix),
            ("rmp_".into(), TokenError::WrongLength { len: 4 }),
            (
                good[..TOKEN_LEN - 1].to_owned(),
                TokenError::WrongLength { len: 67 },
            ),
            (format!("{good}A"), TokenError::WrongLength { len: 69 }),
            (format!("rmp_{}", "é".repeat(32)), TokenError::BadCharacters),
            (
                format!("rmp_{}", "é".repeat(40)),
                TokenError::WrongLength { len: 44 },
            ),
            (
                format!("rmp_{}+", &good[4..TOKEN_LEN - 1]),
                TokenError::BadCharacters,
            ),
            (
                format!("rmp_{}=", &good[4..TOKEN_LEN - 1]),
                TokenError::BadCharacters,
            ),
            (
                format!("rmp_{}", "A".repeat(BODY_LEN)),
                TokenError::BadChecksum,
            ),
            (
                format!("rmp_{}", "x".repeat(100_000)),
                TokenError::WrongLength { len: 100_004 },
            ),
        ];
        for (token, want) in cases {
            assert_eq!(parse(&token).unwrap_err(), want, "{token:?}");
        }
    }

    #[test]
    fn headers_accept_either_and_refuse_conflicts() {
        let a = generate(&pepper()).unwrap();
        let b = generate(&pepper()).unwrap();
        let a = a.plain.expose();
        let bearer = format!("Bearer {a}");
        assert!(from_headers(None, None).unwrap().is_none());
        assert_eq!(
            from_headers(Some(a), None).unwrap().unwrap().id(),
            parse(a).unwrap().id()
        );
        assert!(from_headers(None, Some(&bearer)).unwrap().is_some());
        assert!(
            from_headers(None, Some(&format!("bearer   {a} ")))
                .unwrap()
                .is_some()
        );
        assert!(from_headers(Some(a), Some(&bearer)).unwrap().is_some());
        assert_eq!(
            from_headers(Some(b.plain.expose()), Some(&bearer)).unwrap_err(),
            TokenError::ConflictingHeaders
        );
        assert_eq!(
            from_headers(None, Some("Basic dXNlcjpwYXNz")).unwrap_err(),
            TokenError::NotBearer
        );
        assert_eq!(
            from_headers(None, Some("Bearer")).unwrap_err(),
            TokenError::NotBearer
        );
        assert_eq!(
            from_headers(Some("nope"), None).unwrap_err(),
            TokenError::MissingPrefix
        );
    }

    #[test]
    fn validity_expiry_rotation_revocation() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let later = t0 + Duration::from_secs(60);
        assert!(TokenValidity::default().is_valid_at(later));
        let expiring = TokenValidity {
            expires_at: Some(later),
            ..TokenValidity::default()
        };
        assert!(expiring.is_valid_at(t0));
        assert_eq!(expiring.check_at(later), Err(TokenRejected::Expired));
        let rotated = TokenValidity {
            rotated_grace_end: Some(later),
            ..TokenValidity::default()
        };
        assert!(rotated.is_valid_at(t0));
        assert_eq!(rotated.check_at(later), Err(TokenRejected::RotatedOut));
        let revoked = TokenValidity {
            revoked: true,
            ..TokenValidity::default()
        };
        assert_eq!(revoked.check_at(t0), Err(TokenRejected::Revoked));
    }

    #[test]
    fn expiry_is_checked_against_the_account_maximum() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let day = Duration::from_secs(86_400);
        assert_eq!(check_expiry(now, None, None), Ok(None));
        assert_eq!(
            check_expiry(now, Some(now + day), None),
            Ok(Some(now + day))
        );
        assert_eq!(
            check_expiry(now, Some(now), None),
            Err(TokenError::ExpiryInPast)
        );
        assert_eq!(
            check_expiry(now, Some(now + day), Some(day)),
            Ok(Some(now + day))
        );
        let too_far = Err(TokenError::ExpiryTooFar { max_secs: 86_400 });
        assert_eq!(check_expiry(now, Some(now + day * 2), Some(day)), too_far);
        assert_eq!(check_expiry(now, None, Some(day)), too_far);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn generated_tokens_parse_resist_typos_and_are_masked(
            pos in 0usize..TOKEN_LEN,
            replacement in proptest::char::any(),
        ) {
            let t = generate(&pepper()).unwrap();
            let s = t.plain.expose();
            let parsed = parse(s).unwrap();
            prop_assert_eq!(parsed.id(), t.id);
            prop_assert!(verify(&parsed, &t.hash, &pepper()));

            // Every single-character substitution is refused.
            let mut chars: Vec<char> = s.chars().collect();
            prop_assume!(chars[pos] != replacement);
            chars[pos] = replacement;
            let typo: String = chars.into_iter().collect();
            prop_assert!(parse(&typo).is_err());

            // The masker hides the whole token, alone and inside a line.
            let set = SecretSet::new(MaskConfig::default());
            prop_assert_eq!(set.mask_str(s), rampart_mask::DEFAULT_MASK);
            let line = format!("curl -H 'x-api-key: {s}' https://ci");
            let masked = set.mask_str(&line);
            prop_assert!(!masked.contains(&s[4..]));
            prop_assert!(!masked.contains(&s[TOKEN_LEN - 8..]));
        }
    }

    #[test]
    fn every_substitution_of_one_token_is_refused() {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let t = generate(&pepper()).unwrap();
        let s = t.plain.expose().as_bytes().to_vec();
        for pos in 0..s.len() {
            for &c in ALPHABET {
                if s[pos] == c {
                    continue;
                }
                let mut typo = s.clone();
                typo[pos] = c;
                let typo = String::from_utf8(typo).unwrap();
                assert!(parse(&typo).is_err(), "substitution at {pos} accepted");
            }
        }
    }
}
