use rampart_mask::{MaskConfig, SecretSet};
use std::sync::Arc;
use std::time::Instant;
#[path = "../benches/corpus.rs"]
#[allow(dead_code)]
mod corpus;
fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let tokens: bool = args.next().map(|a| a == "1").unwrap_or(true);
    let all = corpus::secrets(n, 7);
    let set = Arc::new(SecretSet::new(MaskConfig {
        token_patterns: tokens,
        ..MaskConfig::default()
    }));
    for s in &all {
        set.add(s);
    }
    eprintln!("{}", set.describe());
    let mut log = Vec::new();
    corpus::LogGen::new(all.clone(), 11).fill(&mut log, mib << 20);
    let reps = (256 / mib).max(1);
    let mut out = Vec::with_capacity(1 << 20);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..reps {
            let mut m = set.stream();
            for c in log.chunks(64 << 10) {
                m.write(c, &mut out);
                out.clear();
            }
            m.finish(&mut out);
            out.clear();
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    eprintln!(
        "n={n} log={mib}MiB tokens={tokens}: {:.0} MB/s",
        (reps * log.len()) as f64 / best / 1e6
    );
}
