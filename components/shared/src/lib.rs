//! Code shared by the voting app's components and by its tests: the vote options, the Redis
//! queue protocol, the PostgreSQL schema, connection addresses and HTML escaping.
//!
//! Everything here is plain Rust with no Spin host calls, so it is unit-tested natively.

pub mod address;
pub mod choice;
pub mod diagnosis;
pub mod html;
pub mod queue;
pub mod schema;
