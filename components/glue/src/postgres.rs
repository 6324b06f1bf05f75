//! PostgreSQL, reached as the `postgres_*` variables say, and statements run against the
//! schema, which is created or migrated where it is missing or older.

use anyhow::Context;
use spin_sdk::pg4::{Connection, DbValue, ParameterValue, PgError, QueryError, RowSet};
use voting_shared::address::PostgresConfig;
use voting_shared::diagnosis::PostgresProblem;
use voting_shared::schema::{CREATE_SCHEMA, SCHEMA_MISSING};

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

/// Runs the query `statement` against the schema: where it is missing or older, creates or
/// migrates it and runs `statement` again.
pub fn query_with_schema(
    database: &Connection,
    statement: &str,
    parameters: &[ParameterValue],
) -> anyhow::Result<RowSet> {
    match database.query(statement, parameters) {
        Err(error) if is_schema_missing(&error) => {
            create_schema(database)?;
            Ok(database.query(statement, parameters)?)
        }
        result => Ok(result?),
    }
}

/// [`query_with_schema`] for a statement run with `execute`: answers the rows it changed.
pub fn execute_with_schema(
    database: &Connection,
    statement: &str,
    parameters: &[ParameterValue],
) -> anyhow::Result<u64> {
    match database.execute(statement, parameters) {
        Err(error) if is_schema_missing(&error) => {
            create_schema(database)?;
            Ok(database.execute(statement, parameters)?)
        }
        result => Ok(result?),
    }
}

/// The one text column of the one row a statement answers.
pub fn single_text(rows: &RowSet) -> anyhow::Result<&str> {
    match rows.rows.as_slice() {
        [row] => match row.as_slice() {
            [DbValue::Str(text)] => Ok(text),
            other => anyhow::bail!("expected one text column, got {other:?}"),
        },
        rows => anyhow::bail!("expected one row, got {}", rows.len()),
    }
}

/// The one integer column of the one row a statement answers.
pub fn single_integer(rows: &RowSet) -> anyhow::Result<i64> {
    match rows.rows.as_slice() {
        [row] => match row.as_slice() {
            [DbValue::Int64(value)] => Ok(*value),
            other => anyhow::bail!("expected one integer column, got {other:?}"),
        },
        rows => anyhow::bail!("expected one row, got {}", rows.len()),
    }
}

fn is_schema_missing(error: &PgError) -> bool {
    matches!(error, PgError::QueryFailed(QueryError::DbError(error))
        if SCHEMA_MISSING.contains(&error.code.as_str()))
}

/// Creates the schema, or migrates one of an older version of the app.
fn create_schema(database: &Connection) -> anyhow::Result<()> {
    database
        .execute(CREATE_SCHEMA, &[])
        .context("creating the votes tables")?;
    Ok(())
}
