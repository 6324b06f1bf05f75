//! Code shared by the voting app's components, its tests and its load tool: the poll and its
//! choices, a talk's deck and who sees results when, the counts and the results' JSON, the voter cookie's format, the console's
//! session, the Redis queue protocol and its doorbell, rounds and their Redis mirror, what the room
//! sees of the results (kept in Redis), the audience's questions, the PostgreSQL schema,
//! connection addresses, who sent a request and from which site, what to tell an operator,
//! and HTML escaping.
//!
//! Everything here is plain Rust with no Spin host calls, so it is unit-tested natively.

pub mod address;
pub mod choice;
pub mod client;
pub mod cookie;
pub mod counts;
pub mod deck;
pub mod diagnosis;
pub mod doorbell;
pub mod hex;
pub mod html;
pub mod origin;
pub mod poll;
pub mod qr;
pub mod questions;
pub mod queue;
pub mod results;
pub mod round;
pub mod schema;
pub mod session;
