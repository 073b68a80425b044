//! The forms a secret can take in a log, and the values a structured secret
//! is decomposed into.
//!
//! A secret is first decomposed into *values*: the secret itself, its trimmed
//! text, each line of a multi-line secret, each string of a JSON object secret,
//! each base64 body line of a PEM block and the password of a URL with
//! credentials. Every value is then *encoded* into forms: the raw bytes,
//! base64 (standard and URL-safe, padded and not, at the three byte
//! alignments), hex (lower and upper case), URL percent-encoding, JSON string
//! escaping and shell quoting. Values and forms shorter than the minimum length
//! are counted as skipped and never registered: a short line such as `{` must
//! not turn the log into asterisks.

use std::collections::BTreeSet;

/// The forms of one secret, and what was left out.
#[derive(Debug, Default)]
pub(crate) struct Derived {
    /// Distinct forms, each at least the minimum length.
    pub forms: BTreeSet<Vec<u8>>,
    /// Values and forms left out because they are shorter than the minimum.
    pub skipped: usize,
    /// The secret as a whole (trimmed) is shorter than the minimum.
    pub too_short: bool,
}

/// How deep JSON objects inside a secret are followed.
const MAX_JSON_DEPTH: usize = 16;

/// Derives every form of `secret`, leaving out those shorter than `min_len`.
pub(crate) fn derive(secret: &str, min_len: usize) -> Derived {
    let min_len = min_len.max(1);
    let mut out = Derived::default();
    if secret.trim().len() < min_len {
        out.too_short = true;
        return out;
    }
    let mut values: BTreeSet<String> = BTreeSet::new();
    collect_values(secret, min_len, 0, &mut values, &mut out.skipped);
    for value in &values {
        for form in encodings(value.as_bytes()) {
            if form.len() >= min_len {
                out.forms.insert(form);
            } else {
                out.skipped += 1;
            }
        }
    }
    out
}

/// Adds `value` and everything it decomposes into to `values`.
fn collect_values(
    value: &str,
    min_len: usize,
    depth: usize,
    values: &mut BTreeSet<String>,
    skipped: &mut usize,
) {
    let add = |v: &str, values: &mut BTreeSet<String>, skipped: &mut usize| {
        if v.len() >= min_len {
            values.insert(v.to_owned());
        } else if !v.trim().is_empty() {
            *skipped += 1;
        }
    };
    add(value, values, skipped);
    let trimmed = value.trim();
    if trimmed != value {
        add(trimmed, values, skipped);
    }
    let pem = is_pem(value);
    if value.contains('\n') {
        for line in value.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if pem && is_pem_armor(line) {
                continue;
            }
            add(line, values, skipped);
            let t = line.trim();
            if t != line {
                add(t, values, skipped);
            }
        }
    }
    if depth < MAX_JSON_DEPTH
        && trimmed.starts_with(['{', '['])
        && let Ok(json) = serde_json::from_str::<serde_json::Value>(trimmed)
    {
        let mut strings = Vec::new();
        json_strings(&json, &mut strings);
        for s in strings {
            if s.len() >= min_len {
                if !values.contains(&s) {
                    collect_values(&s, min_len, depth + 1, values, skipped);
                }
            } else if !s.trim().is_empty() {
                *skipped += 1;
            }
        }
    }
    if let Some(password) = url_password(trimmed) {
        for p in [password.clone(), percent_decode(&password)] {
            add(&p, values, skipped);
        }
    }
}

/// Every string value in a JSON document (not the keys).
fn json_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| json_strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| json_strings(v, out)),
        _ => {}
    }
}

/// Whether `value` holds a PEM block.
fn is_pem(value: &str) -> bool {
    value.contains("-----BEGIN ") && value.contains("-----END ")
}

/// PEM lines that are not secret: the armor and the encryption headers.
fn is_pem_armor(line: &str) -> bool {
    let t = line.trim();
    t.starts_with("-----BEGIN ")
        || t.starts_with("-----END ")
        || t.starts_with("Proc-Type:")
        || t.starts_with("DEK-Info:")
}

/// The password of `scheme://user:password@host...`, as written.
fn url_password(value: &str) -> Option<String> {
    let (_, rest) = value.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then(|| password.to_owned())
}

/// Decodes `%XX` escapes; invalid escapes stay as written.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|&c| hex_val(c)),
                b.get(i + 2).and_then(|&c| hex_val(c)),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

pub(crate) const B64_STD: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub(crate) const B64_URL: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64 of `data` with `alphabet`, unpadded.
pub(crate) fn base64_encode(data: &[u8], alphabet: &[u8; 64]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        let chars = group.len() + 1;
        for i in 0..chars {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize]);
        }
    }
    out
}

/// Decodes unpadded URL-safe base64; `None` on any other byte.
pub(crate) fn base64url_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in text {
        let v = B64_URL.iter().position(|&a| a == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// All encodings of one value.
fn encodings(v: &[u8]) -> Vec<Vec<u8>> {
    let mut forms = vec![v.to_vec()];
    for alphabet in [B64_STD, B64_URL] {
        base64_forms(v, alphabet, &mut forms);
    }
    let lower: Vec<u8> = v
        .iter()
        .flat_map(|b| hex_pair(*b, b"0123456789abcdef"))
        .collect();
    forms.push(lower.to_ascii_uppercase());
    forms.push(lower);
    url_forms(v, &mut forms);
    if let Ok(s) = std::str::from_utf8(v) {
        json_forms(s, &mut forms);
        shell_forms(s, &mut forms);
    }
    forms
}

fn hex_pair(b: u8, digits: &[u8; 16]) -> [u8; 2] {
    [digits[usize::from(b >> 4)], digits[usize::from(b & 15)]]
}

/// The base64 forms of `v` at the three byte alignments.
///
/// Encoded with `a` bytes in front of it (`a` = 0, 1, 2), `v` occupies bits
/// `8a .. 8a + 8n` of the stream; output character `i` carries bits
/// `6i .. 6i + 6`. The characters whose bits all come from `v` are the same
/// whatever surrounds it: that *stable* run is the form that is always
/// registered. When `v` ends the encoded data, the last character is padded
/// with zero bits and may be followed by `=`: those *end* forms (unpadded and
/// padded) are registered too, so no trailing character is left behind.
fn base64_forms(v: &[u8], alphabet: &[u8; 64], forms: &mut Vec<Vec<u8>>) {
    let n = v.len();
    for a in 0..3usize {
        let mut data = vec![0u8; a];
        data.extend_from_slice(v);
        let encoded = base64_encode(&data, alphabet);
        let first = (8 * a).div_ceil(6);
        let stable_end = (8 * (a + n)) / 6;
        if stable_end > first {
            forms.push(encoded[first..stable_end].to_vec());
        }
        if encoded.len() > first {
            let mut end = encoded[first..].to_vec();
            forms.push(end.clone());
            let pad = (4 - encoded.len() % 4) % 4;
            if pad > 0 {
                end.extend(std::iter::repeat_n(b'=', pad));
                forms.push(end);
            }
        }
    }
}

/// Percent-encodings: RFC 3986 (everything but unreserved) in upper and lower
/// case hex, JavaScript's `encodeURIComponent`, and form encoding (`+` for
/// space).
fn url_forms(v: &[u8], forms: &mut Vec<Vec<u8>>) {
    let encode = |keep: &dyn Fn(u8) -> bool, digits: &[u8; 16], plus: bool| -> Vec<u8> {
        let mut out = Vec::with_capacity(v.len());
        for &b in v {
            if keep(b) {
                out.push(b);
            } else if plus && b == b' ' {
                out.push(b'+');
            } else {
                out.push(b'%');
                out.extend_from_slice(&hex_pair(b, digits));
            }
        }
        out
    };
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
    let js = |b: u8| b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b);
    forms.push(encode(&unreserved, b"0123456789ABCDEF", false));
    forms.push(encode(&unreserved, b"0123456789abcdef", false));
    forms.push(encode(&js, b"0123456789ABCDEF", false));
    forms.push(encode(&unreserved, b"0123456789ABCDEF", true));
}

/// JSON string escapings (without the quotes): serde's, ASCII-only
/// (`\uXXXX` for everything else, as Python's `json.dumps` writes), and both
/// with `/` escaped as `\/` (PHP's default).
fn json_forms(s: &str, forms: &mut Vec<Vec<u8>>) {
    let plain = serde_json::to_string(s).unwrap_or_default();
    let plain = plain
        .strip_prefix('"')
        .and_then(|p| p.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned();
    let mut ascii = String::with_capacity(plain.len());
    for c in plain.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                ascii.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    for f in [plain, ascii] {
        forms.push(f.replace('/', "\\/").into_bytes());
        forms.push(f.into_bytes());
    }
}

/// Shell quoting (the text between the quotes): single quotes with `'`
/// written as `'\''` or `'"'"'`, and double quotes with `\`, `"`, `$` and
/// `` ` `` escaped by a backslash.
fn shell_forms(s: &str, forms: &mut Vec<Vec<u8>>) {
    forms.push(s.replace('\'', "'\\''").into_bytes());
    forms.push(s.replace('\'', "'\"'\"'").into_bytes());
    let mut dq = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            dq.push('\\');
        }
        dq.push(c);
    }
    forms.push(dq.into_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(d: &Derived, form: &str) -> bool {
        d.forms.contains(form.as_bytes())
    }

    /// Standard base64 of `data`, padded, for checking the forms against.
    fn b64(data: &[u8]) -> String {
        let mut e = base64_encode(data, B64_STD);
        while !e.len().is_multiple_of(4) {
            e.push(b'=');
        }
        String::from_utf8(e).unwrap()
    }

    #[test]
    fn base64_encoder_matches_rfc4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(b64(plain.as_bytes()), enc);
        }
        assert_eq!(base64url_decode(b"Zm9vYmE").unwrap(), b"fooba");
        assert_eq!(base64url_decode(b"Zm9v!"), None);
    }

    #[test]
    fn raw_trimmed_hex_forms() {
        let d = derive(" hunter22 ", 4);
        assert!(has(&d, " hunter22 "));
        assert!(has(&d, "hunter22"));
        assert!(has(&d, "68756e7465723232"));
        assert!(has(&d, "68756E7465723232"));
    }

    #[test]
    fn base64_forms_catch_the_secret_at_every_alignment() {
        let secret = "s3cr3t-v@lue!";
        let d = derive(secret, 4);
        for prefix in ["", "u", "us", "user:", "user:x", "ab"] {
            let encoded = b64(format!("{prefix}{secret}").as_bytes());
            assert!(
                d.forms.iter().any(|f| encoded
                    .as_bytes()
                    .windows(f.len())
                    .any(|w| w == f.as_slice())
                    && f.len() >= secret.len()),
                "no form found in base64({prefix:?} + secret) = {encoded}"
            );
            // When the secret ends the data, the end form reaches the padding.
            let first = (8 * (prefix.len() % 3)).div_ceil(6);
            let tail = &encoded[(prefix.len() / 3) * 4 + first..];
            assert!(
                has(&d, tail),
                "end form {tail} missing for prefix {prefix:?}"
            );
            let unpadded = tail.trim_end_matches('=');
            assert!(has(&d, unpadded), "unpadded end form {unpadded} missing");
            // Followed by more data, the stable run still matches.
            let more = b64(format!("{prefix}{secret}MORE").as_bytes());
            assert!(
                d.forms
                    .iter()
                    .any(|f| more.as_bytes().windows(f.len()).any(|w| w == f.as_slice())),
                "no form in base64({prefix:?} + secret + MORE)"
            );
        }
    }

    #[test]
    fn base64_url_safe_forms() {
        // "???" and ">>>" encode to "Pz8/" and "Pj4+" in standard base64.
        let secret = "???>>>more-text";
        let d = derive(secret, 4);
        let std = String::from_utf8(base64_encode(secret.as_bytes(), B64_STD)).unwrap();
        let url = String::from_utf8(base64_encode(secret.as_bytes(), B64_URL)).unwrap();
        assert_ne!(std, url);
        assert!(has(&d, &std));
        assert!(has(&d, &url));
    }

    #[test]
    fn url_json_and_shell_forms() {
        let d = derive("p@ss w/\"q'$x", 4);
        assert!(has(&d, "p%40ss%20w%2F%22q%27%24x"));
        assert!(has(&d, "p%40ss%20w%2f%22q%27%24x"));
        assert!(has(&d, "p%40ss+w%2F%22q%27%24x"));
        assert!(has(&d, "p%40ss%20w%2F%22q'%24x"));
        assert!(has(&d, r#"p@ss w/\"q'$x"#));
        assert!(has(&d, r#"p@ss w\/\"q'$x"#));
        assert!(has(&d, r#"p@ss w/"q'\''$x"#));
        assert!(has(&d, r#"p@ss w/"q'"'"'$x"#));
        assert!(has(&d, r#"p@ss w/\"q'\$x"#));
        let d = derive("naïve\tkey", 4);
        assert!(has(&d, "naïve\\tkey"));
        assert!(has(&d, "na\\u00efve\\tkey"));
    }

    #[test]
    fn lines_of_multi_line_secrets_with_both_line_ends() {
        for sep in ["\n", "\r\n"] {
            let secret = format!("first-line{sep}{{{sep}second-line{sep}ab");
            let d = derive(&secret, 4);
            assert!(has(&d, &secret));
            assert!(has(&d, "first-line"));
            assert!(has(&d, "second-line"));
            assert!(!has(&d, "{"), "a one-character line must not be a form");
            assert!(!has(&d, "ab"));
            assert!(d.forms.iter().all(|f| f.len() >= 4));
            assert_eq!(d.skipped, 2, "the lines `{{` and `ab`");
            assert!(
                !d.forms
                    .iter()
                    .any(|f| f.ends_with(b"\r") && f.starts_with(b"first"))
            );
        }
    }

    #[test]
    fn json_object_secret_registers_its_string_values() {
        let secret = r#"{
  "type": "service_account",
  "private_key_id": "abc123def456",
  "nested": {"token": "tok-998877", "n": 5, "short": "ab"}
}"#;
        let d = derive(secret, 4);
        assert!(has(&d, "service_account"));
        assert!(has(&d, "abc123def456"));
        assert!(has(&d, "tok-998877"));
        assert!(!has(&d, "ab"));
        assert!(!has(&d, "{"));
        assert!(!has(&d, "}"));
        // Encodings of the values too.
        assert!(has(&d, "746f6b2d393938383737"));
    }

    #[test]
    fn pem_secret_registers_body_lines_but_not_armor() {
        let secret = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx1234567890abcdef\nQWERTYuiop+/asdfghjkl==\n-----END RSA PRIVATE KEY-----\n";
        let d = derive(secret, 4);
        assert!(has(&d, "MIIEowIBAAKCAQEAx1234567890abcdef"));
        assert!(has(&d, "QWERTYuiop+/asdfghjkl=="));
        assert!(!has(&d, "-----BEGIN RSA PRIVATE KEY-----"));
        assert!(!has(&d, "-----END RSA PRIVATE KEY-----"));
        assert!(has(&d, secret));
    }

    #[test]
    fn url_with_credentials_registers_its_password() {
        let d = derive("postgres://app:s%40fe-pw@db.internal:5432/app", 4);
        assert!(has(&d, "s%40fe-pw"));
        assert!(has(&d, "s@fe-pw"));
        assert!(!has(&d, "app"));
        assert_eq!(url_password("https://example.com/x:y@z"), None);
        assert_eq!(url_password("https://u@example.com"), None);
    }

    #[test]
    fn too_short_secret_is_reported_and_registers_nothing() {
        let d = derive("  abc ", 4);
        assert!(d.too_short);
        assert!(d.forms.is_empty());
        let d = derive("abcd", 4);
        assert!(!d.too_short);
        assert!(d.forms.iter().all(|f| f.len() >= 4));
        let d = derive("abcdefgh", 12);
        assert!(d.too_short);
    }

    #[test]
    fn every_form_respects_the_minimum_length() {
        for secret in ["abcd", "abcde", "a\nbcdef\ngh", "{\"k\":\"vv\"}", "x:y@z"] {
            for min in [1, 4, 6, 9] {
                let d = derive(secret, min);
                assert!(
                    d.forms.iter().all(|f| f.len() >= min),
                    "{secret:?} min {min}"
                );
            }
        }
    }
}
