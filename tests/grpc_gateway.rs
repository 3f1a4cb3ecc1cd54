//! The gRPC gateway over a loopback socket: a tonic client against the tonic
//! server, with the ddf-tower layers and the development issuer's tokens.
//!
//! Run with `cargo test -p ddf-auth --features grpc --test grpc_gateway`.

use ddf_auth::gateway::grpc::{self, EchoLlm, LlmClient, QueryRequest, StatusRequest};
use ddf_auth::gateway::{GatewayConfig, Stack};
use tonic::{Code, Request};

struct Gateway {
    stack: Stack,
    endpoint: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
}

impl Gateway {
    async fn start() -> Self {
        let stack = Stack::build(GatewayConfig::default()).await.unwrap();
        let router = grpc::router(&stack, EchoLlm::default()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_routes(router.into())
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener),
                    async {
                        let _ = stopped.await;
                    },
                )
                .await
                .unwrap();
        });
        Self {
            stack,
            endpoint,
            shutdown: Some(shutdown),
            server,
        }
    }

    fn token(&self, role: &str) -> String {
        self.credential(role).token.clone()
    }

    fn api_key(&self, role: &str) -> String {
        self.credential(role).api_key.clone()
    }

    fn credential(&self, role: &str) -> &ddf_auth::gateway::DevCredential {
        self.stack
            .dev_credentials()
            .iter()
            .find(|credential| credential.role == role)
            .unwrap()
    }

    async fn client(&self) -> LlmClient<tonic::transport::Channel> {
        LlmClient::connect(self.endpoint.clone()).await.unwrap()
    }

    async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.server.await.unwrap();
    }
}

fn query(prompt: &str) -> Request<QueryRequest> {
    Request::new(QueryRequest {
        prompt: prompt.to_owned(),
        max_tokens: 0,
    })
}

fn with_metadata<T>(mut request: Request<T>, name: &'static str, value: &str) -> Request<T> {
    request.metadata_mut().insert(name, value.parse().unwrap());
    request
}

fn bearer<T>(request: Request<T>, token: &str) -> Request<T> {
    with_metadata(request, "authorization", &format!("Bearer {token}"))
}

#[tokio::test]
async fn grpc_statuses_follow_the_layers() {
    let gateway = Gateway::start().await;
    let mut client = gateway.client().await;

    // No credential: UNAUTHENTICATED.
    let status = client.query(query("hello")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "Authentication is required.");

    // An invalid token: UNAUTHENTICATED with the invalid-token message.
    let status = client
        .query(bearer(query("hello"), "not.a.token"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "The access token is invalid.");

    // A read-only token lacks llm:query: PERMISSION_DENIED.
    let status = client
        .query(bearer(query("hello"), &gateway.token("readonly")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(
        status.message(),
        "The credential does not grant access to this resource."
    );

    // A token and an API key together: INVALID_ARGUMENT.
    let ambiguous = with_metadata(
        bearer(query("hello"), &gateway.token("user")),
        "x-api-key",
        &gateway.api_key("user"),
    );
    let status = client.query(ambiguous).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    // A user token: OK, and the reply names the authenticated subject.
    let reply = client
        .query(bearer(query("hello gRPC gateway"), &gateway.token("user")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.output, "hello gRPC gateway");
    assert_eq!(reply.subject, gateway.credential("user").subject);
    assert_eq!(reply.model, "echo-1");
    assert_eq!(reply.prompt_tokens, 3);
    assert_eq!(reply.completion_tokens, 3);

    gateway.stop().await;
}

#[tokio::test]
async fn grpc_status_method_allows_readonly_key() {
    let gateway = Gateway::start().await;
    let mut client = gateway.client().await;

    let request = with_metadata(
        Request::new(StatusRequest {}),
        "x-api-key",
        &gateway.api_key("readonly"),
    );
    let reply = client.status(request).await.unwrap().into_inner();
    assert_eq!(reply.status, "ok");
    assert_eq!(reply.model, "echo-1");

    let status = client
        .status(with_metadata(
            Request::new(StatusRequest {}),
            "x-api-key",
            "0123456789abcdef0123456789abcdef",
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "The API key is invalid.");

    gateway.stop().await;
}
