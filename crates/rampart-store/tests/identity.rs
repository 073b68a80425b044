//! One suite of `IdentityRepo` behaviour, run against both databases (see
//! `common` for how each test runs on SQLite and on PostgreSQL).

// Test helpers outside #[test] functions unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

rampart_testkit::on_both!(
    accounts_create_get_and_conflict,
    organizations_are_unique_within_their_account,
    projects_are_unique_within_their_org_and_go_with_it,
    users_by_id_and_email_with_password_and_totp,
    tokens_lookup_list_revoke_and_touch,
    identity_rows_survive_a_reopen,
    accounts_are_listed_and_renamed,
    orgs_and_projects_are_renamed,
    users_are_listed_updated_and_deleted,
    password_flag_login_state_and_totp_bookkeeping,
    token_fields_round_trip,
);

mod suite {
    use rampart_store::{
        Account, ApiToken, IdentityRepo, Organization, Project, Store, StoreError, TokenOwner, User,
    };

    fn is_conflict<T: std::fmt::Debug>(result: &Result<T, StoreError>) -> bool {
        matches!(result, Err(StoreError::Conflict(_)))
    }

    fn account(id: &str) -> Account {
        Account {
            identifier: id.into(),
            name: format!("Account {id}"),
            created_at_ms: 1_700_000_000_000,
        }
    }

    fn org(account: &str, id: &str) -> Organization {
        Organization {
            account: account.into(),
            identifier: id.into(),
            name: format!("Org {id}"),
            description: "d".into(),
            created_at_ms: 5,
        }
    }

    fn project(account: &str, org: &str, id: &str) -> Project {
        Project {
            account: account.into(),
            org: org.into(),
            identifier: id.into(),
            name: format!("Project {id}"),
            description: String::new(),
            created_at_ms: 6,
        }
    }

    fn user(account: &str, id: &str, email: &str) -> User {
        User {
            id: id.into(),
            account: account.into(),
            email: email.into(),
            display_name: "Ada".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            totp_secret_sealed: None,
            totp_last_step: None,
            recovery_codes: None,
            totp_pending_sealed: None,
            must_change_password: false,
            login_state: None,
            disabled: false,
            created_at_ms: 10,
            updated_at_ms: 10,
        }
    }

    fn token(id: &str, owner: TokenOwner, created: i64) -> ApiToken {
        ApiToken {
            token_id: id.into(),
            account: "acc".into(),
            org: Some("o".into()),
            project: None,
            owner,
            // Tokens from before API keys have none.
            api_key: String::new(),
            name: format!("token {id}"),
            description: format!("what {id} is for"),
            permissions: None,
            hash: vec![0, 0xff, 7, 0],
            created_at_ms: created,
            expires_at_ms: Some(created + 1000),
            last_used_at_ms: None,
            revoked_at_ms: None,
            rotated_grace_end_ms: None,
        }
    }

    pub async fn accounts_create_get_and_conflict(store: Store, _url: String) {
        assert_eq!(store.account("acc").await.unwrap(), None);
        store.create_account(&account("acc")).await.unwrap();
        assert_eq!(store.account("acc").await.unwrap(), Some(account("acc")));
        let again = store.create_account(&account("acc")).await;
        assert!(is_conflict(&again), "{again:?}");
        assert_eq!(store.account("ACC").await.unwrap(), None, "byte-wise keys");
    }

    pub async fn organizations_are_unique_within_their_account(store: Store, _url: String) {
        store.create_account(&account("a1")).await.unwrap();
        store.create_account(&account("a2")).await.unwrap();
        for o in ["zeta", "Beta", "alpha"] {
            store.create_organization(&org("a1", o)).await.unwrap();
        }
        // The same identifier in another account is a different org.
        store
            .create_organization(&org("a2", "alpha"))
            .await
            .unwrap();
        let dup = store.create_organization(&org("a1", "alpha")).await;
        assert!(is_conflict(&dup), "{dup:?}");
        let orphan = store.create_organization(&org("nope", "x")).await;
        assert!(is_conflict(&orphan), "{orphan:?}");

        assert_eq!(
            store.organization("a1", "zeta").await.unwrap(),
            Some(org("a1", "zeta"))
        );
        assert_eq!(store.organization("a2", "zeta").await.unwrap(), None);
        let listed: Vec<_> = store
            .organizations("a1")
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.identifier)
            .collect();
        assert_eq!(listed, ["Beta", "alpha", "zeta"], "byte-wise order");

        assert!(store.delete_organization("a1", "alpha").await.unwrap());
        assert!(!store.delete_organization("a1", "alpha").await.unwrap());
        assert_eq!(store.organizations("a1").await.unwrap().len(), 2);
        assert_eq!(
            store.organization("a2", "alpha").await.unwrap(),
            Some(org("a2", "alpha")),
            "the other account's org is untouched"
        );
    }

    pub async fn projects_are_unique_within_their_org_and_go_with_it(store: Store, _url: String) {
        store.create_account(&account("acc")).await.unwrap();
        store.create_organization(&org("acc", "o1")).await.unwrap();
        store.create_organization(&org("acc", "o2")).await.unwrap();
        store
            .create_project(&project("acc", "o1", "p2"))
            .await
            .unwrap();
        store
            .create_project(&project("acc", "o1", "p1"))
            .await
            .unwrap();
        store
            .create_project(&project("acc", "o2", "p1"))
            .await
            .unwrap();
        let dup = store.create_project(&project("acc", "o1", "p1")).await;
        assert!(is_conflict(&dup), "{dup:?}");
        let orphan = store.create_project(&project("acc", "o3", "p1")).await;
        assert!(is_conflict(&orphan), "{orphan:?}");

        assert_eq!(
            store.project("acc", "o1", "p2").await.unwrap(),
            Some(project("acc", "o1", "p2"))
        );
        assert_eq!(store.project("acc", "o2", "p2").await.unwrap(), None);
        let listed: Vec<_> = store
            .projects("acc", "o1")
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.identifier)
            .collect();
        assert_eq!(listed, ["p1", "p2"]);

        assert!(store.delete_project("acc", "o1", "p1").await.unwrap());
        assert!(!store.delete_project("acc", "o1", "p1").await.unwrap());
        assert_eq!(store.projects("acc", "o1").await.unwrap().len(), 1);

        // Deleting an org deletes its projects, and only its own.
        assert!(store.delete_organization("acc", "o1").await.unwrap());
        assert!(store.projects("acc", "o1").await.unwrap().is_empty());
        assert_eq!(store.projects("acc", "o2").await.unwrap().len(), 1);
    }

    pub async fn users_by_id_and_email_with_password_and_totp(store: Store, _url: String) {
        store.create_account(&account("a1")).await.unwrap();
        store.create_account(&account("a2")).await.unwrap();
        let ada = user("a1", "u1", "ada@example.com");
        store.create_user(&ada).await.unwrap();
        // The same address in another account is another user.
        store
            .create_user(&user("a2", "u2", "ada@example.com"))
            .await
            .unwrap();
        let same_email = store
            .create_user(&user("a1", "u3", "ada@example.com"))
            .await;
        assert!(is_conflict(&same_email), "{same_email:?}");
        let same_id = store
            .create_user(&user("a2", "u1", "other@example.com"))
            .await;
        assert!(is_conflict(&same_id), "{same_id:?}");
        let orphan = store
            .create_user(&user("nope", "u9", "x@example.com"))
            .await;
        assert!(is_conflict(&orphan), "{orphan:?}");

        assert_eq!(store.user("u1").await.unwrap(), Some(ada.clone()));
        assert_eq!(
            store.user_by_email("a1", "ada@example.com").await.unwrap(),
            Some(ada.clone())
        );
        assert_eq!(
            store
                .user_by_email("a2", "ada@example.com")
                .await
                .unwrap()
                .unwrap()
                .id,
            "u2"
        );
        assert_eq!(store.user("missing").await.unwrap(), None);

        assert!(
            store
                .set_password_hash("u1", "$argon2id$new", false, 20)
                .await
                .unwrap()
        );
        assert!(
            !store
                .set_password_hash("missing", "$argon2id$new", false, 20)
                .await
                .unwrap()
        );
        let changed = store.user("u1").await.unwrap().unwrap();
        assert_eq!(
            (changed.password_hash.as_str(), changed.updated_at_ms),
            ("$argon2id$new", 20)
        );
        assert_eq!(changed.created_at_ms, 10);

        let sealed = vec![0u8, 1, 2, 0xfe, 0];
        let codes = vec![9u8; 64];
        assert!(store.set_totp("u1", &sealed, &codes, 30).await.unwrap());
        let enrolled = store.user("u1").await.unwrap().unwrap();
        assert_eq!(
            enrolled.totp_secret_sealed.as_deref(),
            Some(sealed.as_slice())
        );
        assert_eq!(enrolled.recovery_codes.as_deref(), Some(codes.as_slice()));
        assert_eq!(
            (enrolled.totp_last_step, enrolled.updated_at_ms),
            (None, 30)
        );

        // A step is accepted once, and never an older one.
        assert!(store.advance_totp_step("u1", 100).await.unwrap());
        assert!(!store.advance_totp_step("u1", 100).await.unwrap());
        assert!(!store.advance_totp_step("u1", 99).await.unwrap());
        assert!(store.advance_totp_step("u1", 101).await.unwrap());
        assert_eq!(
            store.user("u1").await.unwrap().unwrap().totp_last_step,
            Some(101)
        );

        assert!(store.clear_totp("u1", 40).await.unwrap());
        let cleared = store.user("u1").await.unwrap().unwrap();
        assert_eq!(
            (
                cleared.totp_secret_sealed,
                cleared.recovery_codes,
                cleared.totp_last_step,
                cleared.updated_at_ms
            ),
            (None, None, None, 40)
        );

        // A logged row shows neither the password hash nor the sealed seed.
        store
            .set_totp("u1", b"SEALEDSEED", &codes, 50)
            .await
            .unwrap();
        let shown = format!("{:?}", store.user("u1").await.unwrap().unwrap());
        assert!(
            !shown.contains("argon2id") && !shown.contains("83, 69, 65"),
            "{shown}"
        );
        assert!(shown.contains("totp_enrolled: true"), "{shown}");

        let mut disabled = user("a1", "u4", "off@example.com");
        disabled.disabled = true;
        store.create_user(&disabled).await.unwrap();
        assert!(store.user("u4").await.unwrap().unwrap().disabled);
    }

    pub async fn tokens_lookup_list_revoke_and_touch(store: Store, _url: String) {
        store.create_account(&account("acc")).await.unwrap();
        let ada = TokenOwner::User("u1".into());
        let bot = TokenOwner::ServiceAccount("u1".into());
        let first = token("tok_b", ada.clone(), 100);
        store.insert_token(&first).await.unwrap();
        store
            .insert_token(&token("tok_a", ada.clone(), 200))
            .await
            .unwrap();
        let mut scoped = token("tok_c", bot.clone(), 50);
        scoped.project = Some("p".into());
        scoped.expires_at_ms = None;
        store.insert_token(&scoped).await.unwrap();
        let dup = store.insert_token(&token("tok_b", bot.clone(), 1)).await;
        assert!(is_conflict(&dup), "{dup:?}");

        assert_eq!(store.token("tok_b").await.unwrap(), Some(first.clone()));
        assert_eq!(store.token("tok_c").await.unwrap(), Some(scoped.clone()));
        assert_eq!(store.token("tok_x").await.unwrap(), None);

        // A user and a service account with the same id own different tokens.
        let listed: Vec<_> = store
            .tokens_of(&ada)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.token_id)
            .collect();
        assert_eq!(listed, ["tok_b", "tok_a"], "oldest first");
        assert_eq!(store.tokens_of(&bot).await.unwrap(), [scoped]);

        assert!(store.touch_token("tok_b", 500).await.unwrap());
        assert_eq!(
            store.token("tok_b").await.unwrap().unwrap().last_used_at_ms,
            Some(500)
        );
        assert!(store.touch_token("tok_b", 400).await.unwrap());
        assert_eq!(
            store.token("tok_b").await.unwrap().unwrap().last_used_at_ms,
            Some(500),
            "never backwards"
        );
        assert!(!store.touch_token("tok_x", 400).await.unwrap());

        assert!(store.revoke_token("tok_b", 600).await.unwrap());
        assert!(store.revoke_token("tok_b", 700).await.unwrap());
        let revoked = store.token("tok_b").await.unwrap().unwrap();
        assert_eq!(
            revoked.revoked_at_ms,
            Some(600),
            "the first revocation stands"
        );
        assert_eq!(
            store.token("tok_a").await.unwrap().unwrap().revoked_at_ms,
            None
        );
        assert!(!store.revoke_token("tok_x", 600).await.unwrap());

        let shown = format!("{revoked:?}");
        assert!(
            shown.contains("hash: \"<hidden>\"") && !shown.contains("255"),
            "{shown}"
        );

        assert!(store.set_token_grace_end("tok_a", 900).await.unwrap());
        assert_eq!(
            store
                .token("tok_a")
                .await
                .unwrap()
                .unwrap()
                .rotated_grace_end_ms,
            Some(900)
        );
    }

    pub async fn identity_rows_survive_a_reopen(store: Store, url: String) {
        store.create_account(&account("acc")).await.unwrap();
        store
            .insert_token(&token("tok", TokenOwner::User("u".into()), 1))
            .await
            .unwrap();
        let again = Store::connect(&url).await.unwrap();
        assert_eq!(again.account("acc").await.unwrap(), Some(account("acc")));
        assert_eq!(again.token("tok").await.unwrap().unwrap().token_id, "tok");
        again.close().await;
    }

    pub async fn accounts_are_listed_and_renamed(store: Store, _url: String) {
        assert!(store.accounts().await.unwrap().is_empty());
        for a in ["b", "A", "a"] {
            store.create_account(&account(a)).await.unwrap();
        }
        let listed: Vec<_> = store
            .accounts()
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.identifier)
            .collect();
        assert_eq!(listed, ["A", "a", "b"], "byte-wise order");

        let renamed = Account {
            name: "Renamed".into(),
            // Neither the key nor the creation time changes.
            created_at_ms: 1,
            ..account("a")
        };
        assert!(store.update_account(&renamed).await.unwrap());
        let stored = store.account("a").await.unwrap().unwrap();
        assert_eq!(
            (stored.name.as_str(), stored.created_at_ms),
            ("Renamed", account("a").created_at_ms)
        );
        assert!(!store.update_account(&account("nope")).await.unwrap());
        assert_eq!(store.account("b").await.unwrap(), Some(account("b")));
    }

    pub async fn orgs_and_projects_are_renamed(store: Store, _url: String) {
        store.create_account(&account("acc")).await.unwrap();
        store.create_organization(&org("acc", "o")).await.unwrap();
        store.create_organization(&org("acc", "o2")).await.unwrap();
        store
            .create_project(&project("acc", "o", "p"))
            .await
            .unwrap();

        let changed = Organization {
            name: "New name".into(),
            description: "new description".into(),
            ..org("acc", "o")
        };
        assert!(store.update_organization(&changed).await.unwrap());
        assert_eq!(store.organization("acc", "o").await.unwrap(), Some(changed));
        assert_eq!(
            store.organization("acc", "o2").await.unwrap(),
            Some(org("acc", "o2"))
        );
        assert!(
            !store
                .update_organization(&org("acc", "missing"))
                .await
                .unwrap()
        );

        let changed = Project {
            name: "P".into(),
            description: "about p".into(),
            ..project("acc", "o", "p")
        };
        assert!(store.update_project(&changed).await.unwrap());
        assert_eq!(store.project("acc", "o", "p").await.unwrap(), Some(changed));
        assert!(
            !store
                .update_project(&project("acc", "o2", "p"))
                .await
                .unwrap()
        );
    }

    pub async fn users_are_listed_updated_and_deleted(store: Store, _url: String) {
        store.create_account(&account("a1")).await.unwrap();
        store.create_account(&account("a2")).await.unwrap();
        store
            .create_user(&user("a1", "u1", "zoe@example.com"))
            .await
            .unwrap();
        store
            .create_user(&user("a1", "u2", "ada@example.com"))
            .await
            .unwrap();
        store
            .create_user(&user("a2", "u3", "bob@example.com"))
            .await
            .unwrap();
        let listed: Vec<_> = store
            .users("a1")
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.id)
            .collect();
        assert_eq!(listed, ["u2", "u1"], "by e-mail address");

        assert!(
            store
                .update_user_profile("u1", "Zoë", true, 50)
                .await
                .unwrap()
        );
        let updated = store.user("u1").await.unwrap().unwrap();
        assert_eq!(
            (
                updated.display_name.as_str(),
                updated.disabled,
                updated.updated_at_ms
            ),
            ("Zoë", true, 50)
        );
        assert_eq!(updated.email, "zoe@example.com");
        assert!(
            !store
                .update_user_profile("missing", "X", false, 50)
                .await
                .unwrap()
        );

        assert!(store.delete_user("u1").await.unwrap());
        assert!(!store.delete_user("u1").await.unwrap());
        assert_eq!(store.user("u1").await.unwrap(), None);
        assert_eq!(store.users("a1").await.unwrap().len(), 1);
        assert_eq!(store.users("a2").await.unwrap().len(), 1);
        // The address is free again.
        store
            .create_user(&user("a1", "u4", "zoe@example.com"))
            .await
            .unwrap();
    }

    pub async fn password_flag_login_state_and_totp_bookkeeping(store: Store, _url: String) {
        store.create_account(&account("acc")).await.unwrap();
        store
            .create_user(&user("acc", "u", "u@example.com"))
            .await
            .unwrap();

        // A one-time password forces a change; the user's own clears it.
        assert!(
            store
                .set_password_hash("u", "$argon2id$otp", true, 20)
                .await
                .unwrap()
        );
        assert!(store.user("u").await.unwrap().unwrap().must_change_password);
        assert!(
            store
                .set_password_hash("u", "$argon2id$own", false, 21)
                .await
                .unwrap()
        );
        assert!(!store.user("u").await.unwrap().unwrap().must_change_password);

        // Compare-and-swap, None-aware on both sides.
        assert!(
            !store
                .set_login_state("u", Some("x"), Some("y"))
                .await
                .unwrap()
        );
        assert!(store.set_login_state("u", None, Some("f=1")).await.unwrap());
        assert!(
            !store.set_login_state("u", None, Some("f=1")).await.unwrap(),
            "a stale expectation loses"
        );
        assert!(
            store
                .set_login_state("u", Some("f=1"), Some("f=2"))
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .user("u")
                .await
                .unwrap()
                .unwrap()
                .login_state
                .as_deref(),
            Some("f=2")
        );
        assert!(store.set_login_state("u", Some("f=2"), None).await.unwrap());
        assert_eq!(store.user("u").await.unwrap().unwrap().login_state, None);
        assert!(!store.set_login_state("missing", None, None).await.unwrap());

        // Pending seed: stored, cleared, then cleared by the enrolment.
        assert!(store.set_totp_pending("u", Some(b"P1"), 30).await.unwrap());
        let pending = store.user("u").await.unwrap().unwrap();
        assert_eq!(
            (
                pending.totp_pending_sealed.as_deref(),
                pending.updated_at_ms
            ),
            (Some(b"P1".as_slice()), 30)
        );
        assert!(store.set_totp_pending("u", None, 31).await.unwrap());
        assert_eq!(
            store.user("u").await.unwrap().unwrap().totp_pending_sealed,
            None
        );
        assert!(!store.set_totp_pending("missing", None, 31).await.unwrap());
        store.set_totp_pending("u", Some(b"P2"), 32).await.unwrap();
        assert!(store.set_totp("u", b"SEED", b"codes", 33).await.unwrap());
        let enrolled = store.user("u").await.unwrap().unwrap();
        assert_eq!(enrolled.totp_pending_sealed, None, "enrolment clears it");
        assert_eq!(
            enrolled.totp_secret_sealed.as_deref(),
            Some(b"SEED".as_slice())
        );

        assert!(store.set_recovery_codes("u", b"fewer", 34).await.unwrap());
        let used = store.user("u").await.unwrap().unwrap();
        assert_eq!(
            (used.recovery_codes.as_deref(), used.updated_at_ms),
            (Some(b"fewer".as_slice()), 34)
        );
        assert!(!store.set_recovery_codes("missing", b"x", 34).await.unwrap());

        store.set_totp_pending("u", Some(b"P3"), 35).await.unwrap();
        assert!(store.clear_totp("u", 36).await.unwrap());
        let cleared = store.user("u").await.unwrap().unwrap();
        assert_eq!(
            (cleared.totp_secret_sealed, cleared.totp_pending_sealed),
            (None, None),
            "clearing TOTP clears a pending seed too"
        );
        let shown = format!("{:?}", store.user("u").await.unwrap().unwrap());
        assert!(shown.contains("totp_pending: false"), "{shown}");
    }

    pub async fn token_fields_round_trip(store: Store, _url: String) {
        store.create_account(&account("acc")).await.unwrap();
        let mut narrow = token("tok", TokenOwner::User("u".into()), 1);
        narrow.permissions = Some(r#"["pipeline_view"]"#.into());
        narrow.description = "CI read-only".into();
        store.insert_token(&narrow).await.unwrap();
        assert_eq!(store.token("tok").await.unwrap(), Some(narrow));
        let shown = format!("{:?}", store.token("tok").await.unwrap().unwrap());
        assert!(shown.contains("pipeline_view"), "{shown}");
    }
}
