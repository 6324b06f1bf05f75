//! The current round: read from PostgreSQL, the source of truth, and mirrored to Redis for
//! the vote component.

use anyhow::{Context, bail};
use spin_sdk::pg4::{self, DbValue, ParameterValue, PgError, QueryError, RowSet};
use spin_sdk::redis::{Connection, RedisResult};
use voting_shared::deck::Visibility;
use voting_shared::round::{MIRROR_ROUND_SCRIPT, ROUND_KEY, Round};
use voting_shared::schema::{CREATE_SCHEMA, CURRENT_ROUND, SCHEMA_MISSING};

use crate::redis::{binary, eval};

/// Runs the query `statement` against the schema: where it is missing or older, creates or
/// migrates it and runs `statement` again.
pub fn query_with_schema(
    database: &pg4::Connection,
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
    database: &pg4::Connection,
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

fn is_schema_missing(error: &PgError) -> bool {
    matches!(error, PgError::QueryFailed(QueryError::DbError(error))
        if SCHEMA_MISSING.contains(&error.code.as_str()))
}

/// Creates the schema, or migrates one of an older version of the app.
pub fn create_schema(database: &pg4::Connection) -> anyhow::Result<()> {
    database
        .execute(CREATE_SCHEMA, &[])
        .context("creating the votes tables")?;
    Ok(())
}

/// The current round, from PostgreSQL (creating the schema if it is missing).
pub fn current(database: &pg4::Connection) -> anyhow::Result<Round> {
    let rows =
        query_with_schema(database, CURRENT_ROUND, &[]).context("reading the current round")?;
    let [row] = rows.rows.as_slice() else {
        bail!(
            "expected one row for the current round, got {}",
            rows.rows.len()
        );
    };
    let (round, _) = from_columns(row)?;
    Ok(round)
}

/// The round in the columns [`CURRENT_ROUND`] gives (and the tally's read after its counts),
/// and PostgreSQL's clock (ms) when it was read. All NULL but the clock before rounds exist:
/// round 1 of the configured poll.
pub fn from_columns(columns: &[DbValue]) -> anyhow::Result<(Round, i64)> {
    match columns {
        [DbValue::DbNull, .., DbValue::Int64(now_ms)] => Ok((Round::configured(1), *now_ms)),
        [
            DbValue::Int64(number),
            DbValue::Boolean(open),
            question,
            labels,
            results,
            closes_ms,
            DbValue::Boolean(revealed),
            DbValue::Int64(now_ms),
        ] => {
            let round = Round::from_stored(*number, *open, text(question), text(labels))
                .context("the current round's poll in PostgreSQL is damaged")?;
            let results = text(results).unwrap_or_default();
            let round = Round {
                results: Visibility::parse(results)
                    .with_context(|| format!("the current round's results mode {results:?}"))?,
                closes_ms: match closes_ms {
                    DbValue::Int64(ms) => Some(*ms),
                    _ => None,
                },
                revealed: *revealed,
                ..round
            };
            Ok((round, *now_ms))
        }
        other => bail!("unexpected current round {other:?}"),
    }
}

/// A text column, `None` when NULL.
pub fn text(value: &DbValue) -> Option<&str> {
    match value {
        DbValue::Str(text) => Some(text),
        _ => None,
    }
}

/// Mirrors `round` to Redis; `only_if_missing` restores a lost mirror without undoing a newer
/// change. Answers whether it wrote.
pub fn mirror(redis: &Connection, round: &Round, only_if_missing: bool) -> anyhow::Result<bool> {
    let arguments = [
        binary(if only_if_missing { "1" } else { "" }),
        binary(round.number.to_string()),
        binary(if round.open { "1" } else { "0" }),
        binary(round.choices_field()),
        binary(round.poll_field()),
        binary(round.results_field()),
        binary(round.closes_field()),
        binary(if round.revealed { "1" } else { "" }),
    ];
    match eval(redis, MIRROR_ROUND_SCRIPT, &[ROUND_KEY], &arguments)
        .context("mirroring the current round to Redis")?
        .as_slice()
    {
        [RedisResult::Int64(wrote)] => Ok(*wrote == 1),
        other => bail!("unexpected reply mirroring the round: {other:?}"),
    }
}
