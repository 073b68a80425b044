//! One suite of `AccessRepo`, `SessionRepo` and `AuditRepo` behaviour (and
//! the identity cascades and security generation they share), run against
//! both databases (see `common`).

// Test helpers outside #[test] functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

rampart_testkit::on_both!(
    put_object_checks_preconditions_and_counts_versions,
    objects_are_listed_by_exact_scope_in_order,
    deleting_a_group_deletes_its_memberships,
    memberships_are_added_once_and_need_a_group_and_user,
    service_accounts_are_unique_per_scope,
    deleting_a_service_account_deletes_its_keys_and_tokens,
    api_keys_group_tokens,
    rotation_ends_the_old_token_and_inserts_the_new,
    deleting_a_project_empties_its_scope_only,
    deleting_an_org_empties_it_and_its_projects,
    deleting_an_account_deletes_everything_but_its_audit,
    deleting_a_user_deletes_their_sessions_memberships_keys_and_tokens,
    the_generation_advances_on_security_writes_only,
    sessions_touch_stage_revoke_and_expire,
    append_hands_the_head_and_a_failed_build_writes_nothing,
    concurrent_appends_form_one_chain,
    audit_query_filters_and_pages,
    audit_range_and_accounts,
    audit_events_are_append_only,
    the_security_watch_reports_new_generations,
);

mod suite {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use rampart_store::{
        AccessObject, AccessRepo, Account, ApiKey, ApiToken, Appended, AuditFilter, AuditHead,
        AuditRepo, AuditRow, IdentityRepo, Membership, ObjectKind, Organization, Precondition,
        Project, ScopeKey, ServiceAccount, Session, SessionRepo, Store, StoreError, TokenOwner,
        User,
    };
    use sqlx::Connection;

    fn is_conflict<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
        matches!(result, Err(StoreError::Conflict(_)))
    }

    async fn create_account(store: &Store, id: &str) {
        store
            .create_account(&Account {
                identifier: id.into(),
                name: id.into(),
                created_at_ms: 1,
            })
            .await
            .unwrap();
    }

    async fn create_org(store: &Store, account: &str, id: &str) {
        store
            .create_organization(&Organization {
                account: account.into(),
                identifier: id.into(),
                name: id.into(),
                description: String::new(),
                created_at_ms: 1,
            })
            .await
            .unwrap();
    }

    async fn create_project(store: &Store, account: &str, org: &str, id: &str) {
        store
            .create_project(&Project {
                account: account.into(),
                org: org.into(),
                identifier: id.into(),
                name: id.into(),
                description: String::new(),
                created_at_ms: 1,
            })
            .await
            .unwrap();
    }

    async fn create_user(store: &Store, account: &str, id: &str) {
        store
            .create_user(&User {
                id: id.into(),
                account: account.into(),
                email: format!("{id}@example.com"),
                display_name: id.into(),
                password_hash: "$argon2id$x".into(),
                totp_secret_sealed: None,
                totp_last_step: None,
                recovery_codes: None,
                totp_pending_sealed: None,
                must_change_password: false,
                login_state: None,
                disabled: false,
                created_at_ms: 1,
                updated_at_ms: 1,
            })
            .await
            .unwrap();
    }

    /// An account `acc` with org `o`, project `o/p` and users `u1`, `u2`.
    async fn basic(store: &Store) {
        create_account(store, "acc").await;
        create_org(store, "acc", "o").await;
        create_project(store, "acc", "o", "p").await;
        create_user(store, "acc", "u1").await;
        create_user(store, "acc", "u2").await;
    }

    fn object(scope: &ScopeKey, kind: ObjectKind, id: &str, body: &str, at: i64) -> AccessObject {
        AccessObject {
            scope: scope.clone(),
            kind,
            identifier: id.into(),
            body: body.into(),
            version: 0,
            created_at_ms: at,
            updated_at_ms: at,
        }
    }

    fn service_account(id: &str, scope: &ScopeKey, identifier: &str) -> ServiceAccount {
        ServiceAccount {
            id: id.into(),
            scope: scope.clone(),
            identifier: identifier.into(),
            name: format!("SA {identifier}"),
            email: format!("{identifier}@bots.example"),
            description: String::new(),
            created_at_ms: 3,
            updated_at_ms: 3,
        }
    }

    fn api_key(owner: &TokenOwner, id: &str, scope: &ScopeKey) -> ApiKey {
        ApiKey {
            owner: owner.clone(),
            identifier: id.into(),
            scope: scope.clone(),
            name: format!("key {id}"),
            description: String::new(),
            created_at_ms: 4,
        }
    }

    fn token(id: &str, key: &ApiKey, scope: &ScopeKey, created: i64) -> ApiToken {
        ApiToken {
            token_id: id.into(),
            account: scope.account.clone(),
            org: scope.org.clone(),
            project: scope.project.clone(),
            owner: key.owner.clone(),
            api_key: key.identifier.clone(),
            name: format!("token {id}"),
            description: String::new(),
            permissions: None,
            hash: id.as_bytes().to_vec(),
            created_at_ms: created,
            expires_at_ms: None,
            last_used_at_ms: None,
            revoked_at_ms: None,
            rotated_grace_end_ms: None,
        }
    }

    fn session(id: &str, user: &str, expires: i64) -> Session {
        Session {
            id_hash: id.into(),
            user_id: user.into(),
            stage: "active".into(),
            created_at_ms: 100,
            last_seen_ms: 100,
            expires_at_ms: expires,
            source_ip: Some("192.0.2.1".into()),
            revoked_at_ms: None,
        }
    }

    fn member(scope: &ScopeKey, group: &str, user: &str) -> Membership {
        Membership {
            scope: scope.clone(),
            group: group.into(),
            user_id: user.into(),
        }
    }

    pub async fn put_object_checks_preconditions_and_counts_versions(store: Store, _url: String) {
        basic(&store).await;
        let scope = ScopeKey::org("acc", "o");
        let role = object(&scope, ObjectKind::Role, "dev", r#"{"v":1}"#, 10);
        assert_eq!(
            store.put_object(&role, Precondition::Absent).await.unwrap(),
            1
        );
        let again = store.put_object(&role, Precondition::Absent).await;
        assert!(is_conflict(&again), "{again:?}");

        let edit = object(&scope, ObjectKind::Role, "dev", r#"{"v":2}"#, 20);
        let stale = store.put_object(&edit, Precondition::Version(2)).await;
        assert!(is_conflict(&stale), "{stale:?}");
        assert_eq!(
            store
                .put_object(&edit, Precondition::Version(1))
                .await
                .unwrap(),
            2
        );
        let stored = store
            .object(&scope, ObjectKind::Role, "dev")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored,
            AccessObject {
                version: 2,
                created_at_ms: 10,
                ..edit.clone()
            },
            "the creation time stays, the body and update time change"
        );
        let replayed = store.put_object(&edit, Precondition::Version(1)).await;
        assert!(is_conflict(&replayed), "{replayed:?}");

        let third = object(&scope, ObjectKind::Role, "dev", r#"{"v":3}"#, 30);
        assert_eq!(
            store.put_object(&third, Precondition::Any).await.unwrap(),
            3
        );
        let fresh = object(&scope, ObjectKind::Role, "ops", "{}", 40);
        assert_eq!(
            store.put_object(&fresh, Precondition::Any).await.unwrap(),
            1
        );
        let kept = store
            .object(&scope, ObjectKind::Role, "dev")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                kept.body.as_str(),
                kept.version,
                kept.created_at_ms,
                kept.updated_at_ms
            ),
            (r#"{"v":3}"#, 3, 10, 30)
        );

        // An update of a missing document is a conflict, not a create.
        let missing = object(&scope, ObjectKind::Role, "none", "{}", 50);
        let result = store.put_object(&missing, Precondition::Version(1)).await;
        assert!(is_conflict(&result), "{result:?}");
        assert_eq!(
            store
                .object(&scope, ObjectKind::Role, "none")
                .await
                .unwrap(),
            None
        );

        // The scope must exist, whatever the precondition.
        for scope in [
            ScopeKey::account("nope"),
            ScopeKey::org("acc", "nope"),
            ScopeKey::project("acc", "o", "nope"),
            ScopeKey {
                account: "acc".into(),
                org: None,
                project: Some("p".into()),
            },
        ] {
            for precondition in [Precondition::Absent, Precondition::Any] {
                let orphan = object(&scope, ObjectKind::Role, "r", "{}", 1);
                let result = store.put_object(&orphan, precondition).await;
                assert!(is_conflict(&result), "{scope:?}: {result:?}");
            }
        }
        // The same identifier in another kind is another document.
        let group = object(&scope, ObjectKind::UserGroup, "dev", "{}", 1);
        assert_eq!(
            store
                .put_object(&group, Precondition::Absent)
                .await
                .unwrap(),
            1
        );
    }

    pub async fn objects_are_listed_by_exact_scope_in_order(store: Store, _url: String) {
        basic(&store).await;
        create_account(&store, "b").await;
        let account = ScopeKey::account("acc");
        let org = ScopeKey::org("acc", "o");
        let project = ScopeKey::project("acc", "o", "p");
        let other = ScopeKey::account("b");
        for (scope, id) in [
            (&project, "z"),
            (&org, "m"),
            (&account, "b"),
            (&account, "B"),
            (&org, "a"),
            (&other, "a"),
        ] {
            let doc = object(scope, ObjectKind::Role, id, "{}", 1);
            store.put_object(&doc, Precondition::Absent).await.unwrap();
        }
        let binding = object(&org, ObjectKind::RoleBinding, "rb", "{}", 1);
        store
            .put_object(&binding, Precondition::Absent)
            .await
            .unwrap();

        let ids = |docs: Vec<AccessObject>| -> Vec<String> {
            docs.into_iter().map(|d| d.identifier).collect()
        };
        assert_eq!(
            ids(store.objects(&account, ObjectKind::Role).await.unwrap()),
            ["B", "b"]
        );
        assert_eq!(
            ids(store.objects(&org, ObjectKind::Role).await.unwrap()),
            ["a", "m"],
            "only the org's own, not its project's"
        );
        assert_eq!(
            ids(store.objects(&project, ObjectKind::Role).await.unwrap()),
            ["z"]
        );
        assert_eq!(
            ids(store.objects(&org, ObjectKind::RoleBinding).await.unwrap()),
            ["rb"]
        );
        assert!(
            store
                .objects(&org, ObjectKind::UserGroup)
                .await
                .unwrap()
                .is_empty()
        );

        let all: Vec<(ScopeKey, String)> = store
            .all_objects(ObjectKind::Role)
            .await
            .unwrap()
            .into_iter()
            .map(|d| (d.scope, d.identifier))
            .collect();
        assert_eq!(
            all,
            [
                (account.clone(), "B".to_string()),
                (account.clone(), "b".into()),
                (org.clone(), "a".into()),
                (org.clone(), "m".into()),
                (project.clone(), "z".into()),
                (other.clone(), "a".into()),
            ],
            "by account, org, project, identifier"
        );

        assert!(
            store
                .delete_object(&org, ObjectKind::Role, "a")
                .await
                .unwrap()
        );
        assert!(
            !store
                .delete_object(&org, ObjectKind::Role, "a")
                .await
                .unwrap()
        );
        assert!(
            !store
                .delete_object(&org, ObjectKind::RoleBinding, "m")
                .await
                .unwrap(),
            "the kind is part of the key"
        );
        assert_eq!(
            ids(store.objects(&org, ObjectKind::Role).await.unwrap()),
            ["m"]
        );
    }

    pub async fn deleting_a_group_deletes_its_memberships(store: Store, _url: String) {
        basic(&store).await;
        let org = ScopeKey::org("acc", "o");
        for group in ["devs", "ops"] {
            let doc = object(&org, ObjectKind::UserGroup, group, "{}", 1);
            store.put_object(&doc, Precondition::Absent).await.unwrap();
            for user in ["u1", "u2"] {
                assert!(store.add_member(&member(&org, group, user)).await.unwrap());
            }
        }
        assert!(
            store
                .delete_object(&org, ObjectKind::UserGroup, "devs")
                .await
                .unwrap()
        );
        assert!(store.members(&org, "devs").await.unwrap().is_empty());
        assert_eq!(
            store.all_memberships().await.unwrap(),
            [member(&org, "ops", "u1"), member(&org, "ops", "u2")]
        );
        // A new group of the same name starts empty.
        let doc = object(&org, ObjectKind::UserGroup, "devs", "{}", 2);
        store.put_object(&doc, Precondition::Absent).await.unwrap();
        assert!(store.members(&org, "devs").await.unwrap().is_empty());
    }

    pub async fn memberships_are_added_once_and_need_a_group_and_user(store: Store, _url: String) {
        basic(&store).await;
        create_account(&store, "b").await;
        create_user(&store, "b", "stranger").await;
        let account = ScopeKey::account("acc");
        let project = ScopeKey::project("acc", "o", "p");
        for scope in [&account, &project] {
            let doc = object(scope, ObjectKind::UserGroup, "g", "{}", 1);
            store.put_object(&doc, Precondition::Absent).await.unwrap();
        }
        let role = object(&account, ObjectKind::Role, "r", "{}", 1);
        store.put_object(&role, Precondition::Absent).await.unwrap();

        assert!(
            store
                .add_member(&member(&account, "g", "u2"))
                .await
                .unwrap()
        );
        assert!(
            store
                .add_member(&member(&account, "g", "u1"))
                .await
                .unwrap()
        );
        assert!(
            !store
                .add_member(&member(&account, "g", "u1"))
                .await
                .unwrap(),
            "already a member"
        );
        assert!(
            store
                .add_member(&member(&project, "g", "u1"))
                .await
                .unwrap()
        );

        for (membership, why) in [
            (member(&account, "missing", "u1"), "no such group"),
            (member(&account, "g", "missing"), "no such user"),
            (member(&account, "r", "u1"), "a role is not a group"),
            (
                member(&ScopeKey::org("acc", "o"), "g", "u1"),
                "the group is at another scope",
            ),
            (
                member(&account, "g", "stranger"),
                "a user of another account",
            ),
        ] {
            let result = store.add_member(&membership).await;
            assert!(is_conflict(&result), "{why}: {result:?}");
        }

        assert_eq!(store.members(&account, "g").await.unwrap(), ["u1", "u2"]);
        assert_eq!(store.members(&project, "g").await.unwrap(), ["u1"]);
        assert_eq!(
            store.all_memberships().await.unwrap(),
            [
                member(&account, "g", "u1"),
                member(&account, "g", "u2"),
                member(&project, "g", "u1"),
            ]
        );
        assert!(
            store
                .remove_member(&member(&account, "g", "u2"))
                .await
                .unwrap()
        );
        assert!(
            !store
                .remove_member(&member(&account, "g", "u2"))
                .await
                .unwrap()
        );
        assert_eq!(store.members(&account, "g").await.unwrap(), ["u1"]);
    }

    pub async fn service_accounts_are_unique_per_scope(store: Store, _url: String) {
        basic(&store).await;
        let org = ScopeKey::org("acc", "o");
        let project = ScopeKey::project("acc", "o", "p");
        let bot = service_account("sa1", &org, "bot");
        store.create_service_account(&bot).await.unwrap();
        store
            .create_service_account(&service_account("sa0", &org, "alpha"))
            .await
            .unwrap();
        // The same identifier at another scope is another service account.
        store
            .create_service_account(&service_account("sa2", &project, "bot"))
            .await
            .unwrap();
        for (duplicate, why) in [
            (
                service_account("sa3", &org, "bot"),
                "identifier taken at the scope",
            ),
            (service_account("sa1", &project, "other"), "id taken"),
            (
                service_account("sa4", &ScopeKey::org("acc", "nope"), "bot"),
                "no such scope",
            ),
        ] {
            let result = store.create_service_account(&duplicate).await;
            assert!(is_conflict(&result), "{why}: {result:?}");
        }

        assert_eq!(
            store.service_account("sa1").await.unwrap(),
            Some(bot.clone())
        );
        assert_eq!(store.service_account("sa9").await.unwrap(), None);
        assert_eq!(
            store
                .service_account_by_identifier(&project, "bot")
                .await
                .unwrap()
                .unwrap()
                .id,
            "sa2"
        );
        assert_eq!(
            store
                .service_account_by_identifier(&ScopeKey::account("acc"), "bot")
                .await
                .unwrap(),
            None
        );
        let listed: Vec<_> = store
            .service_accounts(&org)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(listed, ["sa0", "sa1"], "by identifier, this scope only");

        let changed = ServiceAccount {
            name: "Renamed".into(),
            email: "new@bots.example".into(),
            description: "builds".into(),
            updated_at_ms: 9,
            // Neither the scope nor the identifier can change.
            identifier: "ignored".into(),
            scope: project.clone(),
            ..bot.clone()
        };
        assert!(store.update_service_account(&changed).await.unwrap());
        assert_eq!(
            store.service_account("sa1").await.unwrap(),
            Some(ServiceAccount {
                identifier: bot.identifier.clone(),
                scope: org.clone(),
                ..changed.clone()
            })
        );
        assert!(
            !store
                .update_service_account(&service_account("sa9", &org, "x"))
                .await
                .unwrap()
        );
    }

    pub async fn deleting_a_service_account_deletes_its_keys_and_tokens(
        store: Store,
        _url: String,
    ) {
        basic(&store).await;
        let org = ScopeKey::org("acc", "o");
        for id in ["sa1", "sa2"] {
            store
                .create_service_account(&service_account(id, &org, id))
                .await
                .unwrap();
        }
        let sa1 = TokenOwner::ServiceAccount("sa1".into());
        let sa2 = TokenOwner::ServiceAccount("sa2".into());
        for (owner, key) in [(&sa1, "k1"), (&sa1, "k2"), (&sa2, "k1")] {
            let key = api_key(owner, key, &org);
            store.create_api_key(&key).await.unwrap();
            let id = format!("t-{}-{}", owner.id(), key.identifier);
            store
                .insert_token(&token(&id, &key, &org, 1))
                .await
                .unwrap();
        }

        assert!(store.delete_service_account("sa1").await.unwrap());
        assert!(!store.delete_service_account("sa1").await.unwrap());
        assert_eq!(store.service_account("sa1").await.unwrap(), None);
        assert!(store.api_keys_of(&sa1).await.unwrap().is_empty());
        assert!(store.tokens_of(&sa1).await.unwrap().is_empty());
        assert_eq!(store.token("t-sa1-k1").await.unwrap(), None);
        // The other service account keeps everything.
        assert_eq!(store.api_keys_of(&sa2).await.unwrap().len(), 1);
        assert_eq!(store.tokens_of(&sa2).await.unwrap().len(), 1);
        // A recreated service account does not inherit the old credentials.
        store
            .create_service_account(&service_account("sa1", &org, "sa1"))
            .await
            .unwrap();
        assert!(store.api_keys_of(&sa1).await.unwrap().is_empty());
    }

    pub async fn api_keys_group_tokens(store: Store, _url: String) {
        basic(&store).await;
        create_account(&store, "other").await;
        let account = ScopeKey::account("acc");
        let org = ScopeKey::org("acc", "o");
        store
            .create_service_account(&service_account("sa", &org, "bot"))
            .await
            .unwrap();
        let ada = TokenOwner::User("u1".into());
        let bot = TokenOwner::ServiceAccount("sa".into());
        let pat = api_key(&ada, "pat", &account);
        let second = api_key(&ada, "cli", &account);
        let bot_key = api_key(&bot, "pat", &org);
        for key in [&pat, &second, &bot_key] {
            store.create_api_key(key).await.unwrap();
        }
        for (bad, why) in [
            (pat.clone(), "identifier taken by this owner"),
            (
                api_key(&TokenOwner::User("missing".into()), "k", &account),
                "no such user",
            ),
            (
                api_key(&TokenOwner::ServiceAccount("u1".into()), "k", &account),
                "u1 is a user, not a service account",
            ),
            (
                api_key(&ada, "k", &ScopeKey::account("other")),
                "the user is not in that account",
            ),
            (
                api_key(&ada, "k", &ScopeKey::org("acc", "nope")),
                "no such scope",
            ),
        ] {
            let result = store.create_api_key(&bad).await;
            assert!(is_conflict(&result), "{why}: {result:?}");
        }
        assert_eq!(store.api_key(&ada, "pat").await.unwrap(), Some(pat.clone()));
        assert_eq!(
            store.api_key(&bot, "pat").await.unwrap(),
            Some(bot_key.clone())
        );
        assert_eq!(store.api_key(&ada, "nope").await.unwrap(), None);
        let keys: Vec<_> = store
            .api_keys_of(&ada)
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.identifier)
            .collect();
        assert_eq!(keys, ["cli", "pat"]);

        let later = token("t2", &pat, &account, 200);
        let earlier = token("t1", &pat, &account, 100);
        store.insert_token(&later).await.unwrap();
        store.insert_token(&earlier).await.unwrap();
        store
            .insert_token(&token("t3", &second, &account, 50))
            .await
            .unwrap();
        store
            .insert_token(&token("t4", &bot_key, &org, 50))
            .await
            .unwrap();
        assert_eq!(
            store.tokens_of_key(&ada, "pat").await.unwrap(),
            [earlier.clone(), later.clone()],
            "oldest first, this key only"
        );
        assert_eq!(store.tokens_of_key(&bot, "pat").await.unwrap().len(), 1);
        assert!(store.tokens_of_key(&ada, "nope").await.unwrap().is_empty());

        // A token needs its key (of the same owner, in the same account).
        for (orphan, why) in [
            (
                token("t5", &api_key(&ada, "gone", &account), &account, 1),
                "no such key",
            ),
            (
                ApiToken {
                    owner: TokenOwner::User("u2".into()),
                    ..token("t6", &pat, &account, 1)
                },
                "the key is another owner's",
            ),
        ] {
            let result = store.insert_token(&orphan).await;
            assert!(is_conflict(&result), "{why}: {result:?}");
        }

        assert!(store.delete_api_key(&ada, "pat").await.unwrap());
        assert!(!store.delete_api_key(&ada, "pat").await.unwrap());
        assert_eq!(store.api_key(&ada, "pat").await.unwrap(), None);
        assert!(store.tokens_of_key(&ada, "pat").await.unwrap().is_empty());
        assert_eq!(store.token("t1").await.unwrap(), None);
        assert!(store.token("t3").await.unwrap().is_some(), "other key kept");
        assert!(
            store.token("t4").await.unwrap().is_some(),
            "other owner kept"
        );
        let late = store.insert_token(&token("t7", &pat, &account, 1)).await;
        assert!(is_conflict(&late), "no token for a deleted key: {late:?}");
    }

    pub async fn rotation_ends_the_old_token_and_inserts_the_new(store: Store, _url: String) {
        basic(&store).await;
        let account = ScopeKey::account("acc");
        let ada = TokenOwner::User("u1".into());
        let pat = api_key(&ada, "pat", &account);
        store.create_api_key(&pat).await.unwrap();
        store
            .insert_token(&token("old", &pat, &account, 1))
            .await
            .unwrap();

        let new = token("new", &pat, &account, 2);
        assert!(store.rotate_token("old", 500, &new).await.unwrap());
        assert_eq!(
            store
                .token("old")
                .await
                .unwrap()
                .unwrap()
                .rotated_grace_end_ms,
            Some(500)
        );
        assert_eq!(store.token("new").await.unwrap(), Some(new.clone()));

        // A missing or revoked token is not rotated, and nothing is inserted.
        assert!(
            !store
                .rotate_token("missing", 600, &token("n2", &pat, &account, 3))
                .await
                .unwrap()
        );
        assert!(store.revoke_token("new", 10).await.unwrap());
        assert!(
            !store
                .rotate_token("new", 600, &token("n3", &pat, &account, 3))
                .await
                .unwrap()
        );
        assert_eq!(store.token("n2").await.unwrap(), None);
        assert_eq!(store.token("n3").await.unwrap(), None);
        assert_eq!(
            store
                .token("new")
                .await
                .unwrap()
                .unwrap()
                .rotated_grace_end_ms,
            None
        );

        // A new token that cannot be inserted leaves the old one as it was.
        let taken = store
            .rotate_token("old", 900, &token("new", &pat, &account, 4))
            .await;
        assert!(is_conflict(&taken), "{taken:?}");
        assert_eq!(
            store
                .token("old")
                .await
                .unwrap()
                .unwrap()
                .rotated_grace_end_ms,
            Some(500)
        );
    }

    /// Everything the cascade tests look at, as labels `KIND@SCOPE:ID` (the
    /// scope as `account[/org[/project]]`).
    #[derive(Default)]
    struct World {
        accounts: Vec<String>,
        scopes: Vec<ScopeKey>,
        owners: Vec<TokenOwner>,
        service_accounts: Vec<String>,
        tokens: Vec<String>,
        sessions: Vec<String>,
    }

    fn path(scope: &ScopeKey) -> String {
        [
            Some(&scope.account),
            scope.org.as_ref(),
            scope.project.as_ref(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join("/")
    }

    /// In account `a`: orgs `o1` (projects `p1`, `p2`) and `o2` (project
    /// `p1`); users `a.u1` and `a.u2` with sessions; at every scope a role,
    /// a user group with both users, a service account with a key and a
    /// token there and another at account scope, and a key of `a.u1` with a
    /// token there and another at account scope; and a token of `a.u2`'s
    /// account-scope key scoped to `o1`. Credential ids carry the scope
    /// their owner or key lives at in brackets.
    async fn world(store: &Store, a: &str, world: &mut World) {
        create_account(store, a).await;
        world.accounts.push(a.into());
        let scopes = [
            ScopeKey::account(a),
            ScopeKey::org(a, "o1"),
            ScopeKey::project(a, "o1", "p1"),
            ScopeKey::project(a, "o1", "p2"),
            ScopeKey::org(a, "o2"),
            ScopeKey::project(a, "o2", "p1"),
        ];
        for scope in &scopes {
            match (&scope.org, &scope.project) {
                (Some(org), None) => create_org(store, a, org).await,
                (Some(org), Some(project)) => create_project(store, a, org, project).await,
                _ => {}
            }
        }
        let (u1, u2) = (format!("{a}.u1"), format!("{a}.u2"));
        for user in [&u1, &u2] {
            create_user(store, a, user).await;
            world.owners.push(TokenOwner::User(user.clone()));
            let id = format!("s-{user}");
            store
                .insert_session(&session(&id, user, 1_000))
                .await
                .unwrap();
            world.sessions.push(id);
        }
        for (n, scope) in scopes.iter().enumerate() {
            let p = path(scope);
            let role = object(scope, ObjectKind::Role, "r", "{}", 1);
            store.put_object(&role, Precondition::Absent).await.unwrap();
            let group = object(scope, ObjectKind::UserGroup, "g", "{}", 1);
            store
                .put_object(&group, Precondition::Absent)
                .await
                .unwrap();
            for user in [&u1, &u2] {
                store.add_member(&member(scope, "g", user)).await.unwrap();
            }
            let sa = format!("sa[{p}]");
            store
                .create_service_account(&service_account(&sa, scope, "bot"))
                .await
                .unwrap();
            world.service_accounts.push(sa.clone());
            let owner = TokenOwner::ServiceAccount(sa.clone());
            world.owners.push(owner.clone());
            let key = api_key(&owner, "k", scope);
            store.create_api_key(&key).await.unwrap();
            let id = format!("t-{sa}");
            store
                .insert_token(&token(&id, &key, scope, 1))
                .await
                .unwrap();
            world.tokens.push(id);
            // Credentials outside their owner's scope go with the owner.
            let key = api_key(&owner, "wide", &scopes[0]);
            store.create_api_key(&key).await.unwrap();
            let id = format!("t-{sa}+");
            store
                .insert_token(&token(&id, &key, &scopes[0], 1))
                .await
                .unwrap();
            world.tokens.push(id);

            let key = api_key(&TokenOwner::User(u1.clone()), &format!("k{n}"), scope);
            store.create_api_key(&key).await.unwrap();
            // Tokens at the key's scope and at the account's go with the key.
            for (id, at) in [
                (format!("t-{u1}[{p}]"), scope),
                (format!("t-{u1}[{p}]+"), &scopes[0]),
            ] {
                store.insert_token(&token(&id, &key, at, 1)).await.unwrap();
                world.tokens.push(id);
            }
        }
        // A token scoped to an org goes with the org, even if its key stays.
        let key = api_key(&TokenOwner::User(u2.clone()), "k", &scopes[0]);
        store.create_api_key(&key).await.unwrap();
        let id = format!("t-{u2}[{a}]");
        store
            .insert_token(&token(&id, &key, &scopes[1], 1))
            .await
            .unwrap();
        world.tokens.push(id);
        world.scopes.extend(scopes);
    }

    async fn labels(store: &Store, world: &World) -> BTreeSet<String> {
        let mut labels = BTreeSet::new();
        for a in &world.accounts {
            if store.account(a).await.unwrap().is_some() {
                labels.insert(format!("account@{a}:"));
            }
            for user in store.users(a).await.unwrap() {
                labels.insert(format!("user@{a}:{}", user.id));
            }
            for org in store.organizations(a).await.unwrap() {
                labels.insert(format!("scope@{a}/{}:", org.identifier));
                for project in store.projects(a, &org.identifier).await.unwrap() {
                    labels.insert(format!(
                        "scope@{a}/{}/{}:",
                        org.identifier, project.identifier
                    ));
                }
            }
        }
        for kind in ObjectKind::ALL {
            for doc in store.all_objects(*kind).await.unwrap() {
                labels.insert(format!(
                    "{}@{}:{}",
                    kind.as_str(),
                    path(&doc.scope),
                    doc.identifier
                ));
            }
        }
        for m in store.all_memberships().await.unwrap() {
            labels.insert(format!(
                "member@{}:{}/{}",
                path(&m.scope),
                m.group,
                m.user_id
            ));
        }
        for scope in &world.scopes {
            for sa in store.service_accounts(scope).await.unwrap() {
                labels.insert(format!("sa@{}:{}", path(&sa.scope), sa.id));
            }
        }
        for id in &world.service_accounts {
            if let Some(sa) = store.service_account(id).await.unwrap() {
                assert!(labels.contains(&format!("sa@{}:{id}", path(&sa.scope))));
            }
        }
        for owner in &world.owners {
            for key in store.api_keys_of(owner).await.unwrap() {
                labels.insert(format!(
                    "key@{}:{}/{}",
                    path(&key.scope),
                    owner.id(),
                    key.identifier
                ));
            }
            for token in store.tokens_of(owner).await.unwrap() {
                assert!(world.tokens.contains(&token.token_id), "{token:?}");
            }
        }
        for id in &world.tokens {
            if let Some(token) = store.token(id).await.unwrap() {
                let scope = ScopeKey {
                    account: token.account,
                    org: token.org,
                    project: token.project,
                };
                labels.insert(format!("token@{}:{id}", path(&scope)));
            }
        }
        for id in &world.sessions {
            if let Some(session) = store.session(id).await.unwrap() {
                labels.insert(format!("session@:{id}/{}", session.user_id));
            }
        }
        labels
    }

    fn scope_of(label: &str) -> &str {
        label
            .split_once('@')
            .and_then(|(_, rest)| rest.split_once(':'))
            .map_or("", |(scope, _)| scope)
    }

    fn id_of(label: &str) -> &str {
        label.split_once(':').map_or("", |(_, id)| id)
    }

    /// Whether a label's row is at `scope` or inside it, or is a credential
    /// whose owner or key is.
    fn within(label: &str, scope: &str) -> bool {
        let inside = |s: &str| s == scope || s.starts_with(&format!("{scope}/"));
        let bracketed = id_of(label)
            .split_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(owner_scope, _)| owner_scope);
        inside(scope_of(label)) || bracketed.is_some_and(inside)
    }

    /// Runs `delete` on two accounts' worlds and checks that it removed
    /// exactly the labels `doomed` selects.
    async fn check_cascade<F, D>(store: &Store, delete: F, doomed: D)
    where
        F: std::future::Future<Output = bool>,
        D: Fn(&str) -> bool,
    {
        let mut w = World::default();
        world(store, "acc", &mut w).await;
        world(store, "zed", &mut w).await;
        let before = labels(store, &w).await;
        let expected: BTreeSet<String> = before.iter().filter(|l| doomed(l)).cloned().collect();
        assert!(!expected.is_empty());
        assert!(delete.await, "the deleted row existed");
        let after = labels(store, &w).await;
        let removed: BTreeSet<String> = before.difference(&after).cloned().collect();
        assert_eq!(removed, expected, "exactly these rows go");
        assert!(after.is_subset(&before), "nothing appears");
    }

    pub async fn deleting_a_project_empties_its_scope_only(store: Store, _url: String) {
        // Deferred, so `check_cascade` builds the worlds before it runs.
        let delete = async { store.delete_project("acc", "o1", "p1").await.unwrap() };
        check_cascade(&store, delete, |l| within(l, "acc/o1/p1")).await;
        assert!(!store.delete_project("acc", "o1", "p1").await.unwrap());
        assert!(!store.delete_project("acc", "", "").await.unwrap());
    }

    pub async fn deleting_an_org_empties_it_and_its_projects(store: Store, _url: String) {
        let delete = async { store.delete_organization("acc", "o1").await.unwrap() };
        check_cascade(&store, delete, |l| within(l, "acc/o1")).await;
        assert!(!store.delete_organization("acc", "").await.unwrap());
        assert!(
            !store
                .objects(&ScopeKey::account("acc"), ObjectKind::Role)
                .await
                .unwrap()
                .is_empty(),
            "an empty org identifier does not reach the account's scope"
        );
    }

    pub async fn deleting_an_account_deletes_everything_but_its_audit(store: Store, _url: String) {
        store
            .append_audit("acc", |head| Ok(chained("acc", head, "account.create", 1)))
            .await
            .unwrap();
        let delete = async { store.delete_account("acc").await.unwrap() };
        check_cascade(&store, delete, |l| {
            within(l, "acc") || id_of(l).contains("acc.u")
        })
        .await;
        assert!(
            store
                .accounts()
                .await
                .unwrap()
                .iter()
                .all(|a| a.identifier != "acc")
        );
        assert_eq!(store.audit_head("acc").await.unwrap().unwrap().count, 1);
        assert_eq!(store.audit_range("acc", 0, 10).await.unwrap().len(), 1);
        assert!(!store.delete_account("acc").await.unwrap());
    }

    pub async fn deleting_a_user_deletes_their_sessions_memberships_keys_and_tokens(
        store: Store,
        _url: String,
    ) {
        let delete = async { store.delete_user("acc.u1").await.unwrap() };
        check_cascade(&store, delete, |l| id_of(l).contains("acc.u1")).await;
        assert!(!store.delete_user("acc.u1").await.unwrap());
        // A recreated user does not inherit anything.
        create_user(&store, "acc", "acc.u1").await;
        let owner = TokenOwner::User("acc.u1".into());
        assert!(store.api_keys_of(&owner).await.unwrap().is_empty());
        assert!(store.tokens_of(&owner).await.unwrap().is_empty());
        assert!(
            store
                .members(&ScopeKey::account("acc"), "g")
                .await
                .unwrap()
                .iter()
                .all(|u| u != "acc.u1")
        );
    }

    pub async fn the_generation_advances_on_security_writes_only(store: Store, _url: String) {
        let mut seen = store.generation().await.unwrap();
        assert_eq!(seen, 0, "a new database starts at 0");
        // Runs a write and checks how far it moved the generation.
        macro_rules! step {
            ($bumps:expr, $write:expr) => {{
                let outcome = $write.await;
                let now = store.generation().await.unwrap();
                assert_eq!(
                    now,
                    seen + $bumps,
                    "{} (returned {outcome:?})",
                    stringify!($write)
                );
                seen = now;
                outcome
            }};
        }
        let account = ScopeKey::account("acc");
        let org = ScopeKey::org("acc", "o");
        let ada = TokenOwner::User("u".into());
        let bot = TokenOwner::ServiceAccount("sa".into());
        let acct = Account {
            identifier: "acc".into(),
            name: "A".into(),
            created_at_ms: 1,
        };
        step!(1, store.create_account(&acct)).unwrap();
        step!(1, store.update_account(&acct)).unwrap();
        let orgrow = Organization {
            account: "acc".into(),
            identifier: "o".into(),
            name: "o".into(),
            description: String::new(),
            created_at_ms: 1,
        };
        step!(1, store.create_organization(&orgrow)).unwrap();
        step!(1, store.update_organization(&orgrow)).unwrap();
        let projrow = Project {
            account: "acc".into(),
            org: "o".into(),
            identifier: "p".into(),
            name: "p".into(),
            description: String::new(),
            created_at_ms: 1,
        };
        step!(1, store.create_project(&projrow)).unwrap();
        step!(1, store.update_project(&projrow)).unwrap();
        step!(1, async { create_user(&store, "acc", "u").await });
        step!(1, async { create_user(&store, "acc", "u2").await });
        step!(1, store.update_user_profile("u", "U", false, 2)).unwrap();
        step!(1, store.set_password_hash("u", "$argon2id$y", false, 2)).unwrap();
        step!(1, store.set_totp("u", b"seed", b"codes", 2)).unwrap();
        step!(1, store.set_recovery_codes("u", b"codes2", 2)).unwrap();
        step!(1, store.clear_totp("u", 2)).unwrap();
        let group = object(&account, ObjectKind::UserGroup, "g", "{}", 1);
        step!(1, store.put_object(&group, Precondition::Absent)).unwrap();
        step!(1, store.put_object(&group, Precondition::Version(1))).unwrap();
        step!(1, store.put_object(&group, Precondition::Any)).unwrap();
        step!(1, store.add_member(&member(&account, "g", "u"))).unwrap();
        step!(1, store.remove_member(&member(&account, "g", "u"))).unwrap();
        step!(1, store.add_member(&member(&account, "g", "u"))).unwrap();
        let sa = service_account("sa", &org, "bot");
        step!(1, store.create_service_account(&sa)).unwrap();
        step!(1, store.update_service_account(&sa)).unwrap();
        let pat = api_key(&ada, "pat", &account);
        step!(1, store.create_api_key(&pat)).unwrap();
        step!(1, store.create_api_key(&api_key(&bot, "k", &org))).unwrap();
        step!(1, store.insert_token(&token("t1", &pat, &account, 1))).unwrap();
        step!(
            1,
            store.rotate_token("t1", 5, &token("t2", &pat, &account, 2))
        )
        .unwrap();
        step!(1, store.set_token_grace_end("t1", 6)).unwrap();
        step!(1, store.revoke_token("t1", 7)).unwrap();

        // Bookkeeping and sessions do not invalidate decisions.
        step!(0, store.touch_token("t2", 8)).unwrap();
        step!(0, store.set_login_state("u", None, Some("f=1"))).unwrap();
        step!(0, store.advance_totp_step("u", 10)).unwrap();
        step!(0, store.set_totp_pending("u", Some(b"p"), 9)).unwrap();
        step!(0, store.insert_session(&session("s", "u", 1_000))).unwrap();
        step!(0, store.touch_session("s", 200)).unwrap();
        step!(0, store.set_session_stage("s", "mfa")).unwrap();
        step!(0, store.revoke_session("s", 300)).unwrap();
        step!(0, store.revoke_sessions_of("u", None, 300)).unwrap();
        step!(0, store.delete_ended_sessions(2_000)).unwrap();
        step!(
            0,
            store.append_audit("acc", |head| Ok(chained("acc", head, "x", 1)))
        )
        .unwrap();

        // Writes that change nothing or fail leave it too.
        step!(
            0,
            store.update_account(&Account {
                identifier: "none".into(),
                ..acct.clone()
            })
        )
        .unwrap();
        step!(0, store.put_object(&group, Precondition::Version(1))).unwrap_err();
        step!(0, store.put_object(&group, Precondition::Absent)).unwrap_err();
        step!(0, store.add_member(&member(&account, "g", "u"))).unwrap();
        step!(0, store.delete_user("none")).unwrap();
        step!(
            0,
            store.rotate_token("t1", 5, &token("t3", &pat, &account, 3))
        )
        .unwrap();
        step!(0, store.create_service_account(&sa)).unwrap_err();

        // Deletes bump.
        step!(1, store.delete_api_key(&bot, "k")).unwrap();
        step!(1, store.delete_service_account("sa")).unwrap();
        step!(1, store.delete_object(&account, ObjectKind::UserGroup, "g")).unwrap();
        step!(1, store.delete_user("u2")).unwrap();
        step!(1, store.delete_project("acc", "o", "p")).unwrap();
        step!(1, store.delete_organization("acc", "o")).unwrap();
        step!(1, store.delete_account("acc")).unwrap();
        assert_eq!(seen, store.generation().await.unwrap());
    }

    pub async fn sessions_touch_stage_revoke_and_expire(store: Store, _url: String) {
        basic(&store).await;
        let orphan = store.insert_session(&session("x", "missing", 1_000)).await;
        assert!(is_conflict(&orphan), "{orphan:?}");
        let first = session("s1", "u1", 1_000);
        store.insert_session(&first).await.unwrap();
        let dup = store.insert_session(&session("s1", "u2", 1_000)).await;
        assert!(is_conflict(&dup), "{dup:?}");
        assert_eq!(store.session("s1").await.unwrap(), Some(first));
        assert_eq!(store.session("nope").await.unwrap(), None);

        assert!(store.touch_session("s1", 300).await.unwrap());
        assert!(store.touch_session("s1", 200).await.unwrap());
        assert_eq!(
            store.session("s1").await.unwrap().unwrap().last_seen_ms,
            300
        );
        assert!(!store.touch_session("nope", 300).await.unwrap());

        assert!(
            store
                .set_session_stage("s1", "password_change")
                .await
                .unwrap()
        );
        assert_eq!(
            store.session("s1").await.unwrap().unwrap().stage,
            "password_change"
        );
        assert!(store.revoke_session("s1", 400).await.unwrap());
        assert!(store.revoke_session("s1", 500).await.unwrap());
        let revoked = store.session("s1").await.unwrap().unwrap();
        assert_eq!(
            revoked.revoked_at_ms,
            Some(400),
            "the first revocation stands"
        );
        assert!(
            !store.set_session_stage("s1", "active").await.unwrap(),
            "a revoked session keeps its stage"
        );
        assert_eq!(
            store.session("s1").await.unwrap().unwrap().stage,
            "password_change"
        );
        assert!(!store.revoke_session("nope", 1).await.unwrap());

        // Revoking a user's sessions keeps the caller's and skips the dead.
        for (id, user, expires) in [
            ("a", "u2", 1_000),
            ("b", "u2", 1_000),
            ("c", "u2", 1_000),
            ("old", "u2", 150),
            ("other", "u1", 1_000),
        ] {
            store
                .insert_session(&session(id, user, expires))
                .await
                .unwrap();
        }
        assert_eq!(
            store
                .revoke_sessions_of("u2", Some("b"), 200)
                .await
                .unwrap(),
            2
        );
        for (id, revoked) in [
            ("a", true),
            ("b", false),
            ("c", true),
            ("old", false),
            ("other", false),
        ] {
            assert_eq!(
                store
                    .session(id)
                    .await
                    .unwrap()
                    .unwrap()
                    .revoked_at_ms
                    .is_some(),
                revoked,
                "{id}"
            );
        }
        assert_eq!(store.revoke_sessions_of("u2", None, 250).await.unwrap(), 1);
        assert_eq!(
            store.session("b").await.unwrap().unwrap().revoked_at_ms,
            Some(250)
        );
        assert_eq!(store.revoke_sessions_of("u2", None, 260).await.unwrap(), 0);

        // Ended before 300: `old` expired at 150, a/c revoked at 200, b at 250.
        // s1 was revoked at 400 and `other` is live.
        assert_eq!(store.delete_ended_sessions(300).await.unwrap(), 4);
        for (id, kept) in [
            ("old", false),
            ("a", false),
            ("b", false),
            ("s1", true),
            ("other", true),
        ] {
            assert_eq!(store.session(id).await.unwrap().is_some(), kept, "{id}");
        }
        assert_eq!(store.delete_ended_sessions(1_001).await.unwrap(), 2);
    }

    /// A record chained to `head` like the server's: hash = digest(prev, seq),
    /// and `record` holds "PREV HASH".
    fn chained(account: &str, head: Option<AuditHead>, action: &str, time_ms: i64) -> Appended {
        use std::hash::{Hash, Hasher};
        let seq = head.as_ref().map_or(1, |h| h.count + 1);
        let prev = head.map_or_else(|| "genesis".to_string(), |h| h.last_hash);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (&prev, seq, action).hash(&mut hasher);
        let hash = format!("{:016x}", hasher.finish());
        let row = AuditRow {
            account: account.into(),
            seq,
            time_ms,
            action: action.into(),
            actor: "user:u1".into(),
            resource_kind: "pipeline".into(),
            resource_id: Some(format!("r{seq}")),
            outcome: "success".into(),
            source_ip: None,
            record: format!("{prev} {hash}"),
        };
        (
            row,
            AuditHead {
                count: seq,
                last_hash: hash,
            },
        )
    }

    fn prev_and_hash(row: &AuditRow) -> (&str, &str) {
        row.record.split_once(' ').unwrap()
    }

    pub async fn append_hands_the_head_and_a_failed_build_writes_nothing(
        store: Store,
        _url: String,
    ) {
        assert_eq!(store.audit_head("acc").await.unwrap(), None);
        let failed = store
            .append_audit("acc", |head| {
                assert_eq!(head, None, "an empty chain has no head");
                Err("cannot encode".to_string())
            })
            .await;
        assert!(
            matches!(&failed, Err(StoreError::Corrupt(m)) if m.contains("cannot encode")),
            "{failed:?}"
        );
        assert_eq!(store.audit_head("acc").await.unwrap(), None, "no head left");
        assert!(store.audit_accounts().await.unwrap().is_empty());

        let first = store
            .append_audit("acc", |head| {
                assert_eq!(head, None);
                Ok(chained("acc", head, "login", 10))
            })
            .await
            .unwrap();
        assert_eq!(first.seq, 1);
        let head = store.audit_head("acc").await.unwrap().unwrap();
        assert_eq!(head.count, 1);
        assert_eq!(prev_and_hash(&first), ("genesis", head.last_hash.as_str()));

        let expected_head = head.clone();
        let second = store
            .append_audit("acc", move |head| {
                assert_eq!(head.as_ref(), Some(&expected_head));
                Ok(chained("acc", head, "logout", 20))
            })
            .await
            .unwrap();
        assert_eq!(second.seq, 2);
        assert_eq!(prev_and_hash(&second).0, head.last_hash);

        let failed = store.append_audit("acc", |_| Err("boom".to_string())).await;
        assert!(matches!(failed, Err(StoreError::Corrupt(_))), "{failed:?}");
        // A build that does not continue the chain is refused too.
        type Build = fn(Option<AuditHead>) -> Result<Appended, String>;
        let restarts: Build = |_| Ok(chained("acc", None, "x", 1));
        let elsewhere: Build = |head| Ok(chained("other", head, "x", 1));
        for bad in [restarts, elsewhere] {
            let result = store.append_audit("acc", bad).await;
            assert!(matches!(result, Err(StoreError::Corrupt(_))), "{result:?}");
        }
        assert_eq!(store.audit_head("acc").await.unwrap().unwrap().count, 2);
        assert_eq!(
            store.audit_range("acc", 0, 10).await.unwrap(),
            [first, second],
            "nothing was written by the failed appends"
        );
    }

    pub async fn concurrent_appends_form_one_chain(store: Store, _url: String) {
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .append_audit("acc", move |head| Ok(chained("acc", head, "run", i)))
                        .await
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let rows = store.audit_range("acc", 0, 100).await.unwrap();
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=20).collect::<Vec<_>>(), "no gaps, no duplicates");
        let mut prev = "genesis";
        for row in &rows {
            let (linked, hash) = prev_and_hash(row);
            assert_eq!(
                linked, prev,
                "record {} links to the previous head",
                row.seq
            );
            prev = hash;
        }
        let head = store.audit_head("acc").await.unwrap().unwrap();
        assert_eq!((head.count, head.last_hash.as_str()), (20, prev));
    }

    /// Appends records 1..=10 to `acc` (and one to `other`): actions cycle
    /// through login, logout, delete; odd ones fail; time is seq * 100.
    async fn audit_log(store: &Store) {
        for seq in 1..=10i64 {
            let action = ["login", "logout", "delete"][usize::try_from((seq - 1) % 3).unwrap()];
            store
                .append_audit("acc", move |head| {
                    let (mut row, head) = chained("acc", head, action, seq * 100);
                    row.outcome = if seq % 2 == 1 { "failure" } else { "success" }.into();
                    row.actor = format!("user:u{}", seq % 2);
                    row.resource_id = (seq != 10).then(|| format!("r{}", seq % 4));
                    Ok((row, head))
                })
                .await
                .unwrap();
        }
        store
            .append_audit("other", |head| Ok(chained("other", head, "login", 100)))
            .await
            .unwrap();
    }

    pub async fn audit_query_filters_and_pages(store: Store, _url: String) {
        audit_log(&store).await;
        let query = |filter: AuditFilter| {
            let store = store.clone();
            async move {
                store
                    .audit_query("acc", &filter)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.seq)
                    .collect::<Vec<_>>()
            }
        };
        let all = AuditFilter {
            limit: 100,
            ..AuditFilter::default()
        };
        assert_eq!(query(all.clone()).await, (1..=10).rev().collect::<Vec<_>>());
        assert_eq!(
            query(AuditFilter {
                limit: 3,
                ..all.clone()
            })
            .await,
            [10, 9, 8]
        );
        assert_eq!(
            query(AuditFilter {
                before_seq: Some(8),
                limit: 3,
                ..all.clone()
            })
            .await,
            [7, 6, 5],
            "the next page"
        );
        // Actions by seq: 1 login, 2 logout, 3 delete, 4 login, ...
        assert_eq!(
            query(AuditFilter {
                actions: vec!["login".into(), "delete".into()],
                ..all.clone()
            })
            .await,
            [10, 9, 7, 6, 4, 3, 1]
        );
        assert_eq!(
            query(AuditFilter {
                actions: vec!["logout".into()],
                ..all.clone()
            })
            .await,
            [8, 5, 2]
        );
        assert_eq!(
            query(AuditFilter {
                actor: Some("user:u0".into()),
                ..all.clone()
            })
            .await,
            [10, 8, 6, 4, 2]
        );
        assert_eq!(
            query(AuditFilter {
                outcome: Some("failure".into()),
                actions: vec!["login".into()],
                ..all.clone()
            })
            .await,
            [7, 1],
            "filters are ANDed"
        );
        assert_eq!(
            query(AuditFilter {
                resource_kind: Some("pipeline".into()),
                resource_id: Some("r1".into()),
                ..all.clone()
            })
            .await,
            [9, 5, 1]
        );
        assert_eq!(
            query(AuditFilter {
                from_ms: Some(300),
                to_ms: Some(600),
                ..all.clone()
            })
            .await,
            [5, 4, 3],
            "from inclusive, to exclusive"
        );
        assert!(
            query(AuditFilter {
                resource_kind: Some("secret".into()),
                ..all.clone()
            })
            .await
            .is_empty()
        );
        // A value is never SQL.
        assert!(
            query(AuditFilter {
                actor: Some("x' OR '1'='1".into()),
                actions: vec!["login') OR ('1'='1".into()],
                ..all.clone()
            })
            .await
            .is_empty()
        );
        let rows = store.audit_query("other", &all).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].account, "other");
    }

    pub async fn audit_range_and_accounts(store: Store, _url: String) {
        assert!(store.audit_accounts().await.unwrap().is_empty());
        audit_log(&store).await;
        let seqs = |rows: Vec<AuditRow>| rows.into_iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(
            seqs(store.audit_range("acc", 0, 4).await.unwrap()),
            [1, 2, 3, 4]
        );
        assert_eq!(
            seqs(store.audit_range("acc", 4, 4).await.unwrap()),
            [5, 6, 7, 8]
        );
        assert_eq!(seqs(store.audit_range("acc", 8, 4).await.unwrap()), [9, 10]);
        assert!(store.audit_range("acc", 10, 4).await.unwrap().is_empty());
        assert_eq!(seqs(store.audit_range("other", 0, 4).await.unwrap()), [1]);
        let tenth = &store.audit_range("acc", 9, 1).await.unwrap()[0];
        assert_eq!(
            (
                tenth.time_ms,
                tenth.resource_id.as_deref(),
                tenth.source_ip.as_deref()
            ),
            (1000, None, None)
        );
        assert_eq!(store.audit_accounts().await.unwrap(), ["acc", "other"]);
    }

    pub async fn audit_events_are_append_only(store: Store, url: String) {
        audit_log(&store).await;
        let statements = [
            "UPDATE audit_events SET outcome = 'success'",
            "DELETE FROM audit_events WHERE seq = 10",
            "DELETE FROM audit_events",
        ];
        let refusals: Vec<String> = match &store {
            Store::Sqlite(_) => {
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                let mut errors = Vec::new();
                for sql in statements {
                    errors.push(
                        sqlx::raw_sql(sql)
                            .execute(&mut conn)
                            .await
                            .unwrap_err()
                            .to_string(),
                    );
                }
                conn.close().await.unwrap();
                errors
            }
            Store::Postgres(_) => {
                let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                let mut errors = Vec::new();
                for sql in statements.into_iter().chain(["TRUNCATE audit_events"]) {
                    errors.push(
                        sqlx::raw_sql(sql)
                            .execute(&mut conn)
                            .await
                            .unwrap_err()
                            .to_string(),
                    );
                }
                conn.close().await.unwrap();
                errors
            }
        };
        for refusal in &refusals {
            assert!(refusal.contains("audit_events is append-only"), "{refusal}");
        }
        let rows = store.audit_range("acc", 0, 100).await.unwrap();
        assert_eq!(rows.len(), 10, "every record is still there");
        assert_eq!(rows[0].outcome, "failure", "and unchanged");
        // The head stays updatable by appends.
        store
            .append_audit("acc", |head| Ok(chained("acc", head, "login", 2000)))
            .await
            .unwrap();
        assert_eq!(store.audit_head("acc").await.unwrap().unwrap().count, 11);
    }

    pub async fn the_security_watch_reports_new_generations(store: Store, url: String) {
        let Some(mut watch) = store.watch_security().await.unwrap() else {
            assert!(
                matches!(store, Store::Sqlite(_)),
                "only SQLite has no watch"
            );
            return;
        };
        let wait = Duration::from_secs(5);
        create_account(&store, "acc").await;
        let generation = tokio::time::timeout(wait, watch.changed())
            .await
            .expect("a notification within 5 s")
            .unwrap();
        assert_eq!(generation, store.generation().await.unwrap());
        assert_eq!(generation, 1);

        // A write from another store (another replica) is heard too.
        let other = Store::connect(&url).await.unwrap();
        create_org(&other, "acc", "o").await;
        other.close().await;
        let generation = tokio::time::timeout(wait, watch.changed())
            .await
            .expect("a notification within 5 s")
            .unwrap();
        assert_eq!(generation, 2);

        // A lost connection is re-established; what was missed meanwhile is
        // reported as the current generation.
        let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
        let terminated: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .fetch_all(&mut admin)
        .await
        .unwrap();
        admin.close().await.unwrap();
        assert_eq!(terminated, [true], "one listener");
        create_project(&store, "acc", "o", "p").await;
        let mut failures = Vec::new();
        let generation = loop {
            match tokio::time::timeout(wait, watch.changed()).await {
                Ok(Ok(generation)) => break generation,
                Ok(Err(error)) if failures.len() < 3 => failures.push(error.to_string()),
                outcome => panic!("no recovery: {outcome:?} after {failures:?}"),
            }
        };
        assert_eq!(generation, 3);
        create_project(&store, "acc", "o", "p2").await;
        let generation = tokio::time::timeout(wait, watch.changed())
            .await
            .expect("listening again")
            .unwrap();
        assert_eq!(generation, 4);

        // A rolled-back write notifies nobody; a non-bumping one neither.
        assert!(!store.delete_user("missing").await.unwrap());
        store.set_login_state("missing", None, None).await.unwrap();
        let quiet = tokio::time::timeout(Duration::from_millis(300), watch.changed()).await;
        assert!(quiet.is_err(), "{quiet:?}");
    }
}
