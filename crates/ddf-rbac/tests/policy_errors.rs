//! Malformed policies: each test asserts the exact problems reported, with
//! role, position and rule, and that every problem is reported, not only the
//! first.

use ddf_rbac::{
    Location, Policy, PolicyFormat, PolicyProblem, PolicySpec, ProblemKind, RbacError,
    RbacErrorKind, RoleSpec, SyntaxRule,
};

fn problems_of_yaml(yaml: &str) -> Vec<PolicyProblem> {
    match Policy::from_yaml_str(yaml) {
        Err(RbacError::InvalidPolicy { problems }) => problems,
        other => panic!("expected InvalidPolicy, got {other:?}"),
    }
}

fn problem(role: &str, location: Location, kind: ProblemKind) -> PolicyProblem {
    PolicyProblem {
        role: Some(role.to_owned()),
        location,
        kind,
    }
}

fn invalid_pattern(input: &str, rule: SyntaxRule) -> ProblemKind {
    ProblemKind::InvalidPattern {
        input: format!("\"{input}\""),
        rule,
    }
}

#[test]
fn every_problem_is_reported_in_role_order() {
    let problems = problems_of_yaml(
        r#"
roles:
  admin:
    permissions: ["llm:*", "ll*", "*"]
    deny: ["config::x"]
  user:
    inherits: [nobody]
    permissions: ["LLM:query", "llm:query"]
"#,
    );
    assert_eq!(
        problems,
        [
            problem(
                "admin",
                Location::Permissions(1),
                invalid_pattern("ll*", SyntaxRule::PartialWildcard { segment: 0 })
            ),
            problem(
                "admin",
                Location::Permissions(2),
                ProblemKind::SuperuserNotEnabled {
                    input: "\"*\"".to_owned()
                }
            ),
            problem(
                "admin",
                Location::Deny(0),
                invalid_pattern("config::x", SyntaxRule::EmptySegment { segment: 1 })
            ),
            problem(
                "user",
                Location::Permissions(0),
                invalid_pattern(
                    "LLM:query",
                    SyntaxRule::InvalidCharacter {
                        character: 'L',
                        offset: 0
                    }
                )
            ),
            problem(
                "user",
                Location::Inherits(0),
                ProblemKind::UnknownParent {
                    parent: "\"nobody\"".to_owned()
                }
            ),
        ]
    );
}

#[test]
fn error_message_lists_every_problem() {
    let error =
        Policy::from_yaml_str("roles:\n  a: { permissions: [\"ll*\", \"x:\"] }\n").unwrap_err();
    assert_eq!(error.kind(), RbacErrorKind::PolicyInvalid);
    assert_eq!(
        error.to_string(),
        "invalid policy: 2 problems: role \"a\", permissions[0]: invalid pattern \"ll*\": \
         segment 0 mixes '*' with other characters; '*' must be a whole segment; \
         role \"a\", permissions[1]: invalid pattern \"x:\": segment 1 is empty; \
         remove the leading, trailing or doubled ':'"
    );
}

#[test]
fn inheritance_cycle_is_named() {
    let problems = problems_of_yaml(
        r"
roles:
  a: { inherits: [b] }
  b: { inherits: [c] }
  c: { inherits: [a] }
  d: { inherits: [a] }
",
    );
    assert_eq!(
        problems,
        [problem(
            "a",
            Location::Role,
            ProblemKind::InheritanceCycle {
                cycle: vec!["a".into(), "b".into(), "c".into(), "a".into()]
            }
        )]
    );
    assert_eq!(
        problems[0].to_string(),
        "role \"a\": inheritance cycle: \"a\" -> \"b\" -> \"c\" -> \"a\""
    );
}

#[test]
fn self_inheritance_is_a_cycle() {
    let problems = problems_of_yaml("roles:\n  a: { inherits: [a] }\n");
    assert_eq!(
        problems,
        [problem(
            "a",
            Location::Role,
            ProblemKind::InheritanceCycle {
                cycle: vec!["a".into(), "a".into()]
            }
        )]
    );
}

#[test]
fn two_separate_cycles_are_both_reported() {
    let problems = problems_of_yaml(
        "roles:\n  a: { inherits: [b] }\n  b: { inherits: [a] }\n  c: { inherits: [d] }\n  d: { inherits: [c] }\n",
    );
    let cycles: Vec<&ProblemKind> = problems.iter().map(|p| &p.kind).collect();
    assert_eq!(
        cycles,
        [
            &ProblemKind::InheritanceCycle {
                cycle: vec!["a".into(), "b".into(), "a".into()]
            },
            &ProblemKind::InheritanceCycle {
                cycle: vec!["c".into(), "d".into(), "c".into()]
            },
        ]
    );
}

#[test]
fn duplicate_role_in_yaml_is_reported() {
    let problems = problems_of_yaml(
        "roles:\n  user: { permissions: [\"llm:query\"] }\n  user: { permissions: [\"llm:*\"] }\n",
    );
    assert_eq!(
        problems,
        [problem(
            "user",
            Location::Role,
            ProblemKind::DuplicateRole { first: 0 }
        )]
    );
}

#[test]
fn duplicate_role_in_toml_is_a_syntax_error() {
    let toml = "[roles.user]\npermissions = []\n[roles.user]\npermissions = []\n";
    let error = Policy::from_toml_str(toml).unwrap_err();
    assert_eq!(error.kind(), RbacErrorKind::PolicySyntax);
    let RbacError::PolicySyntax { format, message } = error else {
        unreachable!()
    };
    assert_eq!(format, PolicyFormat::Toml);
    assert!(message.contains("duplicate key"), "{message}");
}

#[test]
fn duplicate_role_in_spec_is_reported() {
    let spec = PolicySpec::new()
        .with_role(RoleSpec::new("a"))
        .with_role(RoleSpec::new("b"))
        .with_role(RoleSpec::new("a"));
    let error = Policy::from_spec(&spec).unwrap_err();
    assert_eq!(
        error.problems(),
        [problem(
            "a",
            Location::Role,
            ProblemKind::DuplicateRole { first: 0 }
        )]
    );
}

#[test]
fn invalid_role_names_are_reported() {
    let long = "r".repeat(65);
    let spec = PolicySpec::new()
        .with_role(RoleSpec::new(""))
        .with_role(RoleSpec::new("has space"))
        .with_role(RoleSpec::new(long.clone()));
    let error = Policy::from_spec(&spec).unwrap_err();
    assert_eq!(
        error.problems(),
        [
            problem(
                "",
                Location::Role,
                ProblemKind::InvalidRoleName {
                    reason: "the name is empty"
                }
            ),
            problem(
                "has space",
                Location::Role,
                ProblemKind::InvalidRoleName {
                    reason: "use only ASCII letters, digits, '_', '-', '.', ':' and '/'"
                }
            ),
            problem(
                &long,
                Location::Role,
                ProblemKind::InvalidRoleName {
                    reason: "the name is longer than 64 bytes"
                }
            ),
        ]
    );
}

#[test]
fn unknown_field_is_a_syntax_error() {
    let error =
        Policy::from_yaml_str("roles:\n  user: { permisions: [\"llm:query\"] }\n").unwrap_err();
    assert_eq!(error.kind(), RbacErrorKind::PolicySyntax);
    assert_eq!(
        error.to_string(),
        "invalid YAML policy: roles.user: unknown field `permisions`, \
         expected one of `permissions`, `deny`, `inherits`"
    );
}

#[test]
fn missing_roles_is_a_syntax_error() {
    let error = Policy::from_yaml_str("allow_superuser: true\n").unwrap_err();
    assert_eq!(
        error,
        RbacError::PolicySyntax {
            format: PolicyFormat::Yaml,
            message: "missing field `roles`".to_owned()
        }
    );
}

#[test]
fn malformed_yaml_reports_position() {
    let error =
        Policy::from_yaml_str("roles:\n  user: { permissions: [\"llm:query\"\n").unwrap_err();
    assert_eq!(error.kind(), RbacErrorKind::PolicySyntax);
    assert!(error.to_string().contains("line 3"), "{error}");
}

#[test]
fn oversized_document_is_rejected_before_parsing() {
    let input = " ".repeat(ddf_rbac::MAX_POLICY_BYTES + 1);
    let error = Policy::from_yaml_str(&input).unwrap_err();
    assert_eq!(
        error,
        RbacError::PolicySyntax {
            format: PolicyFormat::Yaml,
            message: format!(
                "the document is {} bytes; the maximum is {}",
                ddf_rbac::MAX_POLICY_BYTES + 1,
                ddf_rbac::MAX_POLICY_BYTES
            )
        }
    );
}

#[test]
fn too_many_roles_is_reported_alone() {
    let mut spec = PolicySpec::new();
    for index in 0..=ddf_rbac::MAX_ROLES {
        spec = spec.with_role(RoleSpec::new(format!("role-{index}")));
    }
    let error = Policy::from_spec(&spec).unwrap_err();
    assert_eq!(
        error.problems(),
        [PolicyProblem {
            role: None,
            location: Location::Role,
            kind: ProblemKind::TooManyRoles {
                count: ddf_rbac::MAX_ROLES + 1,
                max: ddf_rbac::MAX_ROLES
            }
        }]
    );
}

#[test]
fn too_many_inherited_patterns_is_reported() {
    // 3 roles of 400 patterns each: the third inherits the other two and
    // ends up with 1,200, above the maximum of 1,024.
    let patterns = |prefix: &'static str| (0..400).map(move |index| format!("{prefix}:p{index}"));
    let spec = PolicySpec::new()
        .with_role(RoleSpec::new("a").grant(patterns("a")))
        .with_role(RoleSpec::new("b").grant(patterns("b")))
        .with_role(RoleSpec::new("c").inherit(["a", "b"]).grant(patterns("c")));
    let error = Policy::from_spec(&spec).unwrap_err();
    assert_eq!(
        error.problems(),
        [problem(
            "c",
            Location::Role,
            ProblemKind::TooManyPatterns {
                max: ddf_rbac::MAX_PATTERNS_PER_ROLE
            }
        )]
    );
}

#[test]
fn permissions_as_a_string_is_rejected() {
    let error = Policy::from_yaml_str("roles:\n  user: { permissions: \"llm:*\" }\n").unwrap_err();
    assert_eq!(error.kind(), RbacErrorKind::PolicySyntax);
    assert_eq!(
        error.to_string(),
        "invalid YAML policy: roles.user.permissions: invalid type: string \"llm:*\", \
         expected a sequence"
    );
}

#[test]
fn global_deny_needs_no_superuser_opt_in() {
    let policy = Policy::from_yaml_str(
        "roles:\n  suspended: { deny: [\"*\"] }\n  user: { permissions: [\"llm:query\"] }\n",
    )
    .unwrap();
    let query = ddf_rbac::Permission::parse("llm:query").unwrap();
    assert!(policy.allows(&["user"], &query));
    assert!(!policy.allows(&["user", "suspended"], &query));
}
