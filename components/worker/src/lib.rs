//! The worker: each message on the votes channel is a doorbell. The worker then drains the
//! Redis list `votes` into PostgreSQL, a batch at a time: read the head of the list, upsert
//! the batch in one statement, and only then remove it from the list. A failure anywhere
//! leaves the batch queued for the next doorbell; replaying a batch changes nothing. Each
//! vote is written into the round it was cast in. A doorbell also restores the current
//! round's mirror in Redis from PostgreSQL when Redis has lost it.
//!
//! On hosts without a Redis trigger (`spin.http-only.toml`) the same component is a private
//! HTTP endpoint, and the doorbell is a `POST` from vote or result by local service chaining.

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::pg4::{self, ParameterValue};
use spin_sdk::redis::{self, RedisParameter, RedisResult};
use spin_sdk::{http_component, redis_component};
use voting_glue::redis::{binary, eval};
use voting_glue::reply::{Reply, send};
use voting_glue::{round, variable};
use voting_shared::poll::Poll;
use voting_shared::queue::{
    ACKNOWLEDGE_SCRIPT, BATCH_SIZE, BatchPlan, DEAD_LETTER_KEY, LAST_BATCH_KEY, Poison,
    READ_SCRIPT, Upsert, VOTES_KEY, plan_batch,
};
use voting_shared::round::{NO_ROUND, ROUND_KEY, choices_of};
use voting_shared::schema::RECORD_VOTES;

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

/// Moves every queued vote for an option of its round into PostgreSQL; any other entry is
/// dead-lettered. Restores the round's mirror in Redis first when it is missing (the vote
/// component refuses votes meanwhile, and rang this doorbell for it).
fn drain() -> Result<(), Failure> {
    let configured = Poll::from_variables(variable).map_err(Failure::Poll)?;
    let redis = voting_glue::redis::open().map_err(Failure::Redis)?;
    // Most doorbells find the queue already drained: connect to PostgreSQL only when needed.
    let mut database: Option<pg4::Connection> = None;
    let mut restored = false;
    loop {
        let batch = read_batch(&redis).map_err(Failure::Redis)?;
        if batch.round == NO_ROUND {
            if restored {
                return Err(Failure::Redis(anyhow!(
                    "the round's mirror ({ROUND_KEY}) vanished again right after it was restored"
                )));
            }
            let connection = match database.take() {
                Some(connection) => connection,
                None => voting_glue::postgres::open().map_err(Failure::Postgres)?,
            };
            let current = round::current(&connection).map_err(Failure::Postgres)?;
            if round::mirror(&redis, &current, true).map_err(Failure::Redis)? {
                eprintln!(
                    "worker: restored round {} to Redis ({ROUND_KEY}) from PostgreSQL",
                    current.number
                );
            }
            database = Some(connection);
            restored = true;
            continue;
        }
        if batch.entries.is_empty() {
            return Ok(());
        }
        let current_choices = match batch.choices.as_str() {
            "" => choices_of(&configured),
            choices => choices.to_owned(),
        };
        let entries = batch.entries;
        let plan = plan_batch(batch.now_micros, &entries, &current_choices);
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

/// A batch read from the head of the queue.
struct Batch {
    /// The Redis server time, µs.
    now_micros: i64,
    /// The current round by its mirror, [`NO_ROUND`] without one.
    round: i64,
    /// The mirror's choices field: empty for the configured poll.
    choices: String,
    entries: Vec<Vec<u8>>,
}

/// Up to [`BATCH_SIZE`] entries from the head of the queue, and the current round.
fn read_batch(redis: &redis::Connection) -> anyhow::Result<Batch> {
    let reply = eval(
        redis,
        READ_SCRIPT,
        &[VOTES_KEY, ROUND_KEY],
        &[RedisParameter::Int64(BATCH_SIZE as i64)],
    )
    .context("reading queued votes")?;
    let [
        RedisResult::Int64(now_micros),
        RedisResult::Int64(round),
        RedisResult::Binary(choices),
        entries @ ..,
    ] = reply.as_slice()
    else {
        bail!("unexpected reply reading queued votes: {reply:?}");
    };
    let entries = entries
        .iter()
        .map(|entry| match entry {
            RedisResult::Binary(bytes) => Ok(bytes.clone()),
            other => Err(anyhow!("unexpected queue entry {other:?}")),
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Batch {
        now_micros: *now_micros,
        round: *round,
        choices: String::from_utf8_lossy(choices).into_owned(),
        entries,
    })
}

/// Writes the batch in one statement, each vote into its round, creating or migrating the
/// schema first if needed.
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
        ParameterValue::ArrayInt64(upserts.iter().map(|u| u.round).collect()),
    ];
    round::execute_with_schema(database, RECORD_VOTES, &parameters).context("writing votes")?;
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
