//! Feeds arbitrary text to every lockfile and manifest parser (the first
//! byte picks which): lockfiles come from the repositories being built, so
//! none may panic, loop or overflow the stack on any input.

#![no_main]
#![forbid(unsafe_code)]

use libfuzzer_sys::fuzz_target;
use rampart_supply::sbom::parse_file;

const FILES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "uv.lock",
    "Pipfile.lock",
    "go.mod",
    "pom.xml",
    "gradle.lockfile",
    "Gemfile.lock",
    "requirements.txt",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let file = FILES[usize::from(pick) % FILES.len()];
    let _ = parse_file(file, text);
});
