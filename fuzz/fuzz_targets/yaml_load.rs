//! Feeds arbitrary UTF-8 to the pipeline loader and validates every pipeline
//! it yields, with and without a secret store: errors are expected, panics
//! are bugs.

#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use rampart_pipeline::{ValidateOptions, load, validate};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(pipelines) = load("fuzz.yaml", src, None) else {
        return;
    };
    let with_secrets = ValidateOptions {
        secrets_available: true,
    };
    for pipeline in pipelines {
        let _ = validate("fuzz.yaml", pipeline.clone(), &ValidateOptions::default());
        let _ = validate("fuzz.yaml", pipeline, &with_secrets);
    }
});
