//! `spin:postgres/postgres@4.0.0`, backed by a real PostgreSQL server, in the files Spin's
//! `crates/factor-outbound-pg` uses: `client.rs` (the pool), `host.rs` (the interface),
//! `types.rs` (conversions), `allowed_hosts.rs` (the address check).
//!
//! As in Spin (`crates/factor-outbound-pg/src/client.rs`): each component has its own pool per
//! address, of at most [`POOL_SIZE`] connections, and a full pool waits; a connection goes back
//! to the pool when the guest drops it or its instance ends (a trap included), and is cleaned
//! before reuse; a closed one (after a server restart) is replaced by a fresh one; an address
//! outside `allowed_outbound_hosts` fails with `connection-failed`. Parameters and columns of
//! the types below convert both ways; a parameter of any other type is a `bad-parameter` error
//! naming it, and a column of any other type comes back as `unsupported` with its raw bytes.
//!
//! A `query` whose result has no rows traps with [`SpinHazard`]: under Spin 4.0 to at least
//! 4.1 that call never returns (spinframework/spin#3671), and a test must not pass on it.

mod allowed_hosts;
mod client;
mod host;
mod types;

pub use client::{POOL_SIZE, PostgresConnection, PostgresPool};

#[cfg(test)]
mod test_support {
    use wasmtime::component::Resource;

    use super::PostgresConnection;
    use crate::bindings::postgres::{Error, HostConnection, QueryError};
    use crate::instance::InstanceState;
    use crate::instance::test_support::instance_allowing;
    use test_services::TestPostgres;

    pub(crate) async fn connected() -> (TestPostgres, InstanceState, Resource<PostgresConnection>) {
        let postgres = TestPostgres::start().await.unwrap();
        let mut host = instance_allowing(&[&format!("postgres://{}", postgres.host)]);
        let connection = host.open(postgres.address()).await.unwrap().unwrap();
        (postgres, host, connection)
    }

    pub(crate) fn db_error_code(error: Error) -> String {
        match error {
            Error::QueryFailed(QueryError::DbError(db)) => db.code,
            other => panic!("expected a database error, got {other:?}"),
        }
    }
}
