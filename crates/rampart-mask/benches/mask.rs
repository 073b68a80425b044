//! Masking throughput on a 64 MiB generated CI log with 10, 100 and 1,000
//! secrets (each registered with all its forms), beside two baselines in the
//! same run: a naive masker that replaces each form in turn, and a plain
//! `aho-corasick` streaming replacer over the same forms.
//!
//! `cargo bench -p rampart-mask --bench mask`. Throughput is of input bytes.
//! The masker is fed 64 KiB writes, as a pipe reader would, and its output
//! goes to a buffer cleared after each write. Two ways:
//!
//! * `rampart-mask`: each 64 KiB piece of the log is first copied into the
//!   read buffer (as `read(2)` does; not timed), so the masker sees it in
//!   cache, as it does behind a pipe;
//! * `rampart-mask-cold`: the masker reads the pieces straight from the
//!   64 MiB log in memory (everything timed), so its first pass over each
//!   piece waits on memory.
//!
//! The naive baseline runs on a prefix of the log (16 MiB for 10 secrets,
//! less for more; it would take minutes on all of it); MB/s compare all the
//! same.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aho_corasick::AhoCorasick;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rampart_mask::{MaskConfig, SecretSet};

#[path = "support/corpus.rs"]
mod corpus;

const LOG_SIZE: usize = 64 << 20;
const CHUNK: usize = 64 << 10;
const MASK: &[u8] = b"**************";

/// Replaces each form in turn, as several CIs do.
fn naive(forms: &[Vec<u8>], text: &[u8]) -> Vec<u8> {
    let mut text = text.to_vec();
    for form in forms {
        let finder = memchr::memmem::Finder::new(form);
        let mut out = Vec::with_capacity(text.len());
        let mut last = 0;
        for at in finder.find_iter(&text) {
            if at >= last {
                out.extend_from_slice(&text[last..at]);
                out.extend_from_slice(MASK);
                last = at + form.len();
            }
        }
        out.extend_from_slice(&text[last..]);
        text = out;
    }
    text
}

fn bench(c: &mut Criterion) {
    let all_secrets = corpus::secrets(1000, 7);
    let mut group = c.benchmark_group("mask");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for n in [10usize, 100, 1000] {
        let secrets = &all_secrets[..n];
        let mut log = Vec::with_capacity(LOG_SIZE + 4096);
        corpus::LogGen::new(secrets.to_vec(), 11).fill(&mut log, LOG_SIZE);
        let set = Arc::new(SecretSet::new(MaskConfig::default()));
        for s in secrets {
            set.add(s);
        }
        let forms = set.forms();
        eprintln!("{n} secrets: {} forms; {}", forms.len(), set.describe());

        group.throughput(Throughput::Bytes(log.len() as u64));
        group.bench_with_input(BenchmarkId::new("rampart-mask", n), &log, |b, log| {
            let mut read_buf = Vec::with_capacity(CHUNK);
            let mut out = Vec::with_capacity(2 * CHUNK);
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let mut masker = set.stream();
                    for chunk in log.chunks(CHUNK) {
                        read_buf.clear();
                        read_buf.extend_from_slice(chunk);
                        let t = Instant::now();
                        masker.write(&read_buf, &mut out);
                        spent += t.elapsed();
                        black_box(&out);
                        out.clear();
                    }
                    let t = Instant::now();
                    masker.finish(&mut out);
                    spent += t.elapsed();
                    out.clear();
                }
                spent
            })
        });
        group.bench_with_input(BenchmarkId::new("rampart-mask-cold", n), &log, |b, log| {
            let mut out = Vec::with_capacity(2 * CHUNK);
            b.iter(|| {
                let mut masker = set.stream();
                let mut total = 0;
                for chunk in log.chunks(CHUNK) {
                    masker.write(chunk, &mut out);
                    total += out.len();
                    out.clear();
                }
                masker.finish(&mut out);
                black_box(total + out.len())
            })
        });

        let ac = AhoCorasick::new(&forms).unwrap_or_else(|e| panic!("aho-corasick: {e}"));
        let masks = vec![MASK; forms.len()];
        group.bench_with_input(
            BenchmarkId::new("aho-corasick-stream", n),
            &log,
            |b, log| {
                let mut out = Vec::with_capacity(log.len());
                b.iter(|| {
                    out.clear();
                    ac.try_stream_replace_all(&log[..], &mut out, &masks)
                        .unwrap_or_else(|e| panic!("stream replace: {e}"));
                    black_box(out.len())
                })
            },
        );

        let prefix = &log[..(16 << 20) * 10 / n];
        group.throughput(Throughput::Bytes(prefix.len() as u64));
        group.bench_with_input(BenchmarkId::new("naive-replace", n), prefix, |b, text| {
            b.iter(|| black_box(naive(&forms, text).len()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
