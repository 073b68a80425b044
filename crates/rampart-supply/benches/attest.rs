//! Sign and verify one SLSA provenance attestation (a realistic statement:
//! three subjects, source, inputs, resolved dependencies), each algorithm.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rampart_supply::dsse;
use rampart_supply::intoto::{self, PAYLOAD_TYPE, Subject};
use rampart_supply::keys::{Algorithm, SigningKey};
use rampart_supply::slsa::{self, ProvenanceFacts, ResourceDescriptor, SourceFacts};
use rampart_supply::verify::verify_artifact;

fn statement() -> intoto::Statement {
    let subjects = [
        "app-linux-amd64.tar.gz",
        "app-linux-arm64.tar.gz",
        "app.sbom.json",
    ]
    .iter()
    .map(|name| Subject::sha256(name, &intoto::sha256_hex(name.as_bytes())))
    .collect();
    let commit = "0123456789abcdef0123456789abcdef01234567".to_string();
    slsa::provenance(
        subjects,
        &ProvenanceFacts {
            builder_id: "https://rampart.dev/builders/server-embedded/v1".to_string(),
            run_id: "4b1d1f5e-6c0e-4c7e-9a8e-2f7d9c3a1b22".to_string(),
            started_on: "2026-12-06T12:00:00Z".to_string(),
            finished_on: "2026-12-06T12:04:31Z".to_string(),
            pipeline: "release".to_string(),
            pipeline_file: Some(".harness/release.yaml".to_string()),
            source: Some(SourceFacts {
                uri: "https://git.example.com/acme/app".to_string(),
                commit: Some(commit.clone()),
                git_ref: Some("refs/heads/main".to_string()),
            }),
            runtime_inputs: (0..8)
                .map(|i| (format!("input_{i}"), format!("value {i}")))
                .collect(),
            trigger: "webhook:push".to_string(),
            resolved_dependencies: vec![ResourceDescriptor {
                uri: "git+https://git.example.com/acme/app".to_string(),
                digest: BTreeMap::from([("gitCommit".to_string(), commit)]),
                name: None,
            }],
        },
    )
}

fn bench(c: &mut Criterion) {
    let statement = statement();
    let payload = statement.to_json();
    let digest = intoto::sha256_hex(b"app-linux-amd64.tar.gz");
    for algorithm in [Algorithm::EcdsaP256, Algorithm::Ed25519] {
        let Ok(key) = SigningKey::generate(algorithm) else {
            panic!("cannot generate a {algorithm} key");
        };
        let public = key.public_key();
        c.bench_function(&format!("sign provenance ({algorithm})"), |b| {
            b.iter(|| dsse::sign(PAYLOAD_TYPE, black_box(&payload), &key))
        });
        let envelope = dsse::sign(PAYLOAD_TYPE, &payload, &key);
        c.bench_function(&format!("verify provenance ({algorithm})"), |b| {
            b.iter(|| verify_artifact(black_box(&envelope), &public, None, &digest).is_ok())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
