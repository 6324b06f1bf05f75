//! Connection addresses built from the manifest's variables.
//!
//! Spin only accepts `scheme://host[:port]` in `allowed_outbound_hosts`, so hosts and
//! credentials are separate variables and the full addresses are assembled here.

/// The address Spin's outbound Redis expects for `host` (`host:port`).
pub fn redis_address(host: &str) -> String {
    format!("redis://{host}")
}

/// Credentials and location of the PostgreSQL database, one field per manifest variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// `host:port`, as listed in `allowed_outbound_hosts`.
    pub host: String,
    pub user: String,
    pub password: String,
    pub database: String,
    /// `prefer` (TLS when the server offers it), `require`, or `disable` (needed for a
    /// server with a self-signed certificate, which Spin's client rejects).
    pub ssl_mode: String,
}

impl PostgresConfig {
    /// Reads the `postgres_*` variables through `variable` (Spin's `variables::get`).
    pub fn from_variables(
        mut variable: impl FnMut(&str) -> anyhow::Result<String>,
    ) -> anyhow::Result<PostgresConfig> {
        Ok(PostgresConfig {
            host: variable("postgres_host")?,
            user: variable("postgres_user")?,
            password: variable("postgres_password")?,
            database: variable("postgres_database")?,
            ssl_mode: variable("postgres_sslmode")?,
        })
    }

    /// The connection URL Spin's outbound PostgreSQL expects. User, password, database and
    /// mode are percent-encoded so that any character is safe in them.
    pub fn address(&self) -> String {
        format!(
            "postgres://{}:{}@{}/{}?sslmode={}",
            percent_encode(&self.user),
            percent_encode(&self.password),
            self.host,
            percent_encode(&self.database),
            percent_encode(&self.ssl_mode),
        )
    }
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_postgres_variable() {
        let config = PostgresConfig::from_variables(|name| Ok(format!("<{name}>"))).unwrap();
        assert_eq!(config.host, "<postgres_host>");
        assert_eq!(config.user, "<postgres_user>");
        assert_eq!(config.password, "<postgres_password>");
        assert_eq!(config.database, "<postgres_database>");
        assert_eq!(config.ssl_mode, "<postgres_sslmode>");
    }

    #[test]
    fn redis_address_has_the_redis_scheme() {
        assert_eq!(redis_address("127.0.0.1:6379"), "redis://127.0.0.1:6379");
    }

    #[test]
    fn postgres_address_is_a_url() {
        let config = PostgresConfig {
            host: "db.local:5432".into(),
            user: "postgres".into(),
            password: "postgres".into(),
            database: "votes".into(),
            ssl_mode: "prefer".into(),
        };
        assert_eq!(
            config.address(),
            "postgres://postgres:postgres@db.local:5432/votes?sslmode=prefer"
        );
    }

    #[test]
    fn postgres_credentials_are_percent_encoded() {
        let config = PostgresConfig {
            host: "h:5432".into(),
            user: "app user".into(),
            password: "p@ss:w/rd?#%".into(),
            database: "db".into(),
            ssl_mode: "disable".into(),
        };
        assert_eq!(
            config.address(),
            "postgres://app%20user:p%40ss%3Aw%2Frd%3F%23%25@h:5432/db?sslmode=disable"
        );
    }
}
