//! The rotation scenario: sign with A, publish B ahead of time, switch to B,
//! retire A. Tokens of A verify through the served JWKS until they expire,
//! and are rejected once A leaves the JWKS.

#![cfg(feature = "publish")]

mod issue_support;

use std::sync::Arc;
use std::time::Duration;

use ddf_jwt::issue::{
    KeySchedule, KeyStatus, Keyring, RotationSettings, SigningAlgorithm, SigningKey, TokenIssuer,
    TokenPolicy, router,
};
use ddf_rbac::{Clock, ManualClock};
use issue_support::{AUDIENCE, ISSUER, Rejection, fetch_jwks, serve, verify};

const DAY: u64 = 86_400;

fn statuses(keyring: &Keyring) -> Vec<(String, KeyStatus)> {
    keyring
        .keys()
        .into_iter()
        .map(|info| (info.kid, info.status))
        .collect()
}

#[tokio::test]
async fn rotation_keeps_old_tokens_until_expiry() {
    let start = issue_support::system_now();
    let clock = ManualClock::at_unix_seconds(start);
    let keyring = Arc::new(Keyring::new(
        RotationSettings::default(),
        Arc::new(clock.clone()),
    ));
    keyring
        .insert(
            "A",
            SigningKey::generate(SigningAlgorithm::ES256).unwrap(),
            KeySchedule::active_from(start),
        )
        .unwrap();
    let issuer = TokenIssuer::new(
        Arc::clone(&keyring),
        TokenPolicy::new(ISSUER).with_audience(AUDIENCE),
    )
    .unwrap();
    let base = serve(router(Arc::clone(&keyring), None)).await;

    // 1. A signs; the JWKS holds only A.
    let first = issuer.token("svc").sign().unwrap();
    assert_eq!(first.kid(), "A");
    let (jwks, _) = fetch_jwks(&base).await;
    assert_eq!(jwks.keys.len(), 1);
    assert!(verify(first.as_str(), &jwks, clock.unix_seconds()).is_ok());

    // 2. B is added to activate one day later: published now, not signing.
    let switch = start + 100 + DAY;
    clock.advance(Duration::from_secs(100));
    keyring
        .insert(
            "B",
            SigningKey::generate(SigningAlgorithm::EdDSA).unwrap(),
            KeySchedule::active_from(start + 100).activate_at(switch),
        )
        .unwrap();
    assert_eq!(
        statuses(&keyring),
        [
            ("B".to_owned(), KeyStatus::Scheduled),
            ("A".to_owned(), KeyStatus::Active)
        ]
    );
    let (jwks, _) = fetch_jwks(&base).await;
    assert!(
        jwks.find("B").is_some(),
        "B must be published before it signs"
    );
    assert_eq!(issuer.token("svc").sign().unwrap().kid(), "A");

    // 3. Half an hour before the switch, A signs a token that lives one hour.
    clock.set_unix_seconds(switch - 1800);
    let last_of_a = issuer
        .token("svc")
        .lifetime(Duration::from_secs(3600))
        .sign()
        .unwrap();
    assert_eq!(last_of_a.kid(), "A");

    // 4. At the switch B signs and A is retiring but still published.
    clock.set_unix_seconds(switch);
    let of_b = issuer.token("svc").sign().unwrap();
    assert_eq!(of_b.kid(), "B");
    assert_eq!(
        statuses(&keyring),
        [
            ("B".to_owned(), KeyStatus::Active),
            ("A".to_owned(), KeyStatus::Retiring)
        ]
    );
    let (jwks, _) = fetch_jwks(&base).await;
    assert_eq!(
        verify(last_of_a.as_str(), &jwks, clock.unix_seconds()).map(|c| c.sub),
        Ok("svc".to_owned())
    );
    assert!(verify(of_b.as_str(), &jwks, clock.unix_seconds()).is_ok());

    // 5. When A's token expires it is rejected for expiry, while A is still published.
    clock.set_unix_seconds(last_of_a.expires_at());
    let (jwks, _) = fetch_jwks(&base).await;
    assert!(jwks.find("A").is_some());
    assert_eq!(
        verify(last_of_a.as_str(), &jwks, clock.unix_seconds()),
        Err(Rejection::Expired)
    );

    // 6. After the retention period A leaves the JWKS: its tokens find no key.
    clock.set_unix_seconds(switch + keyring.settings().retention_secs);
    assert_eq!(
        statuses(&keyring),
        [
            ("B".to_owned(), KeyStatus::Active),
            ("A".to_owned(), KeyStatus::Expired)
        ]
    );
    let (jwks, _) = fetch_jwks(&base).await;
    let kids: Vec<_> = jwks
        .keys
        .iter()
        .filter_map(|key| key.common.key_id.clone())
        .collect();
    assert_eq!(kids, ["B"]);
    assert_eq!(
        verify(last_of_a.as_str(), &jwks, switch),
        Err(Rejection::KeyNotFound)
    );
    assert!(verify(of_b.as_str(), &jwks, switch).is_ok());
}

#[tokio::test]
async fn removed_key_is_unpublished_at_once() {
    let start = issue_support::system_now();
    let clock = ManualClock::at_unix_seconds(start);
    let keyring = Arc::new(Keyring::new(
        RotationSettings::default(),
        Arc::new(clock.clone()),
    ));
    for (kid, at) in [("A", start - 10), ("B", start - 5)] {
        keyring
            .insert(
                kid,
                SigningKey::generate(SigningAlgorithm::RS256).unwrap(),
                KeySchedule::active_from(at),
            )
            .unwrap();
    }
    // B activated last, so it signs; A is retiring.
    let issuer = TokenIssuer::new(
        Arc::clone(&keyring),
        TokenPolicy::new(ISSUER).with_audience(AUDIENCE),
    )
    .unwrap();
    let token = issuer.token("svc").sign().unwrap();
    assert_eq!(token.kid(), "B");
    let base = serve(router(Arc::clone(&keyring), None)).await;
    let (jwks, _) = fetch_jwks(&base).await;
    assert_eq!(jwks.keys.len(), 2);
    assert!(verify(token.as_str(), &jwks, start).is_ok());

    // A compromise of B: remove it. Its tokens fail at once, and A, still
    // trusted and published, signs again because it has no successor.
    assert!(keyring.remove("B"));
    assert!(!keyring.remove("B"));
    let (jwks, _) = fetch_jwks(&base).await;
    assert_eq!(
        verify(token.as_str(), &jwks, start),
        Err(Rejection::KeyNotFound)
    );
    assert_eq!(issuer.token("svc").sign().unwrap().kid(), "A");

    assert!(keyring.remove("A"));
    assert_eq!(
        issuer.token("svc").sign().unwrap_err().kind(),
        ddf_jwt::issue::IssueErrorKind::NoActiveKey
    );
    let (jwks, _) = fetch_jwks(&base).await;
    assert!(jwks.keys.is_empty());
}

#[test]
fn retire_at_stops_signing_without_successor() {
    let clock = ManualClock::at_unix_seconds(1_000_000);
    let keyring = Arc::new(Keyring::new(
        RotationSettings::default(),
        Arc::new(clock.clone()),
    ));
    keyring
        .insert(
            "A",
            SigningKey::generate(SigningAlgorithm::EdDSA).unwrap(),
            KeySchedule::active_from(1_000_000).retire_at(1_000_500),
        )
        .unwrap();
    assert_eq!(keyring.active_key().unwrap().0, "A");
    clock.set_unix_seconds(1_000_500);
    assert_eq!(
        keyring.active_key().unwrap_err().kind(),
        ddf_jwt::issue::IssueErrorKind::NoActiveKey
    );
    assert_eq!(
        keyring.public_jwks().keys.len(),
        1,
        "retiring keys stay published"
    );
}

#[test]
fn pending_key_is_not_published_before_its_lead() {
    let clock = ManualClock::at_unix_seconds(1_000_000);
    let keyring = Keyring::new(RotationSettings::default(), Arc::new(clock.clone()));
    keyring
        .insert(
            "A",
            SigningKey::generate(SigningAlgorithm::EdDSA).unwrap(),
            KeySchedule::active_from(1_000_000),
        )
        .unwrap();
    keyring
        .insert(
            "B",
            SigningKey::generate(SigningAlgorithm::EdDSA).unwrap(),
            KeySchedule::active_from(1_000_000).activate_at(1_000_000 + 10 * DAY),
        )
        .unwrap();
    assert_eq!(statuses(&keyring)[0], ("B".to_owned(), KeyStatus::Pending));
    assert_eq!(keyring.public_jwks().keys.len(), 1);

    clock.set_unix_seconds(1_000_000 + 9 * DAY);
    assert_eq!(
        statuses(&keyring)[0],
        ("B".to_owned(), KeyStatus::Scheduled)
    );
    assert_eq!(keyring.public_jwks().keys.len(), 2);
}

#[test]
fn rotation_report_flags_old_keys() {
    let created = 1_000_000;
    let clock = ManualClock::at_unix_seconds(created);
    let keyring = Keyring::new(RotationSettings::default(), Arc::new(clock.clone()));
    keyring
        .insert(
            "A",
            SigningKey::generate(SigningAlgorithm::EdDSA).unwrap(),
            KeySchedule::active_from(created),
        )
        .unwrap();
    assert!(keyring.rotation_report().overdue.is_empty());

    clock.set_unix_seconds(created + 180 * DAY - 1);
    assert!(keyring.rotation_report().overdue.is_empty());

    clock.set_unix_seconds(created + 180 * DAY);
    let report = keyring.rotation_report();
    let overdue: Vec<_> = report
        .overdue
        .iter()
        .map(|info| info.kid.as_str())
        .collect();
    assert_eq!(overdue, ["A"]);
    assert_eq!(report.overdue[0].age_secs, 180 * DAY);
    assert!(report.needs_new_key());

    let now = clock.unix_seconds();
    keyring
        .insert(
            "B",
            SigningKey::generate(SigningAlgorithm::EdDSA).unwrap(),
            KeySchedule::active_from(now).activate_at(now + 2 * DAY),
        )
        .unwrap();
    let report = keyring.rotation_report();
    assert_eq!(
        report.successor.as_ref().map(|info| info.kid.as_str()),
        Some("B")
    );
    assert_eq!(
        report.successor.as_ref().map(|info| info.status),
        Some(KeyStatus::Pending)
    );
    assert!(!report.needs_new_key());

    let info = keyring
        .keys()
        .into_iter()
        .find(|info| info.kid == "A")
        .unwrap();
    assert_eq!(info.signing_ends_at, Some(now + 2 * DAY));
    assert_eq!(info.published_until, Some(now + 2 * DAY + 7200));
}
