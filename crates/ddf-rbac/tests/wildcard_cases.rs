//! Wildcard cases collected from bugs in other authorization libraries
//! (`tests/fixtures/rbac_wildcard_cases.json`), one test per case.
//!
//! The fixture writes grants in each source project's own syntax. Where that
//! syntax is outside this crate's grammar, the test checks that it is
//! rejected when the policy loads, then checks the same intent written in
//! this crate's grammar.

use ddf_rbac::{Permission, Policy, PolicySpec, ProblemKind, RoleSpec, SyntaxRule};
use serde_json::Value;

fn cases() -> Vec<Value> {
    let text = include_str!("fixtures/rbac_wildcard_cases.json");
    serde_json::from_str(text).unwrap()
}

fn case(id: &str) -> Value {
    cases()
        .into_iter()
        .find(|case| case["id"] == id)
        .unwrap_or_else(|| panic!("case {id} missing from the fixture"))
}

fn permission(name: &str) -> Permission {
    Permission::parse(name).unwrap()
}

#[test]
fn every_fixture_case_has_a_test() {
    let ids: Vec<String> = cases()
        .iter()
        .map(|case| case["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["W02", "W03", "W04"]);
}

#[test]
fn w02_star_star_equals_global_wildcard() {
    let case = case("W02");
    let grant = case["grant"].as_str().unwrap();
    let request = permission(case["request"].as_str().unwrap());
    assert_eq!(case["expect"], "allow");

    // Without the superuser opt-in the grant is refused at load time.
    let spec = PolicySpec::new().with_role(RoleSpec::new("root").grant([grant]));
    let error = Policy::from_spec(&spec).unwrap_err();
    assert_eq!(
        error.problems()[0].kind,
        ProblemKind::SuperuserNotEnabled {
            input: "\"*:*\"".to_owned()
        }
    );

    // With it, `*:*` grants what `*` grants, single-segment names included.
    let policy = Policy::from_spec(&spec.with_allow_superuser(true)).unwrap();
    assert!(policy.allows(&["root"], &request));
    assert!(policy.allows(&["root"], &permission("agents")));
    assert!(policy.allows(&["root"], &permission("a:b:c:d:e:f:g:h")));
}

#[test]
fn w03_prefix_is_not_a_segment_match() {
    let case = case("W03");
    let grant = case["grant"].as_str().unwrap();
    let request = permission(case["request"].as_str().unwrap());
    assert_eq!(case["expect"], "deny");

    let spec = PolicySpec::new().with_role(RoleSpec::new("orders").grant([grant]));
    let policy = Policy::from_spec(&spec).unwrap();
    assert!(!policy.allows(&["orders"], &request));
    assert!(policy.allows(&["orders"], &permission("orders:delete")));
}

#[test]
fn w04_source_syntax_is_rejected_at_load() {
    let case = case("W04");
    let grants: Vec<&str> = case["grant"]
        .as_array()
        .unwrap()
        .iter()
        .map(|grant| grant.as_str().unwrap())
        .collect();
    assert_eq!(case["expect"], "deny");

    // The source writes `<pattern>:allow` and `<pattern>:deny`, with a glob
    // inside a segment and upper case: neither is in this crate's grammar.
    let spec = PolicySpec::new().with_role(RoleSpec::new("workflows").grant(grants));
    let error = Policy::from_spec(&spec).unwrap_err();
    let rules: Vec<ProblemKind> = error.problems().iter().map(|p| p.kind.clone()).collect();
    assert_eq!(
        rules,
        [
            ProblemKind::InvalidPattern {
                input: "\"orchestrator.workflow.*:use:allow\"".to_owned(),
                rule: SyntaxRule::PartialWildcard { segment: 0 },
            },
            ProblemKind::InvalidPattern {
                input: "\"orchestrator.workflow.ABC:use:deny\"".to_owned(),
                rule: SyntaxRule::InvalidCharacter {
                    character: 'A',
                    offset: 22
                },
            },
        ]
    );
}

#[test]
fn w04_specific_deny_beats_wildcard_grant() {
    // The same intent in this grammar: allow every workflow's `use`, deny
    // workflow `abc`. The deny must win in either order of roles.
    let spec = PolicySpec::new()
        .with_role(RoleSpec::new("workflows").grant(["orchestrator:workflow:*:use"]))
        .with_role(RoleSpec::new("no-abc").deny(["orchestrator:workflow:abc:use"]))
        .with_role(
            RoleSpec::new("combined")
                .deny(["orchestrator:workflow:abc:use"])
                .grant(["orchestrator:workflow:*:use"]),
        );
    let policy = Policy::from_spec(&spec).unwrap();
    let abc = permission("orchestrator:workflow:abc:use");
    let other = permission("orchestrator:workflow:xyz:use");

    assert!(!policy.allows(&["workflows", "no-abc"], &abc));
    assert!(!policy.allows(&["no-abc", "workflows"], &abc));
    assert!(!policy.allows(&["combined"], &abc));
    assert!(policy.allows(&["workflows", "no-abc"], &other));
    assert!(policy.allows(&["combined"], &other));
}
