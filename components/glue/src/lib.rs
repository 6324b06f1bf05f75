//! The components' thin layer over Spin's host calls: variables, and Redis and PostgreSQL
//! connections opened from the manifest's variables, with errors that say what failed and
//! where, never with a credential. Everything it decides is in `voting-shared`, which stays
//! free of host calls so it is unit-tested natively.
//!
//! # Layout
//!
//! - [`variable`]: one application variable, with its name in the error.
//! - [`doorbell`]: the worker's HTTP doorbell, where there is no Redis trigger.
//! - [`headers`]: a request's headers, read from the host once, and its body within a limit.
//! - [`redis`]: opening Redis (plain or TLS, with or without credentials) and running scripts.
//! - [`postgres`]: opening PostgreSQL, and statements run against the schema.
//! - [`qa`]: the audience's questions from PostgreSQL, and the list kept in Redis for the room.
//! - [`round`]: the current round, read from PostgreSQL, mirrored to Redis for votes, and its
//!   results kept in Redis for the room.
//! - [`reply`]: an HTTP answer, sent streaming with the security headers.
//! - [`voter`]: who the voter is, by their signed cookie and the cookie secret.

pub mod doorbell;
pub mod headers;
pub mod postgres;
pub mod qa;
pub mod redis;
pub mod reply;
pub mod round;
pub mod voter;

use anyhow::Context;

/// The value of the component variable `name`.
pub fn variable(name: &str) -> anyhow::Result<String> {
    spin_sdk::variables::get(name).with_context(|| format!("reading variable {name}"))
}
