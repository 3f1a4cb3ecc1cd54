//! The reference policy's full truth table: every role of an LLM service
//! against every permission it exposes.

use ddf_rbac::{AuthMethod, Decision, Permission, Policy, Principal};

const PERMISSIONS: [&str; 8] = [
    "llm:query",
    "llm:status",
    "config:read",
    "config:write",
    "users:read",
    "users:delete",
    "monitoring:read",
    "monitoring:write",
];

/// Expected outcome per role, in the order of `PERMISSIONS`.
const TRUTH_TABLE: [(&str, [bool; 8]); 4] = [
    ("admin", [true, true, true, true, true, true, true, true]),
    (
        "user",
        [true, true, false, false, false, false, true, false],
    ),
    (
        "readonly",
        [false, true, false, false, false, false, true, false],
    ),
    ("unknown", [false; 8]),
];

fn permission(name: &str) -> Permission {
    Permission::parse(name).unwrap()
}

#[test]
fn truth_table_allows() {
    let policy = Policy::reference();
    for (role, expected) in TRUTH_TABLE {
        for (name, expected) in PERMISSIONS.into_iter().zip(expected) {
            assert_eq!(
                policy.allows(&[role], &permission(name)),
                expected,
                "role {role}, permission {name}"
            );
        }
    }
}

#[test]
fn truth_table_decide_agrees_with_allows() {
    let policy = Policy::reference();
    for (role, expected) in TRUTH_TABLE {
        for (name, expected) in PERMISSIONS.into_iter().zip(expected) {
            let decision = policy.decide(&[role], &permission(name));
            assert_eq!(
                decision.is_allowed(),
                expected,
                "role {role}, permission {name}"
            );
            if !expected {
                assert_eq!(
                    decision,
                    Decision::NoGrant,
                    "role {role}, permission {name}"
                );
            }
        }
    }
}

#[test]
fn truth_table_for_principals() {
    let policy = Policy::reference();
    for (role, expected) in TRUTH_TABLE {
        let principal = Principal::new("subject-1", AuthMethod::Jwt).with_roles([role]);
        for (name, expected) in PERMISSIONS.into_iter().zip(expected) {
            assert_eq!(
                policy.allows_principal(&principal, &permission(name)),
                expected,
                "role {role}, permission {name}"
            );
        }
    }
}

#[test]
fn admin_grant_names_the_wildcard() {
    let policy = Policy::reference();
    let decision = policy.decide(&["admin"], &permission("users:delete"));
    let Decision::Allow(rule) = decision else {
        panic!("expected Allow, got {decision:?}");
    };
    assert_eq!(rule.role, "admin");
    assert_eq!(rule.declared_in, "admin");
    assert_eq!(rule.pattern.as_str(), "users:*");
    assert_eq!(
        decision.to_string(),
        "allowed: role \"admin\" pattern \"users:*\" grants it"
    );
}

#[test]
fn several_roles_combine_grants() {
    let policy = Policy::reference();
    let roles = ["readonly", "user"];
    assert!(policy.allows(&roles, &permission("llm:query")));
    assert!(!policy.allows(&roles, &permission("config:read")));
}

#[test]
fn unknown_roles_are_reported() {
    let policy = Policy::reference();
    let roles = ["offline_access", "user", "uma_authorization"];
    assert_eq!(
        policy.unknown_roles(&roles).collect::<Vec<_>>(),
        ["offline_access", "uma_authorization"]
    );
    assert!(policy.allows(&roles, &permission("llm:query")));
    assert!(!policy.has_role("offline_access"));
    assert!(policy.has_role("readonly"));
}

#[test]
fn reference_policy_loads_from_toml_too() {
    let toml = r#"
[roles.admin]
permissions = ["llm:*", "config:*", "users:*", "monitoring:*"]

[roles.user]
permissions = ["llm:query", "llm:status", "monitoring:read"]

[roles.readonly]
permissions = ["llm:status", "monitoring:read"]
"#;
    let policy = Policy::from_toml_str(toml).unwrap();
    for (role, expected) in TRUTH_TABLE {
        for (name, expected) in PERMISSIONS.into_iter().zip(expected) {
            assert_eq!(
                policy.allows(&[role], &permission(name)),
                expected,
                "TOML policy, role {role}, permission {name}"
            );
        }
    }
}
