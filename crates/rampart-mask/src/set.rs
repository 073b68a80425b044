//! The shared, growable set of secrets.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::forms;
use crate::matcher::Matcher;
use crate::stream::{Core, StreamMasker};

/// How a [`SecretSet`] masks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskConfig {
    /// What replaces each masked run of bytes.
    pub mask: String,
    /// Shortest form or fragment (in bytes) that is masked; shorter ones are
    /// reported, never masked, so a short line cannot turn a log into
    /// asterisks. Values below 1 count as 1.
    pub min_len: usize,
    /// Whether well-known token patterns (JWTs, PEM private keys, GitHub,
    /// GitLab, Slack, AWS and Rampart tokens) are masked too.
    pub token_patterns: bool,
}

impl Default for MaskConfig {
    fn default() -> Self {
        MaskConfig {
            mask: DEFAULT_MASK.to_owned(),
            min_len: 4,
            token_patterns: true,
        }
    }
}

/// The default mask.
pub const DEFAULT_MASK: &str = "**************";

/// What [`SecretSet::add`] registered, so a caller can warn about secrets
/// that cannot be masked safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Registration {
    /// Forms newly registered by this call (0 when the secret was known).
    pub forms: usize,
    /// The secret (trimmed) is shorter than [`MaskConfig::min_len`]: nothing
    /// was registered and it will *not* be masked.
    pub too_short: bool,
    /// Parts of the secret (lines, JSON values, encodings) shorter than the
    /// minimum, left unmasked on their own.
    pub skipped_fragments: usize,
}

/// Every secret a run must not leak, in all the forms it can take.
///
/// Shared between threads as `Arc<SecretSet>`; [`SecretSet::add`] may be
/// called while [`StreamMasker`]s are running, and each of them applies the
/// new secret to every byte it has not released yet.
pub struct SecretSet {
    config: MaskConfig,
    generation: AtomicU64,
    state: Mutex<State>,
}

struct State {
    forms: BTreeSet<Vec<u8>>,
    /// The matcher for the generation it was compiled at.
    compiled: Option<(u64, Arc<Matcher>)>,
}

impl std::fmt::Debug for SecretSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the forms: they are the secrets.
        f.debug_struct("SecretSet")
            .field("config", &self.config)
            .field("forms", &self.lock().forms.len())
            .finish()
    }
}

impl SecretSet {
    pub fn new(config: MaskConfig) -> SecretSet {
        SecretSet {
            config,
            generation: AtomicU64::new(0),
            state: Mutex::new(State {
                forms: BTreeSet::new(),
                compiled: None,
            }),
        }
    }

    pub fn config(&self) -> &MaskConfig {
        &self.config
    }

    /// Registers `secret` in all its forms (see the crate documentation).
    pub fn add(&self, secret: &str) -> Registration {
        let derived = forms::derive(secret, self.config.min_len);
        let mut state = self.lock();
        let before = state.forms.len();
        state.forms.extend(derived.forms);
        let added = state.forms.len() - before;
        if added > 0 {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        Registration {
            forms: added,
            too_short: derived.too_short,
            skipped_fragments: derived.skipped,
        }
    }

    /// Number of distinct forms registered.
    pub fn form_count(&self) -> usize {
        self.lock().forms.len()
    }

    /// Every registered form. They are secrets: for tests and diagnostics
    /// that must not print them.
    pub fn forms(&self) -> Vec<Vec<u8>> {
        self.lock().forms.iter().cloned().collect()
    }

    /// How the current forms are searched (tiers, stride, sizes); contains no
    /// secret. For benchmark records.
    pub fn describe(&self) -> String {
        self.matcher().1.describe()
    }

    /// Masks `text` in one piece.
    pub fn mask_bytes(&self, text: &[u8]) -> Vec<u8> {
        let (generation, matcher) = self.matcher();
        let mut core = Core::new(generation, matcher, self.config.mask.as_bytes());
        let mut out = Vec::with_capacity(text.len());
        core.write(text, &mut out);
        core.finish(&mut out);
        out
    }

    /// Masks `text` in one piece.
    pub fn mask_str(&self, text: &str) -> String {
        match String::from_utf8(self.mask_bytes(text.as_bytes())) {
            Ok(s) => s,
            // Forms are whole UTF-8 strings or ASCII, so masking valid UTF-8
            // keeps it valid; this arm is only a guard.
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }

    /// A masker for one output stream.
    pub fn stream(self: &Arc<Self>) -> StreamMasker {
        StreamMasker::new(Arc::clone(self))
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The matcher for the current forms, compiled once per generation.
    pub(crate) fn matcher(&self) -> (u64, Arc<Matcher>) {
        let mut state = self.lock();
        let generation = self.generation();
        if let Some((g, m)) = &state.compiled
            && *g == generation
        {
            return (generation, Arc::clone(m));
        }
        let forms = state
            .forms
            .iter()
            .map(|f| f.clone().into_boxed_slice())
            .collect();
        let matcher = Arc::new(Matcher::new(forms, self.config.token_patterns));
        state.compiled = Some((generation, Arc::clone(&matcher)));
        (generation, matcher)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the form set half
        // updated (`extend` on a BTreeSet of owned values), so keep going.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
