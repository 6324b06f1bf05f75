//! Redis as Spin provides it: outbound Redis (`fermyon:spin/redis@2.0.0`) and the Redis
//! trigger, both on the redis-rs Spin embeds.

pub(crate) mod outbound;
pub mod trigger;
