//! Masks a generated CI log as a pipe filter would: the log is produced in
//! 64 KiB pieces (never held whole), each piece is written to one
//! `StreamMasker` and its output dropped. Prints the number of forms, the
//! matcher's layout and the masking throughput (time spent in `write` only).
//! Run under `/usr/bin/time -v` for the peak memory of the whole process:
//!
//! `cargo run --release -p rampart-mask --example mask_log -- 1000 1024`
//! (secrets, MiB of log).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart_mask::{MaskConfig, SecretSet};

#[path = "../benches/support/corpus.rs"]
mod corpus;

fn main() {
    let mut args = std::env::args().skip(1);
    let secrets: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(256);
    let all = corpus::secrets(secrets, 7);
    let set = Arc::new(SecretSet::new(MaskConfig::default()));
    let built = Instant::now();
    for s in &all {
        set.add(s);
    }
    eprintln!(
        "{secrets} secrets, {} forms: {} (compiled in {:?})",
        set.form_count(),
        set.describe(),
        built.elapsed()
    );
    let mut log = corpus::LogGen::new(all, 11);
    let mut masker = set.stream();
    let mut piece = Vec::with_capacity(128 << 10);
    let mut out = Vec::with_capacity(128 << 10);
    let (mut input, mut output) = (0usize, 0usize);
    let mut spent = Duration::ZERO;
    while input < mib << 20 {
        piece.clear();
        log.fill(&mut piece, 64 << 10);
        let t = Instant::now();
        masker.write(&piece, &mut out);
        spent += t.elapsed();
        input += piece.len();
        output += out.len();
        out.clear();
    }
    masker.finish(&mut out);
    output += out.len();
    let masks = output as f64 / input as f64;
    eprintln!(
        "masked {} MiB in {:.3} s: {:.0} MB/s (output/input {masks:.4})",
        input >> 20,
        spent.as_secs_f64(),
        input as f64 / spent.as_secs_f64() / 1e6
    );
}
