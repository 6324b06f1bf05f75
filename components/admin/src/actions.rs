//! What the console and the API do: change the round (in PostgreSQL, then its mirror in
//! Redis), list the rounds, download one's results, read and set the new-voter limit. Each
//! answers a [`Refusal`] that says what happened, with the details in the log.

use anyhow::Context;
use spin_sdk::pg4::{self, DbValue, ParameterValue};
use voting_glue::reply::Reply;
use voting_glue::{postgres, round};
use voting_shared::deck::{Question, Visibility};
use voting_shared::poll::Poll;
use voting_shared::queue::NEW_VOTER_LIMIT_KEY;
use voting_shared::round::{ROUND_KEY, Round};
use voting_shared::schema::{ADD_TIME, LIST_ROUNDS, REVEAL, SET_OPEN, START_NEXT, START_ROUND};

use crate::deck;
use crate::rounds::{self, RoundRecord};

/// The most new voters per address and minute the console accepts as a limit.
pub const MAX_NEW_VOTER_LIMIT: i64 = 1_000_000;
/// What "add time" adds when not told how much, in seconds.
pub const ADDED_SECONDS: i64 = 30;

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
    /// A new round asking this question.
    Start(Question),
    /// A new round with the current round's poll and results mode, without a time limit (a
    /// reset).
    Again,
    /// A new round asking the deck's next question.
    Next,
    SetOpen(bool),
    /// This many more seconds to vote (opening voting again if it had closed).
    AddTime(i64),
    /// Show the current round's results to everyone.
    Reveal,
}

/// Makes `change` in PostgreSQL and mirrors the round it leaves to Redis; answers that round.
/// Past the deck's last question, [`Change::Next`] is refused (409) and changes nothing.
pub fn change(change: Change, configured: &Poll) -> Result<Round, Refusal> {
    let database = postgres_or_refusal(postgres::open())?;
    if matches!(change, Change::Next) {
        let (questions, next) = postgres_or_refusal(deck::read(&database))?;
        if next > questions.len() {
            return Err(past_the_deck(questions.len()));
        }
    }
    let before = postgres_or_refusal(round::current(&database))?;
    let redis = redis_or_refusal(voting_glue::redis::open())?;
    redis_or_refusal(
        redis
            .del(&[ROUND_KEY.to_owned()])
            .context("pausing voting for the change"),
    )?;
    let changed = apply(&database, &change, &before, configured);
    if !matches!(changed, Ok(true)) {
        // Put the old state back; if that fails too, the worker restores it at the next vote.
        if let Err(error) = round::mirror(&redis, &before, true) {
            voting_glue::redis::diagnose("admin", &error);
        }
        return Err(match changed {
            Err(error) => postgres_refusal(error),
            _ => {
                let (questions, _) = postgres_or_refusal(deck::read(&database))?;
                past_the_deck(questions.len())
            }
        });
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

fn past_the_deck(questions: usize) -> Refusal {
    Refusal::new(
        409,
        format!(
            "Nothing changed: the deck's {questions} questions have all been asked. Add \
             questions to the deck, or start a round by hand."
        ),
    )
}

/// Makes `change` in PostgreSQL; answers whether there was anything to change (a next
/// question past the deck's last has none).
fn apply(
    database: &pg4::Connection,
    change: &Change,
    before: &Round,
    configured: &Poll,
) -> anyhow::Result<bool> {
    let current = before.ballot(configured);
    let asked = [
        ParameterValue::Str(current.question().to_owned()),
        ParameterValue::Str(current.labels_json()),
    ];
    let start = |poll: &Poll, results: Visibility, seconds: Option<i64>| -> anyhow::Result<bool> {
        let parameters = [
            ParameterValue::Str(poll.question().to_owned()),
            ParameterValue::Str(poll.labels_json()),
            asked[0].clone(),
            asked[1].clone(),
            ParameterValue::Str(results.as_str().to_owned()),
            seconds.map_or(ParameterValue::DbNull, |seconds| {
                ParameterValue::Int32(seconds as i32)
            }),
            ParameterValue::DbNull,
        ];
        round::query_with_schema(database, START_ROUND, &parameters).context("starting a round")?;
        Ok(true)
    };
    let update = |statement: &str, parameters: &[ParameterValue], what: &str| {
        round::execute_with_schema(database, statement, parameters)
            .with_context(|| what.to_owned())
            .map(|_| true)
    };
    match change {
        Change::Start(question) => start(&question.poll, question.results, question.seconds),
        Change::Again => start(current, before.results, None),
        Change::Next => {
            let started = round::query_with_schema(database, START_NEXT, &asked)
                .context("starting the deck's next question")?;
            match started.rows.as_slice() {
                [row] => Ok(!matches!(row.as_slice(), [DbValue::Int64(0)])),
                rows => anyhow::bail!("expected one row starting the next question, got {rows:?}"),
            }
        }
        Change::SetOpen(open) => update(
            SET_OPEN,
            &[ParameterValue::Boolean(*open)],
            if *open {
                "opening voting"
            } else {
                "closing voting"
            },
        ),
        Change::AddTime(seconds) => update(
            ADD_TIME,
            &[ParameterValue::Int64(*seconds)],
            "adding time to vote",
        ),
        Change::Reveal => update(REVEAL, &[], "revealing the results"),
    }
}

/// The deck and the position of its next question.
pub fn read_deck() -> Result<(Vec<Question>, usize), Refusal> {
    let database = postgres_or_refusal(postgres::open())?;
    postgres_or_refusal(deck::read(&database))
}

/// Replaces the deck; `next` as [`deck::replace`] takes it.
pub fn replace_deck(questions: &[Question], next: Option<usize>) -> Result<(), Refusal> {
    let database = postgres_or_refusal(postgres::open())?;
    postgres_or_refusal(deck::replace(&database, questions, next))
}

/// Makes `edit` to the deck; a bad edit is refused (400) and changes nothing.
pub fn edit_deck(edit: deck::Edit) -> Result<(), Refusal> {
    let database = postgres_or_refusal(postgres::open())?;
    let (questions, next) = postgres_or_refusal(deck::read(&database))?;
    let (questions, next) =
        deck::edited(questions, next, edit).map_err(|problem| Refusal::new(400, problem))?;
    postgres_or_refusal(deck::replace(&database, &questions, Some(next)))
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
