//! Host bindings generated from `wit/`, the WIT the components were built against.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "voting-app:components/redis-trigger",
    imports: { default: async | trappable },
    exports: { default: async },
    additional_derives: [PartialEq, Clone],
    with: {
        "fermyon:spin/redis.connection": crate::redis_host::RedisConnection,
        "spin:postgres/postgres.connection": crate::postgres_host::PostgresConnection,
    },
});

pub use fermyon::spin::redis_types;
pub use fermyon::spin2_0_0::{redis, variables};
pub use spin::postgres::postgres;
