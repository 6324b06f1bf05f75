//! The voting app's integration tests, in one binary (wasmtime links once): the compiled
//! components under the test host, against real Redis and PostgreSQL, reading the real
//! manifests. One module per area.

mod browser;
mod counter;
mod http_only;
mod kubernetes;
mod managed_redis;
mod manifest;
mod metrics;
mod pipeline;
mod postgres_tls;
mod scripts;
mod selection;
mod spin_http;
mod tally;
mod wit;
