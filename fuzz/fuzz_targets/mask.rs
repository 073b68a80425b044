//! Feeds random secrets and random text, split into random writes, to the
//! streaming masker: the output must equal one-shot masking of the whole
//! text, and no registered form may survive (unless the form contains a mask
//! character, which it may then share with a mask).

#![no_main]
#![forbid(unsafe_code)]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use rampart_mask::{MaskConfig, SecretSet};

fuzz_target!(|input: (Vec<String>, Vec<u8>, Vec<u16>, bool, u8)| {
    let (secrets, text, cuts, tokens, min_len) = input;
    let config = MaskConfig {
        token_patterns: tokens,
        min_len: usize::from(min_len % 8) + 1,
        ..MaskConfig::default()
    };
    let set = Arc::new(SecretSet::new(config));
    for secret in secrets.iter().take(8) {
        let secret: String = secret.chars().take(64).collect();
        let registration = set.add(&secret);
        assert_eq!(
            registration.too_short,
            registration.forms == 0 && secret.trim().len() < set.config().min_len
        );
    }
    let whole = set.mask_bytes(&text);

    let mut cuts: Vec<usize> = cuts
        .iter()
        .map(|&c| usize::from(c) % (text.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut masker = set.stream();
    let mut streamed = Vec::new();
    let mut at = 0;
    for cut in cuts {
        masker.write(&text[at..cut], &mut streamed);
        at = cut;
    }
    masker.write(&text[at..], &mut streamed);
    masker.finish(&mut streamed);
    assert!(streamed == whole, "streaming differs from one-shot masking");

    let mask = set.config().mask.as_bytes();
    for form in set.forms() {
        if form.iter().any(|b| mask.contains(b)) {
            continue;
        }
        assert!(
            !whole.windows(form.len()).any(|w| w == form.as_slice()),
            "a registered form survived masking"
        );
    }
});
