//! Connection addresses built from the manifest's variables.
//!
//! Spin only accepts `scheme://host[:port]` in `allowed_outbound_hosts`, so hosts and
//! credentials are separate variables and the full addresses are assembled here.

use anyhow::ensure;

use crate::diagnosis::RedisProblem;

/// Where and how to reach Redis, one field per manifest variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis`, or `rediss` for TLS (Spin chooses TLS by the scheme alone).
    pub scheme: String,
    /// `host:port`, as listed in `allowed_outbound_hosts`.
    pub host: String,
    /// A Redis ACL user, URL-encoded; empty for the `default` user.
    pub username: String,
    /// URL-encoded; empty when Redis asks for none.
    pub password: String,
}

impl RedisConfig {
    /// Reads the `redis_*` variables through `variable` (Spin's `variables::get`) and checks
    /// them, so that a mistake is reported by variable name rather than as a refused address.
    pub fn from_variables(
        mut variable: impl FnMut(&str) -> anyhow::Result<String>,
    ) -> anyhow::Result<RedisConfig> {
        let config = RedisConfig {
            scheme: variable("redis_scheme")?,
            host: variable("redis_host")?,
            username: variable("redis_username")?,
            password: variable("redis_password")?,
        };
        ensure!(
            matches!(config.scheme.as_str(), "redis" | "rediss"),
            RedisProblem::UnknownScheme
        );
        ensure!(!config.host.is_empty(), RedisProblem::MissingHost);
        // The messages never show the values: the password is a secret.
        ensure!(
            is_url_encoded(&config.username, false) && is_url_encoded(&config.password, true),
            RedisProblem::CredentialsNotEncoded
        );
        Ok(config)
    }

    /// The address Spin's outbound Redis expects: `scheme://[user:password@]host:port`, the
    /// user info only when a credential is set, so the default is exactly `redis://host:port`.
    pub fn address(&self) -> String {
        if self.username.is_empty() && self.password.is_empty() {
            self.location()
        } else {
            format!(
                "{}://{}:{}@{}",
                self.scheme, self.username, self.password, self.host
            )
        }
    }

    /// The address without credentials, for log lines and messages.
    pub fn location(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }
}

/// Whether `text` is fit for the user info of a URL as it is: RFC 3986 unreserved characters,
/// sub-delimiters, `%XX` escapes and, in a password, `:`. Anything else (`@`, `/`, `?`, `#`,
/// a space, a stray `%`) would change where the URL points.
fn is_url_encoded(text: &str, colon_allowed: bool) -> bool {
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let escape = bytes.get(index + 1..index + 3);
                if !escape.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                    return false;
                }
                index += 3;
                continue;
            }
            b':' if !colon_allowed => return false,
            byte if byte.is_ascii_alphanumeric() => {}
            b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+'
            | b',' | b';' | b'=' | b':' => {}
            _ => return false,
        }
        index += 1;
    }
    true
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

    fn redis(scheme: &str, username: &str, password: &str) -> anyhow::Result<RedisConfig> {
        RedisConfig::from_variables(|name| {
            Ok(match name {
                "redis_scheme" => scheme,
                "redis_host" => "cache.local:6380",
                "redis_username" => username,
                "redis_password" => password,
                other => panic!("unexpected variable {other}"),
            }
            .to_owned())
        })
    }

    #[test]
    fn without_credentials_the_redis_address_is_scheme_and_host_only() {
        let config = redis("redis", "", "").unwrap();
        assert_eq!(config.address(), "redis://cache.local:6380");
        assert_eq!(config.location(), "redis://cache.local:6380");
    }

    #[test]
    fn credentials_go_into_the_user_info_as_given() {
        let config = redis("rediss", "", "s3cr%2Ft%40pa%3Ass").unwrap();
        assert_eq!(
            config.address(),
            "rediss://:s3cr%2Ft%40pa%3Ass@cache.local:6380"
        );
        let config = redis("rediss", "voting", "pw").unwrap();
        assert_eq!(config.address(), "rediss://voting:pw@cache.local:6380");
        let config = redis("redis", "voting", "").unwrap();
        assert_eq!(config.address(), "redis://voting:@cache.local:6380");
        assert_eq!(
            config.location(),
            "redis://cache.local:6380",
            "no credentials"
        );
    }

    fn problem(result: anyhow::Result<RedisConfig>) -> RedisProblem {
        RedisProblem::of(&result.unwrap_err())
    }

    #[test]
    fn a_scheme_other_than_redis_or_rediss_is_refused_by_variable_name() {
        for scheme in ["", "http", "REDIS", "tls"] {
            assert_eq!(problem(redis(scheme, "", "")), RedisProblem::UnknownScheme);
        }
    }

    #[test]
    fn credentials_that_are_not_url_encoded_are_refused_without_showing_them() {
        for password in ["a/b", "a@b", "a b", "a?b", "a#b", "100%", "%zz", "é"] {
            let error = redis("redis", "", password).unwrap_err().to_string();
            assert!(error.contains("must be URL-encoded"), "{error}");
            assert!(!error.contains(password), "{error}");
        }
        assert_eq!(
            problem(redis("redis", "us:er", "pw")),
            RedisProblem::CredentialsNotEncoded
        );
        assert!(redis("redis", "a-b.c_d~", "p:w!$&'()*+,;=%2F%40").is_ok());
    }

    proptest::proptest! {
        #[test]
        fn any_credential_once_percent_encoded_is_accepted(credential in ".*") {
            let encoded = percent_encode(&credential);
            proptest::prop_assert!(is_url_encoded(&encoded, false));
        }
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
