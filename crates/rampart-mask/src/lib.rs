//! Streaming secret masker (DESIGN.md §4, invariant 2).
//!
//! Every byte a step prints passes through a [`StreamMasker`] before it
//! reaches a terminal, a stored log or an event. The masker replaces every
//! occurrence of every registered secret, in every form the secret can take
//! in a log, and of well-known token patterns, by a fixed mask — however the
//! output is split into writes.
//!
//! It deliberately does no I/O and no async, and knows nothing of steps or
//! runs: callers own the streams. Entry points: [`SecretSet`] (shared as
//! `Arc<SecretSet>`, growable while streams run; [`SecretSet::add`] reports
//! secrets too short to mask), [`SecretSet::mask_str`] /
//! [`SecretSet::mask_bytes`] (one-shot) and [`SecretSet::stream`] →
//! [`StreamMasker`].
//!
//! # Semantics
//!
//! *One-shot masking* of a text: find every occurrence of every registered
//! form and every token-pattern match in the whole text (overlapping ones
//! included); take the union of the byte ranges they cover; replace each
//! maximal run of covered bytes — so overlapping **and adjacent** matches
//! merge — by one mask; keep every other byte, in order. Nothing depends on
//! the order secrets were added in, so `secret` registered before
//! `secret-extended-part` still masks all of the longer one, and
//! `abcXYZ` + `XYZdef` mask `--abcXYZdef--` as `--<mask>--`.
//!
//! *Streaming* gives byte-identical output for every way of splitting the
//! input into writes, 1-byte writes included. A byte is released as soon as
//! it is known whether it is masked: bytes are held back only while they can
//! still be part of a match, that is from the start of the longest suffix of
//! the input that is a proper prefix of some form or token prefix, or from
//! the start of a token whose pattern has not decided yet. So a write that
//! ends with a newline and no partial match releases everything. Holding back
//! is bounded by the longest form, and by [`MAX_TOKEN_HOLD`] bytes for token
//! patterns (a JWT header waiting for its `.`). A masked run that continues
//! into the next write gets no second mask; a secret added to the set while
//! a stream runs applies to every byte that stream has not released.
//!
//! An occurrence of a form can still appear in the output only where it
//! overlaps a mask: when the form itself contains the mask's characters.
//!
//! # Forms
//!
//! A secret is decomposed into values: itself; its trimmed text; each line
//! (`\n` or `\r\n` separated) of a multi-line secret; each string value of a
//! JSON object or array secret (recursively); each base64 body line of a PEM
//! block (the armor and `Proc-Type`/`DEK-Info` lines are not secret); and
//! the password of a URL with credentials (as written and percent-decoded).
//! Each value is registered raw, as base64 (standard and URL-safe; at the
//! three byte alignments, as the run of characters that depend on the value
//! alone, and, for when the value ends the encoded data, with its last
//! character and with `=` padding), as hex (lower and upper case),
//! percent-encoded (RFC 3986 upper and lower case, `encodeURIComponent`, and
//! `+` for spaces), JSON-escaped (serde's, ASCII-only `\uXXXX`, and both with
//! `\/`), and shell-quoted (inside single quotes, `'\''` and `'"'"'`; inside
//! double quotes, `\` `"` `$` `` ` `` escaped). A value or form shorter than
//! [`MaskConfig::min_len`] is skipped and counted in
//! [`Registration::skipped_fragments`]; a secret whose trimmed text is too
//! short registers nothing and says so in [`Registration::too_short`].
//!
//! # Token patterns
//!
//! On by default ([`MaskConfig::token_patterns`]), with or without secrets:
//! JWTs whose header decodes to JSON with `"alg"`, PEM private key blocks,
//! GitHub (`ghp_` `gho_` `ghu_` `ghs_` `ghr_` `github_pat_`), GitLab
//! (`glpat-`), Slack (`xox[abprs]-`), AWS access key ids (`AKIA`/`ASIA`)
//! with the secret access key that follows them, and Rampart's own tokens
//! ([`RAMPART_TOKEN_PREFIX`]). The exact patterns are in the `tokens` module.
//!
//! # Design (why it is fast)
//!
//! A plain Aho–Corasick automaton over the forms of 10 to 1,000 secrets runs
//! at 0.1–0.3 GB/s on a CI log here, and most of that time is spent
//! establishing that ordinary log bytes match nothing. This crate instead
//! compiles a [`SecretSet`] snapshot into three parts (the `matcher` module):
//!
//! 1. **Sampled 8-byte fingerprints** (Wu–Manber style) for the forms of at
//!    least `m` bytes: every 8-byte window of every such form sets a bit in a
//!    bitmap (~64 bits per window, so a probe of ordinary text rarely finds
//!    its bit set). The text is probed only every `m - 7` bytes — any
//!    occurrence of a form of `m` bytes or more contains a probed window —
//!    with one multiply and one bitmap load per probe; a set bit is confirmed
//!    by an exact lookup of the window in a bucket table and a full
//!    comparison of each candidate form. The cost per byte barely depends on
//!    the number of forms, only on the shortest long form.
//! 2. **One SIMD multi-literal pass** (`aho-corasick`'s packed Teddy) for the
//!    token prefixes plus the forms shorter than `m`, while there are at most
//!    28 literals; a full Aho–Corasick automaton otherwise. The prefixes are
//!    chosen to be rare in logs (`BEGIN ` with `-----` checked behind it
//!    rather than `---`; `_pat_` rather than `git`).
//! 3. A **prefix index** (sorted prefixes behind a two-byte bitmap) for the
//!    partial match at the end of a write; partial matches of `m` bytes or
//!    more are caught by the fingerprints themselves.
//!
//! `m` is chosen per snapshot by a cost model measured on the CI machine
//! (probe ≈ 1.2 ns; Teddy pass ≈ 0.07 ns/byte plus 0.01 per literal beyond
//! 17; automaton ≈ 2 ns/byte): a few short forms ride along in the Teddy
//! pass the token prefixes need anyway, which lets the probe stride grow.
//! Measured alternatives: Teddy alone cannot hold more than a few dozen
//! literals without drowning in false candidates; an unrolled probe loop and
//! prefetching passes did not help; 4-byte windows would let hex strings in
//! logs (commit hashes) hit hex forms. Token bodies are read by small
//! resumable state machines started at each prefix. Across writes only the
//! held-back bytes plus the next chunk's first "longest form" bytes are
//! copied (the junction); the rest of a chunk is scanned where it lies and
//! copied once, to the output. `BENCHMARKS.md` has the figures.

#![forbid(unsafe_code)]

mod forms;
mod matcher;
mod set;
mod stream;
mod tokens;

#[cfg(test)]
mod tests;

pub use set::{DEFAULT_MASK, MaskConfig, Registration, SecretSet};
pub use stream::StreamMasker;
pub use tokens::{
    AWS_SECRET_WINDOW, JWT_MAX_HEADER, MAX_TOKEN_HOLD, RAMPART_TOKEN_MIN_BODY, RAMPART_TOKEN_PREFIX,
};
