//! The worker: each message on the votes channel is a doorbell. The worker then drains the
//! Redis list `votes` into PostgreSQL, a batch at a time: read the head of the list, upsert
//! the batch in one statement, and only then remove it from the list. A failure anywhere
//! leaves the batch queued for the next doorbell; replaying a batch changes nothing.
//!
//! On hosts without a Redis trigger (`spin.http-only.toml`) the same component is a private
//! HTTP endpoint, and the doorbell is a `POST` from vote or result by local service chaining.

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::pg4::{self, ParameterValue, PgError, QueryError};
use spin_sdk::redis::{self, RedisParameter, RedisResult};
use spin_sdk::{http_component, redis_component};
use voting_glue::redis::{binary, eval};
use voting_glue::reply::{Reply, send};
use voting_glue::variable;
use voting_shared::poll::Poll;
use voting_shared::queue::{
    ACKNOWLEDGE_SCRIPT, BATCH_SIZE, BatchPlan, DEAD_LETTER_KEY, LAST_BATCH_KEY, Poison,
    READ_SCRIPT, Upsert, VOTES_KEY, plan_batch,
};
use voting_shared::schema::{CREATE_SCHEMA, SCHEMA_MISSING, UPSERT_VOTES};

/// The doorbell as a message on the votes channel (the Redis trigger).
#[redis_component]
fn on_doorbell(_message: Bytes) -> anyhow::Result<()> {
    drain_or_log().map_err(|retry| anyhow!(retry))
}

/// The doorbell as a `POST` to the private endpoint (local service chaining).
#[http_component]
async fn on_http_doorbell(request: IncomingRequest, response_out: ResponseOutparam) {
    let reply = if request.method() != Method::Post {
        Reply::text(405, "Method not allowed: ring the doorbell with POST.\n")
            .header("allow", "POST")
    } else {
        match drain_or_log() {
            Ok(()) => Reply::text(200, "Drained.\n"),
            Err(retry) => Reply::text(503, retry),
        }
    };
    send(reply, "", response_out).await;
}

/// Why a drain stopped, by what failed, so the log gives the right advice.
enum Failure {
    /// The poll's options are misconfigured: nothing can be told valid or poison.
    Poll(anyhow::Error),
    Redis(anyhow::Error),
    Postgres(anyhow::Error),
}

/// Drains the queue; on failure logs why, with the operator's advice, and says what happens next.
fn drain_or_log() -> Result<(), &'static str> {
    drain().map_err(|failure| {
        match failure {
            Failure::Poll(error) => eprintln!("worker: {error:#}"),
            Failure::Redis(error) => {
                voting_glue::redis::diagnose("worker", &error);
            }
            Failure::Postgres(error) => {
                voting_glue::postgres::diagnose("worker", &error);
            }
        }
        "Votes stay queued and are retried on the next doorbell.\n"
    })
}

/// Moves every queued vote for one of the poll's options into PostgreSQL; any other entry
/// is dead-lettered.
fn drain() -> Result<(), Failure> {
    let poll = Poll::from_variables(variable).map_err(Failure::Poll)?;
    let redis = voting_glue::redis::open().map_err(Failure::Redis)?;
    // Most doorbells find the queue already drained: connect to PostgreSQL only when needed.
    let mut database: Option<pg4::Connection> = None;
    loop {
        let (now_micros, entries) = read_batch(&redis).map_err(Failure::Redis)?;
        if entries.is_empty() {
            return Ok(());
        }
        let plan = plan_batch(now_micros, &entries, &poll);
        for (position, Poison(reason)) in &plan.poison {
            eprintln!(
                "worker: moving an entry to {DEAD_LETTER_KEY} ({reason}): {}",
                String::from_utf8_lossy(&entries[*position])
            );
        }
        if !plan.upserts.is_empty() {
            let connection = match database.take() {
                Some(connection) => connection,
                None => voting_glue::postgres::open().map_err(Failure::Postgres)?,
            };
            write(&connection, &plan.upserts).map_err(Failure::Postgres)?;
            database = Some(connection);
        }
        acknowledge(&redis, &entries, &plan).map_err(Failure::Redis)?;
        if entries.len() < BATCH_SIZE {
            return Ok(());
        }
    }
}

/// The Redis server time (µs) and up to [`BATCH_SIZE`] entries from the head of the queue.
fn read_batch(redis: &redis::Connection) -> anyhow::Result<(i64, Vec<Vec<u8>>)> {
    let reply = eval(
        redis,
        READ_SCRIPT,
        &[VOTES_KEY],
        &[RedisParameter::Int64(BATCH_SIZE as i64)],
    )
    .context("reading queued votes")?;
    let Some((RedisResult::Int64(now_micros), entries)) = reply.split_first() else {
        bail!("unexpected reply reading queued votes: {reply:?}");
    };
    let entries = entries
        .iter()
        .map(|entry| match entry {
            RedisResult::Binary(bytes) => Ok(bytes.clone()),
            other => Err(anyhow!("unexpected queue entry {other:?}")),
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((*now_micros, entries))
}

/// Upserts the batch in one statement, creating the schema first if it is missing.
fn write(database: &pg4::Connection, upserts: &[Upsert]) -> anyhow::Result<()> {
    let parameters = [
        ParameterValue::ArrayStr(upserts.iter().map(|u| Some(u.voter_id.clone())).collect()),
        ParameterValue::ArrayStr(
            upserts
                .iter()
                .map(|u| Some(u.choice.as_str().to_owned()))
                .collect(),
        ),
        ParameterValue::ArrayInt64(upserts.iter().map(|u| Some(u.seq)).collect()),
    ];
    match database.execute(UPSERT_VOTES, &parameters) {
        Err(PgError::QueryFailed(QueryError::DbError(error)))
            if SCHEMA_MISSING.contains(&error.code.as_str()) =>
        {
            database
                .execute(CREATE_SCHEMA, &[])
                .context("creating the votes table")?;
            database
                .execute(UPSERT_VOTES, &parameters)
                .context("writing votes")?;
        }
        result => {
            result.context("writing votes")?;
        }
    }
    Ok(())
}

/// Removes the committed batch (what is still queued of it) from the queue and dead-letters
/// its poison entries.
fn acknowledge(
    redis: &redis::Connection,
    entries: &[Vec<u8>],
    plan: &BatchPlan,
) -> anyhow::Result<()> {
    let mut arguments = vec![RedisParameter::Int64(entries.len() as i64)];
    arguments.extend(entries.iter().map(binary));
    arguments.extend(
        plan.poison
            .iter()
            .map(|(position, _)| RedisParameter::Int64(*position as i64 + 1)),
    );
    match eval(
        redis,
        ACKNOWLEDGE_SCRIPT,
        &[VOTES_KEY, DEAD_LETTER_KEY, LAST_BATCH_KEY],
        &arguments,
    )
    .context("removing written votes from the queue")?
    .as_slice()
    {
        [RedisResult::Int64(_)] => Ok(()),
        other => bail!("unexpected reply removing written votes: {other:?}"),
    }
}
