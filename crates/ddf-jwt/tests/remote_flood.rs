//! Many concurrent tokens against one `RemoteJwks`: unknown `kid` floods,
//! the negative cache, and validations while a fetch is in flight.

#![cfg(feature = "remote")]

mod remote_support;

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use remote_support::{Idp, Reply, TestKey, clock, outcome, source, validator};

const JWKS: &str = "/jwks";
const FLOOD: usize = 10_000;

fn random_kid() -> String {
    format!("{:016x}", RandomState::new().hash_one(0_u8))
}

/// Validates `tokens` concurrently and returns every reason code.
async fn validate_all(
    validator: &Arc<ddf_jwt::Validator>,
    tokens: Vec<String>,
) -> Vec<&'static str> {
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let validator = Arc::clone(validator);
            tokio::spawn(async move { outcome(&validator, &token).await })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j01_random_kid_flood_costs_one_fetch() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    let validator = Arc::new(validator(keys.clone(), &clock));
    keys.refresh().await.unwrap();
    // Slow the refetch down so most of the flood arrives while it runs.
    idp.set(
        JWKS,
        Reply::jwks(&[&k1]).delayed(Duration::from_millis(200)),
    );

    let mut tokens: Vec<String> = (0..FLOOD)
        .map(|i| k1.token_with_kid(&random_kid(), &format!("user-{i}")))
        .collect();
    tokens.push(k1.token("user-valid"));
    let outcomes = validate_all(&validator, tokens).await;

    let fetches = idp.hits(JWKS);
    eprintln!("random-kid flood: {FLOOD} tokens, {fetches} upstream fetches (1 initial)");
    assert_eq!(fetches, 2);
    assert_eq!(
        outcomes
            .iter()
            .filter(|code| **code == "key_not_found")
            .count(),
        FLOOD
    );
    assert_eq!(outcomes.last(), Some(&"accepted"));
    assert_eq!(keys.status().key_ids, ["k1"]);

    // Past the cooldown a second flood may fetch once more, not more.
    clock.advance(Duration::from_secs(31));
    let tokens: Vec<String> = (0..FLOOD)
        .map(|i| k1.token_with_kid(&random_kid(), &format!("user-{i}")))
        .collect();
    let outcomes = validate_all(&validator, tokens).await;
    let fetches = idp.hits(JWKS);
    eprintln!("second flood after the cooldown: {fetches} upstream fetches in total");
    assert_eq!(fetches, 3);
    assert!(outcomes.iter().all(|code| *code == "key_not_found"));
}

#[tokio::test]
async fn j02_unknown_kid_served_from_negative_cache() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    let validator = validator(keys.clone(), &clock);
    keys.refresh().await.unwrap();
    let ghost = k1.token_with_kid("ghost", "user-1");

    assert_eq!(outcome(&validator, &ghost).await, "key_not_found");
    assert_eq!(idp.hits(JWKS), 2);

    // After the cooldown the negative cache still covers the same kid.
    clock.advance(Duration::from_secs(31));
    assert_eq!(outcome(&validator, &ghost).await, "key_not_found");
    assert_eq!(idp.hits(JWKS), 2);

    // A different unknown kid may still fetch.
    assert_eq!(
        outcome(&validator, &k1.token_with_kid("other", "user-1")).await,
        "key_not_found"
    );
    assert_eq!(idp.hits(JWKS), 3);

    // Once the negative entry expires (5 minutes), the kid may fetch again.
    clock.advance(Duration::from_secs(301));
    assert_eq!(outcome(&validator, &ghost).await, "key_not_found");
    assert_eq!(idp.hits(JWKS), 4);
}

#[tokio::test]
async fn j02_negative_entry_does_not_hide_key_published_later() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    let k2 = TestKey::new("k2");
    idp.set(JWKS, Reply::jwks(&[&k1]));
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    let validator = validator(keys.clone(), &clock);
    keys.refresh().await.unwrap();

    // k2 is named before the provider publishes it.
    assert_eq!(
        outcome(&validator, &k2.token("user-2")).await,
        "key_not_found"
    );
    // A scheduled refresh publishes it: the negative entry no longer matters.
    idp.set(JWKS, Reply::jwks(&[&k1, &k2]));
    keys.refresh().await.unwrap();
    assert_eq!(outcome(&validator, &k2.token("user-2")).await, "accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j05_validations_during_refresh_share_one_fetch() {
    let idp = Idp::start().await;
    let k1 = TestKey::new("k1");
    let k2 = TestKey::new("k2");
    idp.push(JWKS, Reply::jwks(&[&k1]));
    idp.push(
        JWKS,
        Reply::jwks(&[&k1, &k2]).delayed(Duration::from_millis(300)),
    );
    let clock = clock();
    let keys = source(&idp.url(JWKS), &clock);
    let validator = Arc::new(validator(keys.clone(), &clock));
    keys.refresh().await.unwrap();

    let refresh = tokio::spawn({
        let keys = keys.clone();
        async move { keys.refresh().await }
    });
    while idp.hits(JWKS) < 2 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    // Known kid: served from the held set. New kid: joins the fetch.
    let mut tokens: Vec<String> = (0..1000).map(|i| k1.token(&format!("user-{i}"))).collect();
    tokens.extend((0..100).map(|i| k2.token(&format!("new-{i}"))));
    let outcomes = validate_all(&validator, tokens).await;
    refresh.await.unwrap().unwrap();

    assert!(outcomes.iter().all(|code| *code == "accepted"));
    assert_eq!(idp.hits(JWKS), 2);
    assert_eq!(keys.status().key_ids, ["k1", "k2"]);
}
