//! Spin's HTTP trigger: routing, the request a component sees, service chaining, and a real
//! server on a loopback port.

pub(crate) mod chaining;
pub mod routes;
pub mod server;
mod trigger;
