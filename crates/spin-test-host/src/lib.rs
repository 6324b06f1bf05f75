//! A Spin emulator for tests: it runs a Spin app's compiled components the way `spin up`
//! does, under wasmtime 47 (the version Spin 4.1 embeds), with the Spin interfaces they import
//! implemented against real Redis and PostgreSQL servers, reading the app's real manifest
//! (routes, triggers, variables, allowed outbound hosts). Where Spin behaves surprisingly it
//! does too, or fails loudly ([`SpinHazard`]). It knows nothing of any particular app.
//!
//! # Layout
//!
//! Laid out like the Spin crates each part is checked against (see `tests/README.md` at the
//! repository's root for the map):
//!
//! - [`app`]: loading a manifest, as `spin up [-f] [-c]…` does.
//! - [`manifest`]: reading `spin.toml` (manifest v2), selecting components.
//! - [`variables`]: application variables, templates, the guest's `variables` interface.
//! - [`allowed_hosts`]: `allowed_outbound_hosts`, parsed and applied as Spin does.
//! - [`http`]: the HTTP trigger (routes, the request a component sees), service chaining, a
//!   server on a loopback port.
//! - [`redis`]: outbound Redis and the Redis trigger.
//! - `postgres`: outbound PostgreSQL: the pool, the interface, conversions, address checks.
//! - [`control`]: what a test controls beyond Spin (traps on chosen host calls, discarded
//!   writes) and the hazards this host refuses to reproduce.
//! - `instance`: one instance's state and memory, and what a component's instances share.

pub mod allowed_hosts;
pub mod app;
mod bindings;
pub mod control;
pub mod http;
mod instance;
pub mod manifest;
mod postgres;
pub mod redis;
pub mod variables;

pub use app::{App, Response};
pub use control::{HostCall, HostCallHook, SpinHazard};
pub use http::server::HttpServer;
pub use postgres::POOL_SIZE as POSTGRES_POOL_SIZE;
pub use redis::trigger::RedisTriggers;
