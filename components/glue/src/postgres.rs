//! PostgreSQL, reached as the `postgres_*` variables say.

use anyhow::Context;
use spin_sdk::pg4::Connection;
use voting_shared::address::PostgresConfig;
use voting_shared::diagnosis::PostgresProblem;

/// Opens a connection from Spin's pool for the configured database.
pub fn open() -> anyhow::Result<Connection> {
    let config = PostgresConfig::from_variables(crate::variable)?;
    Connection::open(&config.address())
        .with_context(|| format!("connecting to PostgreSQL at {}", config.host))
}

/// Logs a PostgreSQL failure in full (Spin's text is a host stack trace) with the operator's
/// advice, and returns the problem for the answer.
pub fn diagnose(component: &str, error: &anyhow::Error) -> PostgresProblem {
    let problem = PostgresProblem::diagnose(&format!("{error:#}"));
    eprintln!("{component}: {error:#}\n{component}: {}", problem.advice());
    problem
}
