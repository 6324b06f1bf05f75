//! What the console and the API do: change the round (in PostgreSQL, then its mirror in
//! Redis), list the rounds, download one's results, read and set the new-voter limit. Each
//! answers a [`Refusal`] that says what happened, with the details in the log.

use anyhow::Context;
use spin_sdk::pg4::{self, DbValue, ParameterValue};
use voting_glue::reply::Reply;
use voting_glue::{postgres, round};
use voting_shared::poll::Poll;
use voting_shared::queue::NEW_VOTER_LIMIT_KEY;
use voting_shared::round::{ROUND_KEY, Round};
use voting_shared::schema::{LIST_ROUNDS, SET_OPEN, START_ROUND};

use crate::rounds::{self, RoundRecord};

/// The most new voters per address and minute the console accepts as a limit.
pub const MAX_NEW_VOTER_LIMIT: i64 = 1_000_000;

/// Why an action was refused or failed, for the answer; the log has the details.
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

impl Refusal {
    pub fn new(status: u16, message: String) -> Refusal {
        Refusal { status, message }
    }
}

pub fn redis_or_refusal<T>(result: anyhow::Result<T>) -> Result<T, Refusal> {
    result.map_err(|error| {
        let problem = voting_glue::redis::diagnose("admin", &error);
        Refusal::new(503, format!("Nothing changed: {}.", problem.advice()))
    })
}

pub fn postgres_or_refusal<T>(result: anyhow::Result<T>) -> Result<T, Refusal> {
    result.map_err(postgres_refusal)
}

fn postgres_refusal(error: anyhow::Error) -> Refusal {
    let problem = postgres::diagnose("admin", &error);
    Refusal::new(503, format!("Nothing changed: {}.", problem.advice()))
}

/// A change to the round.
pub enum Change {
    /// A new round with this poll.
    Start(Poll),
    /// A new round with the current round's poll (a reset).
    Again,
    SetOpen(bool),
}

/// Makes `change` in PostgreSQL and mirrors the round it leaves to Redis; answers that round.
pub fn change(change: Change, configured: &Poll) -> Result<Round, Refusal> {
    let database = postgres_or_refusal(postgres::open())?;
    let before = postgres_or_refusal(round::current(&database))?;
    let redis = redis_or_refusal(voting_glue::redis::open())?;
    redis_or_refusal(
        redis
            .del(&[ROUND_KEY.to_owned()])
            .context("pausing voting for the change"),
    )?;
    let changed = apply(&database, &change, &before, configured);
    if let Err(error) = changed {
        // Put the old state back; if that fails too, the worker restores it at the next vote.
        if let Err(error) = round::mirror(&redis, &before, true) {
            voting_glue::redis::diagnose("admin", &error);
        }
        return Err(postgres_refusal(error));
    }
    let after = postgres_or_refusal(round::current(&database))?;
    match round::mirror(&redis, &after, false) {
        Ok(_) => Ok(after),
        Err(error) => {
            let problem = voting_glue::redis::diagnose("admin", &error);
            Err(Refusal::new(
                503,
                format!(
                    "Round {} is saved, but the voting page could not be told: {}. Voting \
                     resumes as soon as Redis answers and someone votes.",
                    after.number,
                    problem.advice()
                ),
            ))
        }
    }
}

fn apply(
    database: &pg4::Connection,
    change: &Change,
    before: &Round,
    configured: &Poll,
) -> anyhow::Result<()> {
    let current = before.ballot(configured);
    let start = |poll: &Poll| -> anyhow::Result<()> {
        let parameters = [
            ParameterValue::Str(poll.question().to_owned()),
            ParameterValue::Str(poll.labels_json()),
            ParameterValue::Str(current.question().to_owned()),
            ParameterValue::Str(current.labels_json()),
        ];
        database
            .query(START_ROUND, &parameters)
            .context("starting a round")?;
        Ok(())
    };
    match change {
        Change::Start(poll) => start(poll),
        Change::Again => start(current),
        Change::SetOpen(open) => {
            database
                .execute(SET_OPEN, &[ParameterValue::Boolean(*open)])
                .context(if *open {
                    "opening voting"
                } else {
                    "closing voting"
                })?;
            Ok(())
        }
    }
}

/// Every round with its results, oldest first.
pub fn list_rounds(configured: &Poll) -> Result<Vec<RoundRecord>, Refusal> {
    let database = postgres_or_refusal(postgres::open())?;
    let listed =
        round::query_with_schema(&database, LIST_ROUNDS, &[]).context("listing the rounds");
    let listed = postgres_or_refusal(listed)?;
    let json = match listed.rows.as_slice() {
        [row] => match row.as_slice() {
            [DbValue::Str(json)] => json.clone(),
            other => return Err(internal(format!("unexpected list of rounds {other:?}"))),
        },
        rows => {
            return Err(internal(format!(
                "expected one row of rounds, got {}",
                rows.len()
            )));
        }
    };
    rounds::parse(&json, configured).map_err(|error| internal(format!("{error:#}")))
}

fn internal(detail: String) -> Refusal {
    eprintln!("admin: {detail}");
    Refusal::new(
        500,
        "The rounds could not be read; see the server log.".into(),
    )
}

/// A round's results as `results.csv` or `results.json`.
pub fn download(number: &str, file: &str, configured: &Poll) -> Result<Reply, Refusal> {
    let not_found = || Refusal::new(404, format!("There is no round {number}."));
    let number: i64 = number.parse().map_err(|_| not_found())?;
    let rounds = list_rounds(configured)?;
    let round = rounds
        .iter()
        .find(|round| round.number == number)
        .ok_or_else(not_found)?;
    let attachment =
        |extension: &str| format!("attachment; filename=\"round-{number}.{extension}\"");
    match file {
        "results.csv" => Ok(Reply::new(200, "text/csv; charset=utf-8", round.to_csv())
            .header("content-disposition", &attachment("csv"))),
        "results.json" => {
            Ok(Reply::json(200, &round.to_json())
                .header("content-disposition", &attachment("json")))
        }
        _ => Err(Refusal::new(
            404,
            "Download results.csv or results.json.".into(),
        )),
    }
}

pub fn read_limit() -> Result<i64, Refusal> {
    let redis = redis_or_refusal(voting_glue::redis::open())?;
    let value = redis
        .get(NEW_VOTER_LIMIT_KEY)
        .context("reading the new-voter limit");
    let value = redis_or_refusal(value)?;
    Ok(value
        .and_then(|bytes| String::from_utf8_lossy(&bytes).trim().parse().ok())
        .unwrap_or(0))
}

pub fn set_limit(limit: i64) -> Result<i64, Refusal> {
    let redis = redis_or_refusal(voting_glue::redis::open())?;
    let stored = if limit == 0 {
        redis.del(&[NEW_VOTER_LIMIT_KEY.to_owned()]).map(|_| ())
    } else {
        redis.set(NEW_VOTER_LIMIT_KEY, &limit.to_string().into_bytes())
    };
    redis_or_refusal(stored.context("setting the new-voter limit"))?;
    Ok(limit)
}
