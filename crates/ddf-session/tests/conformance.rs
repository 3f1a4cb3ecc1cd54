//! Every store runs the same conformance suite.

mod common;

use common::Harness;

#[tokio::test]
async fn memory_store_conforms() {
    let harness = Harness::memory();
    ddf_session::conformance::run_all(harness.store.as_ref()).await;
}

#[tokio::test]
async fn redis_store_conforms() {
    let harness = Harness::redis();
    ddf_session::conformance::run_all(harness.store.as_ref()).await;
    harness.cleanup().await;
}
