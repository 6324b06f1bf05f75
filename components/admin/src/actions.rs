//! What the console and the API do. The actions on the round are one table, [`ACTIONS`], that
//! both read: each is made in PostgreSQL at Redis's clock (the clock the enqueue script enforces
//! deadlines by), then mirrored to Redis for the vote component, with the results the room
//! sees. Besides those: list the rounds, download one's results, read and edit the deck, read
//! and set the new-voter limit. Each answers a [`Refusal`] that says what happened, with the
//! details in the log.

use anyhow::Context;
use spin_sdk::pg4::{self, ParameterValue};
use spin_sdk::redis::Connection;
use voting_glue::postgres::{self, execute_with_schema, query_with_schema, single_integer};
use voting_glue::redis::{eval, integer};
use voting_glue::reply::Reply;
use voting_glue::round::{self, Current};
use voting_shared::deck::{MAX_SECONDS, Question, Visibility};
use voting_shared::poll::Poll;
use voting_shared::queue::NEW_VOTER_LIMIT_KEY;
use voting_shared::round::{PAUSE_SCRIPT, ROUND_KEY, Round};
use voting_shared::schema::{
    ADD_TIME, LIST_ROUNDS, NOT_FROM_ROUND, PAST_THE_DECK, REVEAL, SET_OPEN, START_NEXT, START_ROUND,
};

use crate::deck::{self, Deck};
use crate::pages;
use crate::rounds::{self, RoundRecord};

/// The most new voters per address and minute the console accepts as a limit.
pub const MAX_NEW_VOTER_LIMIT: i64 = 1_000_000;
/// What "add time" adds when not told how much, in seconds.
pub const ADDED_SECONDS: i64 = 30;

/// Why an action was refused or failed, for the answer; the log has the details.
#[derive(Debug)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new round asking this question.
    Start(Question),
    /// A new round with the current round's poll and results mode, without a time limit (a
    /// reset).
    Again,
    /// A new round asking the deck's next question; with `from_round`, only if that round is
    /// still the current one, so that a second press (or a second presenter) moves on once.
    Next {
        from_round: Option<i64>,
    },
    SetOpen(bool),
    /// This many more seconds to vote (opening voting again if it had closed).
    AddTime(i64),
    /// Show the current round's results to everyone.
    Reveal,
}

/// A console form's fields, by name (empty when absent).
pub type FormFields<'a> = &'a dyn Fn(&str) -> String;

/// An action on the round, by the name the console's form (`POST /admin/<name>`) and the API
/// (`POST /admin/api/<name>`) give it. Adding an action is one more line of [`ACTIONS`].
pub struct Action {
    pub name: &'static str,
    /// Whether it starts a round (the API then answers 201 Created, else 200).
    pub starts_a_round: bool,
    /// The change a JSON body asks for; the error says what to send.
    pub from_json: fn(&[u8]) -> Result<Change, String>,
    /// The change a console form asks for, `field` reading its fields; the error says what to
    /// change.
    pub from_form: fn(FormFields) -> Result<Change, String>,
}

pub const ACTIONS: [Action; 7] = [
    Action {
        name: "rounds",
        starts_a_round: true,
        from_json: start_from_json,
        from_form: start_from_form,
    },
    Action {
        name: "reset",
        starts_a_round: true,
        from_json: |_| Ok(Change::Again),
        from_form: |_| Ok(Change::Again),
    },
    Action {
        name: "next",
        starts_a_round: true,
        from_json: next_from_json,
        from_form: next_from_form,
    },
    Action {
        name: "close",
        starts_a_round: false,
        from_json: |_| Ok(Change::SetOpen(false)),
        from_form: |_| Ok(Change::SetOpen(false)),
    },
    Action {
        name: "open",
        starts_a_round: false,
        from_json: |_| Ok(Change::SetOpen(true)),
        from_form: |_| Ok(Change::SetOpen(true)),
    },
    Action {
        name: "reveal",
        starts_a_round: false,
        from_json: |_| Ok(Change::Reveal),
        from_form: |_| Ok(Change::Reveal),
    },
    Action {
        name: "time",
        starts_a_round: false,
        from_json: time_from_json,
        from_form: |_| Ok(Change::AddTime(ADDED_SECONDS)),
    },
];

/// The action called `name`, if there is one.
pub fn action(name: &str) -> Option<&'static Action> {
    ACTIONS.iter().find(|action| action.name == name)
}

/// A new round's question: `{"question": "…", "options": ["…", "…"]}`, and optionally who sees
/// its results and its time limit, as a deck's question.
fn start_from_json(body: &[u8]) -> Result<Change, String> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| {
        r#"send {"question": "…", "options": ["…", "…"]} as JSON (2 to 8 options)"#.to_owned()
    })?;
    Question::from_json(&value).map(Change::Start)
}

fn start_from_form(field: FormFields) -> Result<Change, String> {
    pages::question_from_form(field)
        .map(Change::Start)
        .map_err(|problem| format!("No new round: {problem}."))
}

/// `{"from_round": N}` to move on only from round N; an empty body or `{}`: from whichever.
fn next_from_json(body: &[u8]) -> Result<Change, String> {
    const FORMAT: &str = r#"send {"from_round": N}, N the round to move on from, or nothing"#;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Change::Next { from_round: None });
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| FORMAT.to_owned())?;
    let object = value.as_object().ok_or_else(|| FORMAT.to_owned())?;
    let from_round = match object.get("from_round") {
        None | Some(serde_json::Value::Null) => None,
        Some(round) => Some(
            round
                .as_i64()
                .filter(|round| *round >= 1)
                .ok_or_else(|| FORMAT.to_owned())?,
        ),
    };
    Ok(Change::Next { from_round })
}

fn next_from_form(field: FormFields) -> Result<Change, String> {
    let from_round = match field("from_round").trim() {
        "" => None,
        text => Some(
            text.parse::<i64>()
                .ok()
                .filter(|round| *round >= 1)
                .ok_or("The form's round is not a round: reload the page.")?,
        ),
    };
    Ok(Change::Next { from_round })
}

/// The seconds to add: `{"seconds": N}`, 30 when the body is empty.
fn time_from_json(body: &[u8]) -> Result<Change, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Change::AddTime(ADDED_SECONDS));
    }
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    value["seconds"]
        .as_i64()
        .filter(|seconds| (1..=MAX_SECONDS).contains(seconds))
        .map(Change::AddTime)
        .ok_or_else(|| format!(r#"send {{"seconds": N}} with N from 1 to {MAX_SECONDS}"#))
}

/// What applying a change in PostgreSQL came to.
enum Applied {
    Done,
    /// Refused, nothing changed: …the deck's questions have all been asked.
    PastTheDeck,
    /// …the round to move on from is no longer the current one.
    NotFromRound,
}

/// Makes `change` in PostgreSQL and mirrors the round it leaves to Redis, with its results;
/// answers that round. A next question past the deck's last, or from a round that is no
/// longer current, is refused (409) and changes nothing.
pub fn change(change: Change, configured: &Poll) -> Result<Round, Refusal> {
    let database = postgres_or_refusal(postgres::open())?;
    let before = postgres_or_refusal(round::current(&database))?;
    if let Change::Next { from_round } = change {
        if from_round.is_some_and(|round| round != before.round.number) {
            return Err(not_from_round(from_round, before.round.number));
        }
        let deck = postgres_or_refusal(deck::read(&database))?;
        if deck.next > deck.questions.len() {
            return Err(past_the_deck(deck.questions.len()));
        }
    }
    let redis = redis_or_refusal(voting_glue::redis::open())?;
    let now_ms = redis_or_refusal(pause(&redis))?;
    let refusal = match apply(&database, &change, &before.round, configured, now_ms) {
        Ok(Applied::Done) => None,
        Ok(Applied::PastTheDeck) => {
            let deck = postgres_or_refusal(deck::read(&database))?;
            Some(past_the_deck(deck.questions.len()))
        }
        Ok(Applied::NotFromRound) => Some(not_from_round(None, before.round.number)),
        Err(error) => Some(postgres_refusal(error)),
    };
    if let Some(refusal) = refusal {
        // Voting resumes under whatever round is current: another change may have been made
        // meanwhile. If that fails too, the worker restores the mirror at the next vote.
        if let Err(error) = resume(&database, &redis, configured) {
            eprintln!("admin: resuming voting after a refused change: {error:#}");
        }
        return Err(refusal);
    }
    let after = round::current(&database).map_err(|error| {
        let problem = postgres::diagnose("admin", &error);
        Refusal::new(
            503,
            format!(
                "The change is saved, but it could not be read back: {}. The voting page \
                 catches up by itself at the next vote; there is no need to do it again.",
                problem.advice()
            ),
        )
    })?;
    publish(&redis, &after, configured).map_err(|error| {
        let problem = voting_glue::redis::diagnose("admin", &error);
        Refusal::new(
            503,
            format!(
                "Round {} is saved, but the voting page could not be told: {}. Voting \
                 resumes as soon as Redis answers and someone votes; there is no need to do \
                 it again.",
                after.round.number,
                problem.advice()
            ),
        )
    })?;
    Ok(after.round)
}

/// Removes the round's mirror, so that no vote is taken while the round changes, and answers
/// Redis's clock, by which the change is made.
fn pause(redis: &Connection) -> anyhow::Result<i64> {
    let reply =
        eval(redis, PAUSE_SCRIPT, &[ROUND_KEY], &[]).context("pausing voting for the change")?;
    integer(&reply).context("pausing voting for the change")
}

/// Mirrors the round PostgreSQL has now, and its results.
fn resume(database: &pg4::Connection, redis: &Connection, configured: &Poll) -> anyhow::Result<()> {
    let current = round::current(database)?;
    publish(redis, &current, configured)
}

/// Mirrors `current` for the vote component and keeps its results for the room.
fn publish(redis: &Connection, current: &Current, configured: &Poll) -> anyhow::Result<()> {
    round::mirror(redis, current, false)?;
    round::keep_results(redis, current, configured)?;
    Ok(())
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

fn not_from_round(from_round: Option<i64>, current: i64) -> Refusal {
    let asked = from_round
        .map(|round| format!(" from round {round}"))
        .unwrap_or_default();
    Refusal::new(
        409,
        format!(
            "Nothing changed: you asked to move on{asked}, but round {current} has started \
             since (a second press, or another presenter). Round {current} is on."
        ),
    )
}

/// Makes `change` in PostgreSQL at Redis's clock `now_ms`.
fn apply(
    database: &pg4::Connection,
    change: &Change,
    before: &Round,
    configured: &Poll,
    now_ms: i64,
) -> anyhow::Result<Applied> {
    let current = before.ballot(configured);
    let asked = [
        ParameterValue::Str(current.question().to_owned()),
        ParameterValue::Str(current.labels_json()),
    ];
    let start =
        |poll: &Poll, results: Visibility, seconds: Option<i64>| -> anyhow::Result<Applied> {
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
                ParameterValue::Int64(now_ms),
            ];
            query_with_schema(database, START_ROUND, &parameters).context("starting a round")?;
            Ok(Applied::Done)
        };
    let update = |statement: &str, parameters: &[ParameterValue], what: &str| {
        execute_with_schema(database, statement, parameters)
            .with_context(|| what.to_owned())
            .map(|_| Applied::Done)
    };
    let now = ParameterValue::Int64(now_ms);
    match change {
        Change::Start(question) => start(&question.poll, question.results, question.seconds),
        Change::Again => start(current, before.results, None),
        Change::Next { from_round } => {
            let parameters = [
                asked[0].clone(),
                asked[1].clone(),
                from_round.map_or(ParameterValue::DbNull, ParameterValue::Int64),
                now,
            ];
            let started = query_with_schema(database, START_NEXT, &parameters)
                .context("starting the deck's next question")?;
            Ok(
                match single_integer(&started).context("starting the deck's next question")? {
                    PAST_THE_DECK => Applied::PastTheDeck,
                    NOT_FROM_ROUND => Applied::NotFromRound,
                    _ => Applied::Done,
                },
            )
        }
        Change::SetOpen(open) => update(
            SET_OPEN,
            &[ParameterValue::Boolean(*open), now],
            if *open {
                "opening voting"
            } else {
                "closing voting"
            },
        ),
        Change::AddTime(seconds) => update(
            ADD_TIME,
            &[ParameterValue::Int64(*seconds), now],
            "adding time to vote",
        ),
        Change::Reveal => update(REVEAL, &[now], "revealing the results"),
    }
}

/// The deck.
pub fn read_deck() -> Result<Deck, Refusal> {
    let database = postgres_or_refusal(postgres::open())?;
    postgres_or_refusal(deck::read(&database))
}

/// Replaces the deck, starting again at its first question. With `shown`, the version of the
/// deck the console showed, only if the deck has not changed since.
pub fn replace_deck(questions: &[Question], shown: Option<i64>) -> Result<(), Refusal> {
    let database = postgres_or_refusal(postgres::open())?;
    let expected = match shown {
        Some(version) => {
            let deck = postgres_or_refusal(deck::read(&database))?;
            if deck.version != version {
                return Err(stale_deck());
            }
            Some(deck)
        }
        None => None,
    };
    match postgres_or_refusal(deck::replace(
        &database,
        questions,
        Some(1),
        expected.as_ref(),
    ))? {
        true => Ok(()),
        false => Err(stale_deck()),
    }
}

/// Makes `edit` to the deck the console showed at version `shown`; a bad edit is refused (400)
/// and an edit of a deck changed since (409), and nothing changes.
pub fn edit_deck(edit: deck::Edit, shown: i64) -> Result<(), Refusal> {
    let database = postgres_or_refusal(postgres::open())?;
    let deck = postgres_or_refusal(deck::read(&database))?;
    if deck.version != shown {
        return Err(stale_deck());
    }
    let (questions, next) = deck::edited(deck.questions.clone(), deck.next, edit)
        .map_err(|problem| Refusal::new(400, problem))?;
    match postgres_or_refusal(deck::replace(
        &database,
        &questions,
        Some(next),
        Some(&deck),
    ))? {
        true => Ok(()),
        false => Err(stale_deck()),
    }
}

fn stale_deck() -> Refusal {
    Refusal::new(
        409,
        "Nothing changed: the deck changed since this page showed it (another edit, or the \
         next question started). Reload the console and make the edit again."
            .into(),
    )
}

/// Every round with its results, oldest first, as Redis's clock `now_ms` sees them.
pub fn list_rounds(configured: &Poll, now_ms: i64) -> Result<Vec<RoundRecord>, Refusal> {
    let database = postgres_or_refusal(postgres::open())?;
    let listed = query_with_schema(&database, LIST_ROUNDS, &[]).context("listing the rounds");
    let listed = postgres_or_refusal(listed)?;
    let json = postgres::single_text(&listed).map_err(|error| internal(format!("{error:#}")))?;
    rounds::parse(json, configured, now_ms).map_err(|error| internal(format!("{error:#}")))
}

fn internal(detail: String) -> Refusal {
    eprintln!("admin: {detail}");
    Refusal::new(
        500,
        "The rounds could not be read; see the server log.".into(),
    )
}

/// Redis's clock (ms), by which every deadline is set, enforced and shown.
pub fn clock() -> Result<i64, Refusal> {
    let redis = redis_or_refusal(voting_glue::redis::open())?;
    redis_or_refusal(voting_glue::redis::clock_ms(&redis))
}

/// A round's results as `results.csv` or `results.json`.
pub fn download(number: &str, file: &str, configured: &Poll) -> Result<Reply, Refusal> {
    let not_found = || Refusal::new(404, format!("There is no round {number}."));
    let number: i64 = number.parse().map_err(|_| not_found())?;
    let rounds = list_rounds(configured, clock()?)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_one_name() {
        let mut names: Vec<&str> = ACTIONS.iter().map(|action| action.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ACTIONS.len());
        assert!(action("next").is_some_and(|next| next.starts_a_round));
        assert!(action("close").is_some_and(|close| !close.starts_a_round));
        assert!(action("limit").is_none(), "not an action on the round");
    }

    #[test]
    fn next_moves_on_from_the_round_it_names() {
        let next = action("next").unwrap();
        assert_eq!(
            (next.from_json)(br#"{"from_round": 3}"#),
            Ok(Change::Next {
                from_round: Some(3)
            })
        );
        assert_eq!((next.from_json)(b""), Ok(Change::Next { from_round: None }));
        assert_eq!(
            (next.from_json)(b"{}"),
            Ok(Change::Next { from_round: None })
        );
        for bad in [
            &br#"{"from_round": 0}"#[..],
            br#"{"from_round": "3"}"#,
            b"[",
            b"3",
        ] {
            let problem = (next.from_json)(bad).unwrap_err();
            assert!(problem.contains("from_round"), "{problem}");
        }
        let form = |value: &'static str| {
            move |name: &str| {
                if name == "from_round" {
                    value.to_owned()
                } else {
                    String::new()
                }
            }
        };
        assert_eq!(
            (next.from_form)(&form("2")),
            Ok(Change::Next {
                from_round: Some(2)
            })
        );
        assert!((next.from_form)(&form("two")).is_err());
    }

    #[test]
    fn time_takes_seconds_or_thirty() {
        let time = action("time").unwrap();
        assert_eq!((time.from_json)(b" "), Ok(Change::AddTime(ADDED_SECONDS)));
        assert_eq!(
            (time.from_json)(br#"{"seconds": 90}"#),
            Ok(Change::AddTime(90))
        );
        assert!((time.from_json)(br#"{"seconds": 0}"#).is_err());
    }
}
