//! Permission, pattern and policy parsing on arbitrary input: every call
//! must return a value or a typed error, never panic, and a value must
//! round-trip to the input text.

#![no_main]

use ddf_rbac::{Pattern, Permission, Policy, PolicyFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };

    // The first line doubles as a permission and as a pattern.
    let first_line = text.lines().next().unwrap_or("");
    let permission = Permission::parse(first_line).ok();
    if let Some(permission) = &permission {
        assert_eq!(permission.as_str(), first_line);
        assert_eq!(
            permission.segments().collect::<Vec<_>>().join(":"),
            first_line
        );
    }
    if let Ok(pattern) = Pattern::parse(first_line) {
        assert_eq!(pattern.as_str(), first_line);
        if let Some(permission) = &permission {
            // A pattern without wildcards matches exactly its own name.
            assert!(pattern.matches(permission));
        }
    }

    // The whole input as a policy in both formats; a policy that compiles
    // is queried with every role it defines plus one it does not.
    for format in [PolicyFormat::Yaml, PolicyFormat::Toml] {
        let Ok(policy) = Policy::from_str_as(text, format) else {
            continue;
        };
        let mut roles: Vec<&str> = policy.role_names().collect();
        roles.push("undefined-role");
        if let Some(permission) = &permission {
            let allowed = policy.allows(&roles, permission);
            assert_eq!(policy.decide(&roles, permission).is_allowed(), allowed);
        }
        assert_eq!(
            policy.unknown_roles(&roles).collect::<Vec<_>>(),
            ["undefined-role"]
        );
    }
});
