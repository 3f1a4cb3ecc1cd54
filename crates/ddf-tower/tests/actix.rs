//! The actix-web adapter: the tower layers' checks and responses through
//! `App::wrap`, driven with `actix_web::test`.
//!
//! Run with `cargo test -p ddf-tower --features actix`.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, test, web};
use ddf_rbac::{AuthMethod, Principal};
use ddf_tower::{
    AuthFailure, AuthFuture, AuthLayer, AuthOutcome, Authenticate, Authenticated, Credential,
    OutcomeFuture, Reason, Require, RequirePermissionLayer,
};
use http::HeaderMap;

const USER_TOKEN: &str = "token-of-user-1";
const READONLY_TOKEN: &str = "token-of-reader-1";
const REFRESH_TOKEN: &str = "token-that-refreshes";
const USER_KEY: &str = "0123456789abcdef0123456789abcdef";

ddf_tower::permission!(LlmStatus = "llm:status");

/// Verifies the fixed test credentials; `REFRESH_TOKEN` also returns a
/// `Set-Cookie` for the response, as a refreshed session does.
#[derive(Debug)]
struct FixedCredentials;

impl Authenticate for FixedCredentials {
    fn authenticate<'a>(&'a self, credential: Credential<'a>) -> AuthFuture<'a> {
        let outcome = match credential {
            Credential::Bearer(USER_TOKEN | REFRESH_TOKEN) => {
                Ok(Principal::new("user-1", AuthMethod::Jwt).with_roles(["user"]))
            }
            Credential::Bearer(READONLY_TOKEN) => {
                Ok(Principal::new("reader-1", AuthMethod::Jwt).with_roles(["readonly"]))
            }
            Credential::Bearer(_) => Err(AuthFailure::new(Reason::SignatureInvalid)),
            Credential::ApiKey(key) if key == USER_KEY.as_bytes() => {
                Ok(Principal::new("service-1", AuthMethod::ApiKey)
                    .with_roles(["user"])
                    .with_key_id("k1"))
            }
            _ => Err(AuthFailure::new(Reason::ApiKeyInvalid)),
        };
        Box::pin(std::future::ready(outcome))
    }

    fn authenticate_outcome<'a>(&'a self, credential: Credential<'a>) -> OutcomeFuture<'a> {
        let refresh = credential == Credential::Bearer(REFRESH_TOKEN);
        let principal = self.authenticate(credential);
        OutcomeFuture::outcome(async move {
            let mut outcome = AuthOutcome::new(principal.await?);
            if refresh {
                let mut headers = HeaderMap::new();
                headers.insert(
                    http::header::SET_COOKIE,
                    http::HeaderValue::from_static("ddf_session=renewed; HttpOnly"),
                );
                outcome = outcome.with_response_headers(headers);
            }
            Ok(outcome)
        })
    }
}

/// `user` may query and read the status; `readonly` may only read it.
fn can(principal: &Principal, permission: &str) -> bool {
    match permission {
        "llm:query" => principal.has_role("user"),
        "llm:status" => principal.has_role("user") || principal.has_role("readonly"),
        _ => false,
    }
}

fn auth_layer() -> AuthLayer {
    AuthLayer::builder()
        .bearer(FixedCredentials)
        .api_key(FixedCredentials)
        .authorizer(can)
        .build()
        .unwrap()
}

async fn query(Authenticated(principal): Authenticated, request: HttpRequest) -> HttpResponse {
    let forged = request.headers().contains_key("x-user-id");
    HttpResponse::Ok().body(format!("{} forged={forged}", principal.subject()))
}

async fn status(principal: Require<LlmStatus>) -> HttpResponse {
    HttpResponse::Ok().body(format!("status for {}", principal.subject()))
}

/// The service under test: `POST /v1/query` behind the permission
/// middleware and `GET /v1/status` behind the `Require` extractor, both
/// inside the authentication middleware. A macro because the service type
/// names actix-http's `Request`, which actix-web does not re-export.
macro_rules! app {
    () => {
        test::init_service(
            App::new().wrap(auth_layer()).service(
                web::scope("")
                    .service(
                        web::resource("/v1/query")
                            .wrap(RequirePermissionLayer::new("llm:query", can))
                            .route(web::post().to(query)),
                    )
                    .route("/v1/status", web::get().to(status)),
            ),
        )
        .await
    };
}

struct Collected {
    status: StatusCode,
    challenges: Vec<String>,
    headers: actix_web::http::header::HeaderMap,
    body: String,
}

impl Collected {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).unwrap().to_str().unwrap()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

async fn send<S, R, B>(app: &S, request: R) -> Collected
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(app, request).await;
    let status = response.status();
    let headers = response.headers().clone();
    let challenges = headers
        .get_all("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    let body = test::read_body(response).await;
    Collected {
        status,
        challenges,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn post_query() -> test::TestRequest {
    test::TestRequest::post().uri("/v1/query")
}

fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

fn run(test: impl Future<Output = ()>) {
    actix_web::rt::System::new().block_on(test);
}

#[test]
fn valid_token_reaches_the_handler() {
    run(async {
        let app = app!();
        let response = send(
            &app,
            post_query()
                .insert_header(bearer(USER_TOKEN))
                .insert_header(("x-user-id", "admin"))
                .to_request(),
        )
        .await;
        assert_eq!(response.status, StatusCode::OK);
        assert!(response.challenges.is_empty());
        // The forged identity header was removed before the handler ran.
        assert_eq!(response.body, "user-1 forged=false");
    });
}

#[test]
fn api_key_reaches_the_handler() {
    run(async {
        let app = app!();
        let response = send(
            &app,
            post_query()
                .insert_header(("x-api-key", USER_KEY))
                .to_request(),
        )
        .await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body, "service-1 forged=false");
    });
}

#[test]
fn missing_credential_is_401_without_error_attribute() {
    run(async {
        let app = app!();
        let response = send(&app, post_query().to_request()).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.challenges,
            ["Bearer realm=\"api\"", "ApiKey realm=\"api\""]
        );
        assert_eq!(response.header("content-type"), "application/json");
        assert_eq!(response.header("cache-control"), "no-store");
        assert_eq!(response.json()["error"], "unauthorized");
        assert_eq!(response.body, Reason::CredentialsMissing.json_body());
    });
}

#[test]
fn invalid_token_is_401_invalid_token() {
    run(async {
        let app = app!();
        let response = send(
            &app,
            post_query().insert_header(bearer("forged")).to_request(),
        )
        .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.challenges,
            ["Bearer realm=\"api\", error=\"invalid_token\", \
              error_description=\"The access token is invalid.\""]
        );
        assert_eq!(response.json()["error"], "invalid_token");
        assert_eq!(response.body, Reason::SignatureInvalid.json_body());
    });
}

#[test]
fn two_credentials_are_400_invalid_request() {
    run(async {
        let app = app!();
        let response = send(
            &app,
            post_query()
                .insert_header(bearer(USER_TOKEN))
                .insert_header(("x-api-key", USER_KEY))
                .to_request(),
        )
        .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            response.challenges,
            ["Bearer realm=\"api\", error=\"invalid_request\""]
        );
        assert_eq!(response.json()["error"], "invalid_request");
        assert_eq!(response.body, Reason::CredentialsAmbiguous.json_body());
    });
}

#[test]
fn token_in_query_string_is_400() {
    run(async {
        let app = app!();
        let request =
            test::TestRequest::post().uri(&format!("/v1/query?access_token={USER_TOKEN}"));
        let response = send(&app, request.to_request()).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert_eq!(response.json()["error"], "invalid_request");
    });
}

#[test]
fn permission_middleware_denies_with_403() {
    run(async {
        let app = app!();
        let response = send(
            &app,
            post_query()
                .insert_header(bearer(READONLY_TOKEN))
                .to_request(),
        )
        .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN);
        assert_eq!(
            response.challenges,
            ["Bearer realm=\"api\", error=\"insufficient_scope\""]
        );
        assert_eq!(response.json()["error"], "insufficient_scope");
        assert_eq!(response.body, Reason::PermissionDenied.json_body());
    });
}

#[test]
fn require_extractor_allows_and_denies() {
    run(async {
        let app = app!();
        let allowed = send(
            &app,
            test::TestRequest::get()
                .uri("/v1/status")
                .insert_header(bearer(READONLY_TOKEN))
                .to_request(),
        )
        .await;
        assert_eq!(allowed.status, StatusCode::OK);
        assert_eq!(allowed.body, "status for reader-1");

        let forbidding = |_: &Principal, _: &str| false;
        let denying_app = test::init_service(
            App::new()
                .wrap(
                    AuthLayer::builder()
                        .bearer(FixedCredentials)
                        .authorizer(forbidding)
                        .build()
                        .unwrap(),
                )
                .route("/v1/status", web::get().to(status)),
        )
        .await;
        let denied = send(
            &denying_app,
            test::TestRequest::get()
                .uri("/v1/status")
                .insert_header(bearer(USER_TOKEN))
                .to_request(),
        )
        .await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN);
        assert_eq!(
            denied.challenges,
            ["Bearer realm=\"api\", error=\"insufficient_scope\""]
        );
        assert_eq!(denied.body, Reason::PermissionDenied.json_body());
    });
}

#[test]
fn extractors_without_middleware_fail_closed() {
    run(async {
        let app = test::init_service(App::new().route("/v1/query", web::post().to(query)).route(
            "/whoami",
            web::get().to(|principal: Option<Authenticated>| async move {
                HttpResponse::Ok()
                    .body(format!("{:?}", principal.map(|p| p.0.subject().to_owned())))
            }),
        ))
        .await;
        let response = send(
            &app,
            post_query().insert_header(bearer(USER_TOKEN)).to_request(),
        )
        .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(response.challenges, ["Bearer realm=\"api\""]);
        assert_eq!(response.body, Reason::CredentialsMissing.json_body());

        let anonymous = send(&app, test::TestRequest::get().uri("/whoami").to_request()).await;
        assert_eq!(anonymous.status, StatusCode::OK);
        assert_eq!(anonymous.body, "None");
    });
}

#[test]
fn authenticator_response_headers_reach_the_client() {
    run(async {
        let app = app!();
        let response = send(
            &app,
            post_query()
                .insert_header(bearer(REFRESH_TOKEN))
                .to_request(),
        )
        .await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(
            response.header("set-cookie"),
            "ddf_session=renewed; HttpOnly"
        );
    });
}

#[test]
fn rejection_is_an_actix_error() {
    run(async {
        let app = test::init_service(App::new().route(
            "/fallible",
            web::get().to(|| async {
                Err::<HttpResponse, _>(ddf_tower::Rejection::new(
                    AuthFailure::new(Reason::TokenExpired),
                    ddf_tower::Responder::default(),
                    false,
                ))
            }),
        ))
        .await;
        let response = send(&app, test::TestRequest::get().uri("/fallible").to_request()).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.challenges,
            ["Bearer realm=\"api\", error=\"invalid_token\", \
              error_description=\"The access token has expired.\""]
        );
        assert_eq!(response.body, Reason::TokenExpired.json_body());
    });
}
