//! The gRPC variant of the gateway (feature `grpc`): a small `ddf.llm.v1.Llm`
//! service behind the same tower layers as the HTTP gateway.
//!
//! The service is written by hand with `prost` message derives and
//! `tonic::server::Grpc`, so building it needs no `protoc`. Its schema:
//!
//! ```text
//! package ddf.llm.v1;
//! service Llm {
//!   rpc Query(QueryRequest) returns (QueryReply);    // permission llm:query
//!   rpc Status(StatusRequest) returns (StatusReply); // permission llm:status
//! }
//! message QueryRequest { string prompt = 1; uint32 max_tokens = 2; }
//! message QueryReply {
//!   string model = 1; string subject = 2; string output = 3;
//!   uint64 prompt_tokens = 4; uint64 completion_tokens = 5;
//! }
//! message StatusRequest {}
//! message StatusReply { string status = 1; string model = 2; uint64 uptime_secs = 3; }
//! ```
//!
//! [`router`] routes each method through axum with its own
//! `RequirePermissionLayer`, inside the authentication layer and the rate
//! limits. Rejections become gRPC statuses: `UNAUTHENTICATED` (16) for a
//! missing or invalid credential, `PERMISSION_DENIED` (7) for a missing
//! permission, `INVALID_ARGUMENT` (3) for an ambiguous credential.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::routing::post_service;
use ddf_rbac::Principal;
use ddf_tower::PeerAddr;
use tonic::codegen::{Body as HttpBody, Bytes, Service, StdError, http};
use tonic::server::{NamedService, UnaryService};
use tonic::transport::server::TcpConnectInfo;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;

use super::{GatewayError, Stack};

/// The full gRPC name of the service.
pub const SERVICE_NAME: &str = "ddf.llm.v1.Llm";
/// The HTTP/2 path of `Query`.
pub const QUERY_PATH: &str = "/ddf.llm.v1.Llm/Query";
/// The HTTP/2 path of `Status`.
pub const STATUS_PATH: &str = "/ddf.llm.v1.Llm/Status";
/// Largest accepted prompt, in bytes.
const MAX_PROMPT_BYTES: usize = 16 * 1024;
/// The largest `max_tokens` the stand-in model returns.
const MAX_TOKENS: u32 = 256;
const MODEL: &str = "echo-1";

/// A prompt for the model.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryRequest {
    /// The prompt text.
    #[prost(string, tag = "1")]
    pub prompt: String,
    /// Largest number of output tokens; 0 means the server's limit.
    #[prost(uint32, tag = "2")]
    pub max_tokens: u32,
}

/// The model's reply.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryReply {
    /// The model that generated the output.
    #[prost(string, tag = "1")]
    pub model: String,
    /// The authenticated subject that asked.
    #[prost(string, tag = "2")]
    pub subject: String,
    /// The generated text.
    #[prost(string, tag = "3")]
    pub output: String,
    /// Tokens in the prompt.
    #[prost(uint64, tag = "4")]
    pub prompt_tokens: u64,
    /// Tokens in the output.
    #[prost(uint64, tag = "5")]
    pub completion_tokens: u64,
}

/// A status request; it has no fields.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StatusRequest {}

/// The service status.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StatusReply {
    /// `ok` while the service runs.
    #[prost(string, tag = "1")]
    pub status: String,
    /// The model that serves queries.
    #[prost(string, tag = "2")]
    pub model: String,
    /// Seconds since the service started.
    #[prost(uint64, tag = "3")]
    pub uptime_secs: u64,
}

/// The `ddf.llm.v1.Llm` service with a deterministic stand-in model that
/// echoes the prompt, cut to `max_tokens` words.
#[derive(Debug, Clone)]
pub struct EchoLlm {
    started: Arc<Instant>,
}

impl Default for EchoLlm {
    fn default() -> Self {
        Self {
            started: Arc::new(Instant::now()),
        }
    }
}

impl NamedService for EchoLlm {
    const NAME: &'static str = SERVICE_NAME;
}

type BoxResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<tonic::body::Body>, Infallible>> + Send>>;

impl<B> Service<http::Request<B>> for EchoLlm
where
    B: HttpBody + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxResponseFuture;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let service = self.clone();
        match request.uri().path() {
            QUERY_PATH => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.unary(Query, request).await)
            }),
            STATUS_PATH => Box::pin(async move {
                let mut grpc = tonic::server::Grpc::new(ProstCodec::default());
                Ok(grpc.unary(StatusMethod(service), request).await)
            }),
            _ => Box::pin(ready(Ok(
                Status::unimplemented("unknown method").into_http()
            ))),
        }
    }
}

/// Returns the principal that the authentication layer stored. Its absence
/// is a wiring error, rejected as `UNAUTHENTICATED` (fail closed).
fn principal_of<T>(request: &Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("Authentication is required."))
}

struct Query;

impl UnaryService<QueryRequest> for Query {
    type Response = QueryReply;
    type Future = Ready<Result<Response<QueryReply>, Status>>;

    fn call(&mut self, request: Request<QueryRequest>) -> Self::Future {
        ready(answer(&request))
    }
}

fn answer(request: &Request<QueryRequest>) -> Result<Response<QueryReply>, Status> {
    let principal = principal_of(request)?;
    let query = request.get_ref();
    if query.prompt.len() > MAX_PROMPT_BYTES {
        return Err(Status::invalid_argument(
            "The prompt is longer than 16 KiB.",
        ));
    }
    let limit = match query.max_tokens {
        0 => MAX_TOKENS,
        requested => requested.min(MAX_TOKENS),
    };
    let words: Vec<&str> = query
        .prompt
        .split_whitespace()
        .take(limit as usize)
        .collect();
    Ok(Response::new(QueryReply {
        model: MODEL.to_owned(),
        subject: principal.subject().to_owned(),
        output: words.join(" "),
        prompt_tokens: query.prompt.split_whitespace().count() as u64,
        completion_tokens: words.len() as u64,
    }))
}

struct StatusMethod(EchoLlm);

impl UnaryService<StatusRequest> for StatusMethod {
    type Response = StatusReply;
    type Future = Ready<Result<Response<StatusReply>, Status>>;

    fn call(&mut self, request: Request<StatusRequest>) -> Self::Future {
        let reply = principal_of(&request).map(|_| {
            Response::new(StatusReply {
                status: "ok".to_owned(),
                model: MODEL.to_owned(),
                uptime_secs: self.0.started.elapsed().as_secs(),
            })
        });
        ready(reply)
    }
}

/// Routes the two methods of `service`, each behind its permission, inside
/// the stack's authentication layer and rate limits. Serve the result with
/// `tonic::transport::Server::builder().add_routes(router.into())`.
///
/// # Errors
///
/// [`GatewayError::Build`] for an invalid credential configuration.
pub fn router(stack: &Stack, service: EchoLlm) -> Result<Router, GatewayError> {
    let unimplemented =
        || async { Status::unimplemented("unknown method").into_http::<axum::body::Body>() };
    Ok(Router::new()
        .route(
            QUERY_PATH,
            post_service(service.clone()).route_layer(stack.require("llm:query")),
        )
        .route(
            STATUS_PATH,
            post_service(service).route_layer(stack.require("llm:status")),
        )
        .fallback(unimplemented)
        .layer(stack.per_principal_rate_limit())
        .layer(stack.auth_layer()?)
        .layer(stack.per_client_rate_limit())
        .layer(axum::middleware::map_request(peer_from_tonic)))
}

/// Copies the TCP peer that tonic's server records into the [`PeerAddr`]
/// that the ddf-tower layers read for client addresses.
async fn peer_from_tonic<B>(mut request: http::Request<B>) -> http::Request<B> {
    let peer = request
        .extensions()
        .get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr);
    if let Some(peer) = peer {
        request.extensions_mut().insert(PeerAddr(peer));
    }
    request
}

/// A client of `ddf.llm.v1.Llm`, over any tonic transport.
#[derive(Debug, Clone)]
pub struct LlmClient<T> {
    inner: tonic::client::Grpc<T>,
}

impl LlmClient<tonic::transport::Channel> {
    /// Connects to `endpoint`, such as `http://127.0.0.1:50051`.
    ///
    /// # Errors
    ///
    /// The transport error when the connection fails.
    pub async fn connect(endpoint: String) -> Result<Self, tonic::transport::Error> {
        let channel = tonic::transport::Endpoint::from_shared(endpoint)?
            .connect()
            .await?;
        Ok(Self {
            inner: tonic::client::Grpc::new(channel),
        })
    }
}

impl<T> LlmClient<T>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::ResponseBody: HttpBody<Data = Bytes> + Send + 'static,
    <T::ResponseBody as HttpBody>::Error: Into<StdError> + Send,
    T::Error: Into<StdError>,
{
    /// Calls `Query`. Put the credential in the request metadata, such as
    /// `authorization: Bearer <token>`.
    ///
    /// # Errors
    ///
    /// The gRPC status of a rejected or failed call.
    pub async fn query(
        &mut self,
        request: Request<QueryRequest>,
    ) -> Result<Response<QueryReply>, Status> {
        self.ready().await?;
        let path = http::uri::PathAndQuery::from_static(QUERY_PATH);
        self.inner.unary(request, path, ProstCodec::default()).await
    }

    /// Calls `Status`.
    ///
    /// # Errors
    ///
    /// The gRPC status of a rejected or failed call.
    pub async fn status(
        &mut self,
        request: Request<StatusRequest>,
    ) -> Result<Response<StatusReply>, Status> {
        self.ready().await?;
        let path = http::uri::PathAndQuery::from_static(STATUS_PATH);
        self.inner.unary(request, path, ProstCodec::default()).await
    }

    async fn ready(&mut self) -> Result<(), Status> {
        self.inner
            .ready()
            .await
            .map_err(|error| Status::unavailable(format!("service not ready: {}", error.into())))
    }
}
