//! Code shared by the voting app's components and by its tests: how the components address
//! their backing services.
//!
//! Everything here is plain Rust with no Spin host calls, so it is unit-tested natively.

pub mod address;
