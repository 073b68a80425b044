use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;

const ACC: &str = "acc";

fn acc() -> Scope {
    Scope::account(ACC)
}
fn o1() -> Scope {
    Scope::org(ACC, "o1")
}
fn p1() -> Scope {
    Scope::project(ACC, "o1", "p1")
}
fn p2() -> Scope {
    Scope::project(ACC, "o1", "p2")
}
fn p3() -> Scope {
    Scope::project(ACC, "o2", "p3")
}

fn res(t: ResourceType, scope: Scope, id: &str) -> Resource {
    Resource::new(t, scope, Some(id.to_owned()))
}

fn bind(id: &str, scope: Scope, principal: PrincipalRef, role: &str, rg: &str) -> RoleBinding {
    RoleBinding {
        identifier: id.to_owned(),
        scope,
        principal,
        role: role.to_owned(),
        resource_group: rg.to_owned(),
    }
}

fn user(id: &str) -> PrincipalRef {
    PrincipalRef::User { id: id.to_owned() }
}

/// The named resources of the matrix.
fn resource(name: &str) -> Resource {
    use ResourceType as T;
    match name {
        "pl@acc" => res(T::Pipeline, acc(), "a"),
        "pl@o1" => res(T::Pipeline, o1(), "o"),
        "pl@p1" => res(T::Pipeline, p1(), "build"),
        "pl@p2" => res(T::Pipeline, p2(), "build"),
        "pl@p3" => res(T::Pipeline, p3(), "build"),
        "pl@other" => res(T::Pipeline, Scope::account("other"), "build"),
        "sec@p1" => res(T::Secret, p1(), "token"),
        "user@p1" => res(T::User, p1(), "bob"),
        "acct" => Resource::of_scope(acc()),
        "org o1" => Resource::of_scope(o1()),
        "proj p1" => Resource::of_scope(p1()),
        "new proj in o1" => Resource::new(T::Project, Scope::project(ACC, "o1", "new"), None),
        "authsetting" => Resource::new(T::AuthSetting, acc(), None),
        "audit@p1" => Resource::new(T::Audit, p1(), None),
        other => panic!("unknown matrix resource {other}"),
    }
}

/// (role, binding scope, resource group, [(permission, resource, allowed)]).
type MatrixRow = (
    BuiltinRole,
    Scope,
    &'static str,
    &'static [(Permission, &'static str, bool)],
);

#[test]
fn builtin_role_matrix() {
    use Permission as P;
    // (role, scope, resource group) bindings as an admin would make them.
    let cases: &[MatrixRow] = &[
        (
            BuiltinRole::AccountAdmin,
            acc(),
            "_all_resources_including_child_scopes",
            &[
                (P::PipelineExecute, "pl@acc", true),
                (P::PipelineExecute, "pl@p1", true),
                (P::PipelineDelete, "pl@p3", true),
                (P::PipelineView, "pl@other", false),
                (P::AccountEdit, "acct", true),
                (P::AuthSettingEdit, "authsetting", true),
                (P::OrganizationDelete, "org o1", true),
                (P::SecretAccess, "sec@p1", true),
                (P::AuditView, "audit@p1", true),
            ],
        ),
        (
            BuiltinRole::AccountViewer,
            acc(),
            "_all_resources_including_child_scopes",
            &[
                (P::PipelineView, "pl@p1", true),
                (P::PipelineExecute, "pl@p1", false),
                (P::AccountView, "acct", true),
                (P::AccountEdit, "acct", false),
                (P::SecretView, "sec@p1", true),
                (P::SecretAccess, "sec@p1", false),
                (P::PipelineView, "pl@other", false),
                (P::AuthSettingView, "authsetting", true),
            ],
        ),
        (
            BuiltinRole::OrganizationAdmin,
            o1(),
            "_all_resources_including_child_scopes",
            &[
                (P::PipelineEdit, "pl@o1", true),
                (P::PipelineEdit, "pl@p1", true),
                (P::PipelineEdit, "pl@p3", false),
                (P::PipelineView, "pl@acc", false),
                (P::OrganizationEdit, "org o1", true),
                (P::OrganizationCreate, "org o1", false),
                (P::ProjectCreate, "new proj in o1", true),
                (P::AccountView, "acct", false),
                (P::AuthSettingEdit, "authsetting", false),
            ],
        ),
        (
            BuiltinRole::OrganizationViewer,
            o1(),
            "_all_resources_including_child_scopes",
            &[
                (P::PipelineView, "pl@p1", true),
                (P::PipelineEdit, "pl@p1", false),
                (P::OrganizationView, "org o1", true),
                (P::PipelineView, "pl@p3", false),
                (P::ProjectView, "proj p1", true),
            ],
        ),
        (
            BuiltinRole::ProjectAdmin,
            p1(),
            "_all_project_level_resources",
            &[
                (P::PipelineDelete, "pl@p1", true),
                (P::SecretEdit, "sec@p1", true),
                (P::PipelineView, "pl@p2", false),
                (P::PipelineView, "pl@o1", false),
                (P::ProjectEdit, "proj p1", true),
                (P::ProjectCreate, "new proj in o1", false),
                (P::OrganizationView, "org o1", false),
                (P::UserManage, "user@p1", true),
                (P::AuditView, "audit@p1", true),
            ],
        ),
        (
            BuiltinRole::ProjectViewer,
            p1(),
            "_all_project_level_resources",
            &[
                (P::PipelineView, "pl@p1", true),
                (P::PipelineExecute, "pl@p1", false),
                (P::ProjectView, "proj p1", true),
                (P::ProjectEdit, "proj p1", false),
                (P::SecretAccess, "sec@p1", false),
                (P::PipelineView, "pl@p3", false),
            ],
        ),
        (
            BuiltinRole::PipelineExecutor,
            p1(),
            "_all_project_level_resources",
            &[
                (P::PipelineExecute, "pl@p1", true),
                (P::PipelineView, "pl@p1", true),
                (P::PipelineEdit, "pl@p1", false),
                (P::SecretAccess, "sec@p1", true),
                (P::SecretEdit, "sec@p1", false),
                (P::PipelineExecute, "pl@p2", false),
                (P::UserView, "user@p1", false),
            ],
        ),
    ];
    for (role, scope, rg, expectations) in cases {
        let mut policy = Policy::new();
        policy
            .add_binding(bind(
                "b",
                scope.clone(),
                user("alice"),
                role.identifier(),
                rg,
            ))
            .unwrap();
        let alice = Principal::user("alice");
        let bob = Principal::user("bob");
        for (perm, name, want) in *expectations {
            let r = resource(name);
            let got = check(&policy, &alice, *perm, &r);
            assert_eq!(
                got.is_allowed(),
                *want,
                "{} at {scope} → {perm} on {name}: {got:?}",
                role.identifier()
            );
            assert!(
                !check(&policy, &bob, *perm, &r).is_allowed(),
                "deny by default for an unbound user"
            );
        }
    }
}

#[test]
fn builtin_roles_carry_harness_identifiers() {
    let ids: Vec<_> = BuiltinRole::ALL.iter().map(|r| r.identifier()).collect();
    assert_eq!(
        ids,
        [
            "_account_admin",
            "_account_viewer",
            "_organization_admin",
            "_organization_viewer",
            "_project_admin",
            "_project_viewer",
            "_pipeline_executor"
        ]
    );
    for r in BuiltinRole::ALL {
        assert_eq!(BuiltinRole::from_identifier(r.identifier()), Some(*r));
        assert!(!r.permissions().is_empty());
    }
    assert_eq!(
        BuiltinRole::AccountAdmin.permissions().len(),
        PERMISSIONS.len()
    );
    assert!(
        BuiltinRole::ProjectViewer
            .permissions()
            .iter()
            .all(|p| p.is_view())
    );
}

#[test]
fn registry_is_consistent() {
    let mut names = BTreeSet::new();
    for (i, info) in PERMISSIONS.iter().enumerate() {
        assert!(names.insert(info.name), "duplicate {}", info.name);
        assert!(info.name.starts_with("core_") && !info.description.is_empty());
        assert!(!info.levels.is_empty());
        assert_eq!(info.permission.info(), info, "row {i}");
        assert_eq!(info.name.parse::<Permission>(), Ok(info.permission));
        let json = serde_json::to_string(&info.permission).unwrap();
        assert_eq!(json, format!("\"{}\"", info.name));
        assert_eq!(
            serde_json::from_str::<Permission>(&json).unwrap(),
            info.permission
        );
    }
    let err = "core_pipeline_fly".parse::<Permission>().unwrap_err();
    assert!(err.to_string().contains("core_pipeline_fly"));
    assert!(serde_json::from_str::<Permission>("\"nope\"").is_err());
}

#[test]
fn scope_containment() {
    assert!(acc().contains(&p1()) && acc().contains(&o1()) && acc().contains(&acc()));
    assert!(o1().contains(&p1()) && !o1().contains(&p3()) && !o1().contains(&acc()));
    assert!(p1().contains(&p1()) && !p1().contains(&p2()) && !p1().contains(&o1()));
    assert!(!acc().contains(&Scope::project("other", "o1", "p1")));
    assert_eq!(p1().parent(), Some(o1()));
    assert_eq!(acc().parent(), None);
}

fn group(
    id: &str,
    scope: Scope,
    children: bool,
    selectors: Vec<ResourceSelector>,
) -> ResourceGroup {
    ResourceGroup {
        identifier: id.to_owned(),
        scope,
        include_child_scopes: children,
        selectors,
    }
}

#[test]
fn resource_groups_with_and_without_child_scopes() {
    let pipelines = vec![ResourceSelector::AllOfType {
        resource_type: ResourceType::Pipeline,
    }];
    let mut policy = Policy::new();
    policy
        .upsert_resource_group(group("flat", o1(), false, pipelines.clone()))
        .unwrap();
    policy
        .upsert_resource_group(group("deep", o1(), true, pipelines))
        .unwrap();
    policy
        .add_binding(bind(
            "b1",
            o1(),
            user("flat"),
            "_organization_admin",
            "flat",
        ))
        .unwrap();
    policy
        .add_binding(bind(
            "b2",
            o1(),
            user("deep"),
            "_organization_admin",
            "deep",
        ))
        .unwrap();
    let flat = Principal::user("flat");
    let deep = Principal::user("deep");
    let v = Permission::PipelineView;
    assert!(check(&policy, &flat, v, &resource("pl@o1")).is_allowed());
    assert!(!check(&policy, &flat, v, &resource("pl@p1")).is_allowed());
    assert!(check(&policy, &deep, v, &resource("pl@p1")).is_allowed());
    assert!(!check(&policy, &deep, v, &resource("pl@p3")).is_allowed());
    assert!(!check(&policy, &deep, v, &resource("pl@acc")).is_allowed());
    // the group selects pipelines only
    assert!(!check(&policy, &deep, Permission::SecretView, &resource("sec@p1")).is_allowed());
}

#[test]
fn named_resources_match_only_by_id_at_the_group_scope() {
    let mut policy = Policy::new();
    let named = vec![ResourceSelector::Named {
        resource_type: ResourceType::Pipeline,
        ids: BTreeSet::from(["deploy".to_owned()]),
    }];
    policy
        .upsert_resource_group(group("deploy-only", p1(), false, named.clone()))
        .unwrap();
    policy
        .upsert_resource_group(group("org-named", o1(), true, named))
        .unwrap();
    policy
        .add_binding(bind(
            "b",
            p1(),
            user("alice"),
            "_pipeline_executor",
            "deploy-only",
        ))
        .unwrap();
    policy
        .add_binding(bind(
            "c",
            o1(),
            user("carol"),
            "_pipeline_executor",
            "org-named",
        ))
        .unwrap();
    let alice = Principal::user("alice");
    let x = Permission::PipelineExecute;
    assert!(
        check(
            &policy,
            &alice,
            x,
            &res(ResourceType::Pipeline, p1(), "deploy")
        )
        .is_allowed()
    );
    assert!(
        !check(
            &policy,
            &alice,
            x,
            &res(ResourceType::Pipeline, p1(), "build")
        )
        .is_allowed()
    );
    assert!(
        !check(
            &policy,
            &alice,
            x,
            &Resource::new(ResourceType::Pipeline, p1(), None)
        )
        .is_allowed()
    );
    assert!(
        !check(
            &policy,
            &alice,
            x,
            &res(ResourceType::Pipeline, p2(), "deploy")
        )
        .is_allowed()
    );
    // named resources never reach into child scopes
    let carol = Principal::user("carol");
    assert!(
        !check(
            &policy,
            &carol,
            x,
            &res(ResourceType::Pipeline, p1(), "deploy")
        )
        .is_allowed()
    );
    assert!(
        check(
            &policy,
            &carol,
            x,
            &res(ResourceType::Pipeline, o1(), "deploy")
        )
        .is_allowed()
    );
}

#[test]
fn group_membership_grants_and_is_scoped() {
    let devs = GroupRef {
        scope: acc(),
        id: "devs".to_owned(),
    };
    let mut policy = Policy::new();
    policy
        .add_binding(bind(
            "g",
            p1(),
            PrincipalRef::UserGroup {
                group: devs.clone(),
            },
            "_project_viewer",
            "_all_project_level_resources",
        ))
        .unwrap();
    let mut member = Principal::user("dave");
    member.groups.insert(devs);
    let mut lookalike = Principal::user("erin");
    lookalike.groups.insert(GroupRef {
        scope: o1(),
        id: "devs".to_owned(),
    });
    let v = Permission::PipelineView;
    assert!(check(&policy, &member, v, &resource("pl@p1")).is_allowed());
    assert!(!check(&policy, &Principal::user("dave"), v, &resource("pl@p1")).is_allowed());
    assert!(!check(&policy, &lookalike, v, &resource("pl@p1")).is_allowed());
}

#[test]
fn user_and_service_account_bindings_do_not_mix() {
    let mut policy = Policy::new();
    policy
        .add_binding(bind(
            "sa",
            p1(),
            PrincipalRef::ServiceAccount {
                id: "ci".to_owned(),
            },
            "_pipeline_executor",
            "_all_project_level_resources",
        ))
        .unwrap();
    let x = Permission::PipelineExecute;
    assert!(
        check(
            &policy,
            &Principal::service_account("ci"),
            x,
            &resource("pl@p1")
        )
        .is_allowed()
    );
    assert!(!check(&policy, &Principal::user("ci"), x, &resource("pl@p1")).is_allowed());
}

#[test]
fn a_scoped_token_stays_inside_its_scope() {
    let mut policy = Policy::new();
    policy
        .add_binding(bind(
            "b",
            acc(),
            user("alice"),
            "_account_admin",
            "_all_resources_including_child_scopes",
        ))
        .unwrap();
    let mut token = Principal::user("alice");
    token.scope_limit = Some(p1());
    let pipeline = |scope: Scope| res(ResourceType::Pipeline, scope, "pl");
    assert!(check(&policy, &token, Permission::PipelineView, &pipeline(p1())).is_allowed());
    assert!(
        check(
            &policy,
            &token,
            Permission::ProjectView,
            &Resource::of_scope(p1())
        )
        .is_allowed(),
        "its own project is inside its scope"
    );
    for outside in [p2(), p3(), o1(), acc()] {
        assert_eq!(
            check(
                &policy,
                &token,
                Permission::PipelineView,
                &pipeline(outside)
            ),
            Decision::Denied {
                reason: DenyReason::OutsideTokenScope
            }
        );
    }
    // Without the limit the owner's bindings reach everywhere.
    token.scope_limit = None;
    assert!(check(&policy, &token, Permission::PipelineView, &pipeline(p3())).is_allowed());
}

#[test]
fn narrowing_never_widens() {
    let mut policy = Policy::new();
    policy
        .add_binding(bind(
            "b",
            p1(),
            user("alice"),
            "_project_viewer",
            "_all_project_level_resources",
        ))
        .unwrap();
    let mut token = Principal::user("alice");
    token.allowed_permissions = Some(BTreeSet::from([
        Permission::PipelineView,
        Permission::PipelineDelete,
    ]));
    assert!(
        check(
            &policy,
            &token,
            Permission::PipelineView,
            &resource("pl@p1")
        )
        .is_allowed()
    );
    assert_eq!(
        check(&policy, &token, Permission::SecretView, &resource("sec@p1")),
        Decision::Denied {
            reason: DenyReason::NarrowedByToken
        }
    );
    // listed in the token but not granted to the owner: still denied
    assert_eq!(
        check(
            &policy,
            &token,
            Permission::PipelineDelete,
            &resource("pl@p1")
        ),
        Decision::Denied {
            reason: DenyReason::NoMatchingBinding
        }
    );
}

#[test]
fn permission_for_another_resource_type_is_denied() {
    let mut policy = Policy::new();
    policy
        .add_binding(bind(
            "b",
            acc(),
            user("root"),
            "_account_admin",
            "_all_resources_including_child_scopes",
        ))
        .unwrap();
    assert_eq!(
        check(
            &policy,
            &Principal::user("root"),
            Permission::PipelineView,
            &resource("sec@p1")
        ),
        Decision::Denied {
            reason: DenyReason::PermissionNotForResourceType
        }
    );
}

#[test]
fn account_permissions_cannot_be_granted_below_the_account() {
    let mut policy = Policy::new();
    policy
        .add_binding(bind(
            "b",
            o1(),
            user("x"),
            "_account_admin",
            "_all_resources_including_child_scopes",
        ))
        .unwrap();
    let x = Principal::user("x");
    assert!(check(&policy, &x, Permission::PipelineView, &resource("pl@p1")).is_allowed());
    assert!(!check(&policy, &x, Permission::AccountView, &resource("acct")).is_allowed());
    assert!(
        !check(
            &policy,
            &x,
            Permission::OrganizationCreate,
            &resource("org o1")
        )
        .is_allowed()
    );
}

#[test]
fn custom_roles_resolve_upwards_and_removal_takes_effect() {
    let mut policy = Policy::new();
    policy
        .upsert_role(Role {
            identifier: "runner".to_owned(),
            name: "Runner".to_owned(),
            scope: acc(),
            permissions: BTreeSet::from([Permission::PipelineExecute]),
        })
        .unwrap();
    policy
        .add_binding(bind(
            "b",
            p1(),
            user("alice"),
            "runner",
            "_all_project_level_resources",
        ))
        .unwrap();
    let alice = Principal::user("alice");
    assert!(
        check(
            &policy,
            &alice,
            Permission::PipelineExecute,
            &resource("pl@p1")
        )
        .is_allowed()
    );
    assert!(
        !check(
            &policy,
            &alice,
            Permission::PipelineView,
            &resource("pl@p1")
        )
        .is_allowed()
    );
    assert!(policy.remove_role(&acc(), "runner").is_some());
    assert!(
        !check(
            &policy,
            &alice,
            Permission::PipelineExecute,
            &resource("pl@p1")
        )
        .is_allowed()
    );
}

#[test]
fn invalid_policy_changes_are_refused() {
    let mut policy = Policy::new();
    let reserved = policy.upsert_role(Role {
        identifier: "_account_admin".to_owned(),
        name: "evil".to_owned(),
        scope: acc(),
        permissions: BTreeSet::new(),
    });
    assert!(matches!(reserved, Err(PolicyError::Reserved(_))));
    let unknown_role = policy.add_binding(bind(
        "b",
        p1(),
        user("a"),
        "nope",
        "_all_project_level_resources",
    ));
    assert!(matches!(unknown_role, Err(PolicyError::UnknownRole { .. })));
    // level-specific built-in groups exist only at their level
    let wrong_level = policy.add_binding(bind(
        "b",
        p1(),
        user("a"),
        "_project_viewer",
        "_all_account_level_resources",
    ));
    assert!(matches!(
        wrong_level,
        Err(PolicyError::UnknownResourceGroup { .. })
    ));
    // a role defined in a project is not usable at the org
    policy
        .upsert_role(Role {
            identifier: "local".to_owned(),
            name: "Local".to_owned(),
            scope: p1(),
            permissions: BTreeSet::from([Permission::PipelineView]),
        })
        .unwrap();
    assert!(
        policy
            .add_binding(bind(
                "b",
                o1(),
                user("a"),
                "local",
                "_all_organization_level_resources"
            ))
            .is_err()
    );
    policy
        .add_binding(bind(
            "b",
            p1(),
            user("a"),
            "local",
            "_all_project_level_resources",
        ))
        .unwrap();
    let dup = policy.add_binding(bind(
        "b",
        p1(),
        user("z"),
        "local",
        "_all_project_level_resources",
    ));
    assert!(matches!(dup, Err(PolicyError::DuplicateBinding { .. })));
    assert!(dup.unwrap_err().to_string().contains("`b`"));
}

#[test]
fn cache_invalidation_makes_a_removed_binding_take_effect_at_once() {
    let mut policy = Policy::new();
    policy
        .add_binding(bind(
            "b",
            p1(),
            user("alice"),
            "_project_admin",
            "_all_project_level_resources",
        ))
        .unwrap();
    let mut authz = Authorizer::new(policy, 7, 100);
    let alice = Principal::user("alice");
    let r = resource("pl@p1");
    assert!(
        authz
            .check(&alice, Permission::PipelineDelete, &r)
            .is_allowed()
    );
    assert!(
        authz
            .check(&alice, Permission::PipelineDelete, &r)
            .is_allowed()
    );
    assert_eq!(authz.cached(), 1);
    let removed = authz.update(|p| p.remove_binding(&p1(), "b"));
    assert!(removed.is_some());
    assert_eq!(authz.generation(), 8);
    assert!(
        !authz
            .check(&alice, Permission::PipelineDelete, &r)
            .is_allowed()
    );

    // another replica changed the store: observing its generation drops stale entries
    let mut fresh = Policy::new();
    fresh
        .add_binding(bind(
            "b",
            p1(),
            user("alice"),
            "_project_admin",
            "_all_project_level_resources",
        ))
        .unwrap();
    authz.replace(fresh, 9);
    assert!(
        authz
            .check(&alice, Permission::PipelineDelete, &r)
            .is_allowed()
    );
    authz.observe_generation(9);
    assert_eq!(authz.cached(), 1, "same generation keeps the cache");
    authz.observe_generation(10);
    assert_eq!(authz.cached(), 0);
    authz.invalidate();
    assert_eq!(authz.generation(), 11);
}

#[test]
fn cache_is_bounded() {
    let authz = Authorizer::new(Policy::new(), 0, 3);
    for i in 0..10 {
        let r = res(ResourceType::Pipeline, p1(), &format!("pl{i}"));
        assert!(
            !authz
                .check(&Principal::user("u"), Permission::PipelineView, &r)
                .is_allowed()
        );
        assert!(authz.cached() <= 3);
    }
    let none = Authorizer::new(Policy::new(), 0, 0);
    none.check(
        &Principal::user("u"),
        Permission::PipelineView,
        &resource("pl@p1"),
    );
    assert_eq!(none.cached(), 0);
}

// ---- properties ----

fn scopes() -> Vec<Scope> {
    vec![acc(), o1(), p1(), p2(), p3(), Scope::org(ACC, "o2")]
}

const ROLES: &[&str] = &[
    "_account_admin",
    "_account_viewer",
    "_organization_admin",
    "_organization_viewer",
    "_project_admin",
    "_project_viewer",
    "_pipeline_executor",
    "custom",
];
const GROUPS: &[&str] = &[
    "_all_resources_including_child_scopes",
    "_all_account_level_resources",
    "_all_organization_level_resources",
    "_all_project_level_resources",
    "pipelines",
    "named",
];

fn base_policy() -> Policy {
    let mut p = Policy::new();
    for s in scopes() {
        p.upsert_role(Role {
            identifier: "custom".to_owned(),
            name: "Custom".to_owned(),
            scope: s.clone(),
            permissions: BTreeSet::from([Permission::PipelineExecute, Permission::SecretAccess]),
        })
        .unwrap();
        p.upsert_resource_group(group(
            "pipelines",
            s.clone(),
            true,
            vec![ResourceSelector::AllOfType {
                resource_type: ResourceType::Pipeline,
            }],
        ))
        .unwrap();
        p.upsert_resource_group(group(
            "named",
            s,
            false,
            vec![ResourceSelector::Named {
                resource_type: ResourceType::Pipeline,
                ids: BTreeSet::from(["build".to_owned()]),
            }],
        ))
        .unwrap();
    }
    p
}

fn principals() -> Vec<Principal> {
    let mut member = Principal::user("u1");
    member.groups.insert(GroupRef {
        scope: acc(),
        id: "g".to_owned(),
    });
    vec![
        member,
        Principal::user("u2"),
        Principal::service_account("u1"),
    ]
}

fn principal_ref(i: usize) -> PrincipalRef {
    match i % 3 {
        0 => user("u1"),
        1 => PrincipalRef::UserGroup {
            group: GroupRef {
                scope: acc(),
                id: "g".to_owned(),
            },
        },
        _ => PrincipalRef::ServiceAccount {
            id: "u1".to_owned(),
        },
    }
}

fn resources() -> Vec<Resource> {
    let mut out = Vec::new();
    for s in scopes() {
        out.push(res(ResourceType::Pipeline, s.clone(), "build"));
        out.push(res(ResourceType::Secret, s.clone(), "tok"));
        out.push(Resource::of_scope(s));
    }
    out
}

/// Adds whichever of `specs` are valid, in order.
fn apply(policy: &mut Policy, specs: &[(usize, usize, usize, usize)]) {
    let scopes = scopes();
    for (n, (pr, role, rg, scope)) in specs.iter().enumerate() {
        // Invalid combinations (e.g. a level group at the wrong level) are refused; skip them.
        let _ = policy.add_binding(bind(
            &format!("b{n}"),
            scopes[scope % scopes.len()].clone(),
            principal_ref(*pr),
            ROLES[role % ROLES.len()],
            GROUPS[rg % GROUPS.len()],
        ));
    }
}

fn decisions(policy: &Policy, narrow: Option<&BTreeSet<Permission>>) -> Vec<bool> {
    let mut out = Vec::new();
    for mut pr in principals() {
        pr.allowed_permissions = narrow.cloned();
        for r in resources() {
            for p in Permission::all().filter(|p| p.resource_type() == r.resource_type) {
                out.push(check(policy, &pr, p, &r).is_allowed());
            }
        }
    }
    out
}

type Spec = (usize, usize, usize, usize);

fn spec() -> impl Strategy<Value = Spec> {
    (0usize..3, 0usize..8, 0usize..6, 0usize..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn adding_a_binding_never_removes_an_allowed_decision(
        specs in prop::collection::vec(spec(), 0..5),
        extra in spec(),
    ) {
        let mut before = base_policy();
        apply(&mut before, &specs);
        let mut after = before.clone();
        let _ = after.add_binding(bind(
            "extra",
            scopes()[extra.3 % 6].clone(),
            principal_ref(extra.0),
            ROLES[extra.1 % ROLES.len()],
            GROUPS[extra.2 % GROUPS.len()],
        ));
        let b = decisions(&before, None);
        let a = decisions(&after, None);
        for (i, (was, now)) in b.iter().zip(&a).enumerate() {
            prop_assert!(!was || *now, "decision {} went from allow to deny", i);
        }
    }

    #[test]
    fn narrowing_only_removes(
        specs in prop::collection::vec(spec(), 0..6),
        keep in prop::collection::vec(any::<bool>(), PERMISSIONS.len()),
    ) {
        let mut policy = base_policy();
        apply(&mut policy, &specs);
        let narrow: BTreeSet<Permission> = Permission::all()
            .zip(keep)
            .filter_map(|(p, k)| k.then_some(p))
            .collect();
        let full = decisions(&policy, None);
        let narrowed = decisions(&policy, Some(&narrow));
        for (i, (f, n)) in full.iter().zip(&narrowed).enumerate() {
            prop_assert!(!n || *f, "narrowing widened decision {}", i);
        }
    }
}
