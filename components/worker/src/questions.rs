//! The audience's questions and upvotes, drained after the votes by the same run: a batch at a
//! time, written to PostgreSQL in one statement, the list the room reads kept in Redis after
//! it, and only then removed from the queue (in the script that reads the next batch). Writing
//! a batch twice changes nothing, so a run that stops anywhere leaves it for the next.

use std::time::Instant;

use anyhow::{Context, anyhow};
use spin_sdk::pg4::{self, ParameterValue};
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
use voting_glue::redis::{binary, eval};
use voting_glue::{postgres, qa};
use voting_shared::questions::{
    DRAIN_QUESTIONS_SCRIPT, Entry, QUESTIONS_DEAD_KEY, QUESTIONS_KEY, QaSnapshot, QuestionPlan,
    plan_questions,
};
use voting_shared::queue::Poison;
use voting_shared::schema::RECORD_QUESTIONS;

use crate::Failure;

/// Drains the questions' queue until it is empty (or `limit` has passed), on the run's
/// connections (`database` opened only when needed).
pub fn drain(
    redis: &Connection,
    database: &mut Option<pg4::Connection>,
    limit: Option<Instant>,
) -> Result<(), Failure> {
    let mut written: Option<(Vec<Vec<u8>>, QuestionPlan)> = None;
    loop {
        let entries = step(redis, written.as_ref()).map_err(Failure::Redis)?;
        if entries.is_empty() || limit.is_some_and(|limit| Instant::now() >= limit) {
            return Ok(());
        }
        let plan = plan_questions(&entries);
        for (position, Poison(reason)) in &plan.poison {
            eprintln!(
                "worker: moving a question's entry to {QUESTIONS_DEAD_KEY} ({reason}): {}",
                String::from_utf8_lossy(&entries[*position])
            );
        }
        if !plan.asks.is_empty() || !plan.upvotes.is_empty() {
            let connection = match database.take() {
                Some(connection) => connection,
                None => postgres::open().map_err(Failure::Postgres)?,
            };
            let snapshot = write(&connection, &plan).map_err(Failure::Postgres)?;
            *database = Some(connection);
            qa::keep_list(redis, &snapshot).map_err(Failure::Redis)?;
        }
        written = Some((entries, plan));
    }
}

/// One [`DRAIN_QUESTIONS_SCRIPT`] step: acknowledges `written`, then reads the next batch.
fn step(
    redis: &Connection,
    written: Option<&(Vec<Vec<u8>>, QuestionPlan)>,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut arguments = Vec::new();
    if let Some((entries, plan)) = written {
        arguments.push(RedisParameter::Int64(entries.len() as i64));
        arguments.extend(entries.iter().map(binary));
        arguments.extend(
            plan.poison
                .iter()
                .map(|(position, _)| RedisParameter::Int64(*position as i64 + 1)),
        );
    }
    let keys = [QUESTIONS_KEY, QUESTIONS_DEAD_KEY];
    let reply = eval(redis, DRAIN_QUESTIONS_SCRIPT, &keys, &arguments)
        .context("reading queued questions")?;
    reply
        .into_iter()
        .map(|entry| match entry {
            RedisResult::Binary(bytes) => Ok(bytes),
            other => Err(anyhow!("unexpected queued question {other:?}")),
        })
        .collect()
}

/// Writes a batch in one statement; answers the questions as they then are.
fn write(database: &pg4::Connection, plan: &QuestionPlan) -> anyhow::Result<QaSnapshot> {
    let mut asked = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for entry in &plan.asks {
        if let Entry::Ask {
            id,
            voter_id,
            ask,
            published,
            asked_ms,
        } = entry
        {
            asked.0.push(Some(*id));
            asked.1.push(Some(voter_id.clone()));
            asked.2.push(Some(ask.text.clone()));
            asked.3.push(ask.name.clone());
            asked.4.push(Some(i64::from(*published)));
            asked.5.push(Some(*asked_ms));
        }
    }
    let mut upvoted = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for entry in &plan.upvotes {
        if let Entry::Upvote {
            question,
            voter_id,
            up,
            seq,
        } = entry
        {
            upvoted.0.push(Some(*question));
            upvoted.1.push(Some(voter_id.clone()));
            upvoted.2.push(Some(i64::from(*up)));
            upvoted.3.push(Some(*seq));
        }
    }
    let parameters = [
        ParameterValue::ArrayInt64(asked.0),
        ParameterValue::ArrayStr(asked.1),
        ParameterValue::ArrayStr(asked.2),
        ParameterValue::ArrayStr(asked.3),
        ParameterValue::ArrayInt64(asked.4),
        ParameterValue::ArrayInt64(asked.5),
        ParameterValue::ArrayInt64(upvoted.0),
        ParameterValue::ArrayStr(upvoted.1),
        ParameterValue::ArrayInt64(upvoted.2),
        ParameterValue::ArrayInt64(upvoted.3),
    ];
    let rows = postgres::query_with_schema(database, RECORD_QUESTIONS, &parameters)
        .context("writing questions")?;
    QaSnapshot::parse(postgres::single_text(&rows).context("writing questions")?)
}
