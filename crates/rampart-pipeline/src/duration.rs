//! Harness duration strings: `90s`, `10m`, `1h 30m`, `1h30m`, `1d`, `2w`, `500ms`.
//!
//! A duration is one or more `<digits><unit>` parts, optionally separated by
//! spaces, with units `ms`, `s`, `m`, `h`, `d` (24 h) and `w` (7 d). The parts
//! add up. Fractions (`1.5h`) and bare numbers (`90`) are rejected rather than
//! guessed at.

use std::time::Duration;

/// Why a duration string did not parse; displayed after `"<raw>" is not a valid duration: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DurationError {
    #[error("it is empty")]
    Empty,
    #[error("\"{0}\" has no unit")]
    MissingUnit(String),
    #[error("\"{0}\" is not a unit")]
    UnknownUnit(String),
    #[error("it must start with a number, found \"{0}\"")]
    ExpectedNumber(String),
    #[error("fractions are not supported")]
    Fraction,
    #[error("it is too long")]
    Overflow,
}

/// What to tell the user after any [`DurationError`].
pub(crate) const DURATION_HELP: &str =
    "write a duration like 90s, 10m, 1h 30m, 1d or 500ms (units: ms, s, m, h, d, w)";

pub(crate) fn parse_duration(raw: &str) -> Result<Duration, DurationError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(DurationError::ExpectedNumber(first_word(rest)));
        }
        let (number, after) = rest.split_at(digits);
        if after.starts_with(['.', ',']) {
            return Err(DurationError::Fraction);
        }
        let unit_len = after.len()
            - after
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(DurationError::MissingUnit(number.to_string()));
        }
        let millis_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            other => return Err(DurationError::UnknownUnit(other.to_string())),
        };
        let n: u64 = number.parse().map_err(|_| DurationError::Overflow)?;
        let millis = n
            .checked_mul(millis_per_unit)
            .ok_or(DurationError::Overflow)?;
        total = total
            .checked_add(Duration::from_millis(millis))
            .ok_or(DurationError::Overflow)?;
        if !(after.is_empty()
            || after.starts_with(char::is_whitespace)
            || after.starts_with(|c: char| c.is_ascii_digit()))
        {
            return Err(DurationError::UnknownUnit(format!(
                "{unit}{}",
                first_word(after)
            )));
        }
        rest = after;
    }
    Ok(total)
}

fn first_word(s: &str) -> String {
    s.split_whitespace()
        .next()
        .unwrap_or_default()
        .chars()
        .take(20)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Duration {
        parse_duration(s).unwrap()
    }

    #[test]
    fn single_units() {
        assert_eq!(ok("90s"), Duration::from_secs(90));
        assert_eq!(ok("10m"), Duration::from_secs(600));
        assert_eq!(ok("2h"), Duration::from_secs(7200));
        assert_eq!(ok("1d"), Duration::from_secs(86_400));
        assert_eq!(ok("2w"), Duration::from_secs(14 * 86_400));
        assert_eq!(ok("500ms"), Duration::from_millis(500));
    }

    #[test]
    fn parts_add_up_with_or_without_spaces() {
        assert_eq!(ok("1h 30m"), Duration::from_secs(5400));
        assert_eq!(ok("1h30m"), Duration::from_secs(5400));
        assert_eq!(ok("1m 30s 250ms"), Duration::from_millis(90_250));
        assert_eq!(ok("  5s  "), Duration::from_secs(5));
    }

    #[test]
    fn zero_parses_and_callers_decide() {
        assert_eq!(ok("0s"), Duration::ZERO);
    }

    #[test]
    fn bad_durations_say_why() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(
            parse_duration("90"),
            Err(DurationError::MissingUnit("90".into()))
        );
        assert_eq!(
            parse_duration("5y"),
            Err(DurationError::UnknownUnit("y".into()))
        );
        assert_eq!(
            parse_duration("5 s"),
            Err(DurationError::MissingUnit("5".into()))
        );
        assert_eq!(parse_duration("1.5h"), Err(DurationError::Fraction));
        assert_eq!(
            parse_duration("h"),
            Err(DurationError::ExpectedNumber("h".into()))
        );
        assert_eq!(
            parse_duration("10m!"),
            Err(DurationError::UnknownUnit("m!".into()))
        );
        assert_eq!(
            parse_duration("-5s"),
            Err(DurationError::ExpectedNumber("-5s".into()))
        );
        assert_eq!(
            parse_duration("99999999999999999999w"),
            Err(DurationError::Overflow)
        );
        assert_eq!(
            parse_duration("9999999999999w"),
            Err(DurationError::Overflow)
        );
        assert_eq!(
            DurationError::MissingUnit("90".into()).to_string(),
            "\"90\" has no unit"
        );
    }
}
