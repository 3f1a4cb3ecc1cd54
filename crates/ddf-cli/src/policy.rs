//! `ddf-auth policy`: validate policy files and explain decisions, for use in
//! a service's own CI.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use ddf_rbac::{MAX_POLICY_BYTES, Permission, Policy, PolicyFormat, RbacError};

/// Arguments of `ddf-auth policy`.
#[derive(Debug, Args)]
pub(crate) struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validates a policy file and prints every problem (exit 1 if any).
    ///
    /// The format follows the extension: .yaml or .yml for YAML, .toml for TOML.
    Check {
        /// The policy file.
        file: PathBuf,
    },
    /// Prints whether the roles grant a permission and which pattern decided
    /// (exit 0 allowed, 1 denied, 2 on invalid input).
    Explain {
        /// The policy file (.yaml, .yml or .toml).
        file: PathBuf,
        /// A role the principal holds; repeat for several roles.
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// The permission to check, such as llm:query.
        permission: String,
    },
}

/// Runs a `policy` subcommand and returns the process exit code.
pub(crate) fn run(args: &PolicyArgs) -> ExitCode {
    match &args.command {
        PolicyCommand::Check { file } => check(file),
        PolicyCommand::Explain {
            file,
            roles,
            permission,
        } => explain(file, roles, permission),
    }
}

fn check(file: &Path) -> ExitCode {
    let input = match read_policy(file) {
        Ok(input) => input,
        Err(exit) => return exit,
    };
    let display_path = file.display();
    match Policy::from_str_as(&input.text, input.format) {
        Ok(policy) => {
            let superuser = if policy.allows_superuser() {
                "enabled"
            } else {
                "disabled"
            };
            println!(
                "{display_path}: OK: {} roles, {} patterns after inheritance, superuser {superuser}",
                policy.role_count(),
                policy.pattern_count()
            );
            ExitCode::SUCCESS
        }
        Err(RbacError::InvalidPolicy { problems }) => {
            let count = problems.len();
            println!(
                "{display_path}: {count} problem{}",
                if count == 1 { "" } else { "s" }
            );
            for problem in &problems {
                println!("{display_path}: {problem}");
            }
            ExitCode::FAILURE
        }
        Err(error) => {
            println!("{display_path}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn explain(file: &Path, roles: &[String], permission: &str) -> ExitCode {
    let permission = match Permission::parse(permission) {
        Ok(permission) => permission,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let input = match read_policy(file) {
        Ok(input) => input,
        Err(exit) => return exit,
    };
    let display_path = file.display();
    let policy = match Policy::from_str_as(&input.text, input.format) {
        Ok(policy) => policy,
        Err(error) => {
            eprintln!(
                "error: {display_path} is not a valid policy; `ddf-auth policy check {display_path}` lists every problem"
            );
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };

    for role in policy.unknown_roles(roles) {
        eprintln!(
            "note: role {} is not defined in {display_path} and grants nothing",
            ddf_rbac::quote_input(role)
        );
    }
    let decision = policy.decide(roles, &permission);
    println!("{decision}");
    if decision.is_allowed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// A policy file's text and its format.
struct PolicyInput {
    text: String,
    format: PolicyFormat,
}

/// Reads a policy file, choosing the format by extension. Unreadable files
/// and unknown extensions are usage errors (exit 2); a file that is too large
/// or not UTF-8 is an invalid policy (exit 1).
fn read_policy(file: &Path) -> Result<PolicyInput, ExitCode> {
    let display_path = file.display();
    let format = match file.extension().and_then(|extension| extension.to_str()) {
        Some("yaml" | "yml") => PolicyFormat::Yaml,
        Some("toml") => PolicyFormat::Toml,
        _ => {
            eprintln!(
                "error: cannot tell the format of {display_path}; name it *.yaml, *.yml or *.toml"
            );
            return Err(ExitCode::from(2));
        }
    };

    let mut bytes = Vec::new();
    // Read one byte past the limit so an oversized file is detected without
    // reading all of it.
    let read = File::open(file).and_then(|handle| {
        handle
            .take(MAX_POLICY_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
    });
    if let Err(error) = read {
        eprintln!("error: cannot read {display_path}: {error}");
        return Err(ExitCode::from(2));
    }
    if bytes.len() > MAX_POLICY_BYTES {
        println!("{display_path}: the file is larger than the maximum of {MAX_POLICY_BYTES} bytes");
        return Err(ExitCode::FAILURE);
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(PolicyInput { text, format }),
        Err(error) => {
            println!(
                "{display_path}: the file is not valid UTF-8 (byte {})",
                error.utf8_error().valid_up_to()
            );
            Err(ExitCode::FAILURE)
        }
    }
}
