//! The error of building or running a gateway.

/// Why the gateway could not start. Messages never contain a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The configuration file or the environment is invalid.
    #[error("configuration error: {0}")]
    Config(String),
    /// A component rejected its settings.
    #[error("cannot build {component}: {message}")]
    Build {
        /// The component (`jwt validator`, `session store`, ...).
        component: &'static str,
        /// What it reported.
        message: String,
    },
    /// A listener could not be bound or served.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl GatewayError {
    pub(crate) fn build(component: &'static str, error: impl std::fmt::Display) -> Self {
        Self::Build {
            component,
            message: error.to_string(),
        }
    }
}
