//! `ddf-auth policy check` and `ddf-auth policy explain`, run as the built
//! binary: output and exit codes.

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", name]
        .iter()
        .collect();
    path.to_str().unwrap().to_owned()
}

fn ddf_auth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ddf-auth"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn check_valid_yaml_prints_summary() {
    let file = fixture("reference.yaml");
    let output = ddf_auth(&["policy", "check", &file]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        format!("{file}: OK: 3 roles, 9 patterns after inheritance, superuser disabled\n")
    );
}

#[test]
fn check_valid_toml_prints_summary() {
    let file = fixture("reference.toml");
    let output = ddf_auth(&["policy", "check", &file]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        format!("{file}: OK: 3 roles, 9 patterns after inheritance, superuser disabled\n")
    );
}

#[test]
fn check_counts_inherited_patterns() {
    let file = fixture("inheritance.yml");
    let output = ddf_auth(&["policy", "check", &file]);
    assert_eq!(output.status.code(), Some(0));
    // user 3, operator 2 own + 3 inherited grants + 1 deny.
    assert_eq!(
        stdout(&output),
        format!("{file}: OK: 2 roles, 9 patterns after inheritance, superuser disabled\n")
    );
}

#[test]
fn check_prints_every_problem() {
    let file = fixture("broken.yaml");
    let output = ddf_auth(&["policy", "check", &file]);
    assert_eq!(output.status.code(), Some(1));
    let expected = [
        "5 problems".to_owned(),
        "role \"admin\", permissions[1]: invalid pattern \"ll*\": segment 0 mixes '*' with other characters; '*' must be a whole segment".to_owned(),
        "role \"admin\", permissions[2]: pattern \"*\" grants every permission; set `allow_superuser: true` at the top of the policy if that is intended".to_owned(),
        "role \"user\", permissions[0]: invalid pattern \"LLM:query\": character 'L' at byte 0 is not allowed; segments use only a-z, 0-9, '_', '-' and '.'".to_owned(),
        "role \"user\", inherits[0]: inherits from \"nobody\", which the policy does not define".to_owned(),
        "role \"a\": inheritance cycle: \"a\" -> \"b\" -> \"a\"".to_owned(),
    ];
    let printed = stdout(&output);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{printed}");
    for (line, expected) in lines.iter().zip(&expected) {
        assert_eq!(*line, format!("{file}: {expected}"));
    }
}

#[test]
fn check_reports_toml_syntax_error() {
    let file = fixture("broken.toml");
    let output = ddf_auth(&["policy", "check", &file]);
    assert_eq!(output.status.code(), Some(1));
    let printed = stdout(&output);
    assert!(
        printed.starts_with(&format!("{file}: invalid TOML policy: ")),
        "{printed}"
    );
    assert!(printed.contains("line 2"), "{printed}");
}

#[test]
fn check_unknown_extension_is_usage_error() {
    let file = fixture("policy.json");
    let output = ddf_auth(&["policy", "check", &file]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        format!("error: cannot tell the format of {file}; name it *.yaml, *.yml or *.toml\n")
    );
}

#[test]
fn check_missing_file_is_usage_error() {
    let file = fixture("missing.yaml");
    let output = ddf_auth(&["policy", "check", &file]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with(&format!("error: cannot read {file}: ")),
        "{}",
        stderr(&output)
    );
}

#[test]
fn explain_allowed_names_the_pattern() {
    let file = fixture("reference.yaml");
    let output = ddf_auth(&["policy", "explain", &file, "--role", "admin", "llm:query"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        "allowed: role \"admin\" pattern \"llm:*\" grants it\n"
    );
}

#[test]
fn explain_denied_by_default() {
    let file = fixture("reference.toml");
    let output = ddf_auth(&["policy", "explain", &file, "--role", "user", "config:write"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        "denied: no role grants it (deny by default)\n"
    );
}

#[test]
fn explain_inherited_grant_and_deny() {
    let file = fixture("inheritance.yml");
    let output = ddf_auth(&[
        "policy",
        "explain",
        &file,
        "--role",
        "operator",
        "llm:admin:reload",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        "denied: role \"operator\" pattern \"llm:admin:*\" denies it\n"
    );

    let output = ddf_auth(&[
        "policy",
        "explain",
        &file,
        "--role",
        "operator",
        "llm:status",
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        "allowed: role \"operator\" pattern \"llm:*\" grants it\n"
    );
}

#[test]
fn explain_several_roles_and_unknown_role_note() {
    let file = fixture("reference.yaml");
    let output = ddf_auth(&[
        "policy",
        "explain",
        &file,
        "--role",
        "ghost",
        "--role",
        "readonly",
        "llm:status",
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        "allowed: role \"readonly\" pattern \"llm:status\" grants it\n"
    );
    assert_eq!(
        stderr(&output),
        format!("note: role \"ghost\" is not defined in {file} and grants nothing\n")
    );
}

#[test]
fn explain_invalid_permission_is_usage_error() {
    let file = fixture("reference.yaml");
    let output = ddf_auth(&["policy", "explain", &file, "--role", "admin", "LLM:query"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert_eq!(
        stderr(&output),
        "error: invalid permission \"LLM:query\": character 'L' at byte 0 is not allowed; \
         segments use only a-z, 0-9, '_', '-' and '.'\n"
    );
}

#[test]
fn explain_invalid_policy_is_usage_error() {
    let file = fixture("broken.yaml");
    let output = ddf_auth(&["policy", "explain", &file, "--role", "admin", "llm:query"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).starts_with(&format!(
            "error: {file} is not a valid policy; `ddf-auth policy check {file}` lists every problem\n"
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn explain_missing_permission_argument_is_usage_error() {
    let file = fixture("reference.yaml");
    let output = ddf_auth(&["policy", "explain", &file, "--role", "admin"]);
    assert_eq!(output.status.code(), Some(2));
}
