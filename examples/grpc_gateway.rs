//! The LLM gateway as a gRPC service (`ddf.llm.v1.Llm`), built from the same
//! configuration and `ddf_auth::gateway::Stack` as the HTTP gateways.
//!
//! ```text
//! cargo run --example grpc_gateway --features grpc
//! ```
//!
//! `Query` requires `llm:query` and `Status` requires `llm:status`. Send the
//! credential as gRPC metadata (`authorization: Bearer <token>` or
//! `x-api-key: <key>`). The service schema is in the documentation of
//! `ddf_auth::gateway::grpc`. Without configuration, the local development
//! issuer starts and a token and an API key per role are printed.

use std::error::Error;
use std::process::ExitCode;

use ddf_auth::gateway::grpc::{self, EchoLlm};
use ddf_auth::gateway::{GatewayConfig, Stack};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("grpc_gateway: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let config = GatewayConfig::load()?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .init();
    let listen = config.listen_addr()?;
    let stack = Stack::build(config).await?;
    let router = grpc::router(&stack, EchoLlm::default())?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    tracing::info!(listen = %address, service = grpc::SERVICE_NAME, "grpc gateway ready");

    if stack.dev_issuer().is_some() {
        eprintln!("LOCAL DEVELOPMENT ISSUER: for trying the gateway on this machine only.");
        for credential in stack.dev_credentials() {
            let upper = credential.role.to_uppercase();
            eprintln!("export DDF_TOKEN_{upper}={}", credential.token);
            eprintln!("export DDF_API_KEY_{upper}={}", credential.api_key);
        }
    }

    tonic::transport::Server::builder()
        .add_routes(router.into())
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            async {
                let _ = tokio::signal::ctrl_c().await;
            },
        )
        .await?;
    tracing::info!("grpc gateway stopped");
    Ok(())
}
