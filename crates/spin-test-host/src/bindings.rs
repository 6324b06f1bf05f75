//! Host bindings generated from the root `wit/`: the Spin interfaces spin-sdk 5.2.0 imports.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "spin-test-host:platform/redis-trigger",
    imports: { default: async | trappable },
    exports: { default: async },
    additional_derives: [PartialEq, Clone],
    with: {
        "fermyon:spin/redis.connection": crate::redis::outbound::RedisConnection,
        "spin:postgres/postgres.connection": crate::postgres::PostgresConnection,
    },
});

pub use fermyon::spin::redis_types;
pub use fermyon::spin2_0_0::{redis, variables};
pub use spin::postgres::postgres;
