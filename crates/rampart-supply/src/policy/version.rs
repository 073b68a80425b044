//! Version ordering for deny-list rules.
//!
//! Harness compares versions with `semver.compare` after padding them to
//! three numbers, which errors on the many real versions that are not
//! semver (`2.0.0.Final`, `1.0rc1`, `1.2.3.4`, `1:2.3-1`). This order agrees
//! with semver where both sides are semver (build metadata ignored,
//! pre-releases before their release, missing numbers count as 0) and stays
//! total everywhere else, so a rule never fails on a component's version.

use std::cmp::Ordering;

/// Where a version's suffix places it relative to its numeric release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// `-rc.1`, `-SNAPSHOT`, `a1`, `.beta`.
    Pre,
    /// No suffix, or a qualifier that names the release (`.Final`, `.RELEASE`, `-ga`).
    Release,
    /// A revision or patch level after the release (`-1`, `.post2`, `-sp1`).
    Post,
}

/// A parsed version: epoch, numeric release, stage and suffix tokens.
struct Parsed<'a> {
    epoch: &'a str,
    release: Vec<&'a str>,
    stage: Stage,
    suffix: &'a str,
}

fn parse(text: &str) -> Parsed<'_> {
    let text = text.trim();
    let (epoch, text) = match text.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => (e, rest),
        _ => ("0", text),
    };
    let text = match text.strip_prefix(['v', 'V']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => text,
    };
    let text = text.split_once('+').map_or(text, |(head, _build)| head);
    let numeric_end = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (numbers, rest) = text.split_at(numeric_end);
    let release = numbers.split('.').filter(|s| !s.is_empty()).collect();
    let suffix = rest.trim_start_matches(['-', '.', '_', '~']);
    let lower = suffix.to_ascii_lowercase();
    let stage = if matches!(lower.as_str(), "" | "final" | "release" | "ga") {
        Stage::Release
    } else if suffix.starts_with(|c: char| c.is_ascii_digit())
        || ["post", "patch", "sp", "pl"]
            .iter()
            .any(|p| lower.starts_with(p))
    {
        Stage::Post
    } else {
        Stage::Pre
    };
    Parsed {
        epoch,
        release,
        stage,
        suffix,
    }
}

/// Orders decimal strings of any length by value.
fn cmp_numeric(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Splits a suffix into identifiers at separators and digit/letter changes.
fn tokens(suffix: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for part in suffix.split(['.', '-', '_', '~']).filter(|p| !p.is_empty()) {
        let mut start = 0;
        let bytes = part.as_bytes();
        for i in 1..bytes.len() {
            if bytes[i].is_ascii_digit() != bytes[i - 1].is_ascii_digit() {
                out.push(&part[start..i]);
                start = i;
            }
        }
        out.push(&part[start..]);
    }
    out
}

/// Semver's pre-release precedence, extended to any identifiers: numbers
/// by value, before words; words case-insensitively; more identifiers win.
fn cmp_suffix(a: &str, b: &str) -> Ordering {
    let (a, b) = (tokens(a), tokens(b));
    for (x, y) in a.iter().zip(&b) {
        let x_num = x.bytes().all(|c| c.is_ascii_digit());
        let y_num = y.bytes().all(|c| c.is_ascii_digit());
        let order = match (x_num, y_num) {
            (true, true) => cmp_numeric(x, y),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// Orders two versions; see the module comment.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (a, b) = (parse(a), parse(b));
    let order = cmp_numeric(a.epoch, b.epoch);
    if order != Ordering::Equal {
        return order;
    }
    let len = a.release.len().max(b.release.len());
    for i in 0..len {
        let x = a.release.get(i).copied().unwrap_or("0");
        let y = b.release.get(i).copied().unwrap_or("0");
        let order = cmp_numeric(x, y);
        if order != Ordering::Equal {
            return order;
        }
    }
    a.stage.cmp(&b.stage).then_with(|| match a.stage {
        Stage::Release => Ordering::Equal,
        Stage::Pre | Stage::Post => cmp_suffix(a.suffix, b.suffix),
    })
}

#[cfg(test)]
mod tests {
    use super::compare_versions;
    use std::cmp::Ordering::{Equal, Greater, Less};

    #[test]
    fn orders_semver_and_common_non_semver_versions() {
        let cases = [
            ("1.2.3", "1.2.3", Equal),
            ("1.2", "1.2.0", Equal),
            ("v1.2.3", "1.2.3", Equal),
            ("1.0.0+build.5", "1.0.0", Equal),
            ("2.0.0.Final", "2.0.0", Equal),
            ("1.10.0", "1.9.9", Greater),
            ("1.0.0-rc.1", "1.0.0", Less),
            ("1.0.0-alpha", "1.0.0-alpha.1", Less),
            ("1.0.0-alpha.1", "1.0.0-beta", Less),
            ("1.0.0-rc.2", "1.0.0-rc.10", Less),
            ("1.0rc1", "1.0", Less),
            ("1.0.post1", "1.0", Greater),
            ("1.2-3", "1.2", Greater),
            ("1:0.9", "2.0", Greater),
            ("1.2.3.4", "1.2.3", Greater),
            ("99999999999999999999.0", "1.0", Greater),
            ("3.0.0-SNAPSHOT", "3.0.0", Less),
        ];
        for (a, b, expected) in cases {
            assert_eq!(compare_versions(a, b), expected, "{a} vs {b}");
            assert_eq!(compare_versions(b, a), expected.reverse(), "{b} vs {a}");
        }
    }
}
