//! Side-by-side benchmarks of ddf-auth against its peer crates.
//!
//! This member stays out of the workspace's `default-members`, so the peers'
//! dependencies are compiled only by `cargo bench -p ddf-bench-peers`.
