//! A test host that runs the voting app's components the way Spin does.
//!
//! It reads the real `spin.toml` (routes, Redis trigger, variables, allowed outbound hosts),
//! runs the compiled components under wasmtime with WASI 0.2 and WASI HTTP, and implements
//! the Spin interfaces they import against real Redis and PostgreSQL servers.

mod app;
mod bindings;
mod harness;
mod instance;
pub mod manifest;
pub mod outbound;
mod postgres_host;
mod redis_host;
pub mod routes;
mod server;
pub mod services;

pub use app::{App, HTTP_ONLY_MANIFEST, RedisTriggers, Response, repository_root};
pub use harness::{
    Browser, Deployment, TestEnv, counts_by_vote, running_tally, seed_votes, wait_for,
};
pub use instance::{Fault, HostCall, SpinHazard};
pub use postgres_host::POOL_SIZE as POSTGRES_POOL_SIZE;
pub use server::HttpServer;
