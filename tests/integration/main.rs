//! The voting app's integration tests, in one binary (wasmtime links once): the compiled
//! components under the test host, against real Redis and PostgreSQL, reading the real
//! manifests. One module per area: the pipeline's guarantees (`counting`, `doorbell`, `concurrency`,
//! `failures`, `compatibility`), each component's answers (`voting`, `results`, `counter`,
//! `metrics`), polls of more options (`options`), rounds (`rounds`), a talk's deck, hidden
//! results and time limits (`talk`), the room following the presenter (`room`), the results
//! kept in Redis for a room of phones (`kept_results`), the audience's questions
//! (`questions`), the presenter's console
//! (`admin`), no secret in any answer or log (`secrets`), the running tally (`tally`), the
//! documentation's links (`docs`), deployments (`http_only`, `managed_redis`,
//! `postgres_tls`, `kubernetes`, `scripts`, `proxy`), Spin's behaviours as the test host models them
//! (`spin_http`, `selection`, `manifest`, `wit`), and real browsers (`browser`).

mod admin;
mod browser;
mod compatibility;
mod concurrency;
mod counter;
mod counting;
mod docs;
mod doorbell;
mod failures;
mod http_only;
mod kept_results;
mod kubernetes;
mod managed_redis;
mod manifest;
mod metrics;
mod options;
mod postgres_tls;
mod proxy;
mod questions;
mod results;
mod room;
mod rounds;
mod scripts;
mod secrets;
mod selection;
mod spin_http;
mod talk;
mod tally;
mod voting;
mod wit;
