//! The worker: each message on the votes channel is a doorbell. A run then drains the Redis
//! list `votes` into PostgreSQL, a batch at a time: read the head of the list, upsert the
//! batch in one statement, and only then remove it from the list (in the script that reads
//! the next batch). A failure anywhere leaves the batch queued for the next doorbell;
//! replaying a batch changes nothing. Each vote is written into the round it was cast in. After
//! each batch the run keeps what the room sees of the results in Redis, as PostgreSQL then has
//! them (and marks them stale when PostgreSQL fails). A run also restores the current round's
//! mirror in Redis from PostgreSQL when Redis has lost it.
//!
//! One run drains a whole burst of votes: it holds the doorbell key while it drains (votes
//! then do not ring), waits a moment after a partial batch so that the next one is fuller, and
//! gives the key up in the step that finds the queue empty; see
//! [`voting_shared::doorbell`].
//!
//! After the votes, the same run drains the audience's questions and upvotes ([`questions`]).
//!
//! On hosts without a Redis trigger (`spin.http-only.toml`) the same component is a private
//! HTTP endpoint, and the doorbell is a `POST` from vote or result by local service chaining.

mod questions;

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::pg4::{self, ParameterValue};
use spin_sdk::redis::{self, RedisParameter, RedisResult};
use spin_sdk::{http_component, redis_component};
use voting_glue::redis::{binary, eval};
use voting_glue::reply::{Reply, send};
use voting_glue::{postgres, round, variable};
use voting_shared::doorbell::{
    DEFERRED, DOORBELL_KEY, DRAIN_SCRIPT, GATHER_MS, HTTP_RUN_LIMIT_MS, RETRY_MS, RETRY_SCRIPT,
    Ring, Step, gathers_after,
};
use voting_shared::poll::Poll;
use voting_shared::queue::{
    BATCH_SIZE, BatchPlan, DEAD_LETTER_KEY, LAST_BATCH_KEY, Poison, Upsert, VOTES_KEY, plan_batch,
};
use voting_shared::results::{MARK_STALE_SCRIPT, RESULTS_KEY};
use voting_shared::round::{NO_ROUND, ROUND_KEY, choices_of};
use voting_shared::schema::RECORD_BATCH;

/// The doorbell as a message on the votes channel (the Redis trigger).
#[redis_component]
fn on_doorbell(message: Bytes) -> anyhow::Result<()> {
    drain_or_log(Ring::of(&message), None).map_err(|retry| anyhow!(retry))
}

/// The doorbell as a `POST` to the private endpoint (local service chaining), its body saying
/// who rang. A run here hands over after [`HTTP_RUN_LIMIT_MS`], within a host's request limit.
#[http_component]
async fn on_http_doorbell(request: IncomingRequest, response_out: ResponseOutparam) {
    let reply = if request.method() != Method::Post {
        Reply::text(405, "Method not allowed: ring the doorbell with POST.\n")
            .header("allow", "POST")
    } else {
        let ring = Ring::of(&request.into_body().await.unwrap_or_default());
        let limit = Instant::now() + Duration::from_millis(HTTP_RUN_LIMIT_MS);
        match drain_or_log(ring, Some(limit)) {
            Ok(()) => Reply::text(200, "Drained.\n"),
            Err(retry) => Reply::text(503, retry),
        }
    };
    send(reply, response_out).await;
}

/// Why a run stopped early, by what failed, so the log gives the right advice.
pub(crate) enum Failure {
    /// The poll's options are misconfigured: nothing can be told valid or poison.
    Poll(anyhow::Error),
    /// The round's mirror kept vanishing as fast as it was restored.
    Round(anyhow::Error),
    Redis(anyhow::Error),
    Postgres(anyhow::Error),
}

/// Runs a drain after `ring`; on failure logs why, with the operator's advice, holds the
/// doorbell key only briefly (the next vote after [`RETRY_MS`] rings a retry), and says what
/// happens next.
fn drain_or_log(ring: Ring, limit: Option<Instant>) -> Result<(), &'static str> {
    const RETRY: &str = "Votes stay queued and are retried on the next doorbell.\n";
    let Some(run) = Run::new() else {
        eprintln!("worker: no randomness for the run's token; {RETRY}");
        return Err(RETRY);
    };
    let drained = voting_glue::redis::open()
        .map_err(Failure::Redis)
        .and_then(|redis| {
            // One connection to each for the run, the votes first, then the questions; most
            // doorbells find both queues drained, so PostgreSQL is opened only when needed.
            let mut database = None;
            run.drain(&redis, &mut database, ring, limit)?;
            questions::drain(&redis, &mut database, limit)
        });
    drained.map_err(|failure| {
        match failure {
            Failure::Poll(error) | Failure::Round(error) => eprintln!("worker: {error:#}"),
            Failure::Redis(error) => {
                voting_glue::redis::diagnose("worker", &error);
            }
            Failure::Postgres(error) => {
                postgres::diagnose("worker", &error);
                mark_results_stale();
            }
        }
        run.shorten_lease();
        RETRY
    })
}

/// How many times in a row a run restores the round's mirror before it gives up.
const MAX_RESTORES_IN_A_ROW: u32 = 5;

/// One run of the worker, known to the others by its token in the doorbell key.
struct Run {
    token: String,
}

/// What a step of a run read.
enum Read {
    /// Another run is draining, or this one gave the doorbell up: this one stops.
    Stop,
    Batch(Batch),
}

impl Run {
    fn new() -> Option<Run> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).ok()?;
        Some(Run {
            token: voting_shared::hex::encode(&random),
        })
    }

    /// Moves every queued vote for an option of its round into PostgreSQL, batch after batch
    /// until the queue is empty (or `limit` has passed); any other entry is dead-lettered.
    /// Stops at once when another run is draining and `ring` is a vote's. Restores the
    /// round's mirror in Redis first when it is missing (the vote component refuses votes
    /// meanwhile, and rang this doorbell for it).
    fn drain(
        &self,
        redis: &redis::Connection,
        database: &mut Option<pg4::Connection>,
        ring: Ring,
        limit: Option<Instant>,
    ) -> Result<(), Failure> {
        let configured = Poll::from_variables(variable).map_err(Failure::Poll)?;
        // A round change removes the mirror while it changes PostgreSQL, so a mirror restored
        // may vanish again at once; only one that keeps vanishing is a fault.
        let mut restores_in_a_row = 0;
        let mut step = Step::Claim(ring);
        let mut written: Option<(Vec<Vec<u8>>, BatchPlan)> = None;
        loop {
            if limit.is_some_and(|limit| Instant::now() >= limit) {
                self.step(redis, Step::Release, written.as_ref())
                    .map_err(Failure::Redis)?;
                return Ok(());
            }
            let batch = match self
                .step(redis, step, written.as_ref())
                .map_err(Failure::Redis)?
            {
                Read::Stop => return Ok(()),
                Read::Batch(batch) => batch,
            };
            step = Step::Next;
            written = None;
            if batch.round == NO_ROUND {
                if restores_in_a_row == MAX_RESTORES_IN_A_ROW {
                    return Err(Failure::Round(anyhow!(
                        "the round's mirror ({ROUND_KEY}) vanished {MAX_RESTORES_IN_A_ROW} times \
                         right after it was restored: is Redis evicting keys (see its \
                         maxmemory-policy)?"
                    )));
                }
                let connection = match database.take() {
                    Some(connection) => connection,
                    None => postgres::open().map_err(Failure::Postgres)?,
                };
                let current = round::current(&connection).map_err(Failure::Postgres)?;
                if round::mirror(redis, &current, true).map_err(Failure::Redis)? {
                    eprintln!(
                        "worker: restored round {} to Redis ({ROUND_KEY}) from PostgreSQL",
                        current.round.number
                    );
                }
                round::keep_results(redis, &current, &configured).map_err(Failure::Redis)?;
                *database = Some(connection);
                restores_in_a_row += 1;
                continue;
            }
            restores_in_a_row = 0;
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
                    None => postgres::open().map_err(Failure::Postgres)?,
                };
                let written = write(&connection, &plan.upserts, batch.now_micros / 1000)
                    .map_err(Failure::Postgres)?;
                *database = Some(connection);
                round::keep_results(redis, &written, &configured).map_err(Failure::Redis)?;
            }
            if gathers_after(entries.len(), BATCH_SIZE) {
                pause(GATHER_MS);
            }
            written = Some((entries, plan));
        }
    }

    /// One [`DRAIN_SCRIPT`] step: acknowledges `written` (the batch this run wrote last, if
    /// any), then claims and reads the next batch.
    fn step(
        &self,
        redis: &redis::Connection,
        step: Step,
        written: Option<&(Vec<Vec<u8>>, BatchPlan)>,
    ) -> anyhow::Result<Read> {
        let mut arguments = vec![binary(&self.token), binary(step.as_str())];
        if let Some((entries, plan)) = written {
            arguments.push(RedisParameter::Int64(entries.len() as i64));
            arguments.extend(entries.iter().map(binary));
            arguments.extend(
                plan.poison
                    .iter()
                    .map(|(position, _)| RedisParameter::Int64(*position as i64 + 1)),
            );
        }
        let keys = [
            VOTES_KEY,
            DEAD_LETTER_KEY,
            LAST_BATCH_KEY,
            ROUND_KEY,
            DOORBELL_KEY,
        ];
        let reply = eval(redis, DRAIN_SCRIPT, &keys, &arguments).context(match written {
            Some(_) => "removing written votes from the queue and reading the next",
            None => "reading queued votes",
        })?;
        match reply.as_slice() {
            [RedisResult::Int64(DEFERRED)] => Ok(Read::Stop),
            [RedisResult::Int64(0)] if step == Step::Release => Ok(Read::Stop),
            [
                RedisResult::Int64(now_micros),
                RedisResult::Int64(round),
                RedisResult::Binary(choices),
                entries @ ..,
            ] => {
                let entries = entries
                    .iter()
                    .map(|entry| match entry {
                        RedisResult::Binary(bytes) => Ok(bytes.clone()),
                        other => Err(anyhow!("unexpected queue entry {other:?}")),
                    })
                    .collect::<anyhow::Result<_>>()?;
                Ok(Read::Batch(Batch {
                    now_micros: *now_micros,
                    round: *round,
                    choices: String::from_utf8_lossy(choices).into_owned(),
                    entries,
                }))
            }
            other => bail!("unexpected reply reading queued votes: {other:?}"),
        }
    }

    /// After a failure: the doorbell key, if this run holds it, lasts [`RETRY_MS`] more, so
    /// that a vote after that rings a retry. Best effort: Redis may be what failed.
    fn shorten_lease(&self) {
        let shortened = voting_glue::redis::open().and_then(|redis| {
            eval(
                &redis,
                RETRY_SCRIPT,
                &[DOORBELL_KEY],
                &[binary(&self.token), RedisParameter::Int64(RETRY_MS)],
            )
            .map_err(anyhow::Error::from)
        });
        if let Err(error) = shortened {
            eprintln!(
                "worker: could not shorten the doorbell's lease ({error:#}); it ends by itself"
            );
        }
    }
}

/// After PostgreSQL failed: the results the room sees may be out of date, and say so until the
/// next batch is written. Best effort: Redis may be down too.
fn mark_results_stale() {
    let marked = voting_glue::redis::open().and_then(|redis| {
        eval(&redis, MARK_STALE_SCRIPT, &[RESULTS_KEY], &[]).map_err(anyhow::Error::from)
    });
    if let Err(error) = marked {
        eprintln!("worker: could not mark the results stale ({error:#})");
    }
}

/// Waits `ms` milliseconds (WASI's monotonic clock: the instance sleeps, it does not spin).
fn pause(ms: u64) {
    wasi::clocks::monotonic_clock::subscribe_duration(ms * 1_000_000).block();
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

/// Writes the batch in one statement, each vote into its round, creating or migrating the
/// schema first if needed, at Redis's clock `now_ms`; answers the round as it then is.
fn write(
    database: &pg4::Connection,
    upserts: &[Upsert],
    now_ms: i64,
) -> anyhow::Result<round::Current> {
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
        ParameterValue::Int64(now_ms),
    ];
    let written = postgres::query_with_schema(database, RECORD_BATCH, &parameters)
        .context("writing votes")?;
    round::Current::of(postgres::single_text(&written).context("writing votes")?)
}
