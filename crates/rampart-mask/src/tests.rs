//! Streaming against one-shot against a naive reference, over random forms,
//! texts and chunkings; regression tests for the defects of other CIs.

use std::sync::Arc;

use proptest::prelude::*;

use crate::matcher::Matcher;
use crate::stream::Core;
use crate::{MaskConfig, SecretSet};

const MASK: &[u8] = b"<*>";

/// One-shot masking by definition: mark every byte of every occurrence of
/// every form, then one mask per maximal marked run.
fn reference(forms: &[Vec<u8>], text: &[u8], mask: &[u8]) -> Vec<u8> {
    let mut covered = vec![false; text.len()];
    for f in forms {
        if f.len() > text.len() {
            continue;
        }
        for i in 0..=text.len() - f.len() {
            if text[i..].starts_with(f) {
                covered[i..i + f.len()].fill(true);
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if covered[i] {
            out.extend_from_slice(mask);
            while i < text.len() && covered[i] {
                i += 1;
            }
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

fn core(forms: &[Vec<u8>], tokens: bool, threshold: Option<usize>) -> Core {
    let boxed: Vec<Box<[u8]>> = forms.iter().map(|f| f.clone().into_boxed_slice()).collect();
    let matcher = match threshold {
        Some(m) => Matcher::with_threshold(boxed, tokens, m),
        None => Matcher::new(boxed, tokens),
    };
    Core::new(0, Arc::new(matcher), MASK)
}

/// Masks `text` split at `cuts` (sorted offsets), checking after each write
/// that only a bounded tail is held back.
fn streamed(core: &mut Core, text: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    for &cut in cuts.iter().chain(std::iter::once(&text.len())) {
        let cut = cut.clamp(at, text.len());
        core.write(&text[at..cut], &mut out);
        at = cut;
    }
    core.finish(&mut out);
    out
}

fn one_shot(core: &mut Core, text: &[u8]) -> Vec<u8> {
    streamed(core, text, &[])
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn set(secrets: &[&str], tokens: bool) -> Arc<SecretSet> {
    let set = Arc::new(SecretSet::new(MaskConfig {
        mask: "[MASKED]".into(),
        token_patterns: tokens,
        ..MaskConfig::default()
    }));
    for s in secrets {
        set.add(s);
    }
    set
}

fn stream_in(set: &Arc<SecretSet>, pieces: &[&str]) -> String {
    let mut m = set.stream();
    let mut out = Vec::new();
    for p in pieces {
        m.write(p.as_bytes(), &mut out);
    }
    m.finish(&mut out);
    String::from_utf8(out).unwrap()
}

// --- Regressions: each defect the issue measured in another CI. ---

#[test]
fn secret_split_across_two_writes_is_masked() {
    // Harness's runner and Drone mask each write separately.
    let s = set(&["hunter2-password"], false);
    assert_eq!(
        stream_in(&s, &["login hunter2-pa", "ssword ok\n"]),
        "login [MASKED] ok\n"
    );
    for cut in 0..=26 {
        let text = "login hunter2-password ok\n";
        let out = stream_in(&s, &[&text[..cut], &text[cut..]]);
        assert_eq!(out, "login [MASKED] ok\n", "cut at {cut}");
    }
}

#[test]
fn prefix_repeating_secret_across_writes() {
    // GitLab lets `aabSECRET` through when written as `xaa` + `abSECRETy`.
    let s = set(&["aabSECRET"], false);
    assert_eq!(stream_in(&s, &["xaa", "abSECRETy"]), "xa[MASKED]y");
    assert_eq!(s.mask_str("xaaabSECRETy"), "xa[MASKED]y");
}

#[test]
fn overlapping_secrets_merge_without_reordering() {
    // GitLab gives `--[MASKED]abc--`.
    let s = set(&["abcXYZ", "XYZdef"], false);
    assert_eq!(s.mask_str("--abcXYZdef--"), "--[MASKED]--");
    assert_eq!(stream_in(&s, &["--abcX", "YZd", "ef--"]), "--[MASKED]--");
    // Adjacent occurrences merge too.
    assert_eq!(s.mask_str("abcXYZXYZdef"), "[MASKED]");
}

#[test]
fn registration_order_does_not_matter() {
    // Go's strings.Replacer with `secret` before `secret-extended-part`
    // leaks `-extended-part`.
    for order in [
        ["secret", "secret-extended-part"],
        ["secret-extended-part", "secret"],
    ] {
        let s = set(&order, false);
        assert_eq!(s.mask_str("x secret-extended-part y"), "x [MASKED] y");
        assert_eq!(
            stream_in(&s, &["x secret", "-extended-part y"]),
            "x [MASKED] y"
        );
    }
}

#[test]
fn json_secret_with_brace_line_does_not_mask_every_e_and_f() {
    // GitHub masked every `e` and `f` after a JSON secret with a `{` line
    // (its base64 forms were a single character).
    let s = set(&["{\n  \"key\": \"v3ry-s3cret-value\"\n}"], false);
    let log = "step: deploy frontend\ncommit feedface\n";
    assert_eq!(s.mask_str(log), log);
    assert_eq!(s.mask_str("token=v3ry-s3cret-value;"), "token=[MASKED];");
}

#[test]
fn every_form_of_a_secret_is_masked_inside_text() {
    let secret = "p@ss:w0rd/\"x'";
    let s = set(&[secret], false);
    for form in s.forms() {
        let form = String::from_utf8(form).unwrap();
        let text = format!("<<{form}>>");
        let out = s.mask_str(&text);
        assert!(!out.contains(&form), "{form:?} survived: {out:?}");
        assert!(out.contains("[MASKED]"));
    }
}

#[test]
fn basic_auth_header_hides_the_password() {
    let secret = "correct horse battery";
    let s = set(&[secret], false);
    for user in ["u", "ab", "user", "admin"] {
        let header = base64_std(format!("{user}:{secret}").as_bytes());
        let out = s.mask_str(&format!("Authorization: Basic {header}\n"));
        // At most the characters that also carry user bits are left.
        assert!(out.starts_with("Authorization: Basic "));
        let kept = out
            .trim_end()
            .trim_start_matches("Authorization: Basic ")
            .replace("[MASKED]", "");
        assert!(kept.len() <= (user.len() + 1) * 4 / 3 + 2, "{user}: {out}");
    }
}

fn base64_std(data: &[u8]) -> String {
    let mut e = crate::forms::base64_encode(data, crate::forms::B64_STD);
    while !e.len().is_multiple_of(4) {
        e.push(b'=');
    }
    String::from_utf8(e).unwrap()
}

#[test]
fn token_patterns_work_without_secrets_and_across_writes() {
    let s = set(&[], true);
    let gh = format!("ghp_{}", "aB3".repeat(12));
    let text = format!("push with {gh} done\n");
    let expected = "push with [MASKED] done\n";
    assert_eq!(s.mask_str(&text), expected);
    for cut in 0..text.len() {
        assert_eq!(
            stream_in(&s, &[&text[..cut], &text[cut..]]),
            expected,
            "cut {cut}"
        );
    }
    let off = set(&[], false);
    assert_eq!(off.mask_str(&text), text);
}

#[test]
fn newline_without_partial_match_releases_everything() {
    let s = set(&["zz-top-secret"], true);
    let mut m = s.stream();
    let mut out = Vec::new();
    m.write(b"building crate foo\n", &mut out);
    assert_eq!(m.held(), 0);
    assert_eq!(out, b"building crate foo\n");
    m.write(b"value zz-top", &mut out);
    assert_eq!(m.held(), "zz-top".len());
    m.write(b"-secret\nnext", &mut out);
    assert_eq!(m.held(), 0);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "building crate foo\nvalue [MASKED]\nnext"
    );
}

#[test]
fn held_back_bytes_are_bounded() {
    let s = set(&["abcdefghijklmnop-0123456789"], true);
    let longest = s.forms().iter().map(Vec::len).max().unwrap();
    let mut m = s.stream();
    let mut out = Vec::new();
    // Text made only of prefixes of the secret.
    for _ in 0..50 {
        m.write(b"abcdefghijklmnop-01234567", &mut out);
        assert!(m.held() < longest);
    }
    // An unfinished JWT header is held at most MAX_TOKEN_HOLD bytes.
    m.write(b"\neyJ", &mut out);
    for _ in 0..2000 {
        m.write(b"A", &mut out);
        assert!(m.held() <= crate::MAX_TOKEN_HOLD + 1);
    }
}

#[test]
fn secret_added_while_streaming_applies_to_held_bytes() {
    let s = set(&["abcdefgh-secret"], false);
    let mut m = s.stream();
    let mut out = Vec::new();
    m.write(b"released line\nabcdef", &mut out);
    assert_eq!(out, b"released line\n");
    assert_eq!(m.held(), 6);
    s.add("bcde");
    m.write(b"gh xyz bcde\n", &mut out);
    m.finish(&mut out);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "released line\na[MASKED]fgh xyz [MASKED]\n"
    );
    // And when the stream ends right after the addition.
    let mut m = s.stream();
    let mut out = Vec::new();
    m.write(b"abcdef", &mut out);
    s.add("cdef");
    m.finish(&mut out);
    assert_eq!(String::from_utf8_lossy(&out), "a[MASKED]");
}

#[test]
fn set_is_shared_between_threads() {
    let s = set(&["first-secret"], false);
    let before = Arc::new(std::sync::Barrier::new(2));
    let after = Arc::new(std::sync::Barrier::new(2));
    let writer = {
        let (s, before, after) = (Arc::clone(&s), Arc::clone(&before), Arc::clone(&after));
        std::thread::spawn(move || {
            let mut m = s.stream();
            let mut out = Vec::new();
            for i in 0..200 {
                if i == 100 {
                    before.wait();
                    after.wait();
                }
                m.write(b"first-secret second-secret\n", &mut out);
            }
            m.finish(&mut out);
            out
        })
    };
    before.wait();
    s.add("second-secret");
    after.wait();
    let out = String::from_utf8(writer.join().unwrap()).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 200);
    assert!(lines[..100].iter().all(|l| *l == "[MASKED] second-secret"));
    assert!(lines[100..].iter().all(|l| *l == "[MASKED] [MASKED]"));
}

#[test]
fn mask_starting_a_write_after_a_masked_write_is_not_doubled() {
    let s = set(&["abcd1234", "1234wxyz"], false);
    assert_eq!(stream_in(&s, &["abcd1234", "wxyz"]), "[MASKED]");
    assert_eq!(
        stream_in(&s, &["abcd", "1234", "1234wxyz", "!"]),
        "[MASKED]!"
    );
    let mut m = s.stream();
    let mut out = Vec::new();
    m.write(b"abcd1234", &mut out);
    m.finish(&mut out);
    m.write(b"1234wxyz", &mut out);
    m.finish(&mut out);
    // A finished stream starts over: two streams, two masks.
    assert_eq!(out, b"[MASKED][MASKED]");
}

#[test]
fn repeated_token_prefixes_take_linear_time() {
    let s = set(&[], true);
    for unit in [
        "AKIA",
        "github_pat_",
        "glpat-",
        "rmp_",
        "xoxb-",
        "-----BEGIN PRIVATE KEY-----\n",
    ] {
        let text = unit.repeat(200_000 / unit.len());
        let started = std::time::Instant::now();
        assert_eq!(s.mask_str(&text), "[MASKED]", "{unit}");
        assert_eq!(
            stream_in(&s, &[&text[..1000], &text[1000..]]),
            "[MASKED]",
            "{unit}"
        );
        // Quadratic behaviour would take minutes; linear takes milliseconds.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{unit}"
        );
    }
    // JWT headers are not deduplicated (a later one may reach further), but
    // each is bounded by JWT_MAX_HEADER, so the cost stays linear too.
    let text = "eyJ".repeat(70_000);
    let started = std::time::Instant::now();
    assert_eq!(s.mask_str(&text), text);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn too_short_secret_is_reported() {
    let s = set(&[], false);
    let r = s.add("abc");
    assert!(r.too_short);
    assert_eq!(r.forms, 0);
    assert_eq!(s.mask_str("abc"), "abc");
    let r = s.add("line-one\nab\n{");
    assert!(!r.too_short);
    assert_eq!(r.skipped_fragments, 2);
    assert!(r.forms > 0);
    assert_eq!(s.add("line-one\nab\n{").forms, 0, "already registered");
}

// --- Property tests. ---

/// Secrets over a small alphabet so they overlap, contain each other and
/// repeat their own prefixes; never containing the mask's characters.
fn secret_strategy() -> impl Strategy<Value = Vec<u8>> {
    let base = proptest::collection::vec(prop::sample::select(b"abcAB01-\n".to_vec()), 1..14);
    (base, 0usize..4, 0usize..8).prop_map(|(mut s, mode, k)| {
        match mode {
            // Repeats its own prefix.
            0 => {
                let p = s[..k.min(s.len())].to_vec();
                s.extend(p);
            }
            // Multi-line.
            1 => s.extend_from_slice(b"\nline-two"),
            _ => {}
        }
        s
    })
}

/// Forms: the secrets, pieces of each other (contained, overlapping), and
/// short ones.
fn forms_strategy() -> impl Strategy<Value = Vec<Vec<u8>>> {
    proptest::collection::vec(secret_strategy(), 1..8).prop_flat_map(|secrets| {
        let n = secrets.len();
        let picks = proptest::collection::vec((0..n, 0usize..20, 0usize..20), 0..4);
        (Just(secrets), picks).prop_map(|(mut secrets, picks)| {
            for (i, a, b) in picks {
                let s = secrets[i].clone();
                let (a, b) = (a.min(s.len()), b.min(s.len()));
                let (a, b) = (a.min(b), a.max(b));
                if b > a {
                    // A piece of another secret, sometimes extended past it.
                    let mut piece = s[a..b].to_vec();
                    if (a + b) % 2 == 0 {
                        piece.extend_from_slice(b"Zq");
                    }
                    secrets.push(piece);
                }
            }
            secrets.sort();
            secrets.dedup();
            secrets
        })
    })
}

/// Text made of pieces: random filler, whole forms and form prefixes.
fn text_strategy(forms: Vec<Vec<u8>>) -> impl Strategy<Value = (Vec<Vec<u8>>, Vec<u8>)> {
    let n = forms.len();
    let piece = prop_oneof![
        proptest::collection::vec(prop::sample::select(b"abcAB01-\n xyz".to_vec()), 0..12)
            .prop_map(|v| (usize::MAX, v.len(), v)),
        (0..n, 0usize..40).prop_map(|(i, cut)| (i, cut, Vec::new())),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(move |pieces| {
        let mut text = Vec::new();
        for (i, cut, filler) in pieces {
            if i == usize::MAX {
                text.extend_from_slice(&filler);
            } else {
                let f = &forms[i];
                text.extend_from_slice(&f[..cut.min(f.len()).max(f.len() * (cut % 2))]);
            }
        }
        (forms.clone(), text)
    })
}

fn cuts_strategy() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0usize..400, 0..30).prop_map(|mut c| {
        c.sort_unstable();
        c
    })
}

proptest! {
    // PROPTEST_CASES raises the count for a deeper run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(600)
    ))]

    /// Streaming in random pieces = one-shot = the reference, and no form
    /// survives; with the fingerprint tier forced down to small forms, and
    /// with the default tiers.
    #[test]
    fn streaming_equals_one_shot_equals_reference(
        (forms, text) in forms_strategy().prop_flat_map(text_strategy),
        cuts in cuts_strategy(),
        threshold in prop_oneof![Just(None), (9usize..20).prop_map(Some)],
        tokens in any::<bool>(),
    ) {
        let expected = reference(&forms, &text, MASK);
        let whole = one_shot(&mut core(&forms, false, threshold), &text);
        prop_assert_eq!(&whole, &expected);
        let pieces = streamed(&mut core(&forms, false, threshold), &text, &cuts);
        prop_assert_eq!(&pieces, &expected);
        for f in &forms {
            prop_assert!(!contains(&whole, f), "form {:?} survived", String::from_utf8_lossy(f));
        }
        // Token patterns only add masking; streaming still equals one-shot.
        let with_tokens = one_shot(&mut core(&forms, tokens, threshold), &text);
        let with_tokens_streamed = streamed(&mut core(&forms, tokens, threshold), &text, &cuts);
        prop_assert_eq!(with_tokens, with_tokens_streamed);
    }

    /// One-byte writes give the same output.
    #[test]
    fn one_byte_writes(
        (forms, text) in forms_strategy().prop_flat_map(text_strategy),
        threshold in prop_oneof![Just(None), (9usize..20).prop_map(Some)],
    ) {
        let expected = reference(&forms, &text, MASK);
        let cuts: Vec<usize> = (0..text.len()).collect();
        prop_assert_eq!(streamed(&mut core(&forms, true, threshold), &text, &cuts),
                        one_shot(&mut core(&forms, true, threshold), &text));
        prop_assert_eq!(streamed(&mut core(&forms, false, threshold), &text, &cuts), expected);
    }

    /// Through the public API: real secrets with all their encodings, placed
    /// in text raw or encoded.
    #[test]
    fn secrets_in_all_encodings(
        secrets in proptest::collection::vec(secret_strategy().prop_map(|mut s| {
            s.splice(0..0, *b"Kkey");
            s
        }), 1..4),
        filler in proptest::collection::vec(proptest::collection::vec(prop::sample::select(b"abc01 =:\n".to_vec()), 0..10), 1..6),
        picks in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        cuts in cuts_strategy(),
    ) {
        let set = Arc::new(SecretSet::new(MaskConfig { mask: "<*>".into(), token_patterns: false, ..MaskConfig::default() }));
        for s in &secrets {
            set.add(&String::from_utf8_lossy(s));
        }
        let forms = set.forms();
        let mut text = Vec::new();
        for (i, f) in filler.iter().enumerate() {
            text.extend_from_slice(f);
            if let Some(p) = picks.get(i) {
                text.extend_from_slice(&forms[p.index(forms.len())]);
            }
        }
        let whole = set.mask_bytes(&text);
        prop_assert_eq!(&whole, &reference(&forms, &text, b"<*>"));
        let mut m = set.stream();
        let mut out = Vec::new();
        let mut at = 0;
        for &cut in &cuts {
            let cut = cut.clamp(at, text.len());
            m.write(&text[at..cut], &mut out);
            at = cut;
        }
        m.write(&text[at..], &mut out);
        m.finish(&mut out);
        prop_assert_eq!(&out, &whole);
        for f in &forms {
            prop_assert!(!contains(&whole, f));
        }
    }

    /// Text with token patterns and near misses, in random pieces.
    #[test]
    fn token_streams_equal_one_shot(
        parts in proptest::collection::vec(prop_oneof![
            Just(b"ghp_".to_vec()), Just(b"github_pat_".to_vec()), Just(b"glpat-".to_vec()),
            Just(b"xoxb-".to_vec()), Just(b"AKIA".to_vec()), Just(b"ASIA".to_vec()), Just(b"rmp_".to_vec()),
            Just(b"eyJhbGciOiJIUzI1NiJ9".to_vec()), Just(b"eyJ".to_vec()), Just(b".".to_vec()),
            Just(b"-----BEGIN ".to_vec()), Just(b"RSA PRIVATE KEY-----".to_vec()), Just(b"-----END ".to_vec()),
            Just(b"-----".to_vec()),
            // Bodies long enough for the patterns to accept.
            Just(b"ZZZZ0000ZZZZ9999".to_vec()),
            Just(b"aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5oQ7s".to_vec()),
            Just(b"Q".repeat(43)),
            proptest::collection::vec(prop::sample::select(b"aZ09-_/+=. \n\\".to_vec()), 0..50),
        ], 0..30),
        cuts in cuts_strategy(),
    ) {
        let text: Vec<u8> = parts.concat();
        let whole = one_shot(&mut core(&[], true, None), &text);
        prop_assert_eq!(streamed(&mut core(&[], true, None), &text, &cuts), whole.clone());
        let ones: Vec<usize> = (0..text.len()).collect();
        prop_assert_eq!(streamed(&mut core(&[], true, None), &text, &ones), whole);
    }
}
