//! Password hashing (Argon2id, PHC strings) and the password policy.
//!
//! Why: DESIGN.md §4 invariant 5 — passwords are stored only as Argon2id
//! hashes, and users pick passwords a configurable policy accepts. Hashes are
//! PHC strings (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`), so the
//! parameters travel with each hash and [`needs_rehash`] can tell, at the next
//! successful login, that a hash was made with weaker parameters than today's.
//!
//! What it does not do: store anything, rate-limit guesses (see
//! [`crate::lockout`]), or check passwords against breach corpora. No function
//! here ever puts a password into an error message or `Debug` output.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use thiserror::Error;

/// Longest password (in bytes) that is hashed at all: bounds the work an
/// attacker can make the server do with one request. Above any sane
/// [`PasswordPolicy::max_len`].
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Longest PHC string accepted for verification.
const MAX_PHC_LEN: usize = 512;
/// Salt length in bytes (the Argon2 recommendation).
const SALT_LEN: usize = 16;
/// Upper bounds on the parameters of a stored hash: a corrupted or hostile
/// database row must not make verification allocate gigabytes or spin.
const MAX_M_COST_KIB: u32 = 1024 * 1024;
const MAX_T_COST: u32 = 64;
const MAX_P_COST: u32 = 16;

/// Argon2id cost parameters.
///
/// The default is OWASP's recommendation (m = 19 MiB, t = 2, p = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Iterations.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        HashParams {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

impl HashParams {
    fn argon2(&self) -> Result<Argon2<'static>, PasswordError> {
        if self.m_cost_kib > MAX_M_COST_KIB || self.t_cost > MAX_T_COST || self.p_cost > MAX_P_COST
        {
            return Err(PasswordError::ParamsOutOfRange {
                m_cost_kib: self.m_cost_kib,
                t_cost: self.t_cost,
                p_cost: self.p_cost,
            });
        }
        let params =
            Params::new(self.m_cost_kib, self.t_cost, self.p_cost, None).map_err(|_| {
                PasswordError::ParamsOutOfRange {
                    m_cost_kib: self.m_cost_kib,
                    t_cost: self.t_cost,
                    p_cost: self.p_cost,
                }
            })?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Why hashing or verifying failed. Never carries the password.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PasswordError {
    /// The password is longer than [`MAX_PASSWORD_BYTES`].
    #[error(
        "password is {len} bytes long, more than the {max} bytes Rampart hashes; use a shorter password"
    )]
    TooLong {
        /// Length of the rejected password in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The stored hash is not a PHC string Rampart can read.
    #[error("stored password hash is malformed ({reason}); reset the user's password")]
    MalformedHash {
        /// What is wrong with it.
        reason: String,
    },
    /// The stored hash uses another algorithm than Argon2id.
    #[error(
        "stored password hash uses algorithm `{found}`, but only argon2id is accepted; reset the user's password"
    )]
    UnsupportedAlgorithm {
        /// The algorithm identifier found in the PHC string.
        found: String,
    },
    /// Cost parameters outside what Rampart accepts.
    #[error(
        "Argon2 parameters m={m_cost_kib} KiB, t={t_cost}, p={p_cost} are out of range (m ≤ {MAX_M_COST_KIB}, t 1..={MAX_T_COST}, p 1..={MAX_P_COST}); fix the configuration or reset the password"
    )]
    ParamsOutOfRange {
        /// Memory in KiB.
        m_cost_kib: u32,
        /// Iterations.
        t_cost: u32,
        /// Lanes.
        p_cost: u32,
    },
    /// The operating system's random number generator failed.
    #[error("could not draw a random salt from the operating system: {0}")]
    Random(String),
    /// Argon2 itself reported an error.
    #[error("Argon2 hashing failed: {0}")]
    Hashing(String),
}

fn check_len(password: &str) -> Result<(), PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong {
            len: password.len(),
            max: MAX_PASSWORD_BYTES,
        });
    }
    Ok(())
}

/// Hashes `password` with Argon2id and a fresh random salt; returns the PHC
/// string to store.
pub fn hash(password: &str, params: &HashParams) -> Result<String, PasswordError> {
    check_len(password)?;
    let argon2 = params.argon2()?;
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| PasswordError::Random(e.to_string()))?;
    let hashed = argon2
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(hashed.to_string())
}

/// Parses and bounds a stored PHC string.
fn parse_stored(phc: &str) -> Result<(PasswordHash, HashParams), PasswordError> {
    if phc.len() > MAX_PHC_LEN {
        return Err(PasswordError::MalformedHash {
            reason: format!("{} bytes long, more than {MAX_PHC_LEN}", phc.len()),
        });
    }
    let parsed = PasswordHash::new(phc).map_err(|e| PasswordError::MalformedHash {
        reason: e.to_string(),
    })?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(PasswordError::UnsupportedAlgorithm {
            found: parsed.algorithm.as_str().to_owned(),
        });
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err(PasswordError::MalformedHash {
            reason: "salt or hash missing".to_owned(),
        });
    }
    let params = Params::try_from(&parsed).map_err(|e| PasswordError::MalformedHash {
        reason: e.to_string(),
    })?;
    let found = HashParams {
        m_cost_kib: params.m_cost(),
        t_cost: params.t_cost(),
        p_cost: params.p_cost(),
    };
    // Rejects out-of-range parameters before any memory is allocated.
    found.argon2()?;
    Ok((parsed, found))
}

/// Checks `password` against a stored PHC string: `Ok(true)` when it matches,
/// `Ok(false)` when it does not, an error when the stored hash is unusable.
/// The comparison is the argon2 crate's constant-time one. For an unknown
/// user, verify against a hash made once at start-up so that the response
/// time does not reveal which usernames exist.
pub fn verify(password: &str, phc: &str) -> Result<bool, PasswordError> {
    let (parsed, params) = parse_stored(phc)?;
    if password.len() > MAX_PASSWORD_BYTES {
        // No stored hash can be of such a password: `hash` refuses it.
        return Ok(false);
    }
    match params
        .argon2()?
        .verify_password(password.as_bytes(), &parsed)
    {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(PasswordError::Hashing(e.to_string())),
    }
}

/// Characters of a generated one-time password: no look-alikes (0/O, 1/l/I).
const ONE_TIME_ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz23456789-";
/// Characters of a one-time password: 24 × 5 = 120 bits.
const ONE_TIME_LEN: usize = 24;

/// A random one-time password (120 bits) for a new user or a reset, shown
/// once; the user must replace it at first login. Zeroized on drop.
pub fn generate_one_time() -> Result<zeroize::Zeroizing<String>, PasswordError> {
    let mut random = zeroize::Zeroizing::new([0u8; ONE_TIME_LEN]);
    getrandom::fill(&mut random[..]).map_err(|e| PasswordError::Random(e.to_string()))?;
    // 256 is a multiple of 32: each byte gives 5 unbiased bits.
    Ok(zeroize::Zeroizing::new(
        random
            .iter()
            .map(|b| char::from(ONE_TIME_ALPHABET[usize::from(b & 31)]))
            .collect(),
    ))
}

/// Whether a stored hash was made with other parameters (or another Argon2
/// version) than `params`: after a successful [`verify`], rehash and store.
pub fn needs_rehash(phc: &str, params: &HashParams) -> Result<bool, PasswordError> {
    let (parsed, found) = parse_stored(phc)?;
    let version_ok = parsed.version == Some(u32::from(Version::V0x13));
    Ok(found != *params || !version_ok)
}

/// Which characters a password must contain, how long it must be, and
/// whether it may contain the username. Mirrors the options of Harness's
/// password policy; the default follows NIST SP 800-63B (length over
/// composition rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Fewest characters (Unicode scalar values).
    pub min_len: usize,
    /// Most characters; bounds the Argon2 input.
    pub max_len: usize,
    /// At least one uppercase letter.
    pub require_upper: bool,
    /// At least one lowercase letter.
    pub require_lower: bool,
    /// At least one digit.
    pub require_digit: bool,
    /// At least one character that is neither a letter nor a digit.
    pub require_special: bool,
    /// The password must not contain the username (for an email address,
    /// its local part), compared case-insensitively.
    pub forbid_username: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_len: 12,
            max_len: 128,
            require_upper: false,
            require_lower: false,
            require_digit: false,
            require_special: false,
            forbid_username: true,
        }
    }
}

/// One rule a password breaks; the message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyViolation {
    /// Too short.
    #[error("password has {actual} characters; use at least {min}")]
    TooShort {
        /// Required minimum.
        min: usize,
        /// Length of the rejected password.
        actual: usize,
    },
    /// Too long.
    #[error("password has {actual} characters; use at most {max}")]
    TooLong {
        /// Allowed maximum.
        max: usize,
        /// Length of the rejected password.
        actual: usize,
    },
    /// No uppercase letter.
    #[error("password needs at least one uppercase letter")]
    MissingUpper,
    /// No lowercase letter.
    #[error("password needs at least one lowercase letter")]
    MissingLower,
    /// No digit.
    #[error("password needs at least one digit")]
    MissingDigit,
    /// No special character.
    #[error("password needs at least one character that is not a letter or digit")]
    MissingSpecial,
    /// Contains the username.
    #[error("password must not contain the username")]
    ContainsUsername,
}

/// Shortest username part that counts as "contained": one- or two-letter
/// names would forbid half the dictionary.
const MIN_USERNAME_MATCH: usize = 3;

impl PasswordPolicy {
    /// Every rule `password` breaks for `username` (a login name or an email
    /// address), or `Ok(())`.
    pub fn check(&self, password: &str, username: &str) -> Result<(), Vec<PolicyViolation>> {
        let mut violations = Vec::new();
        let len = password.chars().count();
        if len < self.min_len {
            violations.push(PolicyViolation::TooShort {
                min: self.min_len,
                actual: len,
            });
        }
        if len > self.max_len {
            violations.push(PolicyViolation::TooLong {
                max: self.max_len,
                actual: len,
            });
        }
        if self.require_upper && !password.chars().any(char::is_uppercase) {
            violations.push(PolicyViolation::MissingUpper);
        }
        if self.require_lower && !password.chars().any(char::is_lowercase) {
            violations.push(PolicyViolation::MissingLower);
        }
        if self.require_digit && !password.chars().any(|c| c.is_ascii_digit()) {
            violations.push(PolicyViolation::MissingDigit);
        }
        if self.require_special && !password.chars().any(|c| !c.is_alphanumeric()) {
            violations.push(PolicyViolation::MissingSpecial);
        }
        if self.forbid_username {
            let local = username.split('@').next().unwrap_or_default().trim();
            if local.chars().count() >= MIN_USERNAME_MATCH
                && password.to_lowercase().contains(&local.to_lowercase())
            {
                violations.push(PolicyViolation::ContainsUsername);
            }
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_passwords_are_long_random_and_pass_the_default_policy() {
        let a = generate_one_time().unwrap();
        let b = generate_one_time().unwrap();
        assert_eq!(a.len(), ONE_TIME_LEN);
        assert_ne!(*a, *b);
        assert!(a.bytes().all(|c| ONE_TIME_ALPHABET.contains(&c)));
        assert_eq!(
            PasswordPolicy::default().check(&a, "admin@example.com"),
            Ok(())
        );
    }

    /// Cheap parameters so the tests run fast; production uses the default.
    fn fast() -> HashParams {
        HashParams {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        }
    }

    #[test]
    fn default_params_are_owasp_argon2id() {
        let p = HashParams::default();
        assert_eq!((p.m_cost_kib, p.t_cost, p.p_cost), (19456, 2, 1));
        let phc = hash("correct horse battery", &p).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery", &phc).unwrap());
    }

    #[test]
    fn hash_then_verify_accepts_right_and_rejects_wrong() {
        let phc = hash("hunter2hunter2", &fast()).unwrap();
        assert!(!phc.contains("hunter2"));
        assert!(verify("hunter2hunter2", &phc).unwrap());
        assert!(!verify("hunter2hunter3", &phc).unwrap());
        assert!(!verify("", &phc).unwrap());
    }

    #[test]
    fn salts_differ_between_hashes() {
        let a = hash("same password", &fast()).unwrap();
        let b = hash("same password", &fast()).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn needs_rehash_when_params_change() {
        let phc = hash("some password", &fast()).unwrap();
        assert!(!needs_rehash(&phc, &fast()).unwrap());
        let stronger = HashParams {
            t_cost: 3,
            ..fast()
        };
        assert!(needs_rehash(&phc, &stronger).unwrap());
    }

    #[test]
    fn overlong_password_is_refused_without_echoing_it() {
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        let err = hash(&long, &fast()).unwrap_err();
        assert!(matches!(err, PasswordError::TooLong { .. }));
        assert!(!err.to_string().contains("xxxx"));
        let phc = hash("short one", &fast()).unwrap();
        assert!(!verify(&long, &phc).unwrap());
    }

    #[test]
    fn malformed_phc_strings_are_errors() {
        let other_alg = "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$\
                         YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo";
        let cases = [
            "",
            "plain",
            "$argon2id$",
            "$argon2id$v=19$m=64,t=1,p=1",
            "$argon2id$v=19$m=abc,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
            "$argon2id$v=19$m=64,t=1,p=1$!!!$aGFzaA",
            "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=64,t=4000000,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
            other_alg,
        ];
        for phc in cases {
            assert!(verify("pw", phc).is_err(), "{phc:?} verified");
            assert!(needs_rehash(phc, &fast()).is_err(), "{phc:?} parsed");
        }
        let long = format!("$argon2id${}", "a".repeat(MAX_PHC_LEN));
        assert!(matches!(
            verify("pw", &long),
            Err(PasswordError::MalformedHash { .. })
        ));
        assert!(matches!(
            verify("pw", other_alg),
            Err(PasswordError::UnsupportedAlgorithm { .. })
        ));
    }

    #[test]
    fn out_of_range_params_refused_when_hashing() {
        let huge = HashParams {
            m_cost_kib: u32::MAX,
            ..fast()
        };
        assert!(matches!(
            hash("pw", &huge),
            Err(PasswordError::ParamsOutOfRange { .. })
        ));
        let zero = HashParams {
            t_cost: 0,
            ..fast()
        };
        assert!(hash("pw", &zero).is_err());
    }

    #[test]
    fn policy_default_wants_twelve_characters() {
        let p = PasswordPolicy::default();
        assert_eq!(p.check("abcdefghijkl", "bob"), Ok(()));
        assert_eq!(
            p.check("short", "bob"),
            Err(vec![PolicyViolation::TooShort { min: 12, actual: 5 }])
        );
        // Characters, not bytes.
        assert_eq!(p.check("ééééééééééé", "bob").unwrap_err().len(), 1);
        let long = "a".repeat(129);
        assert_eq!(
            p.check(&long, "bob"),
            Err(vec![PolicyViolation::TooLong {
                max: 128,
                actual: 129
            }])
        );
    }

    #[test]
    fn policy_character_classes_are_configurable() {
        let p = PasswordPolicy {
            min_len: 4,
            require_upper: true,
            require_lower: true,
            require_digit: true,
            require_special: true,
            ..PasswordPolicy::default()
        };
        assert_eq!(p.check("Abc1!", "zed"), Ok(()));
        assert_eq!(
            p.check("    ", "zed"),
            Err(vec![
                PolicyViolation::MissingUpper,
                PolicyViolation::MissingLower,
                PolicyViolation::MissingDigit,
            ])
        );
        assert_eq!(
            p.check("abcd", "zed"),
            Err(vec![
                PolicyViolation::MissingUpper,
                PolicyViolation::MissingDigit,
                PolicyViolation::MissingSpecial,
            ])
        );
    }

    #[test]
    fn policy_forbids_username_and_email_local_part() {
        let p = PasswordPolicy::default();
        assert_eq!(
            p.check("my-ALICE-password", "alice"),
            Err(vec![PolicyViolation::ContainsUsername])
        );
        assert_eq!(
            p.check("xxJsmith-2024xx", "jsmith@example.com"),
            Err(vec![PolicyViolation::ContainsUsername])
        );
        // Very short usernames do not forbid everything.
        assert_eq!(p.check("a perfectly fine one", "al"), Ok(()));
        let lax = PasswordPolicy {
            forbid_username: false,
            ..p
        };
        assert_eq!(lax.check("my-alice-password", "alice"), Ok(()));
    }

    #[test]
    fn violation_messages_say_what_to_fix_and_never_the_password() {
        let p = PasswordPolicy {
            require_digit: true,
            ..PasswordPolicy::default()
        };
        let violations = p.check("sekritpw", "u").unwrap_err();
        let text: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            text,
            [
                "password has 8 characters; use at least 12",
                "password needs at least one digit"
            ]
        );
        assert!(!format!("{violations:?}").contains("sekrit"));
    }
}
