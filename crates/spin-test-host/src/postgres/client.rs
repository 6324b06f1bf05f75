//! One component's PostgreSQL connections, pooled as Spin pools them
//! (`crates/factor-outbound-pg/src/client.rs`, deadpool with `RecyclingMethod::Clean`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::host::error_text;

/// Connections per component and address (Spin's `CONNECTION_POOL_SIZE`).
pub const POOL_SIZE: usize = 64;

/// What deadpool-postgres runs on a pooled connection before reusing it (Spin pools with
/// `RecyclingMethod::Clean`), so no session state leaks from one instance to the next.
const CLEAN_SESSION: &str = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; \
    UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES;";

/// One component's connections, by address.
#[derive(Default)]
pub struct PostgresPool {
    addresses: Mutex<HashMap<String, AddressPool>>,
}

struct AddressPool {
    slots: Arc<Semaphore>,
    idle: Vec<tokio_postgres::Client>,
}

impl Default for AddressPool {
    fn default() -> Self {
        AddressPool {
            slots: Arc::new(Semaphore::new(POOL_SIZE)),
            idle: Vec::new(),
        }
    }
}

impl PostgresPool {
    /// A connection to `address`: an idle one, cleaned, or a new one; waits while the
    /// component already holds [`POOL_SIZE`] connections to that address.
    pub(super) async fn take(
        self: &Arc<Self>,
        address: &str,
    ) -> Result<PostgresConnection, ConnectError> {
        let slots = self.address_pool(address, |pool| pool.slots.clone());
        let permit = slots
            .acquire_owned()
            .await
            .expect("the pool's semaphore is never closed");
        while let Some(client) = self.address_pool(address, |pool| pool.idle.pop()) {
            if !client.is_closed() && client.batch_execute(CLEAN_SESSION).await.is_ok() {
                return Ok(self.lend(address, client, permit));
            }
        }
        Ok(self.lend(address, connect(address).await?, permit))
    }

    fn lend(
        self: &Arc<Self>,
        address: &str,
        client: tokio_postgres::Client,
        permit: OwnedSemaphorePermit,
    ) -> PostgresConnection {
        PostgresConnection {
            address: address.to_owned(),
            client: Some(client),
            pool: self.clone(),
            _slot: permit,
        }
    }

    fn address_pool<T>(&self, address: &str, f: impl FnOnce(&mut AddressPool) -> T) -> T {
        f(self
            .addresses
            .lock()
            .unwrap()
            .entry(address.to_owned())
            .or_default())
    }
}

/// Connects as Spin does: without TLS only for `sslmode=disable`, otherwise through
/// native-tls with the system's root certificates, so with the default `prefer` a server
/// that offers TLS with a certificate those roots do not trust is refused.
async fn connect(address: &str) -> Result<tokio_postgres::Client, ConnectError> {
    let config: tokio_postgres::Config = address.parse()?;
    let client = if config.get_ssl_mode() == tokio_postgres::config::SslMode::Disable {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client
    } else {
        let tls = postgres_native_tls::MakeTlsConnector::new(native_tls::TlsConnector::new()?);
        let (client, connection) = config.connect(tls).await?;
        tokio::spawn(connection);
        client
    };
    Ok(client)
}

/// Why a connection could not be made; its text is what the guest sees, with every cause.
#[derive(Debug)]
pub(super) enum ConnectError {
    Postgres(tokio_postgres::Error),
    Tls(native_tls::Error),
}

impl From<tokio_postgres::Error> for ConnectError {
    fn from(error: tokio_postgres::Error) -> Self {
        ConnectError::Postgres(error)
    }
}

impl From<native_tls::Error> for ConnectError {
    fn from(error: native_tls::Error) -> Self {
        ConnectError::Tls(error)
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Postgres(error) => f.write_str(&error_text(error)),
            ConnectError::Tls(error) => write!(f, "creating the TLS connector: {error}"),
        }
    }
}

/// The host side of a guest's `connection` resource: a pooled connection, returned to the
/// pool when the guest drops it or its instance is dropped.
pub struct PostgresConnection {
    address: String,
    client: Option<tokio_postgres::Client>,
    pool: Arc<PostgresPool>,
    _slot: OwnedSemaphorePermit,
}

impl PostgresConnection {
    pub(super) fn client(&self) -> &tokio_postgres::Client {
        self.client
            .as_ref()
            .expect("a connection has its client until it is dropped")
    }
}

impl Drop for PostgresConnection {
    fn drop(&mut self) {
        if let Some(client) = self.client.take().filter(|client| !client.is_closed()) {
            self.pool
                .address_pool(&self.address, |pool| pool.idle.push(client));
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;
    use crate::bindings::postgres::{DbValue, HostConnection};
    use crate::instance::test_support::{borrow, instance_allowing};
    use crate::postgres::test_support::connected;
    use test_services::TestPostgres;

    #[tokio::test]
    async fn a_full_pool_waits_until_a_connection_is_returned() {
        let postgres = TestPostgres::start().await.unwrap();
        let pool = Arc::new(PostgresPool::default());
        let address = postgres.address();
        let mut held = Vec::new();
        for _ in 0..POOL_SIZE {
            held.push(pool.take(&address).await.unwrap());
        }
        let mut waiting = Box::pin(pool.take(&address));
        assert!((&mut waiting).now_or_never().is_none(), "the pool is full");
        held.pop();
        let reused = waiting.await.unwrap();
        assert!(!reused.client().is_closed());
    }

    #[tokio::test]
    async fn a_connection_returns_clean_when_its_instance_ends_even_after_a_trap() {
        let postgres = TestPostgres::start().await.unwrap();
        let mut host = instance_allowing(&[&format!("postgres://{}", postgres.host)]);
        let pool = host.component.postgres.clone();
        let connection = host.open(postgres.address()).await.unwrap().unwrap();
        let session = "SET application_name = 'leaked'; SELECT pg_advisory_lock(42)";
        host.table
            .get(&connection)
            .unwrap()
            .client()
            .batch_execute(session)
            .await
            .unwrap();
        // The instance ends without dropping its connection, as when the guest traps.
        drop(host);
        let reused = pool.take(&postgres.address()).await.unwrap();
        let row = reused
            .client()
            .query_one(
                "SELECT current_setting('application_name'), \
                 (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "");
        assert_eq!(row.get::<_, i64>(1), 0);
    }

    #[tokio::test]
    async fn pooled_connections_recover_after_a_server_restart() {
        let (mut postgres, mut host, connection) = connected().await;
        host.drop(connection).await.unwrap();
        postgres.stop().unwrap();
        postgres.restart().await.unwrap();
        let connection = host.open(postgres.address()).await.unwrap().unwrap();
        let rows = host
            .query(borrow(&connection), "SELECT 1::int4".into(), vec![])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rows.rows, [vec![DbValue::Int32(1)]]);
    }
}
