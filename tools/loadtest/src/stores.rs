//! Read-only looks into the deployment's Redis and PostgreSQL, at the addresses given: what
//! is still queued, and what is stored for the tool's voters.

use std::collections::HashMap;

use anyhow::Context;
use tokio_postgres::error::SqlState;
use voting_shared::queue::{DEAD_LETTER_KEY, VOTES_KEY};

/// The app's Redis, read only.
pub struct Redis {
    client: redis::Client,
}

/// The app's PostgreSQL, read only.
pub struct Postgres {
    config: tokio_postgres::Config,
}

/// What waits in Redis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Queue {
    pub waiting: usize,
    pub dead_letters: usize,
}

impl Redis {
    /// `url` like `redis://127.0.0.1:6379`, `rediss://user:password@host:port` for TLS.
    pub fn new(url: &str) -> anyhow::Result<Redis> {
        // The URL may carry a password: it is never part of a message.
        let client = redis::Client::open(url).context(
            "--redis is not a Redis URL like redis://127.0.0.1:6379 or \
             rediss://:PASSWORD@host:port (the password URL-encoded)",
        )?;
        Ok(Redis { client })
    }

    pub async fn queue(&self) -> anyhow::Result<Queue> {
        // A connection per look: one opened earlier may have died with a Redis restart.
        let mut connection = self
            .client
            .get_multiplexed_async_connection()
            .await
            .context("connecting to --redis")?;
        let (waiting, dead_letters): (usize, usize) = redis::pipe()
            .llen(VOTES_KEY)
            .llen(DEAD_LETTER_KEY)
            .query_async(&mut connection)
            .await
            .context("reading the queue lengths from --redis")?;
        Ok(Queue {
            waiting,
            dead_letters,
        })
    }
}

impl Postgres {
    /// `url` like `postgres://postgres:postgres@127.0.0.1:5432/postgres` (add
    /// `?sslmode=disable` for a server without TLS or with a self-signed certificate).
    pub fn new(url: &str) -> anyhow::Result<Postgres> {
        let config = url.parse().with_context(|| {
            "--postgres is not a PostgreSQL URL like postgres://user:password@127.0.0.1:5432/postgres"
        })?;
        Ok(Postgres { config })
    }

    /// The vote stored for each of `voters` that has one.
    pub async fn stored_votes(&self, voters: &[String]) -> anyhow::Result<HashMap<String, String>> {
        let connector = native_tls::TlsConnector::new().context("setting up TLS")?;
        let (client, connection) = self
            .config
            .connect(postgres_native_tls::MakeTlsConnector::new(connector))
            .await
            .context("connecting to --postgres")?;
        let connection = tokio::spawn(connection);
        let rows = match client
            .query("SELECT id, vote FROM votes WHERE id = ANY($1)", &[&voters])
            .await
        {
            // No worker has written a vote yet: nothing is stored.
            Err(error) if error.code() == Some(&SqlState::UNDEFINED_TABLE) => Vec::new(),
            result => result.context("reading the stored votes from --postgres")?,
        };
        drop(client);
        let _ = connection.await;
        Ok(rows
            .iter()
            .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1)))
            .collect())
    }
}
