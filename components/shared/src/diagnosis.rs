//! What to tell an operator when Redis or PostgreSQL cannot be used: Spin's error text is
//! internal (for PostgreSQL a whole host stack trace), so it is logged, and this short advice,
//! naming the variable to change, is what pages and logs show. None of these texts contains a
//! credential: Spin's errors do not, and the advice is fixed text.

/// Why Redis could not be used, as far as the error text of Spin's Redis client (redis-rs)
/// tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisProblem {
    /// `redis_scheme` is neither `redis` nor `rediss`.
    UnknownScheme,
    /// `redis_host` is empty.
    MissingHost,
    /// `redis_username` or `redis_password` holds a character a URL cannot carry as it is.
    CredentialsNotEncoded,
    /// The server wants a password and none was given.
    PasswordRequired,
    /// Wrong password, or an unknown or disabled ACL user.
    WrongCredentials,
    /// The ACL user may not run a command, or touch a key or channel, the app needs.
    NotPermitted,
    /// The server's TLS certificate is not trusted by the system's roots.
    UntrustedCertificate,
    /// The server dropped the connection as soon as it opened: what a server that expects TLS
    /// does to a plain client (and, rarely, what a restarting server does).
    ClosedAtOnce,
    /// Spin refused the address: not in `allowed_outbound_hosts`, or not a valid URL.
    InvalidAddress,
    /// Anything else: down, restarting, unreachable.
    NotAnswering,
}

impl RedisProblem {
    /// The problem behind `error`: one found in checking the variables, else what the error's
    /// text (with its causes) tells.
    pub fn of(error: &anyhow::Error) -> RedisProblem {
        error
            .chain()
            .find_map(|cause| cause.downcast_ref::<RedisProblem>().copied())
            .unwrap_or_else(|| RedisProblem::diagnose(&format!("{error:#}")))
    }

    /// Classifies the text of an error (with its causes) from Spin's outbound Redis.
    pub fn diagnose(error_text: &str) -> RedisProblem {
        let text = error_text.to_ascii_lowercase();
        let mentions = |words: &[&str]| words.iter().any(|word| text.contains(word));
        if mentions(&["noauth"]) {
            RedisProblem::PasswordRequired
        } else if mentions(&["authenticationfailed", "wrongpass", "invalid password"]) {
            RedisProblem::WrongCredentials
        } else if mentions(&[
            "noperm",
            "no permissions",
            "user executing the script can't",
        ]) {
            RedisProblem::NotPermitted
        } else if mentions(&["certificate", "tls error", "ssl routines"]) {
            RedisProblem::UntrustedCertificate
        } else if mentions(&["connection reset", "broken pipe", "connection closed"]) {
            RedisProblem::ClosedAtOnce
        } else if mentions(&["invalidaddress", "invalid address"]) {
            RedisProblem::InvalidAddress
        } else {
            RedisProblem::NotAnswering
        }
    }

    /// One sentence for the operator: what is wrong and which variable to change.
    pub fn advice(self) -> &'static str {
        match self {
            RedisProblem::UnknownScheme => {
                "the variable redis_scheme must be redis, or rediss for TLS"
            }
            RedisProblem::MissingHost => "the variable redis_host is empty: set it to host:port",
            RedisProblem::CredentialsNotEncoded => {
                "the variables redis_username and redis_password must be URL-encoded: every \
                 character other than letters, digits and -._~ written as %XX (/ as %2F, @ as \
                 %40, : as %3A)"
            }
            RedisProblem::PasswordRequired => {
                "Redis requires a password: set the variable redis_password (and \
                 redis_username for an ACL user)"
            }
            RedisProblem::WrongCredentials => {
                "Redis refused the login: check the variables redis_username and \
                 redis_password (both URL-encoded)"
            }
            RedisProblem::NotPermitted => {
                "the Redis user lacks a permission the app needs: grant the user named by the \
                 variable redis_username the keys, channel and commands listed in \
                 docs/configuration.md"
            }
            RedisProblem::UntrustedCertificate => {
                "Redis offers TLS with a certificate Spin does not trust: give the server a \
                 certificate from a trusted authority, or trust its CA on the Spin host \
                 (SSL_CERT_FILE)"
            }
            RedisProblem::ClosedAtOnce => {
                "Redis closed the connection at once: if the server expects TLS, set the \
                 variable redis_scheme to rediss; otherwise retry shortly"
            }
            RedisProblem::InvalidAddress => {
                "the Redis address is refused: check the variables redis_scheme and redis_host \
                 (host:port) against allowed_outbound_hosts in spin.toml"
            }
            RedisProblem::NotAnswering => "Redis is not answering; retry shortly",
        }
    }
}

impl std::fmt::Display for RedisProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.advice())
    }
}

impl std::error::Error for RedisProblem {}

/// Why PostgreSQL could not be used, as far as Spin's error text tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostgresProblem {
    /// The server offered TLS with a certificate Spin does not trust (e.g. self-signed).
    UntrustedCertificate,
    /// TLS was required but the server does not offer it.
    TlsUnavailable,
    /// Wrong user or password.
    Authentication,
    /// The database named does not exist.
    UnknownDatabase,
    /// The address is not in the component's `allowed_outbound_hosts`.
    NotPermitted,
    /// Anything else: down, restarting, unreachable.
    NotAnswering,
}

impl PostgresProblem {
    /// Classifies the text of an error (with its causes) from Spin's PostgreSQL client.
    pub fn diagnose(error_text: &str) -> PostgresProblem {
        let text = error_text.to_ascii_lowercase();
        let mentions = |words: &[&str]| words.iter().any(|word| text.contains(word));
        if mentions(&["does not support tls", "does not support ssl"]) {
            PostgresProblem::TlsUnavailable
        } else if mentions(&["certificate", "tls handshake", "ssl routines"]) {
            PostgresProblem::UntrustedCertificate
        } else if mentions(&["password authentication failed", "no password supplied"]) {
            PostgresProblem::Authentication
        } else if text.contains("database") && text.contains("does not exist") {
            PostgresProblem::UnknownDatabase
        } else if mentions(&["not permitted", "not allowed"]) {
            PostgresProblem::NotPermitted
        } else {
            PostgresProblem::NotAnswering
        }
    }

    /// One sentence for the operator: what is wrong and which variable to change.
    pub fn advice(self) -> &'static str {
        match self {
            PostgresProblem::UntrustedCertificate => {
                "PostgreSQL offers TLS with a certificate Spin does not trust (self-signed?): \
                 set the variable postgres_sslmode to disable, or give the server a certificate \
                 from a trusted authority"
            }
            PostgresProblem::TlsUnavailable => {
                "PostgreSQL does not offer TLS: set the variable postgres_sslmode to prefer or \
                 disable, or turn TLS on in the server"
            }
            PostgresProblem::Authentication => {
                "PostgreSQL refused the login: check the variables postgres_user and \
                 postgres_password"
            }
            PostgresProblem::UnknownDatabase => {
                "the PostgreSQL database does not exist: check the variable postgres_database"
            }
            PostgresProblem::NotPermitted => {
                "the PostgreSQL address is not allowed for this component: check the variable \
                 postgres_host and allowed_outbound_hosts in spin.toml"
            }
            PostgresProblem::NotAnswering => "PostgreSQL is not answering; retry shortly",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_what_spins_redis_client_reports() {
        // As Spin's redis-rs 0.32 words them, wrapped by the SDK's error type.
        let cases = [
            (
                "Other(\"NOAUTH: Authentication required.\")",
                RedisProblem::PasswordRequired,
            ),
            (
                "Other(\"Password authentication failed- AuthenticationFailed\")",
                RedisProblem::WrongCredentials,
            ),
            (
                "Other(\"NOPERM: this user has no permissions to access one of the keys used \
                 as arguments\")",
                RedisProblem::NotPermitted,
            ),
            (
                "Other(\"An error was signalled by the server - ResponseError: The user \
                 executing the script can't publish to the channel mentioned in the command\")",
                RedisProblem::NotPermitted,
            ),
            (
                "Other(\"TLS error - IoError: error:0A000086:SSL routines:\
                 tls_post_process_server_certificate:certificate verify failed\")",
                RedisProblem::UntrustedCertificate,
            ),
            (
                "Other(\"Connection reset by peer (os error 104)\")",
                RedisProblem::ClosedAtOnce,
            ),
            ("InvalidAddress", RedisProblem::InvalidAddress),
            (
                "Other(\"Connection refused (os error 111)\")",
                RedisProblem::NotAnswering,
            ),
        ];
        for (text, problem) in cases {
            assert_eq!(RedisProblem::diagnose(text), problem, "{text}");
        }
    }

    #[test]
    fn a_problem_found_in_the_variables_is_kept_through_context() {
        let error = anyhow::Error::new(RedisProblem::UnknownScheme).context("opening Redis");
        assert_eq!(RedisProblem::of(&error), RedisProblem::UnknownScheme);
        let error = anyhow::anyhow!("Other(\"NOAUTH: Authentication required.\")");
        assert_eq!(RedisProblem::of(&error), RedisProblem::PasswordRequired);
    }

    #[test]
    fn redis_advice_names_the_variable_to_change() {
        let expected = [
            (RedisProblem::UnknownScheme, "redis_scheme"),
            (RedisProblem::MissingHost, "redis_host"),
            (RedisProblem::CredentialsNotEncoded, "redis_password"),
            (RedisProblem::PasswordRequired, "redis_password"),
            (RedisProblem::WrongCredentials, "redis_password"),
            (RedisProblem::NotPermitted, "redis_username"),
            (RedisProblem::ClosedAtOnce, "redis_scheme"),
            (RedisProblem::InvalidAddress, "redis_host"),
        ];
        for (problem, variable) in expected {
            assert!(problem.advice().contains(variable), "{problem:?}");
        }
    }

    #[test]
    fn recognises_what_spins_client_reports() {
        let cases = [
            (
                "Error occurred while creating a new object: error performing TLS handshake: \
                 error:0A000086:SSL routines:tls_post_process_server_certificate:certificate \
                 verify failed:(self-signed certificate)",
                PostgresProblem::UntrustedCertificate,
            ),
            (
                "error performing TLS handshake: server does not support TLS",
                PostgresProblem::TlsUnavailable,
            ),
            (
                "Error occurred while creating a new object: server does not support TLS",
                PostgresProblem::TlsUnavailable,
            ),
            (
                "db error: FATAL: password authentication failed for user \"postgres\"",
                PostgresProblem::Authentication,
            ),
            (
                "db error: FATAL: database \"votes\" does not exist",
                PostgresProblem::UnknownDatabase,
            ),
            (
                "address postgres://db:5432 is not permitted",
                PostgresProblem::NotPermitted,
            ),
            (
                "error connecting to server: Connection refused (os error 111)",
                PostgresProblem::NotAnswering,
            ),
        ];
        for (text, problem) in cases {
            assert_eq!(PostgresProblem::diagnose(text), problem, "{text}");
        }
    }

    #[test]
    fn advice_names_the_variable_to_change() {
        assert!(
            PostgresProblem::UntrustedCertificate
                .advice()
                .contains("postgres_sslmode")
        );
        assert!(
            PostgresProblem::Authentication
                .advice()
                .contains("postgres_password")
        );
        assert!(
            PostgresProblem::UnknownDatabase
                .advice()
                .contains("postgres_database")
        );
    }
}
