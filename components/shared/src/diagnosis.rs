//! What to tell an operator when PostgreSQL cannot be used: Spin's error text is long and
//! internal (a host stack trace), so it is logged, and this short advice, naming the variable
//! to change, is what pages and logs show.

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
