//! `Policy::allows` on the reference policy and on a policy of 1,000 roles
//! with 50 patterns each.

// `criterion_group!` generates a public function without documentation.
#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use ddf_auth::rbac::{Permission, Policy, PolicySpec, RoleSpec};

fn permission(name: &str) -> Permission {
    Permission::parse(name).unwrap()
}

fn reference(c: &mut Criterion) {
    let policy = Policy::reference();
    let mut group = c.benchmark_group("rbac/reference");
    let cases = [
        ("admin_wildcard_allow", vec!["admin"], "llm:query"),
        ("user_literal_allow", vec!["user"], "monitoring:read"),
        ("user_deny", vec!["user"], "config:write"),
        (
            "keycloak_roles_allow",
            vec!["offline_access", "uma_authorization", "user"],
            "llm:status",
        ),
        ("unknown_role_deny", vec!["guest"], "llm:query"),
    ];
    for (name, roles, required) in cases {
        let required = permission(required);
        group.bench_function(name, |b| {
            b.iter(|| black_box(&policy).allows(black_box(&roles), black_box(&required)));
        });
    }
    group.bench_function("decide_admin", |b| {
        let required = permission("config:write");
        b.iter(|| {
            black_box(&policy)
                .decide(black_box(&["admin"]), black_box(&required))
                .is_allowed()
        });
    });
    group.finish();
}

/// 1,000 roles; role `i` grants `svc{i}:res{j}:*` for 25 values of `j` and
/// `svc{i}:res{j}:read` for 25 more, and denies nothing.
fn large_policy() -> Policy {
    let mut spec = PolicySpec::new();
    for role in 0..1_000 {
        let wildcards = (0..25).map(move |index| format!("svc{role}:res{index}:*"));
        let literals = (25..50).map(move |index| format!("svc{role}:res{index}:read"));
        spec =
            spec.with_role(RoleSpec::new(format!("role-{role}")).grant(wildcards.chain(literals)));
    }
    Policy::from_spec(&spec).unwrap()
}

fn large(c: &mut Criterion) {
    let policy = large_policy();
    let mut group = c.benchmark_group("rbac/1000x50");

    let three_roles = ["role-17", "role-500", "role-999"];
    let last_pattern = permission("svc999:res49:read");
    group.bench_function("3_roles_allow_last_pattern", |b| {
        b.iter(|| black_box(&policy).allows(black_box(&three_roles), black_box(&last_pattern)));
    });
    let missing = permission("svc999:res49:write");
    group.bench_function("3_roles_deny", |b| {
        b.iter(|| black_box(&policy).allows(black_box(&three_roles), black_box(&missing)));
    });

    // Worst case: a principal holding all 1,000 roles and a permission that
    // none grants, so every one of the 50,000 patterns is compared.
    let all_roles: Vec<String> = (0..1_000).map(|role| format!("role-{role}")).collect();
    group.bench_function("all_roles_deny", |b| {
        b.iter(|| black_box(&policy).allows(black_box(&all_roles), black_box(&missing)));
    });
    group.finish();
}

fn parse_and_compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("rbac/setup");
    group.bench_function("permission_parse", |b| {
        b.iter(|| Permission::parse(black_box("llm:query:gpt-4o")));
    });
    group.bench_function("reference_policy_from_yaml", |b| {
        b.iter(|| Policy::from_yaml_str(black_box(ddf_auth::rbac::REFERENCE_POLICY_YAML)));
    });
    group.finish();
}

criterion_group!(benches, reference, large, parse_and_compile);
criterion_main!(benches);
