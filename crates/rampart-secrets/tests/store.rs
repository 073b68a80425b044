//! The secret store against a real SQLite file: round trips, versions,
//! tampering, what reaches the disk, and key rotation.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use rampart_secrets::{
    DataKey, Error, KeyError, KeyProvider, MasterKey, Scope, SecretKind, SecretRef, SecretStore,
    SecretValue,
};

fn project(id: &str) -> SecretRef {
    SecretRef::parse(id, Some("org1"), Some("proj1")).unwrap()
}

fn value(text: &str) -> SecretValue {
    SecretValue::from(text.to_string())
}

async fn open(dir: &Path, key: MasterKey) -> SecretStore {
    SecretStore::open(dir, Arc::new(key)).await.unwrap()
}

fn same_key(key: &MasterKey) -> MasterKey {
    MasterKey::from_base64(&key.to_base64()).unwrap()
}

async fn raw(dir: &Path) -> sqlx::SqlitePool {
    let url = format!("sqlite://{}", dir.join("rampart.db").display());
    sqlx::SqlitePool::connect(&url).await.unwrap()
}

#[tokio::test]
async fn set_get_versions_list_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), MasterKey::generate().unwrap()).await;
    let token = project("token");
    let account = SecretRef::parse("account.token", None, None).unwrap();

    assert_eq!(
        store
            .set(&token, SecretKind::Text, &value("v1"))
            .await
            .unwrap()
            .version,
        1
    );
    assert_eq!(
        store
            .set(&token, SecretKind::Text, &value("v2"))
            .await
            .unwrap()
            .version,
        2
    );
    store
        .set(
            &account,
            SecretKind::File,
            &SecretValue::from(vec![0, 159, 146, 150]),
        )
        .await
        .unwrap();

    let got = store.get(&token).await.unwrap();
    assert_eq!((got.version, got.kind), (2, SecretKind::Text));
    assert_eq!(
        got.value.expose_str(),
        Ok("v2"),
        "the latest version is used"
    );
    let file = store.get(&account).await.unwrap();
    assert_eq!(file.kind, SecretKind::File);
    assert_eq!(file.value.expose(), &[0, 159, 146, 150]);

    let list = store.list().await.unwrap();
    let shown: Vec<_> = list
        .iter()
        .map(|i| (i.reference.expression(), i.kind, i.version, i.versions))
        .collect();
    assert_eq!(
        shown,
        [
            ("account.token".to_string(), SecretKind::File, 1, 1),
            ("token".to_string(), SecretKind::Text, 2, 2),
        ]
    );
    assert!(list[1].created_at_ms <= list[1].updated_at_ms);

    // The same id in another scope is another secret.
    let org = SecretRef::parse("org.token", Some("org1"), Some("proj1")).unwrap();
    let missing = store.get(&org).await.unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }));
    assert_eq!(
        missing.to_string(),
        "no secret `token` (org org1) in this store; store it with `rampart secret set token --org org1`"
    );

    assert_eq!(store.remove(&token).await.unwrap(), 2);
    assert!(matches!(
        store.get(&token).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.remove(&token).await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(store.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn empty_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), MasterKey::generate().unwrap()).await;
    let error = store
        .set(&project("x"), SecretKind::Text, &value(""))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::EmptyValue(_)), "{error}");
    assert!(store.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn snapshot_decrypts_on_demand_without_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), MasterKey::generate().unwrap()).await;
    store
        .set(&project("a"), SecretKind::Text, &value("one"))
        .await
        .unwrap();
    store
        .set(&project("a"), SecretKind::Text, &value("two"))
        .await
        .unwrap();
    store
        .set(
            &SecretRef::parse("org.b", Some("org1"), None).unwrap(),
            SecretKind::File,
            &value("f"),
        )
        .await
        .unwrap();
    let snapshot = store.snapshot().await.unwrap();
    store.close().await;

    assert_eq!(snapshot.len(), 2);
    assert_eq!(
        snapshot.get(&project("a")).unwrap().value.expose_str(),
        Ok("two")
    );
    let b = snapshot
        .get(&SecretRef::parse("org.b", Some("org1"), Some("other")).unwrap())
        .unwrap();
    assert_eq!(b.kind, SecretKind::File);
    assert!(matches!(
        snapshot.get(&project("b")),
        Err(Error::NotFound { .. })
    ));
}

async fn exec(pool: &sqlx::SqlitePool, sql: &str) {
    let changed = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(pool)
        .await
        .unwrap();
    assert!(changed.rows_affected() >= 1, "{sql} changed nothing");
}

/// Flips one bit of byte `index` of `column` in alpha's row.
async fn flip(pool: &sqlx::SqlitePool, column: &str, index: usize) {
    let select = format!("SELECT {column} FROM secret_versions WHERE identifier = 'alpha'");
    let mut bytes: Vec<u8> = sqlx::query_scalar(sqlx::AssertSqlSafe(select))
        .fetch_one(pool)
        .await
        .unwrap();
    bytes[index] ^= 0x01;
    let update = format!("UPDATE secret_versions SET {column} = ? WHERE identifier = 'alpha'");
    sqlx::query(sqlx::AssertSqlSafe(update))
        .bind(bytes)
        .execute(pool)
        .await
        .unwrap();
}

/// Stores alpha and beta, tampers with the raw database, then expects
/// reading alpha to fail with an error matching `expected` that names
/// alpha and no value.
async fn assert_tamper_detected(
    tamper: impl AsyncFnOnce(&sqlx::SqlitePool),
    expected: fn(&Error) -> bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let store = open(dir.path(), same_key(&key)).await;
    store
        .set(&project("alpha"), SecretKind::Text, &value("alpha-value-1"))
        .await
        .unwrap();
    store
        .set(&project("beta"), SecretKind::Text, &value("beta-value-22"))
        .await
        .unwrap();
    store.close().await;

    let pool = raw(dir.path()).await;
    tamper(&pool).await;
    pool.close().await;

    let store = open(dir.path(), key).await;
    let error = store.get(&project("alpha")).await.unwrap_err();
    assert!(expected(&error), "unexpected error: {error:?}");
    let message = error.to_string();
    for value in ["alpha-value-1", "beta-value-22"] {
        assert!(!message.contains(value), "{message}");
    }
    assert!(
        message.contains("`alpha`"),
        "the message names the secret: {message}"
    );
    // The untouched secret still reads.
    let beta = store.get(&project("beta")).await.unwrap();
    assert_eq!(beta.value.expose_str(), Ok("beta-value-22"));
}

fn inauthentic_key(error: &Error) -> bool {
    matches!(
        error,
        Error::Unwrap {
            source: KeyError::Inauthentic { .. },
            ..
        }
    )
}

fn tampered_value(error: &Error) -> bool {
    matches!(error, Error::Tampered { .. })
}

#[tokio::test]
async fn a_flipped_ciphertext_byte_is_detected() {
    assert_tamper_detected(
        async |pool| flip(pool, "ciphertext", 3).await,
        tampered_value,
    )
    .await;
    // The tag, at the end, too.
    assert_tamper_detected(
        async |pool| flip(pool, "ciphertext", 20).await,
        tampered_value,
    )
    .await;
    assert_tamper_detected(async |pool| flip(pool, "nonce", 0).await, tampered_value).await;
}

#[tokio::test]
async fn a_flipped_wrapped_key_byte_is_detected() {
    for index in [0, 30, 71] {
        assert_tamper_detected(
            async |pool| flip(pool, "wrapped_key", index).await,
            inauthentic_key,
        )
        .await;
    }
}

#[tokio::test]
async fn a_ciphertext_swapped_from_another_row_does_not_decrypt() {
    assert_tamper_detected(
        async |pool| {
            exec(
                pool,
                "UPDATE secret_versions SET \
                 nonce = (SELECT nonce FROM secret_versions WHERE identifier = 'beta'), \
                 ciphertext = (SELECT ciphertext FROM secret_versions WHERE identifier = 'beta') \
                 WHERE identifier = 'alpha'",
            )
            .await
        },
        tampered_value,
    )
    .await;
}

#[tokio::test]
async fn a_whole_sealed_row_copied_onto_another_does_not_decrypt() {
    // Value and wrapped key together: the wrapping is bound to beta's row.
    assert_tamper_detected(
        async |pool| {
            exec(
                pool,
                "UPDATE secret_versions SET \
                 nonce = (SELECT nonce FROM secret_versions WHERE identifier = 'beta'), \
                 ciphertext = (SELECT ciphertext FROM secret_versions WHERE identifier = 'beta'), \
                 wrapped_key = (SELECT wrapped_key FROM secret_versions WHERE identifier = 'beta') \
                 WHERE identifier = 'alpha'",
            )
            .await
        },
        inauthentic_key,
    )
    .await;
}

#[tokio::test]
async fn a_changed_type_version_or_cipher_is_detected() {
    assert_tamper_detected(
        async |pool| {
            exec(
                pool,
                "UPDATE secret_versions SET kind = 'file' WHERE identifier = 'alpha'",
            )
            .await
        },
        inauthentic_key,
    )
    .await;
    assert_tamper_detected(
        async |pool| {
            exec(
                pool,
                "UPDATE secret_versions SET version = 7 WHERE identifier = 'alpha'",
            )
            .await
        },
        inauthentic_key,
    )
    .await;
    assert_tamper_detected(
        async |pool| {
            exec(
                pool,
                "UPDATE secret_versions SET cipher = 'rot13' WHERE identifier = 'alpha'",
            )
            .await
        },
        |e| matches!(e, Error::Unreadable { .. }),
    )
    .await;
}

#[tokio::test]
async fn a_wrong_master_key_decrypts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let store = open(dir.path(), same_key(&key)).await;
    store
        .set(&project("a"), SecretKind::Text, &value("value-a"))
        .await
        .unwrap();
    store.close().await;

    let wrong = MasterKey::generate().unwrap();
    let wrong_id = wrong.id().to_string();
    let store = open(dir.path(), wrong).await;
    let error = store.get(&project("a")).await.unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(
            &error,
            Error::Unwrap {
                source: KeyError::UnknownKey { .. },
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        message.contains(key.id()) && message.contains(&wrong_id),
        "{message}"
    );
    // Listing needs no key and still works.
    assert_eq!(store.list().await.unwrap().len(), 1);
}

/// Every form of `value` a leak could take on disk.
fn encoded_forms(value: &[u8]) -> Vec<Vec<u8>> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut forms = vec![value.to_vec()];
    // Base64 at all three alignments: drop 0, 1, 2 leading bytes and the
    // characters that depend on neighbours.
    for skip in 0..3 {
        let encoded = b64.encode(&value[skip..]);
        let stable = encoded.trim_end_matches('=');
        let stable = &stable[..stable.len().saturating_sub(2)];
        forms.push(stable.as_bytes().to_vec());
        forms.push(b64url.encode(&value[skip..]).as_bytes()[..stable.len()].to_vec());
    }
    let hex: String = value.iter().map(|b| format!("{b:02x}")).collect();
    forms.push(hex.clone().into_bytes());
    forms.push(hex.to_uppercase().into_bytes());
    forms
}

fn assert_nothing_leaked(dir: &Path, values: &[&[u8]]) -> usize {
    let mut scanned = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        scanned += 1;
        for value in values {
            for form in encoded_forms(value) {
                assert!(
                    !bytes.windows(form.len()).any(|w| w == form.as_slice()),
                    "{} holds a form of a secret value",
                    path.display()
                );
            }
        }
    }
    scanned
}

#[tokio::test]
async fn no_plaintext_or_encoded_value_reaches_the_database_files() {
    let dir = tempfile::tempdir().unwrap();
    let values: [&[u8]; 3] = [
        b"correct horse battery staple 0xC0FFEE",
        b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
        b"p@ssw0rd-with-\"quotes\"-and-$dollars",
    ];
    let store = open(dir.path(), MasterKey::generate().unwrap()).await;
    for (i, v) in values.iter().enumerate() {
        let secret = project(&format!("s{i}"));
        store
            .set(&secret, SecretKind::Text, &SecretValue::from(v.to_vec()))
            .await
            .unwrap();
        store
            .set(&secret, SecretKind::File, &SecretValue::from(v.to_vec()))
            .await
            .unwrap();
    }
    store.remove(&project("s2")).await.unwrap();

    // While open, the WAL and shared-memory files exist and hold the writes.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.ends_with("-wal")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with("-shm")), "{names:?}");
    assert_eq!(assert_nothing_leaked(dir.path(), &values), 3);

    store.close().await;
    assert!(assert_nothing_leaked(dir.path(), &values) >= 1);
}

/// A key provider that fails to wrap after `ok` successful wraps.
struct FailingAfter {
    key: MasterKey,
    ok: usize,
    calls: AtomicUsize,
}

impl KeyProvider for FailingAfter {
    fn key_id(&self) -> String {
        self.key.key_id()
    }
    fn wrap(&self, key: &DataKey, aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.ok {
            return Err(KeyError::NoKey("the key service went away".into()));
        }
        self.key.wrap(key, aad)
    }
    fn unwrap(&self, key_id: &str, wrapped: &[u8], aad: &[u8]) -> Result<DataKey, KeyError> {
        self.key.unwrap(key_id, wrapped, aad)
    }
}

#[tokio::test]
async fn rotation_rewraps_everything_and_the_old_key_stops_working() {
    let dir = tempfile::tempdir().unwrap();
    let old = MasterKey::generate().unwrap();
    let mut store = open(dir.path(), same_key(&old)).await;
    for i in 0..5 {
        store
            .set(
                &project(&format!("s{i}")),
                SecretKind::Text,
                &value(&format!("value-{i}")),
            )
            .await
            .unwrap();
    }
    store
        .set(&project("s0"), SecretKind::Text, &value("value-0b"))
        .await
        .unwrap();
    let ciphertexts_before: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT ciphertext FROM secret_versions ORDER BY identifier, version")
            .fetch_all(&raw(dir.path()).await)
            .await
            .unwrap();

    let new = MasterKey::generate().unwrap();
    let new_id = new.id().to_string();
    let outcome = store.rotate_key(Arc::new(same_key(&new))).await.unwrap();
    assert_eq!(outcome.rewrapped, 6);
    assert_eq!(outcome.key_id, new_id);
    assert_eq!(
        outcome.previous_key_ids.into_iter().collect::<Vec<_>>(),
        [old.id()]
    );
    assert_eq!(
        store.get(&project("s0")).await.unwrap().value.expose_str(),
        Ok("value-0b")
    );
    store.close().await;

    let pool = raw(dir.path()).await;
    let ids: Vec<String> = sqlx::query_scalar("SELECT DISTINCT key_id FROM secret_versions")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(ids, [new_id.as_str()]);
    let ciphertexts_after: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT ciphertext FROM secret_versions ORDER BY identifier, version")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        ciphertexts_before, ciphertexts_after,
        "values were not re-encrypted"
    );

    let store = open(dir.path(), new).await;
    for i in 1..5 {
        let got = store.get(&project(&format!("s{i}"))).await.unwrap();
        assert_eq!(got.value.expose_str(), Ok(format!("value-{i}").as_str()));
    }
    store.close().await;

    let store = open(dir.path(), same_key(&old)).await;
    assert!(matches!(
        store.get(&project("s1")).await,
        Err(Error::Unwrap {
            source: KeyError::UnknownKey { .. },
            ..
        })
    ));
    store.close().await;
    // Even told to ignore key ids, the old key unwraps nothing.
    let store = open_with(dir.path(), IgnoreIds(same_key(&old))).await;
    assert!(matches!(
        store.get(&project("s1")).await,
        Err(Error::Unwrap {
            source: KeyError::Inauthentic { .. },
            ..
        })
    ));
}

/// A provider that tries its one key whatever id a row recorded.
struct IgnoreIds(MasterKey);

impl KeyProvider for IgnoreIds {
    fn key_id(&self) -> String {
        self.0.key_id()
    }
    fn wrap(&self, key: &DataKey, aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.0.wrap(key, aad)
    }
    fn unwrap(&self, _key_id: &str, wrapped: &[u8], aad: &[u8]) -> Result<DataKey, KeyError> {
        self.0.unwrap(self.0.id(), wrapped, aad)
    }
}

async fn open_with(dir: &Path, keys: impl KeyProvider + 'static) -> SecretStore {
    SecretStore::open(dir, Arc::new(keys)).await.unwrap()
}

#[tokio::test]
async fn a_rotation_failing_midway_leaves_the_old_key_in_charge() {
    let dir = tempfile::tempdir().unwrap();
    let old = MasterKey::generate().unwrap();
    let mut store = open(dir.path(), same_key(&old)).await;
    for i in 0..4 {
        store
            .set(
                &project(&format!("s{i}")),
                SecretKind::Text,
                &value(&format!("value-{i}")),
            )
            .await
            .unwrap();
    }
    let failing = Arc::new(FailingAfter {
        key: MasterKey::generate().unwrap(),
        ok: 2,
        calls: AtomicUsize::new(0),
    });
    let error = store.rotate_key(failing).await.unwrap_err();
    assert!(matches!(error, Error::Rewrap { .. }), "{error:?}");
    assert!(
        error.to_string().contains("the key service went away"),
        "{error}"
    );

    // Nothing moved: the store still uses the old key and every value reads.
    for i in 0..4 {
        let got = store.get(&project(&format!("s{i}"))).await.unwrap();
        assert_eq!(got.value.expose_str(), Ok(format!("value-{i}").as_str()));
    }
    let ids: Vec<String> = sqlx::query_scalar("SELECT DISTINCT key_id FROM secret_versions")
        .fetch_all(&raw(dir.path()).await)
        .await
        .unwrap();
    assert_eq!(ids, [old.id().to_string()]);
}

#[tokio::test]
async fn scopes_keep_same_named_secrets_apart() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), MasterKey::generate().unwrap()).await;
    let refs = [
        SecretRef::new(Scope::Account, "x".parse_id()),
        SecretRef::new(Scope::new(Some("o"), None).unwrap(), "x".parse_id()),
        SecretRef::new(Scope::new(Some("o"), Some("p")).unwrap(), "x".parse_id()),
        SecretRef::new(Scope::new(Some("o"), Some("q")).unwrap(), "x".parse_id()),
    ];
    for (i, r) in refs.iter().enumerate() {
        store
            .set(r, SecretKind::Text, &value(&format!("v{i}")))
            .await
            .unwrap();
    }
    for (i, r) in refs.iter().enumerate() {
        assert_eq!(
            store.get(r).await.unwrap().value.expose_str(),
            Ok(format!("v{i}").as_str())
        );
    }
}

trait ParseId {
    fn parse_id(&self) -> rampart_secrets::Identifier;
}

impl ParseId for str {
    fn parse_id(&self) -> rampart_secrets::Identifier {
        rampart_secrets::Identifier::new(self).unwrap()
    }
}

#[tokio::test]
async fn blobs_open_only_with_their_context_key_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let store = open(dir.path(), same_key(&key)).await;
    let context: [&[u8]; 2] = [b"runs/3", b"build/login.TOKEN"];
    let blob = store
        .seal_blob("secret output", &context, b"tok-123456")
        .unwrap();
    assert!(!blob.ciphertext.windows(10).any(|w| w == b"tok-123456"));
    let opened = store.open_blob("secret output", &context, &blob).unwrap();
    assert_eq!(opened.expose(), b"tok-123456");

    let elsewhere: [&[u8]; 2] = [b"runs/4", b"build/login.TOKEN"];
    assert!(
        store.open_blob("secret output", &elsewhere, &blob).is_err(),
        "moved to another run"
    );
    let mut flipped = blob.clone();
    flipped.ciphertext[0] ^= 1;
    let error = store
        .open_blob("secret output", &context, &flipped)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("altered") && !error.contains("tok-123456"),
        "{error}"
    );

    let other = open(dir.path(), MasterKey::generate().unwrap()).await;
    assert!(
        other.open_blob("secret output", &context, &blob).is_err(),
        "another master key"
    );
}

#[tokio::test]
async fn sealed_blobs_survive_their_byte_encoding_and_reject_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), MasterKey::generate().unwrap()).await;
    let blob = store
        .seal_blob("totp seed", &[b"user-1"], b"JBSWY3DPEHPK3PXP")
        .unwrap();
    let bytes = blob.to_bytes();
    assert!(
        !bytes.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"),
        "the encoding holds only sealed bytes"
    );
    let back = rampart_secrets::SealedBlob::from_bytes(&bytes).unwrap();
    assert_eq!(back, blob);
    let opened = store.open_blob("totp seed", &[b"user-1"], &back).unwrap();
    assert_eq!(opened.expose(), b"JBSWY3DPEHPK3PXP");
    assert!(store.open_blob("totp seed", &[b"user-2"], &back).is_err());

    for cut in 0..bytes.len() {
        assert!(rampart_secrets::SealedBlob::from_bytes(&bytes[..cut]).is_none());
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(rampart_secrets::SealedBlob::from_bytes(&longer).is_none());
    let mut other_format = bytes;
    other_format[0] = 9;
    assert!(rampart_secrets::SealedBlob::from_bytes(&other_format).is_none());
}

/// A store on `dir`'s database for one server account.
async fn open_account(dir: &Path, key: MasterKey, account: &str) -> SecretStore {
    let url = format!("sqlite://{}", dir.join("rampart.db").display());
    let db = rampart_store::Store::connect(&url).await.unwrap();
    SecretStore::for_account(db, Arc::new(key), account)
}

/// The master key the legacy fixture rows were sealed under.
const LEGACY_KEY: &str = "cmFtcGFydCBsZWdhY3kgZml4dHVyZSBrZXkgMDAwMDA=";

/// Rows sealed by the code from before secrets had accounts (the AEAD
/// associated data then had no account field): org, project, identifier,
/// kind, key id, wrapped key, nonce, ciphertext (hex). Version 1 each.
const LEGACY_ROWS: [[&str; 8]; 2] = [
    [
        "org1",
        "proj1",
        "legacy",
        "text",
        "local:69608f2658f1c13a",
        "6ac877b9709bc5335eae92254f83a2b648eab3161ae045a4fe8790673c7219623e1ed4e174a932ff848c10a9196ef4404d391d87baea218b13eb71884d07016d63d4384ac5e3c1fd",
        "248e691df5490e9ab2499ab7b367ac554ded76ae51c191e8",
        "dfbd9290dd3a1e2bc221c3425f210a9ad944108e0c444bf94a725e6fecad6b023f95653dad60",
    ],
    [
        "",
        "",
        "legacy_file",
        "file",
        "local:69608f2658f1c13a",
        "389aebc42dc5fb82df3094f8c7932d5320785725d40a3b9aa2d5687fd866ac723a2a67f20f2adb4bc921391b8f2a919ce1e6795cec52a8e46601eca0e7baf00bc68e5652994ebfa6",
        "2269d1def3c6860f4e82a11dae8b2f77f6bb42d471c01a1e",
        "bbc25222dc2dff865e8f1723b0dffb716a947be7",
    ],
];

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Writes the legacy rows as the old code stored them (no account column
/// given: the migration's default, '').
async fn insert_legacy_rows(dir: &Path) {
    let pool = raw(dir).await;
    for [org, project, id, kind, key_id, wrapped, nonce, sealed] in LEGACY_ROWS {
        sqlx::query(
            "INSERT INTO secret_versions (scope_org, scope_project, identifier, version, kind, \
             cipher, key_id, wrapped_key, nonce, ciphertext, created_at_ms) \
             VALUES (?, ?, ?, 1, ?, 'XChaCha20-Poly1305', ?, ?, ?, ?, 1)",
        )
        .bind(org)
        .bind(project)
        .bind(id)
        .bind(kind)
        .bind(key_id)
        .bind(unhex(wrapped))
        .bind(unhex(nonce))
        .bind(unhex(sealed))
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
}

#[tokio::test]
async fn secrets_sealed_before_accounts_existed_still_open() {
    let dir = tempfile::tempdir().unwrap();
    let key = || MasterKey::from_base64(LEGACY_KEY).unwrap();
    // Creates the database (every migration applied), then adds the old rows.
    open(dir.path(), key()).await.close().await;
    insert_legacy_rows(dir.path()).await;

    let store = open(dir.path(), key()).await;
    let text = store.get(&project("legacy")).await.unwrap();
    assert_eq!(
        (text.kind, text.value.expose_str()),
        (SecretKind::Text, Ok("sealed before accounts"))
    );
    let file = SecretRef::parse("account.legacy_file", None, None).unwrap();
    let got = store.get(&file).await.unwrap();
    assert_eq!(
        (got.kind, got.value.expose()),
        (SecretKind::File, [0u8, 1, 2, 255].as_slice())
    );
    assert_eq!(store.list().await.unwrap().len(), 2);
    store.close().await;

    // In a server account the same rows are not there.
    let other = open_account(dir.path(), key(), "acct_a").await;
    assert!(matches!(
        other.get(&project("legacy")).await,
        Err(Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn accounts_keep_same_named_secrets_apart() {
    let dir = tempfile::tempdir().unwrap();
    let key = MasterKey::generate().unwrap();
    let local = open(dir.path(), same_key(&key)).await;
    let a = open_account(dir.path(), same_key(&key), "acct_a").await;
    let b = open_account(dir.path(), same_key(&key), "acct_b").await;
    assert_eq!((local.account(), a.account()), ("", "acct_a"));
    let token = project("token");
    for (store, text) in [(&local, "local"), (&a, "in-a"), (&b, "in-b")] {
        assert_eq!(
            store
                .set(&token, SecretKind::Text, &value(text))
                .await
                .unwrap()
                .version,
            1,
            "each account numbers its own versions"
        );
    }
    a.set(&project("only_a"), SecretKind::Text, &value("a2"))
        .await
        .unwrap();

    for (store, text) in [(&local, "local"), (&a, "in-a"), (&b, "in-b")] {
        assert_eq!(
            store.get(&token).await.unwrap().value.expose_str(),
            Ok(text)
        );
        let snapshot = store.snapshot().await.unwrap();
        assert_eq!(snapshot.get(&token).unwrap().value.expose_str(), Ok(text));
    }
    assert_eq!(a.list().await.unwrap().len(), 2);
    assert_eq!(b.list().await.unwrap().len(), 1);
    assert_eq!(local.list().await.unwrap().len(), 1);
    assert_eq!(a.snapshot().await.unwrap().len(), 2);

    let missing = b.get(&project("only_a")).await.unwrap_err();
    assert_eq!(
        missing.to_string(),
        "no secret `only_a` (project org1/proj1) in account acct_b"
    );
    let missing = b
        .snapshot()
        .await
        .unwrap()
        .get(&project("only_a"))
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing}");
    assert!(
        !missing.to_string().contains("rampart secret set"),
        "{missing}"
    );
    assert!(matches!(
        b.remove(&project("only_a")).await,
        Err(Error::NotFound { .. })
    ));

    let empty = open_account(dir.path(), same_key(&key), "acct_c").await;
    assert!(empty.is_empty().await.unwrap());
    assert!(empty.snapshot().await.unwrap().is_empty());

    assert_eq!(a.remove(&token).await.unwrap(), 1);
    assert!(a.get(&token).await.is_err());
    assert_eq!(b.get(&token).await.unwrap().value.expose_str(), Ok("in-b"));
    assert_eq!(
        local.get(&token).await.unwrap().value.expose_str(),
        Ok("local")
    );
}

/// A provider that wraps and unwraps with a fixed associated data, so a
/// test can see the value's own binding once the data key is out.
struct IgnoreAad(MasterKey);

impl KeyProvider for IgnoreAad {
    fn key_id(&self) -> String {
        self.0.key_id()
    }
    fn wrap(&self, key: &DataKey, _aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.0.wrap(key, b"fixed")
    }
    fn unwrap(&self, key_id: &str, wrapped: &[u8], _aad: &[u8]) -> Result<DataKey, KeyError> {
        self.0.unwrap(key_id, wrapped, b"fixed")
    }
}

/// Stores alpha in account `from` with `keys`, moves its row to account
/// `to` by raw SQL, and returns what reading it there gives.
async fn read_after_moving(from: &str, to: &str, keys: impl Fn() -> Arc<dyn KeyProvider>) -> Error {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rampart.db").display());
    let db = rampart_store::Store::connect(&url).await.unwrap();
    let source = SecretStore::for_account(db.clone(), keys(), from);
    source
        .set(&project("alpha"), SecretKind::Text, &value("alpha-value-1"))
        .await
        .unwrap();
    let pool = raw(dir.path()).await;
    sqlx::query("UPDATE secret_versions SET scope_account = ? WHERE identifier = 'alpha'")
        .bind(to)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let target = SecretStore::for_account(db, keys(), to);
    let error = target.get(&project("alpha")).await.unwrap_err();
    let message = error.to_string();
    assert!(!message.contains("alpha-value-1"), "{message}");
    assert!(message.contains("`alpha`"), "{message}");
    target.close().await;
    error
}

#[tokio::test]
async fn a_row_moved_to_another_account_does_not_decrypt() {
    let key = MasterKey::generate().unwrap();
    for (from, to) in [("acct_a", "acct_b"), ("acct_a", ""), ("", "acct_b")] {
        // The wrapped data key is bound to the account: unwrapping fails first.
        let error = read_after_moving(from, to, || Arc::new(same_key(&key))).await;
        assert!(inauthentic_key(&error), "{from:?} -> {to:?}: {error:?}");
        // And so is the sealed value, should its data key come out anyway.
        let error = read_after_moving(from, to, || Arc::new(IgnoreAad(same_key(&key)))).await;
        assert!(tampered_value(&error), "{from:?} -> {to:?}: {error:?}");
    }
}

#[tokio::test]
async fn rotation_rewraps_every_account() {
    let dir = tempfile::tempdir().unwrap();
    let old = MasterKey::generate().unwrap();
    let new = MasterKey::generate().unwrap();
    let a = open_account(dir.path(), same_key(&old), "acct_a").await;
    let b = open_account(dir.path(), same_key(&old), "acct_b").await;
    let mut local = open(dir.path(), same_key(&old)).await;
    a.set(&project("s"), SecretKind::Text, &value("value-a"))
        .await
        .unwrap();
    b.set(&project("s"), SecretKind::File, &value("value-b"))
        .await
        .unwrap();
    b.set(&project("s"), SecretKind::Text, &value("value-b2"))
        .await
        .unwrap();
    local
        .set(&project("s"), SecretKind::Text, &value("value-local"))
        .await
        .unwrap();

    // Rotating from any one account's store re-wraps them all.
    let outcome = local.rotate_key(Arc::new(same_key(&new))).await.unwrap();
    assert_eq!(outcome.rewrapped, 4);
    a.close().await;
    b.close().await;
    local.close().await;

    for (account, expected) in [
        ("acct_a", "value-a"),
        ("acct_b", "value-b2"),
        ("", "value-local"),
    ] {
        let store = open_account(dir.path(), same_key(&new), account).await;
        assert_eq!(
            store.get(&project("s")).await.unwrap().value.expose_str(),
            Ok(expected),
            "{account:?}"
        );
        let stale = open_account(dir.path(), same_key(&old), account).await;
        assert!(stale.get(&project("s")).await.is_err(), "{account:?}");
    }
}
