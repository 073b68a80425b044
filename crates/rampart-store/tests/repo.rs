//! One suite of `SecretRepo` behaviour, run against both databases (see
//! `common` for how each test runs on SQLite and on PostgreSQL).

// Test helpers outside #[test] functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use rampart_store::{Store, StoreError};

mod common;

rampart_testkit::on_both!(
    set_get_versions_and_conflicts,
    scopes_are_separate_and_list_sorts_bytewise,
    accounts_are_separate_and_rotation_spans_them,
    values_round_trip_byte_for_byte,
    remove_deletes_every_version_of_one_secret,
    rotation_replaces_all_or_nothing,
    concurrent_writers_of_one_version_one_wins,
    concurrent_rotations_one_wins,
    a_rotation_racing_an_insert_is_all_or_nothing,
    reopening_keeps_rows_and_migrations_are_idempotent,
);

mod suite {
    use super::*;
    use rampart_store::{NewSecretVersion, Rewrap, SecretName, SecretRepo};

    fn name(org: Option<&str>, project: Option<&str>, id: &str) -> SecretName {
        in_account("", org, project, id)
    }

    fn in_account(account: &str, org: Option<&str>, project: Option<&str>, id: &str) -> SecretName {
        SecretName {
            account: account.to_string(),
            org: org.map(str::to_string),
            project: project.map(str::to_string),
            identifier: id.to_string(),
        }
    }

    fn version(name: &SecretName, version: u32, at: i64) -> NewSecretVersion {
        NewSecretVersion {
            name: name.clone(),
            version,
            kind: "text".into(),
            cipher: "test".into(),
            key_id: "k1".into(),
            wrapped_key: format!("wrapped-{}-{version}", name.identifier).into_bytes(),
            nonce: vec![1; 24],
            ciphertext: format!("sealed-{}-{version}", name.identifier).into_bytes(),
            created_at_ms: at,
        }
    }

    fn rewraps_of(store_keys: &[rampart_store::WrappedKey]) -> Vec<Rewrap> {
        store_keys
            .iter()
            .map(|k| Rewrap {
                name: k.name.clone(),
                version: k.version,
                old_wrapped_key: k.wrapped_key.clone(),
                new_key_id: "k2".into(),
                new_wrapped_key: [b"new-".as_slice(), &k.wrapped_key].concat(),
            })
            .collect()
    }

    fn is_conflict<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
        matches!(result, Err(StoreError::Conflict(_)))
    }

    pub async fn set_get_versions_and_conflicts(store: Store, _url: String) {
        let a = name(Some("o"), Some("p"), "a");
        assert!(store.latest(&a).await.unwrap().is_none());
        assert!(store.list("").await.unwrap().is_empty());

        store.insert_version(&version(&a, 1, 10)).await.unwrap();
        store.insert_version(&version(&a, 2, 20)).await.unwrap();
        let again = store.insert_version(&version(&a, 2, 30)).await;
        assert!(is_conflict(&again), "{again:?}");

        let latest = store.latest(&a).await.unwrap().unwrap();
        assert_eq!(
            latest,
            version(&a, 2, 20),
            "the conflicting write changed nothing"
        );
        let list = store.list("").await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, a);
        assert_eq!(list[0].kind, "text");
        assert_eq!(
            (
                list[0].latest_version,
                list[0].versions,
                list[0].created_at_ms,
                list[0].updated_at_ms
            ),
            (2, 2, 10, 20)
        );

        // A newer version may change the kind; list reports the latest's.
        let mut file = version(&a, 3, 40);
        file.kind = "file".into();
        store.insert_version(&file).await.unwrap();
        let list = store.list("").await.unwrap();
        assert_eq!((list[0].kind.as_str(), list[0].versions), ("file", 3));
        assert_eq!(store.wrapped_keys().await.unwrap().len(), 3);
    }

    pub async fn scopes_are_separate_and_list_sorts_bytewise(store: Store, _url: String) {
        let names = [
            name(Some("o"), Some("p"), "x"),
            name(Some("o"), None, "x"),
            name(None, None, "x"),
            name(None, None, "B"),
            name(None, None, "a"),
            name(Some("O"), None, "x"),
        ];
        for (i, n) in names.iter().enumerate() {
            let at = i64::try_from(i).unwrap();
            store.insert_version(&version(n, 1, at)).await.unwrap();
        }
        store
            .insert_version(&version(&names[1], 2, 99))
            .await
            .unwrap();

        // Byte order: '' before anything, 'B' before 'a', 'O' before 'o'.
        let expected = vec![
            name(None, None, "B"),
            name(None, None, "a"),
            name(None, None, "x"),
            name(Some("O"), None, "x"),
            name(Some("o"), None, "x"),
            name(Some("o"), Some("p"), "x"),
        ];
        let listed: Vec<_> = store
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(listed, expected);
        let latest: Vec<_> = store
            .latest_all("")
            .await
            .unwrap()
            .into_iter()
            .map(|v| (v.name, v.version))
            .collect();
        let expected_latest: Vec<_> = expected
            .iter()
            .map(|n| (n.clone(), if *n == names[1] { 2 } else { 1 }))
            .collect();
        assert_eq!(latest, expected_latest);
        assert_eq!(store.latest(&names[0]).await.unwrap().unwrap().version, 1);
        assert_eq!(store.latest(&names[1]).await.unwrap().unwrap().version, 2);
        assert!(
            store
                .latest(&name(None, Some("p"), "x"))
                .await
                .unwrap()
                .is_none()
        );
    }

    pub async fn accounts_are_separate_and_rotation_spans_them(store: Store, _url: String) {
        let local = name(Some("o"), Some("p"), "x");
        let a = in_account("acct_a", Some("o"), Some("p"), "x");
        let b = in_account("acct_b", Some("o"), Some("p"), "x");
        store.insert_version(&version(&local, 1, 1)).await.unwrap();
        store.insert_version(&version(&a, 1, 2)).await.unwrap();
        store.insert_version(&version(&a, 2, 3)).await.unwrap();
        // The same version number in another account is no conflict.
        store.insert_version(&version(&b, 1, 4)).await.unwrap();

        assert_eq!(store.latest(&a).await.unwrap().unwrap(), version(&a, 2, 3));
        assert_eq!(store.latest(&b).await.unwrap().unwrap(), version(&b, 1, 4));
        assert_eq!(
            store.latest(&local).await.unwrap().unwrap(),
            version(&local, 1, 1)
        );
        for (account, expected, versions) in [("", &local, 1), ("acct_a", &a, 2), ("acct_b", &b, 1)]
        {
            let list = store.list(account).await.unwrap();
            assert_eq!(list.len(), 1, "{account:?}: {list:?}");
            assert_eq!((&list[0].name, list[0].versions), (expected, versions));
            let latest = store.latest_all(account).await.unwrap();
            assert_eq!(latest.len(), 1, "{account:?}: {latest:?}");
            assert_eq!(&latest[0].name, expected);
        }
        assert!(store.list("acct_c").await.unwrap().is_empty());
        assert!(store.latest_all("acct_c").await.unwrap().is_empty());

        // One rotation covers every account; leaving one out is refused.
        let keys = store.wrapped_keys().await.unwrap();
        assert_eq!(keys.len(), 4);
        let rewraps = rewraps_of(&keys);
        let without_b: Vec<Rewrap> = rewraps
            .iter()
            .filter(|r| r.name.account != "acct_b")
            .cloned()
            .collect();
        let partial = store.replace_wrapped_keys(&without_b).await;
        assert!(is_conflict(&partial), "{partial:?}");
        store.replace_wrapped_keys(&rewraps).await.unwrap();
        assert!(
            store
                .wrapped_keys()
                .await
                .unwrap()
                .iter()
                .all(|k| k.key_id == "k2")
        );

        // Deleting in one account leaves the others.
        assert_eq!(store.delete(&a).await.unwrap(), 2);
        assert!(store.latest(&a).await.unwrap().is_none());
        assert!(store.latest(&b).await.unwrap().is_some());
        assert!(store.latest(&local).await.unwrap().is_some());
    }

    pub async fn values_round_trip_byte_for_byte(store: Store, _url: String) {
        let n = in_account("äccount 🏠", Some("ørg"), Some("prøject"), "ключ_🔑");
        let all_bytes: Vec<u8> = (0..=255).collect();
        let row = NewSecretVersion {
            name: n.clone(),
            version: u32::MAX,
            kind: "file".into(),
            cipher: "xchacha20poly1305".into(),
            key_id: "local:2026".into(),
            wrapped_key: all_bytes.iter().rev().copied().collect(),
            nonce: vec![0; 24],
            ciphertext: all_bytes.repeat(4096),
            created_at_ms: i64::MAX,
        };
        store.insert_version(&row).await.unwrap();
        assert_eq!(store.latest(&n).await.unwrap().unwrap(), row);
        assert_eq!(
            store.latest_all("äccount 🏠").await.unwrap(),
            std::slice::from_ref(&row)
        );
        let keys = store.wrapped_keys().await.unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(
            (
                keys[0].version,
                &keys[0].wrapped_key,
                keys[0].key_id.as_str()
            ),
            (u32::MAX, &row.wrapped_key, "local:2026")
        );
    }

    pub async fn remove_deletes_every_version_of_one_secret(store: Store, _url: String) {
        let a = name(None, None, "a");
        let b = name(Some("o"), None, "a");
        store.insert_version(&version(&a, 1, 1)).await.unwrap();
        store.insert_version(&version(&a, 2, 2)).await.unwrap();
        store.insert_version(&version(&b, 1, 3)).await.unwrap();

        assert_eq!(store.delete(&a).await.unwrap(), 2);
        assert_eq!(store.delete(&a).await.unwrap(), 0, "already gone");
        assert!(store.latest(&a).await.unwrap().is_none());
        let left: Vec<_> = store
            .list("")
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(left, [b], "the same identifier in another scope stays");

        // Version numbers of a removed secret can be used again.
        store.insert_version(&version(&a, 1, 4)).await.unwrap();
        assert_eq!(store.latest(&a).await.unwrap().unwrap().created_at_ms, 4);
    }

    pub async fn rotation_replaces_all_or_nothing(store: Store, _url: String) {
        let a = name(None, None, "a");
        let b = name(Some("o"), None, "b");
        store.insert_version(&version(&a, 1, 1)).await.unwrap();
        store.insert_version(&version(&a, 2, 1)).await.unwrap();
        store.insert_version(&version(&b, 1, 1)).await.unwrap();
        let keys = store.wrapped_keys().await.unwrap();
        assert_eq!(keys.len(), 3);
        let rewraps = rewraps_of(&keys);

        // The last update's expected old value is stale: the others roll back.
        let mut stale = rewraps.clone();
        stale[2].old_wrapped_key = b"not what is stored".to_vec();
        let failed = store.replace_wrapped_keys(&stale).await;
        assert!(is_conflict(&failed), "{failed:?}");
        assert_eq!(store.wrapped_keys().await.unwrap(), keys, "nothing changed");

        // Leaving a version out is refused too.
        let partial = store.replace_wrapped_keys(&rewraps[..2]).await;
        assert!(is_conflict(&partial), "{partial:?}");
        assert_eq!(store.wrapped_keys().await.unwrap(), keys, "nothing changed");

        // A version that does not exist is refused.
        let mut extra = rewraps.clone();
        extra.push(Rewrap {
            version: 9,
            ..rewraps[0].clone()
        });
        let failed = store.replace_wrapped_keys(&extra).await;
        assert!(is_conflict(&failed), "{failed:?}");
        assert_eq!(store.wrapped_keys().await.unwrap(), keys, "nothing changed");

        store.replace_wrapped_keys(&rewraps).await.unwrap();
        let after = store.wrapped_keys().await.unwrap();
        assert_eq!(after.len(), 3);
        for (before, now) in keys.iter().zip(&after) {
            assert_eq!((&now.name, now.version), (&before.name, before.version));
            assert_eq!(now.key_id, "k2");
            assert_eq!(
                now.wrapped_key,
                [b"new-".as_slice(), &before.wrapped_key].concat()
            );
        }
        // The sealed values themselves are untouched.
        let latest = store.latest(&a).await.unwrap().unwrap();
        assert_eq!(latest.ciphertext, version(&a, 2, 1).ciphertext);

        // Replaying the same rotation finds the old keys gone.
        let replay = store.replace_wrapped_keys(&rewraps).await;
        assert!(is_conflict(&replay), "{replay:?}");
    }

    pub async fn concurrent_writers_of_one_version_one_wins(store: Store, _url: String) {
        let a = name(None, None, "a");
        for round in 1..=8u32 {
            let mut first = version(&a, round, 1);
            first.ciphertext = b"first".to_vec();
            let mut second = version(&a, round, 2);
            second.ciphertext = b"second".to_vec();
            let (one, two) =
                tokio::join!(store.insert_version(&first), store.insert_version(&second));
            assert!(
                one.is_ok() != two.is_ok(),
                "exactly one writer of version {round} wins: {one:?} {two:?}"
            );
            let loser = if one.is_ok() { &two } else { &one };
            assert!(is_conflict(loser), "{loser:?}");
            let stored = store.latest(&a).await.unwrap().unwrap();
            let winner = if one.is_ok() { &first } else { &second };
            assert_eq!(&stored, winner);
        }
        assert_eq!(store.list("").await.unwrap()[0].versions, 8);
    }

    pub async fn concurrent_rotations_one_wins(store: Store, _url: String) {
        for i in 0..20u32 {
            let n = name(None, None, &format!("s{i:02}"));
            store.insert_version(&version(&n, 1, 1)).await.unwrap();
        }
        let keys = store.wrapped_keys().await.unwrap();
        let to_k2 = rewraps_of(&keys);
        let to_k3: Vec<Rewrap> = to_k2
            .iter()
            .map(|r| Rewrap {
                new_key_id: "k3".into(),
                new_wrapped_key: [b"k3-".as_slice(), &r.old_wrapped_key].concat(),
                ..r.clone()
            })
            .collect();
        let (one, two) = tokio::join!(
            store.replace_wrapped_keys(&to_k2),
            store.replace_wrapped_keys(&to_k3)
        );
        assert!(
            one.is_ok() != two.is_ok(),
            "exactly one rotation wins: {one:?} {two:?}"
        );
        let loser = if one.is_ok() { &two } else { &one };
        assert!(is_conflict(loser), "{loser:?}");
        let winner = if one.is_ok() { "k2" } else { "k3" };
        let after = store.wrapped_keys().await.unwrap();
        assert!(
            after.iter().all(|k| k.key_id == winner),
            "every version under the winner's key, none mixed: {after:?}"
        );
    }

    pub async fn a_rotation_racing_an_insert_is_all_or_nothing(store: Store, _url: String) {
        for round in 0..8u32 {
            let n = name(None, None, &format!("r{round}"));
            store.insert_version(&version(&n, 1, 1)).await.unwrap();
            let before = store.wrapped_keys().await.unwrap();
            let rewraps = rewraps_of(&before);
            // Whichever commits first, the rotation must either cover every
            // version it committed alongside or change nothing.
            let racing = version(&n, 2, 2);
            let (rotated, inserted) = tokio::join!(
                store.replace_wrapped_keys(&rewraps),
                store.insert_version(&racing)
            );
            inserted.unwrap();
            let after = store.wrapped_keys().await.unwrap();
            let new_row = after
                .iter()
                .find(|k| k.name == n && k.version == 2)
                .unwrap();
            assert_eq!(new_row.key_id, "k1", "the racing insert is its own");
            let old_rows: Vec<_> = after
                .iter()
                .filter(|k| !(k.name == n && k.version == 2))
                .collect();
            assert_eq!(old_rows.len(), before.len());
            match rotated {
                Ok(()) => assert!(old_rows.iter().all(|k| k.key_id == "k2"), "{after:?}"),
                Err(StoreError::Conflict(_)) => {
                    assert!(old_rows.iter().all(|k| k.key_id == "k1"), "{after:?}");
                }
                Err(other) => panic!("unexpected {other:?}"),
            }
            // Put every version back under k1 for the next round.
            let back: Vec<Rewrap> = after
                .iter()
                .filter(|k| k.key_id == "k2")
                .map(|k| Rewrap {
                    name: k.name.clone(),
                    version: k.version,
                    old_wrapped_key: k.wrapped_key.clone(),
                    new_key_id: "k1".into(),
                    new_wrapped_key: k.wrapped_key[b"new-".len()..].to_vec(),
                })
                .chain(after.iter().filter(|k| k.key_id == "k1").map(|k| Rewrap {
                    name: k.name.clone(),
                    version: k.version,
                    old_wrapped_key: k.wrapped_key.clone(),
                    new_key_id: "k1".into(),
                    new_wrapped_key: k.wrapped_key.clone(),
                }))
                .collect();
            store.replace_wrapped_keys(&back).await.unwrap();
        }
    }

    pub async fn reopening_keeps_rows_and_migrations_are_idempotent(store: Store, url: String) {
        let a = name(Some("o"), None, "a");
        store.insert_version(&version(&a, 1, 7)).await.unwrap();
        // A second store on the same database, as a second server replica
        // or a restart would open: the migrations run again harmlessly.
        let again = Store::connect(&url).await.unwrap();
        assert_eq!(again.latest(&a).await.unwrap().unwrap(), version(&a, 1, 7));
        again.insert_version(&version(&a, 2, 8)).await.unwrap();
        assert_eq!(store.latest(&a).await.unwrap().unwrap().version, 2);
        again.close().await;
    }
}

/// The rows a database held before secrets had accounts (migration 0003),
/// as they read after opening it with the current code.
async fn assert_migrated_rows_belong_to_no_account(url: &str) {
    use rampart_store::{SecretName, SecretRepo};
    let store = Store::connect(url).await.unwrap();
    let old = |org: &str, project: Option<&str>| SecretName {
        account: String::new(),
        org: Some(org.to_string()),
        project: project.map(str::to_string),
        identifier: "x".into(),
    };
    let listed: Vec<_> = store
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.name, m.versions))
        .collect();
    assert_eq!(
        listed,
        [(old("o", None), 1), (old("o", Some("p")), 2)],
        "every row kept, with account ''"
    );
    let latest = store.latest(&old("o", Some("p"))).await.unwrap().unwrap();
    assert_eq!(
        (
            latest.version,
            latest.wrapped_key.as_slice(),
            latest.ciphertext.as_slice()
        ),
        (2, b"w2".as_slice(), b"c2".as_slice())
    );
    // The new primary key: the same secret and version in an account is another row.
    let mut row = latest;
    row.name.account = "acct".into();
    store.insert_version(&row).await.unwrap();
    assert_eq!(store.wrapped_keys().await.unwrap().len(), 4);
    store.close().await;
}

/// An old row: (org, project, version, wrapped key, ciphertext).
type OldSecretRow = (
    &'static str,
    &'static str,
    i64,
    &'static [u8],
    &'static [u8],
);

const BEFORE_ACCOUNTS: [OldSecretRow; 3] = [
    ("o", "p", 1, b"w1", b"c1"),
    ("o", "p", 2, b"w2", b"c2"),
    ("o", "", 1, b"w3", b"c3"),
];

#[tokio::test]
async fn sqlite_rows_from_before_accounts_are_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rampart.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate!("./migrations/sqlite")
        .run_to(3, &pool)
        .await
        .unwrap();
    for (org, project, version, wrapped, sealed) in BEFORE_ACCOUNTS {
        sqlx::query(
            "INSERT INTO secret_versions (scope_org, scope_project, identifier, version, kind, \
             cipher, key_id, wrapped_key, nonce, ciphertext, created_at_ms) \
             VALUES (?, ?, 'x', ?, 'text', 'test', 'k1', ?, x'00', ?, 1)",
        )
        .bind(org)
        .bind(project)
        .bind(version)
        .bind(wrapped)
        .bind(sealed)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    assert_migrated_rows_belong_to_no_account(&format!("sqlite://{}", path.display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rows_from_before_accounts_are_migrated() {
    rampart_testkit::postgres::with_fresh_database("rampart-store", |url| async move {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::migrate!("./migrations/postgres")
            .run_to(3, &pool)
            .await
            .unwrap();
        for (org, project, version, wrapped, sealed) in BEFORE_ACCOUNTS {
            sqlx::query(
                "INSERT INTO secret_versions (scope_org, scope_project, identifier, version, \
                 kind, cipher, key_id, wrapped_key, nonce, ciphertext, created_at_ms) \
                 VALUES ($1, $2, 'x', $3, 'text', 'test', 'k1', $4, '\\x00', $5, 1)",
            )
            .bind(org)
            .bind(project)
            .bind(version)
            .bind(wrapped)
            .bind(sealed)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
        assert_migrated_rows_belong_to_no_account(&url).await;
    })
    .await;
}

#[tokio::test]
async fn a_postgres_url_that_cannot_connect_says_so_without_the_password() {
    // Port 1 on loopback: nothing listens there.
    for url in [
        "postgres://rampart:hunter2@127.0.0.1:1/rampart",
        "postgresql://rampart:hunter2@127.0.0.1:1/rampart",
    ] {
        let error = Store::connect(url).await.unwrap_err();
        assert!(
            matches!(error, StoreError::PostgresConnect { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("rampart:***@127.0.0.1:1/rampart"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
        assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
    }
}
