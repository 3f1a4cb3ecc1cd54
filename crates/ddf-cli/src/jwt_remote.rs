//! Remote keys for `jwt verify` and `jwks show`: a JWKS URL, or the JWKS
//! found by OIDC discovery, fetched once with the library's defaults
//! (https only, 5 s deadline, no redirects, 64 KiB body cap).

use ddf_jwt::{
    DiscoveryConfig, ErrorKind, JwtError, KeySet, RemoteJwks, RemoteJwksBuilder, RemoteJwksConfig,
};

/// Failure to load remote keys.
pub(crate) enum RemoteError {
    /// The URL or option is unusable (exit code 2).
    Usage(String),
    /// The fetch or the document failed (exit code 1).
    Failed(JwtError),
}

impl From<JwtError> for RemoteError {
    fn from(error: JwtError) -> Self {
        if error.kind() == ErrorKind::ConfigInvalid {
            Self::Usage(error.to_string())
        } else {
            Self::Failed(error)
        }
    }
}

/// Returns whether a `--jwks` or `jwks show` argument names a URL rather
/// than a file.
pub(crate) fn is_url(argument: &str) -> bool {
    argument.starts_with("https://") || argument.starts_with("http://")
}

fn config(allow_http_loopback: bool) -> RemoteJwksConfig {
    RemoteJwksConfig {
        background_refresh: false,
        danger_allow_http_loopback: allow_http_loopback,
        ..RemoteJwksConfig::default()
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, RemoteError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| RemoteError::Usage(format!("cannot start the async runtime: {error}")))
}

/// Fetches the keys at `jwks_url`, or discovers the JWKS of `issuer`, and
/// returns the loaded source (its keys are held; it fetches no more).
pub(crate) fn load_source(
    jwks_url: Option<&str>,
    issuer: Option<&str>,
    allow_http_loopback: bool,
) -> Result<RemoteJwks, RemoteError> {
    let builder: RemoteJwksBuilder = match (jwks_url, issuer) {
        (Some(url), _) => RemoteJwks::builder(url),
        (None, Some(issuer)) => RemoteJwks::from_discovery(DiscoveryConfig::new(issuer)),
        (None, None) => {
            return Err(RemoteError::Usage(
                "give --jwks URL|FILE or --discover ISSUER_URL".to_owned(),
            ));
        }
    };
    let runtime = runtime()?;
    runtime.block_on(async {
        let source = builder.config(config(allow_http_loopback)).build()?;
        source.refresh().await?;
        Ok(source)
    })
}

/// Fetches one JWKS document and parses it, keeping skipped entries.
pub(crate) fn fetch_key_set(url: &str, allow_http_loopback: bool) -> Result<KeySet, RemoteError> {
    let runtime = runtime()?;
    runtime
        .block_on(RemoteJwks::fetch_once(
            url,
            &config(allow_http_loopback),
            None,
        ))
        .map_err(RemoteError::from)
}
