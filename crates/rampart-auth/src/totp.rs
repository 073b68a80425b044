//! TOTP second factor (RFC 6238) and one-time recovery codes.
//!
//! Why: DESIGN.md §4 invariant 5 — 2FA can be enforced per account. The
//! parameters are the ones every authenticator app supports: HMAC-SHA-1,
//! 6 digits, 30-second steps, a 160-bit secret shown as base32 in an
//! `otpauth://` URI. Code computation is the `totp-rs` crate's; this module
//! adds enrolment, a ±1 step drift window and replay refusal (a step that was
//! accepted once is never accepted again, RFC 6238 §5.2).
//!
//! Recovery codes carry 80 bits each and are stored as HMAC-SHA-256 under
//! the server [`Pepper`] rather than Argon2id: slow hashing protects
//! low-entropy secrets, and 2^80 guesses are out of reach even with the
//! pepper, while checking a code against ten Argon2id hashes would cost
//! about half a second of server time per attempt — an easy denial of
//! service. The pepper also means a database dump alone reveals nothing.
//!
//! What it does not do: store the TOTP secret (the server encrypts it with
//! the secrets store), remember the last used step, or rate-limit attempts
//! (see [`crate::lockout`]). All time is passed in.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use subtle::ConstantTimeEq;
use thiserror::Error;
use totp_rs::{Algorithm, Builder};
use zeroize::Zeroizing;

use crate::token::{Pepper, StoredHash, fill_random};

/// Issuer shown by authenticator apps.
pub const ISSUER: &str = "Rampart";
/// Digits per code.
pub const DIGITS: usize = 6;
/// Seconds per step.
pub const PERIOD_SECS: u64 = 30;
/// Bytes of a generated secret (160 bits, RFC 4226's recommendation).
pub const SECRET_LEN: usize = 20;
/// Fewest secret bytes accepted (128 bits, RFC 4226's minimum).
const MIN_SECRET_LEN: usize = 16;
/// Most secret bytes accepted.
const MAX_SECRET_LEN: usize = 64;
/// Steps of clock drift accepted on either side.
const DRIFT_STEPS: u64 = 1;
/// Default number of recovery codes.
pub const DEFAULT_RECOVERY_CODES: usize = 10;
/// Most recovery codes generated at once.
const MAX_RECOVERY_CODES: usize = 100;
/// Characters of a recovery code without separators (16 × 5 = 80 bits).
const RECOVERY_CHARS: usize = 16;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const RECOVERY_CONTEXT: &[u8] = b"rampart recovery code v1\0";

/// Why enrolment or a check failed. Never carries a secret or a code.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TotpError {
    /// The base32 text is not valid base32.
    #[error(
        "TOTP secret is not valid base32 (letters A-Z and digits 2-7); re-enrol the authenticator"
    )]
    InvalidBase32,
    /// The secret has too few or too many bytes.
    #[error(
        "TOTP secret is {len} bytes; it must be {MIN_SECRET_LEN} to {MAX_SECRET_LEN}; re-enrol the authenticator"
    )]
    BadSecretLength {
        /// Length of the rejected secret in bytes.
        len: usize,
    },
    /// Not six digits.
    #[error("the code must be {DIGITS} digits; type the code your authenticator app shows")]
    MalformedCode,
    /// Six digits, but not the current code.
    #[error("the code is wrong or expired; check the device clock and try the next code")]
    WrongCode,
    /// The code's step was already used.
    #[error("this code was already used; wait for the next code")]
    Replayed,
    /// The clock given is before 1970.
    #[error("the clock reads a time before 1970; fix the server clock")]
    ClockBeforeEpoch,
    /// Asked for an unreasonable number of recovery codes.
    #[error("asked for {count} recovery codes; ask for 1 to {MAX_RECOVERY_CODES}")]
    BadRecoveryCount {
        /// The rejected count.
        count: usize,
    },
    /// The operating system's random number generator failed.
    #[error("could not draw random bytes from the operating system: {0}")]
    Random(String),
}

/// A TOTP shared secret. Zeroized on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

impl TotpSecret {
    /// A fresh 160-bit secret from the OS CSPRNG.
    pub fn generate() -> Result<TotpSecret, TotpError> {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_LEN]);
        fill_random(&mut bytes).map_err(|e| TotpError::Random(e.to_string()))?;
        Ok(TotpSecret(bytes))
    }

    /// The raw secret, to seal for storage; never log or return it.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Wraps raw secret bytes (16 to 64 of them).
    pub fn from_bytes(bytes: &[u8]) -> Result<TotpSecret, TotpError> {
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&bytes.len()) {
            return Err(TotpError::BadSecretLength { len: bytes.len() });
        }
        Ok(TotpSecret(Zeroizing::new(bytes.to_vec())))
    }

    /// Reads RFC 4648 base32, as stored or typed: case, spaces and `=`
    /// padding are ignored.
    pub fn from_base32(text: &str) -> Result<TotpSecret, TotpError> {
        // 64 bytes are 103 base32 characters; anything far longer is refused
        // before it is copied.
        if text.len() > 4 * MAX_SECRET_LEN {
            return Err(TotpError::BadSecretLength {
                len: text.len() * 5 / 8,
            });
        }
        let cleaned: Zeroizing<String> = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_whitespace() && *c != '=')
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        if cleaned.is_empty() || !cleaned.bytes().all(|b| BASE32.contains(&b)) {
            return Err(TotpError::InvalidBase32);
        }
        let secret =
            totp_rs::Secret::try_from_base32(&*cleaned).map_err(|_| TotpError::InvalidBase32)?;
        TotpSecret::from_bytes(secret.as_bytes())
    }

    /// Base32 (RFC 4648, no padding) as authenticator apps expect.
    pub fn to_base32(&self) -> String {
        totp_rs::Secret::from(self.0.to_vec()).to_base32()
    }

    /// The `otpauth://` URI for enrolment (a QR code of it is what apps scan).
    pub fn otpauth_uri(&self, user: &str) -> String {
        format!(
            "otpauth://totp/{issuer}:{user}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={PERIOD_SECS}",
            issuer = ISSUER,
            user = percent_encode(user),
            secret = self.to_base32(),
        )
    }

    /// The code for `unix_secs` (what the user's app shows then).
    pub fn code_at(&self, unix_secs: u64) -> String {
        code(&self.0, DIGITS, unix_secs)
    }

    /// Checks `code` at `now`, accepting the previous, current and next
    /// step. Returns the matched step: store it and pass it back as
    /// `last_used_step`; that step and every earlier one are refused.
    pub fn verify(
        &self,
        code_text: &str,
        now: SystemTime,
        last_used_step: Option<u64>,
    ) -> Result<u64, TotpError> {
        let typed: String = code_text
            .chars()
            .take(2 * DIGITS + 1)
            .filter(|c| !c.is_whitespace())
            .collect();
        if code_text.len() > 2 * DIGITS
            || typed.len() != DIGITS
            || !typed.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(TotpError::MalformedCode);
        }
        let unix = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| TotpError::ClockBeforeEpoch)?
            .as_secs();
        let current = unix / PERIOD_SECS;
        let mut matched: Option<u64> = None;
        // Every step in the window is computed and compared, so timing does
        // not tell which one matched.
        for step in current.saturating_sub(DRIFT_STEPS)..=current.saturating_add(DRIFT_STEPS) {
            let expected = code(&self.0, DIGITS, step.saturating_mul(PERIOD_SECS));
            if bool::from(expected.as_bytes().ct_eq(typed.as_bytes())) {
                matched = Some(matched.map_or(step, |m: u64| m.max(step)));
            }
        }
        match matched {
            None => Err(TotpError::WrongCode),
            Some(step) if last_used_step.is_some_and(|last| step <= last) => {
                Err(TotpError::Replayed)
            }
            Some(step) => Ok(step),
        }
    }
}

/// RFC 6238 code of `digits` digits for `unix_secs`, by `totp-rs`.
fn code(secret: &[u8], digits: usize, unix_secs: u64) -> String {
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(u8::try_from(digits).unwrap_or(6))
        .with_skew(0)
        .with_step_duration(PERIOD_SECS)
        .with_secret(secret.to_vec())
        .build_noncompliant();
    totp.generate(unix_secs).to_string()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A recovery code as shown to the user once (`xxxx-xxxx-xxxx-xxxx`).
/// Zeroized on drop; `Debug` is redacted.
pub struct RecoveryCode(Zeroizing<String>);

impl RecoveryCode {
    /// The code text, for the one-time display.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

/// Fresh recovery codes and the hashes to store in their place.
#[derive(Debug)]
pub struct RecoveryCodes {
    /// Show once, never store.
    pub codes: Vec<RecoveryCode>,
    /// Store; [`consume_recovery_code`] removes the one used.
    pub hashes: Vec<StoredHash>,
}

/// Generates `count` recovery codes of 80 bits each.
pub fn generate_recovery_codes(count: usize, pepper: &Pepper) -> Result<RecoveryCodes, TotpError> {
    if !(1..=MAX_RECOVERY_CODES).contains(&count) {
        return Err(TotpError::BadRecoveryCount { count });
    }
    let mut codes = Vec::with_capacity(count);
    let mut hashes = Vec::with_capacity(count);
    for _ in 0..count {
        let mut random = Zeroizing::new([0u8; RECOVERY_CHARS]);
        fill_random(&mut random[..]).map_err(|e| TotpError::Random(e.to_string()))?;
        // 256 is a multiple of 32: each byte gives 5 unbiased bits.
        let chars: Zeroizing<Vec<u8>> =
            Zeroizing::new(random.iter().map(|b| BASE32[usize::from(b & 31)]).collect());
        hashes.push(pepper.keyed_hash(RECOVERY_CONTEXT, &[&chars]));
        let mut shown = Zeroizing::new(String::with_capacity(RECOVERY_CHARS + 3));
        for (i, c) in chars.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                shown.push('-');
            }
            shown.push(char::from(c.to_ascii_lowercase()));
        }
        codes.push(RecoveryCode(shown));
    }
    Ok(RecoveryCodes { codes, hashes })
}

/// Checks a typed recovery code against the stored hashes; when one matches
/// it is removed from `stored` (persist the shorter list) and `true` is
/// returned. Case, spaces and dashes are ignored.
pub fn consume_recovery_code(typed: &str, stored: &mut Vec<StoredHash>, pepper: &Pepper) -> bool {
    if typed.len() > 4 * RECOVERY_CHARS {
        return false;
    }
    let normalized: Zeroizing<Vec<u8>> = Zeroizing::new(
        typed
            .bytes()
            .filter(|b| !b.is_ascii_whitespace() && *b != b'-')
            .map(|b| b.to_ascii_uppercase())
            .collect(),
    );
    if normalized.len() != RECOVERY_CHARS {
        return false;
    }
    let hash = pepper.keyed_hash(RECOVERY_CONTEXT, &[&normalized]);
    // Compare against every stored hash so timing does not reveal the index.
    let mut found = None;
    for (i, h) in stored.iter().enumerate() {
        if h.ct_eq(&hash) {
            found = Some(i);
        }
    }
    match found {
        Some(i) => {
            stored.remove(i);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn pepper() -> Pepper {
        Pepper::new(&[3u8; 32]).unwrap()
    }

    /// RFC 6238 Appendix B, SHA-1 rows (8 digits, seed "12345678901234567890").
    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        let seed = b"12345678901234567890";
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        let secret = TotpSecret::from_bytes(seed).unwrap();
        for (time, want) in vectors {
            assert_eq!(code(seed, 8, time), want, "t={time}");
            // Six digits are the low six of the eight.
            assert_eq!(secret.code_at(time), want[2..], "t={time}");
        }
    }

    /// pyotp, an independent implementation, computes the same codes.
    #[test]
    fn codes_match_pyotp() {
        let secret = TotpSecret::generate().unwrap();
        let b32 = secret.to_base32();
        for time in [0u64, 59, 1_700_000_000, 4_102_444_800] {
            let out = Command::new("python3")
                .arg("-c")
                .arg("import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))")
                .arg(&b32)
                .arg(time.to_string())
                .output()
                .expect("python3 runs (scripts/test.sh installs pyotp)");
            assert!(
                out.status.success(),
                "pyotp failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let theirs = String::from_utf8(out.stdout).unwrap();
            assert_eq!(secret.code_at(time), theirs.trim(), "t={time}");
        }
    }

    #[test]
    fn generated_secret_is_160_bits_and_round_trips_base32() {
        let s = TotpSecret::generate().unwrap();
        let b32 = s.to_base32();
        assert_eq!(b32.len(), 32);
        let back = TotpSecret::from_base32(&b32.to_lowercase()).unwrap();
        assert_eq!(back.code_at(1_000), s.code_at(1_000));
        let spaced: String = b32
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(TotpSecret::from_base32(&spaced).unwrap().to_base32(), b32);
        assert_ne!(TotpSecret::generate().unwrap().to_base32(), b32);
    }

    #[test]
    fn bad_secrets_are_errors() {
        for bad in ["", "====", "ABC1", "ABCDEFGH!", "ÄÖÜ", "0OIL0OIL0OIL0OIL"] {
            assert_eq!(
                TotpSecret::from_base32(bad).unwrap_err(),
                TotpError::InvalidBase32,
                "{bad:?}"
            );
        }
        // 10 bytes: valid base32, too short.
        assert_eq!(
            TotpSecret::from_base32("GEZDGNBVGY3TQOJQ").unwrap_err(),
            TotpError::BadSecretLength { len: 10 }
        );
        assert!(matches!(
            TotpSecret::from_base32(&"A".repeat(100_000)),
            Err(TotpError::BadSecretLength { .. })
        ));
        assert!(TotpSecret::from_bytes(&[0u8; 65]).is_err());
    }

    #[test]
    fn otpauth_uri_is_what_apps_expect() {
        let s = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
        assert_eq!(
            s.otpauth_uri("ann smith@example.com"),
            "otpauth://totp/Rampart:ann%20smith%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Rampart&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(percent_encode("a:b/é"), "a%3Ab%2F%C3%A9");
    }

    #[test]
    fn verify_accepts_one_step_of_drift_only() {
        let s = TotpSecret::generate().unwrap();
        let now = 1_700_000_015; // step 56_666_667 starts at ..._010
        let step = now / PERIOD_SECS;
        assert_eq!(s.verify(&s.code_at(now), at(now), None), Ok(step));
        assert_eq!(s.verify(&s.code_at(now - 30), at(now), None), Ok(step - 1));
        assert_eq!(s.verify(&s.code_at(now + 30), at(now), None), Ok(step + 1));
        for far in [now - 60, now + 60, now - 3600] {
            let c = s.code_at(far);
            // A far code can equal a near one by chance (10^-6); skip that.
            if [now - 30, now, now + 30].iter().all(|t| s.code_at(*t) != c) {
                assert_eq!(s.verify(&c, at(now), None), Err(TotpError::WrongCode));
            }
        }
    }

    #[test]
    fn verify_refuses_replay_of_used_or_older_steps() {
        let s = TotpSecret::generate().unwrap();
        let now = 1_700_000_015;
        let code = s.code_at(now);
        let step = s.verify(&code, at(now), None).unwrap();
        assert_eq!(
            s.verify(&code, at(now), Some(step)),
            Err(TotpError::Replayed)
        );
        assert_eq!(
            s.verify(&s.code_at(now - 30), at(now), Some(step)),
            Err(TotpError::Replayed)
        );
        assert_eq!(
            s.verify(&s.code_at(now + 30), at(now + 30), Some(step)),
            Ok(step + 1)
        );
    }

    #[test]
    fn malformed_codes_and_clocks_are_errors() {
        let s = TotpSecret::generate().unwrap();
        let now = at(1_700_000_000);
        for bad in [
            "",
            "12345",
            "1234567",
            "12a456",
            "１２３４５６",
            &"1".repeat(10_000),
        ] {
            assert_eq!(
                s.verify(bad, now, None),
                Err(TotpError::MalformedCode),
                "{bad:?}"
            );
        }
        let spaced = format!(" {} ", s.code_at(1_700_000_000));
        assert!(s.verify(&spaced, now, None).is_ok());
        assert_eq!(
            s.verify("123456", UNIX_EPOCH - Duration::from_secs(1), None),
            Err(TotpError::ClockBeforeEpoch)
        );
        // Step 0 has no previous step: no underflow.
        assert_eq!(s.verify(&s.code_at(0), at(0), None), Ok(0));
    }

    #[test]
    fn secrets_and_codes_stay_out_of_debug_output() {
        let s = TotpSecret::generate().unwrap();
        assert!(!format!("{s:?}").contains(&s.to_base32()));
        let rc = generate_recovery_codes(2, &pepper()).unwrap();
        let debug = format!("{rc:?}");
        assert!(!debug.contains(rc.codes[0].expose()));
    }

    #[test]
    fn recovery_codes_are_unique_formatted_and_consumed_once() {
        let rc = generate_recovery_codes(DEFAULT_RECOVERY_CODES, &pepper()).unwrap();
        assert_eq!(rc.codes.len(), 10);
        let mut stored = rc.hashes.clone();
        let texts: std::collections::BTreeSet<&str> = rc.codes.iter().map(|c| c.expose()).collect();
        assert_eq!(texts.len(), 10);
        for c in &rc.codes {
            let t = c.expose();
            assert_eq!(t.len(), 19);
            assert_eq!(t.matches('-').count(), 3);
            assert!(
                t.bytes()
                    .all(|b| b == b'-' || BASE32.contains(&b.to_ascii_uppercase()))
            );
        }
        let first = rc.codes[0].expose().to_owned();
        assert!(consume_recovery_code(
            &first.to_uppercase().replace('-', " "),
            &mut stored,
            &pepper()
        ));
        assert_eq!(stored.len(), 9);
        assert!(!consume_recovery_code(&first, &mut stored, &pepper()));
        assert_eq!(stored.len(), 9);
        // Wrong pepper, garbage and overlong input match nothing.
        let other = Pepper::new(&[4u8; 32]).unwrap();
        assert!(!consume_recovery_code(
            rc.codes[1].expose(),
            &mut stored,
            &other
        ));
        for bad in ["", "aaaa-aaaa-aaaa-aaaa", "x", &"a".repeat(100_000)] {
            assert!(!consume_recovery_code(bad, &mut stored, &pepper()));
        }
        assert!(consume_recovery_code(
            rc.codes[1].expose(),
            &mut stored,
            &pepper()
        ));
        assert_eq!(stored.len(), 8);
    }

    #[test]
    fn recovery_count_is_bounded() {
        assert_eq!(
            generate_recovery_codes(0, &pepper()).unwrap_err(),
            TotpError::BadRecoveryCount { count: 0 }
        );
        assert!(generate_recovery_codes(101, &pepper()).is_err());
    }
}
