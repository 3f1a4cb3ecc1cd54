//! Permission checks: ddf-rbac `Policy::allows` beside casbin 2.20 (RBAC
//! model with `keyMatch` wildcards), both as a plain `Enforcer` and as a
//! `CachedEnforcer` answering from its cache, on the reference policy and on
//! a policy of 1,000 roles with 50 patterns each.
//!
//! ```sh
//! cargo bench -p ddf-bench-peers --bench rbac_peers -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! A principal arrives with its roles (from a token), so casbin is asked once
//! per held role with the role as subject, stopping at the first allow, which
//! is how a caller maps a role list onto casbin's `(sub, obj)` request.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::hint::black_box;
use std::time::Duration;

use casbin::prelude::{CachedEnforcer, CoreApi, DefaultModel, Enforcer, MemoryAdapter, MgmtApi};
use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use ddf_rbac::{Permission, Policy, PolicySpec, RoleSpec};
use tokio::runtime::Runtime;

/// RBAC with role inheritance (`g`) and `keyMatch`, whose `*` matches any
/// suffix, the closest casbin built-in to a whole-segment `llm:*` wildcard.
const CASBIN_MODEL: &str = "
[request_definition]
r = sub, obj

[policy_definition]
p = sub, obj

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && keyMatch(r.obj, p.obj)
";

/// The reference policy as `(role, pattern)` rules.
const REFERENCE_RULES: [(&str, &str); 9] = [
    ("admin", "llm:*"),
    ("admin", "config:*"),
    ("admin", "users:*"),
    ("admin", "monitoring:*"),
    ("user", "llm:query"),
    ("user", "llm:status"),
    ("user", "monitoring:read"),
    ("readonly", "llm:status"),
    ("readonly", "monitoring:read"),
];

/// Role `i` grants `svc{i}:res{j}:*` for 25 values of `j` and
/// `svc{i}:res{j}:read` for 25 more.
fn large_rules() -> Vec<(String, String)> {
    (0..1_000)
        .flat_map(|role| {
            let wildcards = (0..25).map(move |index| format!("svc{role}:res{index}:*"));
            let literals = (25..50).map(move |index| format!("svc{role}:res{index}:read"));
            wildcards
                .chain(literals)
                .map(move |pattern| (format!("role-{role}"), pattern))
        })
        .collect()
}

fn ddf_policy(rules: &[(String, String)]) -> Policy {
    let mut spec = PolicySpec::new();
    let mut start = 0;
    while start < rules.len() {
        let role = &rules[start].0;
        let end = start
            + rules[start..]
                .iter()
                .take_while(|(name, _)| name == role)
                .count();
        let patterns = rules[start..end].iter().map(|(_, pattern)| pattern.clone());
        spec = spec.with_role(RoleSpec::new(role.clone()).grant(patterns));
        start = end;
    }
    Policy::from_spec(&spec).expect("policy is valid")
}

async fn casbin_enforcer(rules: &[(String, String)]) -> Enforcer {
    let model = DefaultModel::from_str(CASBIN_MODEL)
        .await
        .expect("casbin model parses");
    let mut enforcer = Enforcer::new(model, MemoryAdapter::default())
        .await
        .expect("casbin enforcer builds");
    let policies = rules
        .iter()
        .map(|(role, pattern)| vec![role.clone(), pattern.clone()])
        .collect();
    enforcer
        .add_policies(policies)
        .await
        .expect("casbin accepts the rules");
    enforcer
}

async fn casbin_cached_enforcer(rules: &[(String, String)]) -> CachedEnforcer {
    let model = DefaultModel::from_str(CASBIN_MODEL)
        .await
        .expect("casbin model parses");
    let mut enforcer = CachedEnforcer::new(model, MemoryAdapter::default())
        .await
        .expect("casbin enforcer builds");
    let policies = rules
        .iter()
        .map(|(role, pattern)| vec![role.clone(), pattern.clone()])
        .collect();
    enforcer
        .add_policies(policies)
        .await
        .expect("casbin accepts the rules");
    enforcer
}

/// Asks casbin once per held role, stopping at the first allow.
fn casbin_allows(enforcer: &impl CoreApi, roles: &[&str], permission: &str) -> bool {
    roles.iter().any(|role| {
        enforcer
            .enforce((*role, permission))
            .expect("the request matches the model")
    })
}

/// One case: the roles a principal holds, the permission and the answer.
struct Case {
    name: &'static str,
    roles: Vec<&'static str>,
    permission: &'static str,
    allowed: bool,
}

struct Subjects<'a> {
    policy: &'a Policy,
    enforcer: &'a Enforcer,
    cached: &'a CachedEnforcer,
}

fn bench_case(group: &mut BenchmarkGroup<'_, WallTime>, subjects: &Subjects<'_>, case: &Case) {
    let permission = Permission::parse(case.permission).expect("permission parses");
    let roles = case.roles.as_slice();
    assert_eq!(
        subjects.policy.allows(roles, &permission),
        case.allowed,
        "{}",
        case.name
    );
    assert_eq!(
        casbin_allows(subjects.enforcer, roles, case.permission),
        case.allowed,
        "{}",
        case.name
    );
    // The first call fills the cache, so the timed calls are hits.
    assert_eq!(
        casbin_allows(subjects.cached, roles, case.permission),
        case.allowed,
        "{}",
        case.name
    );

    group.bench_function(format!("{}/ddf_rbac", case.name), |b| {
        b.iter(|| {
            subjects
                .policy
                .allows(black_box(roles), black_box(&permission))
        });
    });
    group.bench_function(format!("{}/casbin_enforcer", case.name), |b| {
        b.iter(|| {
            casbin_allows(
                subjects.enforcer,
                black_box(roles),
                black_box(case.permission),
            )
        });
    });
    group.bench_function(format!("{}/casbin_cached_hit", case.name), |b| {
        b.iter(|| {
            casbin_allows(
                subjects.cached,
                black_box(roles),
                black_box(case.permission),
            )
        });
    });
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("Tokio runtime")
}

fn reference(c: &mut Criterion) {
    let rules: Vec<(String, String)> = REFERENCE_RULES
        .iter()
        .map(|(role, pattern)| ((*role).to_owned(), (*pattern).to_owned()))
        .collect();
    let runtime = runtime();
    let policy = ddf_policy(&rules);
    let enforcer = runtime.block_on(casbin_enforcer(&rules));
    let cached = runtime.block_on(casbin_cached_enforcer(&rules));
    let subjects = Subjects {
        policy: &policy,
        enforcer: &enforcer,
        cached: &cached,
    };

    let cases = [
        Case {
            name: "admin_wildcard_allow",
            roles: vec!["admin"],
            permission: "llm:query",
            allowed: true,
        },
        Case {
            name: "user_literal_allow",
            roles: vec!["user"],
            permission: "monitoring:read",
            allowed: true,
        },
        Case {
            name: "user_deny",
            roles: vec!["user"],
            permission: "config:write",
            allowed: false,
        },
        Case {
            name: "keycloak_roles_allow",
            roles: vec!["offline_access", "uma_authorization", "user"],
            permission: "llm:status",
            allowed: true,
        },
        Case {
            name: "unknown_role_deny",
            roles: vec!["guest"],
            permission: "llm:query",
            allowed: false,
        },
    ];
    let mut group = c.benchmark_group("rbac/reference");
    for case in &cases {
        bench_case(&mut group, &subjects, case);
    }
    group.finish();
}

fn large(c: &mut Criterion) {
    let rules = large_rules();
    let runtime = runtime();
    let policy = ddf_policy(&rules);
    let enforcer = runtime.block_on(casbin_enforcer(&rules));
    let cached = runtime.block_on(casbin_cached_enforcer(&rules));
    let subjects = Subjects {
        policy: &policy,
        enforcer: &enforcer,
        cached: &cached,
    };

    let cases = [
        Case {
            name: "3_roles_allow_last_pattern",
            roles: vec!["role-17", "role-500", "role-999"],
            permission: "svc999:res49:read",
            allowed: true,
        },
        Case {
            name: "3_roles_deny",
            roles: vec!["role-17", "role-500", "role-999"],
            permission: "svc999:res49:write",
            allowed: false,
        },
    ];
    let mut group = c.benchmark_group("rbac/1000x50");
    // casbin evaluates its matcher once per rule, 50,000 rules per request,
    // so its iterations take milliseconds; ten samples keep the run short.
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    for case in &cases {
        bench_case(&mut group, &subjects, case);
    }
    group.finish();
}

criterion_group!(benches, reference, large);
criterion_main!(benches);
