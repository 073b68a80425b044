//! An account's authentication settings: 2FA enforcement, the password
//! policy, login lockout, session timeouts and the longest token lifetime.
//! Stored as one access document per account; every field has a default so
//! an account without the document gets Rampart's secure defaults, which
//! follow Harness's where Harness has one (1440 minutes of inactivity end a
//! session).

use std::time::Duration;

use rampart_auth::lockout::LockoutConfig;
use rampart_auth::password::PasswordPolicy;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// The settings document's identifier (one per account, at account scope).
pub(crate) const AUTH_SETTINGS_ID: &str = "auth";
/// The allowlist document's identifier (one per account, at account scope).
pub(crate) const IP_ALLOWLIST_ID: &str = "ip";

/// How long failures count towards a lock (fixed; the lock length is set).
const LOCKOUT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Source addresses are locked after this many failures within the window,
/// whichever users they try: it slows password spraying.
const IP_MAX_FAILURES: u32 = 50;

/// Authentication settings of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Every user must use TOTP; users without it must enrol at their next
    /// login before they can do anything else.
    pub two_factor_enforced: bool,
    pub password_policy: PasswordPolicySettings,
    pub lockout: LockoutSettings,
    /// A session unused this long ends (5 to 43200).
    #[schema(minimum = 5, maximum = 43200)]
    pub session_inactivity_minutes: u32,
    /// A session ends this long after login, however active (5 to 525600).
    #[schema(minimum = 5, maximum = 525600)]
    pub session_absolute_minutes: u32,
    /// The longest lifetime of a new API token, in days (1 to 3650); `null`
    /// allows tokens without expiry.
    #[schema(minimum = 1, maximum = 3650)]
    pub max_token_lifetime_days: Option<u32>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            two_factor_enforced: false,
            password_policy: PasswordPolicySettings::default(),
            lockout: LockoutSettings::default(),
            session_inactivity_minutes: 1440,
            session_absolute_minutes: 7 * 1440,
            max_token_lifetime_days: None,
        }
    }
}

/// What passwords must look like (Harness's password policy options).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordPolicySettings {
    /// 8 to 128.
    #[schema(minimum = 8, maximum = 128)]
    pub min_length: u32,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_digit: bool,
    pub require_special: bool,
    /// The password may not contain the e-mail address's local part.
    pub forbid_username: bool,
}

impl Default for PasswordPolicySettings {
    fn default() -> Self {
        let policy = PasswordPolicy::default();
        PasswordPolicySettings {
            min_length: u32::try_from(policy.min_len).unwrap_or(12),
            require_uppercase: policy.require_upper,
            require_lowercase: policy.require_lower,
            require_digit: policy.require_digit,
            require_special: policy.require_special,
            forbid_username: policy.forbid_username,
        }
    }
}

/// When repeated login failures lock a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LockoutSettings {
    /// Failed logins within 15 minutes that lock the user (3 to 100).
    #[schema(minimum = 3, maximum = 100)]
    pub max_failures: u32,
    /// Length of the first lock; each further lock doubles it, up to a day
    /// (1 to 1440).
    #[schema(minimum = 1, maximum = 1440)]
    pub lock_minutes: u32,
}

impl Default for LockoutSettings {
    fn default() -> Self {
        LockoutSettings {
            max_failures: 5,
            lock_minutes: 15,
        }
    }
}

fn in_range(name: &str, value: u32, min: u32, max: u32) -> Result<(), ApiError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "{name} is {value}; it must be between {min} and {max}"
        )))
    }
}

impl AuthSettings {
    /// Refuses values outside the documented ranges.
    pub(crate) fn validate(&self) -> Result<(), ApiError> {
        in_range(
            "password_policy.min_length",
            self.password_policy.min_length,
            8,
            128,
        )?;
        in_range("lockout.max_failures", self.lockout.max_failures, 3, 100)?;
        in_range("lockout.lock_minutes", self.lockout.lock_minutes, 1, 1440)?;
        in_range(
            "session_inactivity_minutes",
            self.session_inactivity_minutes,
            5,
            43200,
        )?;
        in_range(
            "session_absolute_minutes",
            self.session_absolute_minutes,
            5,
            525_600,
        )?;
        if let Some(days) = self.max_token_lifetime_days {
            in_range("max_token_lifetime_days", days, 1, 3650)?;
        }
        Ok(())
    }

    pub(crate) fn password_policy(&self) -> PasswordPolicy {
        let p = &self.password_policy;
        PasswordPolicy {
            min_len: usize::try_from(p.min_length).unwrap_or(12),
            max_len: 128,
            require_upper: p.require_uppercase,
            require_lower: p.require_lowercase,
            require_digit: p.require_digit,
            require_special: p.require_special,
            forbid_username: p.forbid_username,
        }
    }

    /// The lockout of users in this account.
    pub(crate) fn user_lockout(&self) -> LockoutConfig {
        let base = Duration::from_secs(u64::from(self.lockout.lock_minutes) * 60);
        LockoutConfig {
            max_failures: self.lockout.max_failures,
            window: LOCKOUT_WINDOW,
            base_lock: base,
            max_lock: Duration::from_secs(24 * 60 * 60).max(base),
            ..LockoutConfig::default()
        }
    }

    pub(crate) fn inactivity(&self) -> Duration {
        Duration::from_secs(u64::from(self.session_inactivity_minutes) * 60)
    }

    pub(crate) fn absolute(&self) -> Duration {
        Duration::from_secs(u64::from(self.session_absolute_minutes) * 60)
    }

    pub(crate) fn max_token_lifetime(&self) -> Option<Duration> {
        self.max_token_lifetime_days
            .map(|days| Duration::from_secs(u64::from(days) * 24 * 60 * 60))
    }
}

/// The in-memory lockout of source addresses (and of e-mail addresses no
/// user has, so that probing them looks the same as probing real users).
pub(crate) fn address_lockout() -> LockoutConfig {
    LockoutConfig {
        max_failures: IP_MAX_FAILURES,
        window: LOCKOUT_WINDOW,
        ..LockoutConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_follow_harness() {
        let settings = AuthSettings::default();
        settings.validate().unwrap();
        assert_eq!(settings.session_inactivity_minutes, 1440);
        assert_eq!(settings.password_policy(), PasswordPolicy::default());
        let empty: AuthSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, settings, "missing fields take their defaults");
    }

    #[test]
    fn out_of_range_values_and_unknown_fields_are_refused() {
        let mut settings = AuthSettings::default();
        settings.lockout.max_failures = 1;
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains("lockout.max_failures is 1"), "{message}");
        settings = AuthSettings {
            max_token_lifetime_days: Some(0),
            ..AuthSettings::default()
        };
        assert!(settings.validate().is_err());
        assert!(serde_json::from_str::<AuthSettings>(r#"{"mfa": true}"#).is_err());
    }
}
