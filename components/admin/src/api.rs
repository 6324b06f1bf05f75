//! The JSON API for scripts, `/admin/api/…`, authorised by `Authorization: Bearer
//! <admin_token>` alone (no cookie, so nothing another site's page could make a browser send).

use spin_sdk::http::Method;
use voting_glue::reply::Reply;
use voting_shared::deck::{MAX_SECONDS, Question};
use voting_shared::poll::Poll;
use voting_shared::round::Round;
use voting_shared::session;

use crate::Asked;
use crate::access::{Interface, check_token};
use crate::actions::{
    ADDED_SECONDS, Change, MAX_NEW_VOTER_LIMIT, Refusal, change, download, list_rounds, read_deck,
    replace_deck, set_limit,
};
use crate::rounds::RoundRecord;

/// Answers `path` (under `/admin/api`) for a request that carries the token.
pub fn handle(asked: &Asked, path: &str, token: &str, configured: &Poll) -> Reply {
    let given = asked.authorization.as_deref().and_then(session::bearer);
    if let Err(refusal) = check_token(asked, given, token, Interface::Api) {
        return refusal;
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let result = match (&asked.method, segments.as_slice()) {
        (Method::Get, ["rounds"]) => list_rounds(configured).map(|rounds| {
            let rounds: Vec<serde_json::Value> = rounds.iter().map(RoundRecord::to_json).collect();
            Reply::json(200, &serde_json::json!({ "rounds": rounds }))
        }),
        (Method::Post, ["rounds"]) => match new_round_from_json(&asked.body) {
            Ok(question) => change(Change::Start(question), configured)
                .map(|round| Reply::json(201, &round_json(&round, configured))),
            Err(message) => Err(Refusal::new(400, message)),
        },
        (Method::Post, ["next"]) => change(Change::Next, configured)
            .map(|round| Reply::json(201, &round_json(&round, configured))),
        (Method::Post, ["reveal"]) => change(Change::Reveal, configured)
            .map(|round| Reply::json(200, &round_json(&round, configured))),
        (Method::Post, ["time"]) => match seconds_from_json(&asked.body) {
            Ok(seconds) => change(Change::AddTime(seconds), configured)
                .map(|round| Reply::json(200, &round_json(&round, configured))),
            Err(message) => Err(Refusal::new(400, message)),
        },
        (Method::Get, ["deck"]) => read_deck().map(|(questions, next)| {
            Reply::json(200, &voting_shared::deck::deck_json(&questions, next))
        }),
        (Method::Put, ["deck"]) => match voting_shared::deck::parse_deck(&asked.body) {
            Ok(questions) => replace_deck(&questions, Some(1))
                .map(|()| Reply::json(200, &voting_shared::deck::deck_json(&questions, 1))),
            Err(message) => Err(Refusal::new(400, message)),
        },
        (Method::Post, ["close"]) => change(Change::SetOpen(false), configured)
            .map(|round| Reply::json(200, &round_json(&round, configured))),
        (Method::Post, ["open"]) => change(Change::SetOpen(true), configured)
            .map(|round| Reply::json(200, &round_json(&round, configured))),
        (Method::Post, ["limit"]) => match limit_from_json(&asked.body) {
            Ok(limit) => set_limit(limit)
                .map(|limit| Reply::json(200, &serde_json::json!({ "new_voter_limit": limit }))),
            Err(message) => Err(Refusal::new(400, message)),
        },
        (Method::Get, ["rounds", number, file]) => download(number, file, configured),
        (
            _,
            route @ (["rounds"]
            | ["close"]
            | ["open"]
            | ["limit"]
            | ["next"]
            | ["reveal"]
            | ["time"]
            | ["deck"]
            | ["rounds", _, _]),
        ) => {
            let allow = match route {
                ["rounds"] => "GET, POST",
                ["rounds", _, _] => "GET",
                ["deck"] => "GET, PUT",
                _ => "POST",
            };
            let message = format!("use {allow} for this route");
            return Reply::json(405, &serde_json::json!({ "error": message }))
                .header("allow", allow);
        }
        _ => Err(Refusal::new(
            404,
            "no such route: see docs/live-poll.md for /admin/api/rounds, /deck, /next, /close, \
             /open, /reveal, /time and /limit"
                .into(),
        )),
    };
    result.unwrap_or_else(|refusal| {
        Reply::json(
            refusal.status,
            &serde_json::json!({ "error": refusal.message }),
        )
    })
}

/// The current round as the API answers it.
fn round_json(round: &Round, configured: &Poll) -> serde_json::Value {
    let poll = round.ballot(configured);
    let options: Vec<serde_json::Value> = poll
        .options()
        .map(|(choice, label)| serde_json::json!({ "choice": choice.as_str(), "label": label }))
        .collect();
    serde_json::json!({
        "round": round.number,
        "open": round.open,
        "question": poll.question(),
        "options": options,
        "results": round.results.as_str(),
        "closes_at": round.closes_ms,
        "revealed": round.revealed,
    })
}

/// A new round's question: `{"question": "…", "options": ["…", "…"]}`, and optionally who sees
/// its results and its time limit, as a deck's question.
fn new_round_from_json(body: &[u8]) -> Result<Question, String> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| {
        r#"send {"question": "…", "options": ["…", "…"]} as JSON (2 to 8 options)"#.to_owned()
    })?;
    Question::from_json(&value)
}

/// The seconds to add: `{"seconds": N}`, 30 when the body is empty.
fn seconds_from_json(body: &[u8]) -> Result<i64, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ADDED_SECONDS);
    }
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    value["seconds"]
        .as_i64()
        .filter(|seconds| (1..=MAX_SECONDS).contains(seconds))
        .ok_or_else(|| format!(r#"send {{"seconds": N}} with N from 1 to {MAX_SECONDS}"#))
}

fn limit_from_json(body: &[u8]) -> Result<i64, String> {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    value["new_voter_limit"]
        .as_i64()
        .filter(|limit| (0..=MAX_NEW_VOTER_LIMIT).contains(limit))
        .ok_or_else(|| {
            format!(
                r#"send {{"new_voter_limit": N}} with N from 0 (no limit) to {MAX_NEW_VOTER_LIMIT}"#
            )
        })
}
