//! Session cases collected from public bug reports
//! (`tests/fixtures/session_cases.json`), each replayed on the memory store
//! and on Redis. The HTTP steps of each case map to manager calls: a login is
//! `create`, a request with a cookie is `load`, a logout is `logout`.

mod common;

use common::{Harness, principal};
use ddf_session::{InvalidReason, SessionConfig, SessionId};
use serde_json::Value;

const CASES: &str = include_str!("fixtures/session_cases.json");

/// SE01: an id planted before login never becomes the authenticated session.
async fn se01_fixation_new_id_on_login(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let planted = SessionId::generate().unwrap();

    let (issued, _) = manager.create(principal("se01-user")).await.unwrap();
    assert_ne!(issued, planted);
    let error = manager
        .load(&planted.expose_cookie_value())
        .await
        .unwrap_err();
    assert_eq!(error.invalid_reason(), Some(InvalidReason::Unknown));
    assert!(manager.load(&issued.expose_cookie_value()).await.is_ok());
    harness.cleanup().await;
}

/// SE02: authenticating in a request that carries an attacker-chosen id
/// stores nothing under that id.
async fn se02_no_state_under_attacker_id(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let chosen = SessionId::generate().unwrap();
    let chosen_cookie = chosen.expose_cookie_value();
    assert!(manager.load(&chosen_cookie).await.is_err());

    let (issued, _) = manager.create(principal("se02-user")).await.unwrap();
    assert_ne!(issued, chosen);
    assert_eq!(harness.store.load(&chosen).await.unwrap(), None);
    if let Some(redis) = &harness.redis {
        let mut connection = common::raw_connection(common::REDIS_URL).await;
        let exists: i64 = redis::cmd("EXISTS")
            .arg(redis.session_key(&chosen))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert_eq!(exists, 0);
    }
    let error = manager.load(&chosen_cookie).await.unwrap_err();
    assert_eq!(error.invalid_reason(), Some(InvalidReason::Unknown));
    harness.cleanup().await;
}

/// SE03: logout revokes server state, so a captured cookie is dead.
async fn se03_logout_revokes_server_state(harness: Harness) {
    let manager = harness.manager(SessionConfig::production());
    let (id, _) = manager.create(principal("se03-user")).await.unwrap();
    let captured = id.expose_cookie_value();
    assert!(manager.load(&captured).await.is_ok());

    assert!(manager.logout(&id).await.unwrap());
    let error = manager.load(&captured).await.unwrap_err();
    assert_eq!(error.kind().as_str(), "session_invalid");
    assert_eq!(error.invalid_reason(), Some(InvalidReason::Unknown));
    assert_eq!(harness.store.load(&id).await.unwrap(), None);
    harness.cleanup().await;
}

async fn run_case(case_id: &str, harness: Harness) {
    match case_id {
        "SE01" => se01_fixation_new_id_on_login(harness).await,
        "SE02" => se02_no_state_under_attacker_id(harness).await,
        "SE03" => se03_logout_revokes_server_state(harness).await,
        other => panic!("fixture case {other} has no scenario; add one"),
    }
}

fn case_ids() -> Vec<String> {
    let cases: Value = serde_json::from_str(CASES).unwrap();
    cases
        .as_array()
        .unwrap()
        .iter()
        .map(|case| case["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_fixture_case_is_known() {
    assert_eq!(case_ids(), ["SE01", "SE02", "SE03"]);
}

#[tokio::test]
async fn fixture_cases_on_memory_store() {
    for case_id in case_ids() {
        run_case(&case_id, Harness::memory()).await;
    }
}

#[tokio::test]
async fn fixture_cases_on_redis_store() {
    for case_id in case_ids() {
        run_case(&case_id, Harness::redis()).await;
    }
}
