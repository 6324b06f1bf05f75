//! Code shared by the voting app's components, its tests and its load tool: the poll and its
//! choices, the counts and the results' JSON, the voter cookie's format, the Redis queue protocol, the
//! PostgreSQL schema, connection addresses, what to tell an operator, and HTML escaping.
//!
//! Everything here is plain Rust with no Spin host calls, so it is unit-tested natively.

pub mod address;
pub mod choice;
pub mod cookie;
pub mod counts;
pub mod diagnosis;
pub mod html;
pub mod poll;
pub mod queue;
pub mod schema;
