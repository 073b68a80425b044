//! Finding every occurrence of every form, fast.
//!
//! A [`Matcher`] is compiled from a snapshot of the registered forms and
//! answers one question about a slice of text: where does each form occur
//! (overlapping occurrences included), where does each token prefix occur,
//! and where does the longest suffix that is still the beginning of a form
//! start. It has three parts, chosen per snapshot by a small cost model:
//!
//! * **Sampled fingerprints** for the *long* forms (at least `m` bytes, `m` ≥ 9):
//!   every 8-byte window of every long form is hashed into a bitmap, and the
//!   text is probed only at every `stride = m - 7`-th position. Any occurrence
//!   of a long form spans `m - 7` consecutive window starts, so it contains a
//!   probed window; a probe whose bit is set looks its window up in a bucket
//!   table of (window, form, offset) entries and compares the candidate form
//!   in full. The bitmap has about 64 bits per window, so few probes go past
//!   it, and the cost per text byte is about one multiply and one load per
//!   `stride` bytes, whatever the number of forms.
//! * A **multi-literal search** for the *short* forms and the token prefixes:
//!   `aho-corasick`'s packed Teddy searcher (SIMD) while there are few enough
//!   literals for it to stay fast, otherwise an Aho–Corasick automaton.
//! * A **prefix index** (sorted form prefixes up to `m - 1` bytes, with a
//!   two-byte bitmap in front) that finds short partial matches at the end of
//!   the text; partial matches of `m` bytes or more contain a probed window
//!   and are found by the fingerprint tier itself.

use aho_corasick::{AhoCorasick, MatchKind, packed};

use crate::tokens::ANCHORS;

/// Bytes in a fingerprinted window.
const WINDOW: usize = 8;
/// Multiplier of the window hash (Fibonacci hashing: the top bits are used).
const HASH_K: u64 = 0x9E37_79B9_7F4A_7C15;
/// Most literals the Teddy searcher is given; beyond this its false-positive
/// rate climbs and an automaton is used instead.
const TEDDY_MAX: usize = 28;

/// What a literal in the multi-literal search stands for.
#[derive(Clone, Copy, Debug)]
enum Lit {
    Form,
    Anchor(u8),
}

/// Matches found in one slice, in slice offsets.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Complete occurrences of forms, as `(start, end)`.
    pub lits: Vec<(usize, usize)>,
    /// Token prefixes, as `(start, index into ANCHORS)`.
    pub anchors: Vec<(usize, usize)>,
    /// Start of the longest suffix that is a proper prefix of a form or token
    /// prefix, when asked for.
    pub partial: Option<usize>,
}

impl Found {
    pub(crate) fn clear(&mut self) {
        self.lits.clear();
        self.anchors.clear();
        self.partial = None;
    }

    fn note_partial(&mut self, at: usize) {
        self.partial = Some(self.partial.map_or(at, |p| p.min(at)));
    }
}

/// A compiled snapshot of the forms.
pub(crate) struct Matcher {
    forms: Vec<Box<[u8]>>,
    max_form_len: usize,
    sampled: Option<Sampled>,
    short: Short,
    prefixes: PrefixIndex,
}

enum Short {
    None,
    Teddy {
        searcher: packed::Searcher,
        lits: Vec<(Box<[u8]>, Lit)>,
    },
    Automaton {
        ac: AhoCorasick,
        lits: Vec<(Box<[u8]>, Lit)>,
    },
    Naive {
        lits: Vec<(Box<[u8]>, Lit)>,
    },
}

impl Matcher {
    /// Compiles `forms` (distinct, non-empty), with the token prefixes when
    /// `tokens` is on.
    pub(crate) fn new(forms: Vec<Box<[u8]>>, tokens: bool) -> Matcher {
        let anchors = if tokens { ANCHORS.len() } else { 0 };
        let m = choose_threshold(&forms, anchors);
        Matcher::with_threshold(forms, tokens, m)
    }

    /// Compiles with forms of `m` bytes or more (`m` > 8) in the fingerprint
    /// tier.
    pub(crate) fn with_threshold(forms: Vec<Box<[u8]>>, tokens: bool, m: usize) -> Matcher {
        let m = m.max(WINDOW + 1);
        let max_form_len = forms.iter().map(|f| f.len()).max().unwrap_or(0);
        let mut lits: Vec<(Box<[u8]>, Lit)> = Vec::new();
        let mut long = Vec::new();
        for (id, form) in forms.iter().enumerate() {
            if form.len() >= m {
                long.push(id as u32);
            } else {
                lits.push((form.clone(), Lit::Form));
            }
        }
        if tokens {
            for (i, a) in ANCHORS.iter().enumerate() {
                lits.push((a.search.into(), Lit::Anchor(i as u8)));
            }
        }
        // Partial matches as long as the shortest long form contain a probed
        // window; shorter ones are the prefix index's job.
        let m = long
            .iter()
            .map(|&id| forms[id as usize].len())
            .min()
            .unwrap_or(m);
        let sampled = (!long.is_empty()).then(|| Sampled::new(&forms, &long));
        let short = Short::new(lits);
        let mut entries: Vec<(Box<[u8]>, bool)> = Vec::new();
        for form in &forms {
            if form.len() >= m {
                entries.push((form[..m - 1].into(), true));
            } else {
                entries.push((form.clone(), false));
            }
        }
        if tokens {
            entries.extend(ANCHORS.iter().map(|a| (Box::from(a.prefix), true)));
        }
        Matcher {
            forms,
            max_form_len,
            sampled,
            short,
            prefixes: PrefixIndex::new(entries),
        }
    }

    /// Longest text a match can start in and still need: the junction of two
    /// writes is scanned over this many bytes past the held-back part.
    pub(crate) fn reach(&self) -> usize {
        let prefixes = ANCHORS.iter().map(|a| a.prefix.len()).max().unwrap_or(0);
        self.max_form_len.max(prefixes)
    }

    /// Finds in `text` the form occurrences and token prefixes that start
    /// before `start_limit`, and, when `at_end` (nothing known after `text`
    /// yet), the start of the longest partial match at its end.
    pub(crate) fn scan(&self, text: &[u8], start_limit: usize, at_end: bool, found: &mut Found) {
        if let Some(sampled) = &self.sampled {
            sampled.scan(&self.forms, text, start_limit, at_end, found);
        }
        self.short.scan(text, start_limit, found);
        if at_end && let Some(p) = self.prefixes.partial(text) {
            found.note_partial(p);
        }
    }

    /// The compiled parts, for the benchmarks' record.
    pub(crate) fn describe(&self) -> String {
        let short = match &self.short {
            Short::None => "none".to_owned(),
            Short::Teddy { lits, .. } => format!("teddy({})", lits.len()),
            Short::Automaton { lits, .. } => format!("aho-corasick({})", lits.len()),
            Short::Naive { lits } => format!("naive({})", lits.len()),
        };
        match &self.sampled {
            Some(s) => format!(
                "sampled(stride {}, {} windows, {} KiB bitmap) + {short}",
                s.stride,
                s.entries.len(),
                s.bitmap.len() * 8 / 1024
            ),
            None => format!("no sampled tier + {short}"),
        }
    }
}

/// Picks `m`, the length from which a form goes to the fingerprint tier.
///
/// Cost model, in nanoseconds per text byte as measured on the CI machine: a
/// probe costs about 1.2 ns (so `1.2 / stride`), the Teddy pass about 0.07
/// with up to 17 literals and 0.01 more per further literal (its false
/// positives grow), an automaton about 2. Token prefixes always need the
/// literal pass, so with them on a few short forms ride along cheaply.
fn choose_threshold(forms: &[Box<[u8]>], anchors: usize) -> usize {
    let mut lens: Vec<usize> = forms.iter().map(|f| f.len()).collect();
    lens.sort_unstable();
    let cost = |m: usize| -> f64 {
        let short = lens.partition_point(|&l| l < m);
        let sampled = if short < lens.len() {
            1.2 / (m - (WINDOW - 1)) as f64
        } else {
            0.0
        };
        let literals = short + anchors;
        let pass = if literals == 0 {
            0.0
        } else if literals <= TEDDY_MAX {
            0.07 + 0.01 * literals.saturating_sub(17) as f64
        } else {
            2.0
        };
        sampled + pass
    };
    let mut best = usize::MAX;
    let mut best_cost = cost(best);
    for &m in &lens {
        if m > WINDOW && cost(m) < best_cost {
            best = m;
            best_cost = cost(m);
        }
    }
    best
}

fn load(text: &[u8], at: usize) -> u64 {
    let mut w = [0u8; WINDOW];
    w.copy_from_slice(&text[at..at + WINDOW]);
    u64::from_le_bytes(w)
}

/// The fingerprint tier.
struct Sampled {
    stride: usize,
    /// `64 - log2(bitmap bits)`.
    shift: u32,
    bitmap: Vec<u64>,
    /// `64 - log2(buckets)`.
    bucket_shift: u32,
    /// Entry ranges per bucket (`buckets[b]..buckets[b + 1]`).
    buckets: Vec<u32>,
    /// `(window, form, offset of the window in the form)`, grouped by bucket.
    entries: Vec<(u64, u32, u32)>,
}

impl Sampled {
    fn new(forms: &[Box<[u8]>], long: &[u32]) -> Sampled {
        let min_len = long
            .iter()
            .map(|&id| forms[id as usize].len())
            .min()
            .unwrap_or(WINDOW + 1);
        let mut entries = Vec::new();
        for &id in long {
            let form = &forms[id as usize];
            for offset in 0..=form.len() - WINDOW {
                entries.push((load(form, offset), id, offset as u32));
            }
        }
        let log2 = |n: usize| usize::BITS - n.max(1).saturating_sub(1).leading_zeros();
        let bits = log2(entries.len() * 64).clamp(15, 28);
        let bucket_bits = log2(entries.len()).clamp(1, bits);
        let shift = 64 - bits;
        let bucket_shift = 64 - bucket_bits;
        let mut bitmap = vec![0u64; 1 << (bits - 6)];
        for &(w, _, _) in &entries {
            let h = w.wrapping_mul(HASH_K);
            let bit = (h >> shift) as usize;
            bitmap[bit >> 6] |= 1 << (bit & 63);
        }
        let bucket = |w: u64| (w.wrapping_mul(HASH_K) >> bucket_shift) as usize;
        entries.sort_unstable_by_key(|&(w, id, off)| (bucket(w), w, id, off));
        let mut buckets = vec![0u32; (1 << bucket_bits) + 1];
        for &(w, _, _) in &entries {
            buckets[bucket(w) + 1] += 1;
        }
        for i in 1..buckets.len() {
            buckets[i] += buckets[i - 1];
        }
        Sampled {
            stride: min_len - (WINDOW - 1),
            shift,
            bitmap,
            bucket_shift,
            buckets,
            entries,
        }
    }

    fn scan(
        &self,
        forms: &[Box<[u8]>],
        text: &[u8],
        start_limit: usize,
        at_end: bool,
        found: &mut Found,
    ) {
        let n = text.len();
        if n < WINDOW {
            return;
        }
        let last = n - WINDOW;
        let mask = self.bitmap.len() - 1;
        let mut q = 0;
        while q <= last {
            let w = load(text, q);
            let h = w.wrapping_mul(HASH_K);
            let bit = (h >> self.shift) as usize;
            if self.bitmap[(bit >> 6) & mask] & (1 << (bit & 63)) != 0 {
                self.verify(forms, text, q, w, h, start_limit, at_end, found);
            }
            q += self.stride;
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[cold]
    fn verify(
        &self,
        forms: &[Box<[u8]>],
        text: &[u8],
        q: usize,
        w: u64,
        h: u64,
        start_limit: usize,
        at_end: bool,
        found: &mut Found,
    ) {
        let b = (h >> self.bucket_shift) as usize;
        let range = self.buckets[b] as usize..self.buckets[b + 1] as usize;
        for &(window, id, offset) in &self.entries[range] {
            if window != w || (offset as usize) > q {
                continue;
            }
            let start = q - offset as usize;
            if start >= start_limit {
                continue;
            }
            let form = &forms[id as usize];
            let end = start + form.len();
            if end <= text.len() {
                if text[start..end] == form[..] {
                    found.lits.push((start, end));
                }
            } else if at_end && text[start..] == form[..text.len() - start] {
                found.note_partial(start);
            }
        }
    }
}

impl Short {
    fn new(lits: Vec<(Box<[u8]>, Lit)>) -> Short {
        if lits.is_empty() {
            return Short::None;
        }
        if lits.len() <= TEDDY_MAX {
            let mut builder = packed::Config::new().builder();
            for (bytes, _) in &lits {
                builder.add(bytes);
            }
            if let Some(searcher) = builder.build() {
                return Short::Teddy { searcher, lits };
            }
        }
        match AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(lits.iter().map(|(b, _)| b))
        {
            Ok(ac) => Short::Automaton { ac, lits },
            // Only a literal set beyond the automaton's size limits fails to
            // build; the literals are then compared at every position.
            Err(_) => Short::Naive { lits },
        }
    }

    fn scan(&self, text: &[u8], start_limit: usize, found: &mut Found) {
        match self {
            Short::None => {}
            Short::Teddy { searcher, lits } => {
                let mut at = 0;
                while at < text.len() {
                    let Some(m) = searcher.find_in(text, aho_corasick::Span::from(at..text.len()))
                    else {
                        break;
                    };
                    let s = m.start();
                    for (bytes, lit) in lits {
                        if text[s..].starts_with(bytes) {
                            note_literal(text, s, bytes.len(), *lit, start_limit, found);
                        }
                    }
                    at = s + 1;
                }
            }
            Short::Naive { lits } => {
                for s in 0..text.len() {
                    for (bytes, lit) in lits {
                        if text[s..].starts_with(bytes) {
                            note_literal(text, s, bytes.len(), *lit, start_limit, found);
                        }
                    }
                }
            }
            Short::Automaton { ac, lits } => {
                for m in ac.find_overlapping_iter(text) {
                    let (bytes, lit) = &lits[m.pattern().as_usize()];
                    note_literal(text, m.start(), bytes.len(), *lit, start_limit, found);
                }
            }
        }
    }
}

fn note_literal(
    text: &[u8],
    s: usize,
    len: usize,
    lit: Lit,
    start_limit: usize,
    found: &mut Found,
) {
    match lit {
        Lit::Form => {
            if s < start_limit {
                found.lits.push((s, s + len));
            }
        }
        Lit::Anchor(i) => {
            let a = &ANCHORS[usize::from(i)];
            if s >= a.offset {
                let start = s - a.offset;
                if start < start_limit && text[start..].starts_with(a.prefix) {
                    found.anchors.push((start, usize::from(i)));
                }
            }
        }
    }
}

/// Sorted prefixes of forms and token prefixes, to find a partial match at
/// the end of the text.
struct PrefixIndex {
    /// `(prefix, whether something longer follows it in its form)`, sorted.
    entries: Vec<(Box<[u8]>, bool)>,
    /// First bytes of the entries.
    first: [u64; 4],
    /// First two bytes of the entries (65536 bits).
    pairs: Vec<u64>,
    depth: usize,
}

impl PrefixIndex {
    fn new(mut entries: Vec<(Box<[u8]>, bool)>) -> PrefixIndex {
        entries.sort_unstable();
        entries.dedup_by(|b, a| {
            if a.0 == b.0 {
                a.1 |= b.1;
                true
            } else {
                false
            }
        });
        let mut first = [0u64; 4];
        let mut pairs = vec![0u64; 1024];
        for (e, _) in &entries {
            if let Some(&b) = e.first() {
                first[usize::from(b >> 6)] |= 1 << (b & 63);
            }
            if e.len() >= 2 {
                let p = usize::from(e[0]) << 8 | usize::from(e[1]);
                pairs[p >> 6] |= 1 << (p & 63);
            }
        }
        let depth = entries.iter().map(|(e, _)| e.len()).max().unwrap_or(0);
        PrefixIndex {
            entries,
            first,
            pairs,
            depth,
        }
    }

    /// The smallest `i` such that `text[i..]` is a proper prefix of a form (or
    /// of a token prefix), among the last `depth` positions (a truncated
    /// entry is itself a proper prefix).
    fn partial(&self, text: &[u8]) -> Option<usize> {
        let n = text.len();
        let from = n.saturating_sub(self.depth);
        (from..n).find(|&i| self.is_proper_prefix(&text[i..]))
    }

    fn is_proper_prefix(&self, x: &[u8]) -> bool {
        let b0 = x[0];
        if self.first[usize::from(b0 >> 6)] & (1 << (b0 & 63)) == 0 {
            return false;
        }
        if x.len() >= 2 {
            let p = usize::from(b0) << 8 | usize::from(x[1]);
            if self.pairs[p >> 6] & (1 << (p & 63)) == 0 {
                return false;
            }
        }
        let at = self.entries.partition_point(|(e, _)| e.as_ref() < x);
        self.entries[at..]
            .iter()
            .take_while(|(e, _)| e.starts_with(x))
            .any(|(e, more)| e.len() > x.len() || *more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(forms: &[&str], tokens: bool) -> Matcher {
        Matcher::new(
            forms.iter().map(|f| Box::from(f.as_bytes())).collect(),
            tokens,
        )
    }

    fn lits(m: &Matcher, text: &str) -> Vec<(usize, usize)> {
        let mut found = Found::default();
        m.scan(text.as_bytes(), text.len(), true, &mut found);
        found.lits.sort_unstable();
        found.lits.dedup();
        found.lits
    }

    #[test]
    fn finds_overlapping_occurrences_in_both_tiers() {
        let long = "abcdefghijklmnopqrstuvwx";
        let forms = [long, "ijklmnopqrstuvwxyz0123456789", "abc1", "c1ab"];
        let m = Matcher::with_threshold(
            forms.iter().map(|f| Box::from(f.as_bytes())).collect(),
            false,
            20,
        );
        assert!(m.sampled.is_some());
        assert!(matches!(m.short, Short::Teddy { .. }));
        let text = format!("..{long}yz0123456789..abc1ab");
        assert_eq!(lits(&m, &text), vec![(2, 26), (10, 38), (40, 44), (42, 46)]);
    }

    #[test]
    fn partial_matches_at_the_end_in_both_tiers() {
        let forms = ["abcdefghijklmnopqrstuvwy", "zz-short"];
        let m = Matcher::with_threshold(
            forms.iter().map(|f| Box::from(f.as_bytes())).collect(),
            true,
            20,
        );
        let mut found = Found::default();
        for (text, partial) in [
            ("xx abcdefghijklmnop", Some(3)),
            ("xx abcd", Some(3)),
            ("xx zz-sh", Some(3)),
            ("xx zz-short", None),
            ("log line\n", None),
            ("key ghp", Some(4)),
            ("pem -----BEG", Some(4)),
            ("xx abcdefghijklmnopqrstuvwy", None),
            ("xx abcdefghijklmnopqrstuvwy-x", Some(28)),
        ] {
            found.clear();
            m.scan(text.as_bytes(), text.len(), true, &mut found);
            assert_eq!(found.partial, partial, "{text:?}");
        }
    }

    #[test]
    fn anchors_are_reported_with_their_lookbehind() {
        let m = matcher(&[], true);
        let mut found = Found::default();
        let text = b"a -----BEGIN x github_pat_y BEGIN z";
        m.scan(text, text.len(), true, &mut found);
        let starts: Vec<usize> = found.anchors.iter().map(|a| a.0).collect();
        assert_eq!(starts, vec![2, 15]);
    }

    #[test]
    fn threshold_keeps_few_short_forms_in_teddy_and_many_in_the_sampled_tier() {
        let forms = |n: usize, len: usize| -> Vec<Box<[u8]>> {
            (0..n)
                .map(|i| format!("{i:0len$}").into_bytes().into())
                .collect()
        };
        // Two short forms ride along with the token prefixes.
        let mut mixed = forms(2, 10);
        mixed.extend(forms(60, 30));
        assert_eq!(choose_threshold(&mixed, ANCHORS.len()), 30);
        // Too many for Teddy: all go to the sampled tier.
        assert_eq!(choose_threshold(&forms(100, 14), ANCHORS.len()), 14);
        // Under 9 bytes nothing can be sampled.
        assert_eq!(choose_threshold(&forms(100, 4), 0), usize::MAX);
    }

    #[test]
    fn many_short_forms_use_the_automaton() {
        let forms: Vec<String> = (0..40).map(|i| format!("s{i:03}")).collect();
        let refs: Vec<&str> = forms.iter().map(String::as_str).collect();
        let m = matcher(&refs, true);
        assert!(matches!(m.short, Short::Automaton { .. }));
        assert_eq!(
            lits(&m, "xx s007s008 s039"),
            vec![(3, 7), (7, 11), (12, 16)]
        );
    }
}
