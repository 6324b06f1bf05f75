//! Throwaway Redis and PostgreSQL servers for tests, as a laptop or a managed service runs them.
//!
//! Each test gets its own: `REDIS_URL` / `DATABASE_URL` when set (tests using them then run
//! one at a time, and each gets a fresh database), otherwise a throwaway `redis-server` or
//! `postgres` process on a free port in a temporary directory, stopped when the test ends;
//! otherwise, with the `testcontainers` feature, a container when a Docker engine answers.
//! When none of these is possible the error says what to install.
//!
//! # Layout
//!
//! - [`redis`]: [`TestRedis`], open or secured ([`RedisSecurity`]: passwords, ACL users, TLS).
//! - [`postgres`]: [`TestPostgres`], plain or with a self-signed certificate.
//! - `binaries`: where PostgreSQL's server binaries are (on `PATH` or where packages put them).
//! - `process`: a server process that can be stopped and started again with its data.
//! - `certificates`: test certificates made with `openssl`.
//! - `containers`: the testcontainers fallback.

mod binaries;
mod certificates;
#[cfg(feature = "testcontainers")]
mod containers;
pub mod postgres;
mod process;
pub mod redis;

use std::net::TcpListener;
use std::sync::LazyLock;
use std::time::Duration;

use tokio::sync::Mutex;

pub use binaries::{POSTGRES_INSTALL_HINT, find_postgres_bin_dir, postgres_bin_dir};
pub use postgres::TestPostgres;
pub use redis::{AclUser, RedisSecurity, TestRedis};

/// How long a server may take to accept connections after it starts.
const STARTUP_LIMIT: Duration = Duration::from_secs(60);

/// Tests that share an external server take turns.
static EXTERNAL_SERVICES: LazyLock<Mutex<()>> = LazyLock::new(|| Mutex::new(()));

/// A loopback port nothing listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Percent-encodes every byte but RFC 3986's unreserved characters, for URLs' user info.
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}
