//! `ddf-auth`: the command-line companion of the ddf-auth crates.
//!
//! Exit codes, for every command: 0 success, 1 the check failed (an invalid
//! policy, a rejected token), 2 a usage error.

mod apikey;
mod jwt;
mod jwt_remote;
mod keygen;
mod policy;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Checks policies, manages API keys and verifies JWTs from the shell.
#[derive(Debug, Parser)]
#[command(name = "ddf-auth", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Prints the version of this binary.
    Version,
    /// Issues API keys and computes their digests.
    Apikey(apikey::ApikeyArgs),
    /// Checks policy files and explains which pattern decides a permission.
    Policy(policy::PolicyArgs),
    /// Verifies and inspects JWTs, and generates signing keys.
    Jwt {
        #[command(subcommand)]
        command: jwt::JwtCommand,
    },
    /// Shows the keys of a JWKS document.
    Jwks {
        #[command(subcommand)]
        command: jwt::JwksCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("ddf-auth {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Apikey(args) => apikey::run(args),
        Command::Policy(args) => policy::run(&args),
        Command::Jwt { command } => jwt::run_jwt(command),
        Command::Jwks { command } => jwt::run_jwks(command),
    }
}
