//! Property tests: the compiled matcher agrees with a plain reference
//! implementation, and no parser panics on arbitrary input.

use ddf_rbac::{Pattern, Permission, Policy, PolicyFormat, PolicySpec, RoleSpec};
use proptest::prelude::*;

/// The documented pattern semantics, written as plainly as possible.
fn reference_matches(pattern: &str, permission: &str) -> bool {
    let pattern: Vec<&str> = pattern.split(':').collect();
    let permission: Vec<&str> = permission.split(':').collect();
    if pattern.iter().all(|segment| *segment == "*") {
        return true;
    }
    let (last, init) = pattern.split_last().unwrap();
    if *last == "*" {
        permission.len() >= pattern.len()
            && init
                .iter()
                .zip(&permission)
                .all(|(expected, actual)| *expected == "*" || expected == actual)
    } else {
        permission.len() == pattern.len()
            && pattern
                .iter()
                .zip(&permission)
                .all(|(expected, actual)| *expected == "*" || expected == actual)
    }
}

/// A role in the reference model: grants, denies and parents (always roles
/// with a lower index, so the graph is acyclic).
#[derive(Debug, Clone)]
struct ModelRole {
    grants: Vec<String>,
    denies: Vec<String>,
    parents: Vec<usize>,
}

fn ancestors_and_self(roles: &[ModelRole], role: usize, out: &mut Vec<usize>) {
    if out.contains(&role) {
        return;
    }
    out.push(role);
    for &parent in &roles[role].parents {
        ancestors_and_self(roles, parent, out);
    }
}

fn reference_allows(roles: &[ModelRole], held: &[usize], permission: &str) -> bool {
    let mut effective = Vec::new();
    for &role in held {
        if role < roles.len() {
            ancestors_and_self(roles, role, &mut effective);
        }
    }
    let denied = effective.iter().any(|&role| {
        roles[role]
            .denies
            .iter()
            .any(|p| reference_matches(p, permission))
    });
    let granted = effective.iter().any(|&role| {
        roles[role]
            .grants
            .iter()
            .any(|p| reference_matches(p, permission))
    });
    granted && !denied
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b"), Just("c")].prop_map(str::to_owned)
}

fn pattern_segment() -> impl Strategy<Value = String> {
    prop_oneof![3 => segment(), 1 => Just("*".to_owned())]
}

fn permission_text() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 1..=4).prop_map(|segments| segments.join(":"))
}

fn pattern_text() -> impl Strategy<Value = String> {
    prop::collection::vec(pattern_segment(), 1..=4).prop_map(|segments| segments.join(":"))
}

fn model_roles() -> impl Strategy<Value = Vec<ModelRole>> {
    prop::collection::vec(
        (
            prop::collection::vec(pattern_text(), 0..4),
            prop::collection::vec(pattern_text(), 0..2),
            prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        ),
        1..6,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(position, (grants, denies, parents))| ModelRole {
                grants,
                denies,
                parents: if position == 0 {
                    Vec::new()
                } else {
                    parents.iter().map(|index| index.index(position)).collect()
                },
            })
            .collect()
    })
}

fn compile(roles: &[ModelRole]) -> Policy {
    let mut spec = PolicySpec::new().with_allow_superuser(true);
    for (position, role) in roles.iter().enumerate() {
        spec = spec.with_role(
            RoleSpec::new(format!("r{position}"))
                .grant(role.grants.iter().cloned())
                .deny(role.denies.iter().cloned())
                .inherit(role.parents.iter().map(|parent| format!("r{parent}"))),
        );
    }
    Policy::from_spec(&spec).unwrap()
}

/// Short names over two letters, so that near misses (one segment more or
/// less, one letter different) are common.
fn short_text(wildcards: bool) -> impl Strategy<Value = String> {
    let segment = if wildcards {
        prop_oneof![Just("a"), Just("b"), Just("*")].boxed()
    } else {
        prop_oneof![Just("a"), Just("b")].boxed()
    };
    prop::collection::vec(segment, 1..=3).prop_map(|segments| segments.join(":"))
}

proptest! {
    #[test]
    fn pattern_matches_like_reference(pattern in short_text(true), permission in short_text(false)) {
        let compiled = Pattern::parse(&pattern).unwrap();
        let parsed = Permission::parse(&permission).unwrap();
        prop_assert_eq!(compiled.matches(&parsed), reference_matches(&pattern, &permission));
    }

    #[test]
    fn policy_allows_like_reference(
        roles in model_roles(),
        held in prop::collection::vec(0usize..7, 0..4),
        permission in permission_text(),
    ) {
        let policy = compile(&roles);
        // Indexes past the last role stand for roles the policy lacks.
        let held_names: Vec<String> = held.iter().map(|index| format!("r{index}")).collect();
        let parsed = Permission::parse(&permission).unwrap();
        let expected = reference_allows(&roles, &held, &permission);
        prop_assert_eq!(policy.allows(&held_names, &parsed), expected);
        prop_assert_eq!(policy.decide(&held_names, &parsed).is_allowed(), expected);
    }

    #[test]
    fn permission_parse_never_panics(input in any::<String>()) {
        if let Ok(permission) = Permission::parse(&input) {
            prop_assert_eq!(permission.as_str(), input.as_str());
            prop_assert_eq!(permission.segments().collect::<Vec<_>>().join(":"), input.clone());
        }
        let _ = Pattern::parse(&input);
    }

    #[test]
    fn near_grammar_input_round_trips(input in "[a-z0-9_.*:A-Z -]{0,140}") {
        match Permission::parse(&input) {
            Ok(permission) => {
                prop_assert!(input.len() <= 128);
                prop_assert_eq!(permission.as_str(), input.as_str());
            }
            Err(error) => prop_assert_eq!(error.kind().as_str(), "permission_invalid"),
        }
        match Pattern::parse(&input) {
            Ok(pattern) => prop_assert_eq!(pattern.as_str(), input.as_str()),
            Err(error) => prop_assert_eq!(error.kind().as_str(), "pattern_invalid"),
        }
    }

    #[test]
    fn policy_parse_never_panics(input in any::<String>()) {
        let _ = Policy::from_str_as(&input, PolicyFormat::Yaml);
        let _ = Policy::from_str_as(&input, PolicyFormat::Toml);
    }

    #[test]
    fn yaml_shaped_input_never_panics(input in "(roles:|\n|  [a-z]{1,3}:| \\{|\\}|permissions:|inherits:|deny:| \\[|\\]|\"[a-z:*]{0,6}\"|, |&a|\\*a|!!|---){0,40}") {
        let _ = Policy::from_yaml_str(&input);
    }
}
