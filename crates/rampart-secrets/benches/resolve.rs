//! Resolving and decrypting 1,000 secrets for one step (issue 4): from a
//! snapshot (what a run does: one read, then unwrap + decrypt on demand),
//! and one database read per secret, for comparison.

// Benchmark set-up may panic on unexpected errors, as tests do.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_secrets::{MasterKey, SecretKind, SecretRef, SecretStore, SecretValue};

const SECRETS: usize = 1_000;

fn resolve(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let refs: Vec<SecretRef> = (0..SECRETS)
        .map(|i| SecretRef::parse(&format!("secret_{i}"), Some("org"), Some("project")).unwrap())
        .collect();
    let store = runtime.block_on(async {
        let store = SecretStore::open(dir.path(), Arc::new(MasterKey::generate().unwrap()))
            .await
            .unwrap();
        for (i, secret) in refs.iter().enumerate() {
            let value = SecretValue::from(format!("value-{i:04}-{}", "x".repeat(40)));
            store.set(secret, SecretKind::Text, &value).await.unwrap();
        }
        store
    });

    let mut group = c.benchmark_group("resolve 1000 secrets");
    group.sample_size(20);
    group.bench_function("snapshot, then decrypt each", |b| {
        b.iter(|| {
            let snapshot = runtime.block_on(store.snapshot()).unwrap();
            for secret in &refs {
                black_box(snapshot.get(secret).unwrap());
            }
        })
    });
    group.bench_function("one database read per secret", |b| {
        b.iter(|| {
            runtime.block_on(async {
                for secret in &refs {
                    black_box(store.get(secret).await.unwrap());
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, resolve);
criterion_main!(benches);
