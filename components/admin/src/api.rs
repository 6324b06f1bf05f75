//! The JSON API for scripts, `/admin/api/…`, authorised by `Authorization: Bearer
//! <admin_token>` alone (no cookie, so nothing another site's page could make a browser send).

use spin_sdk::http::Method;
use voting_glue::reply::Reply;
use voting_shared::deck::deck_json;
use voting_shared::poll::Poll;
use voting_shared::questions::Mode;
use voting_shared::round::Round;
use voting_shared::session;

use crate::Asked;
use crate::access::{Interface, check_token};
use crate::actions::{
    self, MAX_NEW_VOTER_LIMIT, Refusal, change, clock, download, list_rounds, read_deck,
    replace_deck, set_limit,
};
use crate::qa;
use crate::rounds::RoundRecord;

/// Answers `path` (under `/admin/api`) for a request that carries the token.
pub fn handle(asked: &Asked, path: &str, token: &str, configured: &Poll) -> Reply {
    let given = asked.authorization.as_deref().and_then(session::bearer);
    if let Err(refusal) = check_token(asked, given, token, Interface::Api) {
        return refusal;
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let result = match (&asked.method, segments.as_slice()) {
        (Method::Get, ["rounds"]) => clock()
            .and_then(|now_ms| list_rounds(configured, now_ms))
            .map(|rounds| {
                let rounds: Vec<serde_json::Value> =
                    rounds.iter().map(RoundRecord::to_json).collect();
                Reply::json(200, &serde_json::json!({ "rounds": rounds }))
            }),
        (Method::Post, [name]) if actions::action(name).is_some() => {
            let action = actions::action(name).expect("checked by the guard");
            match (action.from_json)(&asked.body) {
                Ok(asked_for) => change(asked_for, configured).map(|round| {
                    let status = if action.starts_a_round { 201 } else { 200 };
                    Reply::json(status, &round_json(&round, configured))
                }),
                Err(message) => Err(Refusal::new(400, message)),
            }
        }
        (Method::Get, ["deck"]) => {
            read_deck().map(|deck| Reply::json(200, &deck_json(&deck.questions, deck.next)))
        }
        (Method::Put, ["deck"]) => match voting_shared::deck::parse_deck(&asked.body) {
            Ok(questions) => {
                replace_deck(&questions, None).map(|()| Reply::json(200, &deck_json(&questions, 1)))
            }
            Err(message) => Err(Refusal::new(400, message)),
        },
        (Method::Post, ["limit"]) => match limit_from_json(&asked.body) {
            Ok(limit) => set_limit(limit)
                .map(|limit| Reply::json(200, &serde_json::json!({ "new_voter_limit": limit }))),
            Err(message) => Err(Refusal::new(400, message)),
        },
        (Method::Get, ["rounds", number, file]) => download(number, file, configured),
        (Method::Get, ["questions"]) => {
            qa::read().map(|snapshot| Reply::json(200, &qa::snapshot_json(&snapshot)))
        }
        (Method::Get, ["questions.csv"]) => qa::read().map(|snapshot| {
            Reply::new(200, "text/csv; charset=utf-8", qa::csv(&snapshot)).header(
                "content-disposition",
                "attachment; filename=\"questions.csv\"",
            )
        }),
        (Method::Put, ["questions", "mode"]) => match mode_from_json(&asked.body) {
            Ok(mode) => qa::set_mode(mode).map(|snapshot| {
                Reply::json(200, &serde_json::json!({ "mode": snapshot.mode.as_str() }))
            }),
            Err(message) => Err(Refusal::new(400, message)),
        },
        (Method::Post, ["questions", id, action]) => {
            match (id.parse::<i64>(), qa::Moderation::parse(action)) {
                (Ok(id), Some(moderation)) => qa::moderate(id, moderation).and_then(|snapshot| {
                    let question = snapshot
                        .questions
                        .iter()
                        .find(|question| question.id == id)
                        .ok_or_else(|| Refusal::new(404, format!("There is no question {id}.")))?;
                    Ok(Reply::json(
                        200,
                        &qa::question_json(question, snapshot.highlighted),
                    ))
                }),
                (Err(_), Some(_)) => Err(Refusal::new(404, format!("There is no question {id}."))),
                (_, None) => Err(Refusal::new(
                    404,
                    "moderate with /approve, /hide, /answer or /highlight".into(),
                )),
            }
        }
        (
            _,
            route @ (["rounds"]
            | ["limit"]
            | ["deck"]
            | ["rounds", _, _]
            | ["questions"]
            | ["questions.csv"]
            | ["questions", "mode"]
            | ["questions", _, _]),
        ) => {
            return method_not_allowed(match route {
                ["rounds"] => "GET, POST",
                ["rounds", _, _] | ["questions"] | ["questions.csv"] => "GET",
                ["deck"] => "GET, PUT",
                ["questions", "mode"] => "PUT",
                _ => "POST",
            });
        }
        (_, [name]) if actions::action(name).is_some() => return method_not_allowed("POST"),
        _ => {
            let names: Vec<String> = actions::ACTIONS
                .iter()
                .map(|action| format!("/{}", action.name))
                .collect();
            Err(Refusal::new(
                404,
                format!(
                    "no such route: see docs/live-poll.md for /admin/api{}, /deck, /limit and \
                     /questions",
                    names.join(", ")
                ),
            ))
        }
    };
    result.unwrap_or_else(|refusal| {
        Reply::json(
            refusal.status,
            &serde_json::json!({ "error": refusal.message }),
        )
    })
}

fn method_not_allowed(allow: &str) -> Reply {
    let message = format!("use {allow} for this route");
    Reply::json(405, &serde_json::json!({ "error": message })).header("allow", allow)
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

/// The Q&A's mode: `{"mode": "off" | "open" | "moderated"}`.
fn mode_from_json(body: &[u8]) -> Result<Mode, String> {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    value["mode"].as_str().and_then(Mode::parse).ok_or_else(|| {
        r#"send {"mode": "off"}, {"mode": "open"} or {"mode": "moderated"}"#.to_owned()
    })
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
