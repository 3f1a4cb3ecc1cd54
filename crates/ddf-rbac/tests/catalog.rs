//! Attack and failure cases of RBAC matching, one test per case this crate
//! covers, named after the case id (B01 to B12). Cases about token claims
//! (B07 for JWTs, B08), object ownership (B09) and privilege changes during a
//! session (B10) are tested with the credential crates.

use ddf_rbac::{
    Decision, Pattern, Permission, Policy, PolicySpec, ProblemKind, RbacError, RbacErrorKind,
    RoleSpec, SyntaxRule,
};

fn permission(name: &str) -> Permission {
    Permission::parse(name).unwrap()
}

fn policy_granting(patterns: &[&str]) -> Policy {
    let spec = PolicySpec::new().with_role(RoleSpec::new("r").grant(patterns.iter().copied()));
    Policy::from_spec(&spec).unwrap()
}

fn pattern_rule(input: &str) -> SyntaxRule {
    match Pattern::parse(input) {
        Err(RbacError::InvalidPattern { rule, .. }) => rule,
        other => panic!("expected InvalidPattern for {input:?}, got {other:?}"),
    }
}

fn permission_rule(input: &str) -> SyntaxRule {
    match Permission::parse(input) {
        Err(RbacError::InvalidPermission { rule, .. }) => rule,
        other => panic!("expected InvalidPermission for {input:?}, got {other:?}"),
    }
}

#[test]
fn b01_deny_by_default() {
    let empty = Policy::from_spec(&PolicySpec::new().with_role(RoleSpec::new("nobody"))).unwrap();
    let query = permission("llm:query");
    assert!(!empty.allows(&["nobody"], &query));
    assert_eq!(empty.decide(&["nobody"], &query), Decision::NoGrant);

    let reference = Policy::reference();
    let no_roles: [&str; 0] = [];
    assert!(!reference.allows(&no_roles, &query));
    assert_eq!(
        reference.decide(&no_roles, &query).reason_code(),
        Some("permission_denied")
    );
}

#[test]
fn b02_wildcard_semantics_pinned() {
    let policy = policy_granting(&["llm:*"]);
    let table = [
        ("llm:chat", true),
        ("llm:chat:stream", true),
        ("llm", false),
        ("llmx:chat", false),
    ];
    for (name, expected) in table {
        assert_eq!(
            policy.allows(&["r"], &permission(name)),
            expected,
            "llm:* vs {name}"
        );
    }
    // `ll*` is not a literal to match either: it is refused when loading.
    assert_eq!(
        pattern_rule("ll*"),
        SyntaxRule::PartialWildcard { segment: 0 }
    );
}

#[test]
fn b03_delimiter_and_prefix_abuse() {
    let policy = policy_granting(&["llm:*"]);
    assert!(!policy.allows(&["r"], &permission("llm-admin:x")));
    assert_eq!(
        permission_rule("llm::x"),
        SyntaxRule::EmptySegment { segment: 1 }
    );
    assert_eq!(
        permission_rule(":llm:x"),
        SyntaxRule::EmptySegment { segment: 0 }
    );
    assert_eq!(
        permission_rule("llm:"),
        SyntaxRule::EmptySegment { segment: 1 }
    );
    assert_eq!(
        pattern_rule("llm::*"),
        SyntaxRule::EmptySegment { segment: 1 }
    );
    assert_eq!(
        pattern_rule(":llm:*"),
        SyntaxRule::EmptySegment { segment: 0 }
    );
}

#[test]
fn b04_wildcard_positions() {
    // Inner wildcards are supported and match exactly one segment.
    let policy = policy_granting(&["*:chat", "llm:*:read"]);
    assert!(policy.allows(&["r"], &permission("llm:chat")));
    assert!(policy.allows(&["r"], &permission("audio:chat")));
    assert!(!policy.allows(&["r"], &permission("chat")));
    assert!(!policy.allows(&["r"], &permission("llm:x:chat")));
    assert!(policy.allows(&["r"], &permission("llm:history:read")));
    assert!(!policy.allows(&["r"], &permission("llm:read")));
    assert!(!policy.allows(&["r"], &permission("llm:a:b:read")));
    // A glob inside a segment is refused, never matched over raw text.
    assert_eq!(
        pattern_rule("llm:c*"),
        SyntaxRule::PartialWildcard { segment: 1 }
    );
}

#[test]
fn b05_global_wildcard_needs_opt_in() {
    for global in ["*", "*:*"] {
        let spec = PolicySpec::new().with_role(RoleSpec::new("root").grant([global]));
        let error = Policy::from_spec(&spec).unwrap_err();
        assert_eq!(error.kind(), RbacErrorKind::PolicyInvalid);
        assert_eq!(
            error.problems()[0].kind,
            ProblemKind::SuperuserNotEnabled {
                input: format!("\"{global}\"")
            }
        );
        let policy = Policy::from_spec(&spec.with_allow_superuser(true)).unwrap();
        assert!(policy.allows(&["root"], &permission("users:delete")));
    }
}

#[test]
fn b06_case_and_unicode_are_invalid() {
    let cases = [
        (
            "LLM:chat",
            SyntaxRule::InvalidCharacter {
                character: 'L',
                offset: 0,
            },
        ),
        (
            "llm:Chat",
            SyntaxRule::InvalidCharacter {
                character: 'C',
                offset: 4,
            },
        ),
        (
            "llm\u{ff1a}chat",
            SyntaxRule::InvalidCharacter {
                character: '\u{ff1a}',
                offset: 3,
            },
        ),
        // Cyrillic small letter a, a look-alike of ASCII `a`.
        (
            "llm:ch\u{430}t",
            SyntaxRule::InvalidCharacter {
                character: '\u{430}',
                offset: 6,
            },
        ),
        (
            "llm:chat ",
            SyntaxRule::InvalidCharacter {
                character: ' ',
                offset: 8,
            },
        ),
        (
            "llm:chat\0",
            SyntaxRule::InvalidCharacter {
                character: '\0',
                offset: 8,
            },
        ),
    ];
    for (input, rule) in cases {
        assert_eq!(permission_rule(input), rule, "permission {input:?}");
        assert_eq!(pattern_rule(input), rule, "pattern {input:?}");
    }
}

#[test]
fn b06_error_message_escapes_input() {
    let error = Permission::parse("llm\u{ff1a}chat\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid permission \"llm\\u{ff1a}chat\\n\": character '\u{ff1a}' at byte 3 is not \
         allowed; segments use only a-z, 0-9, '_', '-' and '.'"
    );
}

#[test]
fn b07_permission_list_given_as_string_is_rejected() {
    // A string where a list belongs must not be read character by character.
    let error = Policy::from_yaml_str("roles:\n  r: { permissions: \"llm:*\" }\n").unwrap_err();
    assert_eq!(error.kind(), RbacErrorKind::PolicySyntax);
    let error = Policy::from_yaml_str("roles:\n  r: { permissions: [1, {a: b}] }\n").unwrap_err();
    assert_eq!(error.kind(), RbacErrorKind::PolicySyntax);
}

#[test]
fn b11_oversized_patterns_are_rejected() {
    let deep = vec!["a"; 64].join(":");
    assert_eq!(pattern_rule(&deep), SyntaxRule::TooManySegments { max: 8 });
    let long = vec!["ab"; 64].join(":");
    assert_eq!(pattern_rule(&long), SyntaxRule::TooLong { max: 128 });
    let nine = ["a"; 9].join(":");
    assert_eq!(pattern_rule(&nine), SyntaxRule::TooManySegments { max: 8 });
    // A 1 MiB input is rejected by its length before it is scanned.
    assert_eq!(
        permission_rule(&"a".repeat(1 << 20)),
        SyntaxRule::TooLong { max: 128 }
    );
}

#[test]
fn b11_grant_count_is_capped() {
    let grants: Vec<String> = (0..10_000).map(|index| format!("llm:p{index}")).collect();
    let spec = PolicySpec::new().with_role(RoleSpec::new("r").grant(grants));
    let error = Policy::from_spec(&spec).unwrap_err();
    assert_eq!(
        error.problems()[0].kind,
        ProblemKind::TooManyPatterns {
            max: ddf_rbac::MAX_PATTERNS_PER_ROLE
        }
    );
}

#[test]
fn b11_adversarial_patterns_match_linearly() {
    // Many wildcards near the maximum size and a permission that nearly
    // matches each: matching compares segments, so this is bounded work.
    let grants: Vec<String> = (0..1_000)
        .map(|index| format!("*:*:*:*:*:*:*:p{index}"))
        .collect();
    let spec = PolicySpec::new().with_role(RoleSpec::new("r").grant(grants));
    let policy = Policy::from_spec(&spec).unwrap();
    assert!(!policy.allows(&["r"], &permission("a:b:c:d:e:f:g:q")));
    assert!(policy.allows(&["r"], &permission("a:b:c:d:e:f:g:p999")));
    // A role name far beyond the name limit is skipped without hashing.
    let huge_role = "r".repeat(1 << 20);
    assert!(!policy.allows(&[huge_role.as_str()], &permission("a:b:c:d:e:f:g:p1")));
}

#[test]
fn b12_denial_does_not_reveal_grants() {
    let policy = Policy::reference();
    let decision = policy.decide(&["user"], &permission("config:write"));
    assert_eq!(decision, Decision::NoGrant);
    assert_eq!(
        decision.to_string(),
        "denied: no role grants it (deny by default)"
    );
    assert_eq!(decision.reason_code(), Some("permission_denied"));
}
