//! `ddf-auth jwt verify|inspect` and `ddf-auth jwks show`.

use std::io::{Read as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use ddf_jwt::{
    Algorithm, IssuerConfig, JwksOptions, JwtError, KeySet, KeySource, Profile, StaticKeySource,
    UnverifiedToken, Validator,
};
use ddf_rbac::{ManualClock, SystemClock};
use serde_json::{Value, json};

use crate::jwt_remote::{self, RemoteError};

/// JWT subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum JwtCommand {
    /// Generates a signing key: PKCS#8 PEM private key and public JWK.
    Keygen(crate::keygen::KeygenArgs),
    /// Verifies a token against a JWKS file, a JWKS URL or the keys found by
    /// OIDC discovery, and prints the principal and claims as JSON.
    Verify(VerifyArgs),
    /// Prints a token's header and claims WITHOUT verifying them.
    Inspect {
        /// The compact token, or `-` to read it from standard input.
        token: String,
    },
}

/// JWKS subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum JwksCommand {
    /// Lists the usable keys of a JWKS file or URL and the entries skipped, with reasons.
    Show {
        /// Path or https URL of the JWKS document.
        #[arg(value_name = "URL|FILE")]
        file: String,
        /// Allows plain http to loopback IP literals such as 127.0.0.1 (tests and local development only).
        #[arg(long)]
        allow_http_loopback: bool,
    },
}

/// Arguments of `jwt verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// JWKS file or https URL holding the issuer's public keys.
    #[arg(long, value_name = "URL|FILE", required_unless_present = "discover")]
    jwks: Option<String>,
    /// Finds the JWKS by OIDC discovery at ISSUER_URL/.well-known/openid-configuration;
    /// the document must name this exact issuer. Also the default for --issuer.
    #[arg(long, value_name = "ISSUER_URL", conflicts_with = "jwks")]
    discover: Option<String>,
    /// Allows plain http to loopback IP literals such as 127.0.0.1 for --jwks
    /// and --discover (tests and local development only).
    #[arg(long)]
    allow_http_loopback: bool,
    /// Exact expected `iss` value. Default: the --discover issuer.
    #[arg(long, value_name = "ISS", required_unless_present = "discover")]
    issuer: Option<String>,
    /// Accepted audience; repeat for several. None: the token must not carry `aud`.
    #[arg(long = "audience", value_name = "AUD")]
    audiences: Vec<String>,
    /// Allowed algorithm; repeat for several. Default: RS256.
    #[arg(long = "algorithm", value_name = "ALG")]
    algorithms: Vec<String>,
    /// Provider profile: generic, keycloak, entra, cognito or auth0.
    #[arg(long, default_value = "generic")]
    profile: String,
    /// Client id whose roles are mapped (Keycloak) or accepted as `client_id` (Cognito).
    #[arg(long = "client-id", value_name = "ID")]
    client_ids: Vec<String>,
    /// Clock leeway in seconds (at most 300).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    leeway: u64,
    /// Validates as of this time (Unix seconds) instead of now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    at: Option<u64>,
    /// The compact token, or `-` (or nothing) to read it from standard input.
    token: Option<String>,
}

pub(crate) fn run_jwt(command: JwtCommand) -> ExitCode {
    match command {
        JwtCommand::Verify(args) => verify(args),
        JwtCommand::Inspect { token } => inspect(&token),
        JwtCommand::Keygen(args) => crate::keygen::run(&args),
    }
}

pub(crate) fn run_jwks(command: JwksCommand) -> ExitCode {
    match command {
        JwksCommand::Show {
            file,
            allow_http_loopback,
        } => show(&file, allow_http_loopback),
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn check_failed(error: &JwtError) -> ExitCode {
    eprintln!("error[{}]: {error}", error.kind());
    ExitCode::from(1)
}

/// Returns the token argument, reading standard input for `-` or no argument.
fn read_token(argument: Option<&str>) -> Result<String, String> {
    match argument {
        Some(token) if token != "-" => Ok(token.to_owned()),
        _ => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(|error| format!("cannot read the token from standard input: {error}"))?;
            Ok(input.trim().to_owned())
        }
    }
}

/// Prints pretty JSON; a closed standard output (`| head`) is not an error.
fn print_json(value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

fn verify(args: VerifyArgs) -> ExitCode {
    let token = match read_token(args.token.as_deref()) {
        Ok(token) => token,
        Err(message) => return usage_error(&message),
    };
    let profile: Profile = match args.profile.parse() {
        Ok(profile) => profile,
        Err(error) => return usage_error(&error.to_string()),
    };
    let mut algorithms = Vec::new();
    for name in &args.algorithms {
        match name.parse::<Algorithm>() {
            Ok(alg) => algorithms.push(alg),
            Err(error) => return usage_error(&error.to_string()),
        }
    }
    if algorithms.is_empty() {
        algorithms.push(Algorithm::RS256);
    }

    let source: Arc<dyn KeySource> = match (args.jwks.as_deref(), args.discover.as_deref()) {
        (Some(file), None) if !jwt_remote::is_url(file) => {
            let document = match std::fs::read(file) {
                Ok(document) => document,
                Err(error) => return usage_error(&format!("cannot read {file}: {error}")),
            };
            match StaticKeySource::from_jwks_json_with(document, &JwksOptions::default()) {
                Ok((source, _skipped)) => Arc::new(source),
                Err(error) => return check_failed(&error),
            }
        }
        (url, discover) => match jwt_remote::load_source(url, discover, args.allow_http_loopback) {
            Ok(source) => Arc::new(source),
            Err(RemoteError::Usage(message)) => return usage_error(&message),
            Err(RemoteError::Failed(error)) => return check_failed(&error),
        },
    };
    let Some(issuer) = args.issuer.or(args.discover) else {
        return usage_error("give --issuer ISS");
    };
    let mut issuer = IssuerConfig::with_shared_keys(issuer, source)
        .algorithms(algorithms)
        .profile(profile)
        .leeway_seconds(args.leeway);
    for audience in args.audiences {
        issuer = issuer.audience(audience);
    }
    for client in args.client_ids {
        issuer = issuer.client_id(client);
    }
    let builder = Validator::builder().issuer(issuer).cache_capacity(0);
    let builder = match args.at {
        Some(at) => builder.clock(ManualClock::at_unix_seconds(at)),
        None => builder.clock(SystemClock),
    };
    let validator = match builder.build() {
        Ok(validator) => validator,
        Err(error) => return usage_error(&error.to_string()),
    };

    match validator.validate_sync(&token) {
        Ok(verified) => {
            print_json(&json!({
                "principal": verified.principal(),
                "header": verified.header(),
                "claims": verified.claims(),
            }));
            ExitCode::SUCCESS
        }
        Err(error) => check_failed(&error),
    }
}

fn inspect(argument: &str) -> ExitCode {
    let token = match read_token(Some(argument)) {
        Ok(token) => token,
        Err(message) => return usage_error(&message),
    };
    match UnverifiedToken::parse(&token) {
        Ok(parsed) => {
            print_json(&json!({
                "verified": false,
                "warning": "UNVERIFIED: the signature and claims were not checked; do not trust these values",
                "header": parsed.untrusted_header(),
                "claims": parsed.untrusted_claims(),
            }));
            ExitCode::SUCCESS
        }
        Err(error) => check_failed(&error),
    }
}

fn show(file: &str, allow_http_loopback: bool) -> ExitCode {
    let loaded = if jwt_remote::is_url(file) {
        match jwt_remote::fetch_key_set(file, allow_http_loopback) {
            Ok(keys) => {
                let skipped = keys.skipped().to_vec();
                Ok((keys, skipped))
            }
            Err(RemoteError::Usage(message)) => return usage_error(&message),
            Err(RemoteError::Failed(error)) => Err(error),
        }
    } else {
        match std::fs::read(file) {
            Ok(document) => KeySet::from_jwks_json(document),
            Err(error) => return usage_error(&format!("cannot read {file}: {error}")),
        }
    };
    match loaded {
        Ok((keys, skipped)) => {
            let keys: Vec<Value> = keys
                .keys()
                .iter()
                .map(|key| {
                    json!({
                        "kid": key.kid(),
                        "kty": key.key_type(),
                        "key": key.description(),
                        "algorithms": key.algorithms().iter().map(|alg| alg.as_str()).collect::<Vec<_>>(),
                        "fingerprint": key.fingerprint().to_string(),
                    })
                })
                .collect();
            let skipped: Vec<Value> = skipped
                .iter()
                .map(|entry| json!({"index": entry.index, "kid": entry.kid, "reason": entry.reason.as_str()}))
                .collect();
            print_json(&json!({"keys": keys, "skipped": skipped}));
            ExitCode::SUCCESS
        }
        Err(error) => check_failed(&error),
    }
}
