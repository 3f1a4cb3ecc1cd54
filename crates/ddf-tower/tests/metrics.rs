//! Counters and histograms through the `metrics` facade.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use common::*;
use ddf_tower::{AuthLayer, RequirePermissionLayer};
use metrics::{
    Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use tower::ServiceExt;

#[derive(Default)]
struct Value(AtomicU64);

impl CounterFn for Value {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }

    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

impl HistogramFn for Value {
    fn record(&self, _value: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Records every counter and histogram by its rendered key.
#[derive(Default)]
struct TestRecorder {
    values: Mutex<BTreeMap<String, Arc<Value>>>,
}

impl TestRecorder {
    fn value(&self, key: &Key) -> Arc<Value> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|label| format!("{}={}", label.key(), label.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        Arc::clone(self.values.lock().unwrap().entry(name).or_default())
    }

    fn get(&self, name: &str) -> u64 {
        self.values
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |value| value.0.load(Ordering::Relaxed))
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _key: KeyName, _unit: Option<Unit>, _description: SharedString) {}
    fn describe_gauge(&self, _key: KeyName, _unit: Option<Unit>, _description: SharedString) {}
    fn describe_histogram(&self, _key: KeyName, _unit: Option<Unit>, _description: SharedString) {}

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.value(key))
    }

    fn register_gauge(&self, _key: &Key, _metadata: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.value(key))
    }
}

#[tokio::test]
async fn outcomes_and_reasons_are_counted() {
    let recorder = TestRecorder::default();
    let _guard = metrics::set_default_local_recorder(&recorder);

    let layer = AuthLayer::builder()
        .bearer(FixedAuthenticator)
        .api_key(FixedAuthenticator)
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/v1/query",
            get(|| async { "answer" })
                .route_layer(RequirePermissionLayer::new("llm:query", policy)),
        )
        .layer(layer);
    let good = format!("Bearer {GOOD_TOKEN}");
    for headers in [
        vec![("authorization", good.as_str())],
        vec![("authorization", good.as_str())],
        vec![("authorization", "Bearer forged")],
        vec![("x-api-key", GOOD_KEY)],
        vec![],
    ] {
        app.clone()
            .oneshot(request("GET", "/v1/query", &headers))
            .await
            .unwrap();
    }

    assert_eq!(
        recorder.get("ddf_auth_authentications_total{outcome=success,reason=none}"),
        3
    );
    assert_eq!(
        recorder.get("ddf_auth_authentications_total{outcome=failure,reason=signature_invalid}"),
        1
    );
    assert_eq!(
        recorder.get("ddf_auth_authentications_total{outcome=failure,reason=credentials_missing}"),
        1
    );
    assert_eq!(
        recorder.get("ddf_auth_authentication_seconds{outcome=success}"),
        3
    );
    assert_eq!(
        recorder.get("ddf_auth_authorizations_total{outcome=allowed}"),
        2
    );
    assert_eq!(
        recorder.get("ddf_auth_authorizations_total{outcome=denied}"),
        1
    );
}
