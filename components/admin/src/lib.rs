//! The admin component: the presenter's console (`/admin`, a session cookie after signing in
//! with the `admin_token`) and the same actions as a JSON API for scripts (`/admin/api/…`, with
//! `Authorization: Bearer <admin_token>`): start a round (new options, or the same ones again),
//! close and reopen voting, set the new-voter limit, list the rounds and download each one's
//! results. Without `admin_token` every admin route answers 404, as if it did not exist.
//!
//! A change to the round is made in PostgreSQL, the source of truth, and then mirrored to
//! Redis for the vote component. The mirror is removed first, so that while the change is
//! under way no vote is taken under the old state; if the change fails the old mirror is put
//! back, and if Redis then fails too, the worker restores the mirror at the next vote.
//!
//! # Layout
//!
//! - [`rounds`]: every round's results, and their CSV and JSON downloads.
//! - [`console`]: the sign-in page, the console page and what its forms send.

mod console;
mod rounds;

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use futures::StreamExt;
use serde::Deserialize;
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;
use spin_sdk::pg4::{self, DbValue, ParameterValue};
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
use voting_glue::redis::{binary, eval};
use voting_glue::reply::{Reply, send};
use voting_glue::{postgres, round, variable};
use voting_shared::poll::Poll;
use voting_shared::queue::NEW_VOTER_LIMIT_KEY;
use voting_shared::round::{ROUND_KEY, Round};
use voting_shared::schema::{LIST_ROUNDS, SET_OPEN, START_ROUND};
use voting_shared::{client, origin, session};

use crate::rounds::RoundRecord;
use voting_shared::session::SESSION_COOKIE;

/// The largest request body read: a new round's question and eight labels fit many times.
const MAX_BODY_BYTES: usize = 16 * 1024;
/// Failed sign-ins (or Bearer tokens) one address may make per window, and the window.
const MAX_FAILURES: i64 = 5;
const FAILURE_WINDOW_SECONDS: i64 = 60;
/// The most new voters per address and minute the console accepts as a limit.
const MAX_NEW_VOTER_LIMIT: i64 = 1_000_000;
const FAILURES_KEY_PREFIX: &str = "voting:admin-failures:";
const SESSION_KEY_PREFIX: &str = "voting:admin-session:";

/// Whether an address may try a token now: 0, or 1 and the seconds until it may. KEYS: its
/// failure count. ARGV: the most failures allowed.
const GATE_SCRIPT: &str = r#"
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then
  return {1, math.max(redis.call('TTL', KEYS[1]), 1)}
end
return {0, 0}
"#;

/// Counts a failed attempt. KEYS: the address's failure count. ARGV: the window in seconds.
/// Returns the count in this window.
const FAILURE_SCRIPT: &str = r#"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"#;

#[http_component]
async fn handle_admin(request: IncomingRequest, response_out: ResponseOutparam) {
    let reply = match variable("admin_token") {
        Ok(token) if token.is_empty() => Reply::empty(404),
        Ok(token) => respond(request, &token).await,
        Err(error) => {
            eprintln!("admin: {error:#}");
            Reply::empty(404)
        }
    };
    send(reply.header("cache-control", "no-store"), "", response_out).await;
}

/// What a handler needs to know of the request.
struct Asked {
    method: Method,
    path: String,
    client: Option<IpAddr>,
    authorization: Option<String>,
    session: Option<String>,
    cross_site: bool,
    https: bool,
    body: Vec<u8>,
}

async fn respond(request: IncomingRequest, token: &str) -> Reply {
    let asked = match read(request).await {
        Ok(asked) => asked,
        Err(reply) => return reply,
    };
    let configured = match Poll::from_variables(variable) {
        Ok(poll) => poll,
        Err(error) => {
            eprintln!("admin: {error:#}");
            return Reply::text(500, "The console is misconfigured; see the server log.\n");
        }
    };
    let path = asked.path.trim_end_matches('/').to_owned();
    match path.strip_prefix("/admin/api") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            api(&asked, rest, token, &configured)
        }
        _ => console(&asked, &path, token, &configured),
    }
}

async fn read(request: IncomingRequest) -> Result<Asked, Reply> {
    let values = |name: &str| -> Vec<String> {
        request
            .headers()
            .get(name)
            .into_iter()
            .map(|value| String::from_utf8_lossy(&value).into_owned())
            .collect()
    };
    let first = |name: &str| values(name).into_iter().next();
    let path = request.path_with_query().unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default().to_owned();
    let host = request.authority().or_else(|| first("host"));
    let cross_site = origin::is_cross_site(
        first("sec-fetch-site").as_deref(),
        first("origin").as_deref(),
        host.as_deref(),
    );
    let public_url = variable("public_url").unwrap_or_default();
    let https = public_url.to_ascii_lowercase().starts_with("https://")
        || first("x-forwarded-proto").is_some_and(|proto| proto.trim() == "https");
    let session = values("cookie")
        .iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned());
    let mut asked = Asked {
        method: request.method(),
        path,
        client: client::address(&values("spin-client-addr")),
        authorization: first("authorization"),
        session,
        cross_site,
        https,
        body: Vec::new(),
    };
    let too_large = || Reply::text(413, "The body is too large for the console.\n");
    if first("content-length")
        .and_then(|length| length.parse::<usize>().ok())
        .is_some_and(|length| length > MAX_BODY_BYTES)
    {
        return Err(too_large());
    }
    let mut chunks = request.into_body_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| Reply::text(400, "The body could not be read.\n"))?;
        asked.body.extend(chunk);
        if asked.body.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
    }
    Ok(asked)
}

// ---- The JSON API -------------------------------------------------------------------------

fn api(asked: &Asked, path: &str, token: &str, configured: &Poll) -> Reply {
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
            Ok(poll) => change(Change::Start(poll), configured)
                .map(|round| Reply::json(201, &round_json(&round, configured))),
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
        (_, ["rounds"] | ["close"] | ["open"] | ["limit"] | ["rounds", _, _]) => {
            return Reply::json(
                405,
                &serde_json::json!({ "error": "wrong method for this route" }),
            );
        }
        _ => Err(Refusal::new(
            404,
            "no such route: see README for /admin/api/rounds, /close, /open and /limit".into(),
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
    })
}

#[derive(Deserialize)]
struct NewRound {
    #[serde(default)]
    question: String,
    options: Vec<String>,
}

fn new_round_from_json(body: &[u8]) -> Result<Poll, String> {
    let new: NewRound = serde_json::from_slice(body).map_err(|_| {
        r#"send {"question": "…", "options": ["…", "…"]} as JSON (2 to 8 options)"#.to_owned()
    })?;
    Poll::with_question(&new.question, &new.options).map_err(|problem| problem.to_string())
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

// ---- The console --------------------------------------------------------------------------

fn console(asked: &Asked, path: &str, token: &str, configured: &Poll) -> Reply {
    if asked.method == Method::Post && asked.cross_site {
        return Reply::text(
            403,
            "Changes from other sites are refused: use the console itself.\n",
        );
    }
    match (&asked.method, path) {
        (Method::Post, "/admin/sign-in") => return sign_in(asked, token),
        (Method::Post, "/admin/sign-out") => return sign_out(asked, token),
        _ => {}
    }
    let signed_in = match signed_in(asked, token) {
        Ok(signed_in) => signed_in,
        Err(refusal) => {
            return Reply::html(refusal.status, console::sign_in(Some(&refusal.message)));
        }
    };
    if !signed_in {
        return match (&asked.method, path) {
            (Method::Get | Method::Head, "/admin") => Reply::html(200, console::sign_in(None)),
            _ => see_other("/admin"),
        };
    }
    let form = |name: &str| {
        form_urlencoded::parse(&asked.body)
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    let done = match (&asked.method, path) {
        (Method::Get | Method::Head, "/admin") => return console_page(configured, None, 200),
        (Method::Post, "/admin/rounds") => {
            match console::poll_from_form(&form("question"), &form("options")) {
                Ok(poll) => change(Change::Start(poll), configured).map(|_| ()),
                Err(problem) => Err(Refusal::new(400, format!("No new round: {problem}."))),
            }
        }
        (Method::Post, "/admin/reset") => change(Change::Again, configured).map(|_| ()),
        (Method::Post, "/admin/close") => change(Change::SetOpen(false), configured).map(|_| ()),
        (Method::Post, "/admin/open") => change(Change::SetOpen(true), configured).map(|_| ()),
        (Method::Post, "/admin/limit") => match form("limit").trim().parse::<i64>() {
            Ok(limit) if (0..=MAX_NEW_VOTER_LIMIT).contains(&limit) => set_limit(limit).map(|_| ()),
            _ => Err(Refusal::new(
                400,
                format!("The limit is a whole number from 0 (no limit) to {MAX_NEW_VOTER_LIMIT}."),
            )),
        },
        (Method::Get, _) => {
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            return match segments.as_slice() {
                ["admin", "rounds", number, file] => download(number, file, configured)
                    .unwrap_or_else(|refusal| {
                        Reply::text(refusal.status, &format!("{}\n", refusal.message))
                    }),
                _ => Reply::text(404, "Not found: the console is at /admin.\n"),
            };
        }
        _ => return Reply::text(405, "Use the console's own forms.\n").header("allow", "GET"),
    };
    match done {
        Ok(()) => see_other("/admin"),
        Err(refusal) => console_page(configured, Some(&refusal.message), refusal.status),
    }
}

fn console_page(configured: &Poll, notice: Option<&str>, status: u16) -> Reply {
    let shown = list_rounds(configured).and_then(|rounds| Ok((rounds, read_limit()?)));
    match shown {
        Ok((rounds, limit)) => Reply::html(status, console::render(&rounds, limit, notice)),
        Err(refusal) => Reply::html(
            refusal.status,
            console::render(&[], 0, Some(&refusal.message)),
        ),
    }
}

fn see_other(location: &str) -> Reply {
    Reply::empty(303).header("location", location)
}

/// Checks the token given at the sign-in form and opens a session.
fn sign_in(asked: &Asked, token: &str) -> Reply {
    let given = form_urlencoded::parse(&asked.body)
        .find(|(field, _)| field == "token")
        .map(|(_, value)| value.into_owned());
    if let Err(refusal) = check_token(asked, given.as_deref(), token, Interface::Console) {
        return refusal;
    }
    match open_session(token) {
        Ok(value) => {
            see_other("/admin").header("set-cookie", &session::set_cookie(&value, asked.https))
        }
        Err(refusal) => Reply::html(refusal.status, console::sign_in(Some(&refusal.message))),
    }
}

fn sign_out(asked: &Asked, token: &str) -> Reply {
    let now = unix_seconds();
    if let Some(id) = asked
        .session
        .as_deref()
        .and_then(|value| session::verify(token, value, now))
    {
        let ended = voting_glue::redis::open().and_then(|redis| {
            redis
                .del(&[format!("{SESSION_KEY_PREFIX}{id}")])
                .context("ending the session")
        });
        if let Err(error) = ended {
            let problem = voting_glue::redis::diagnose("admin", &error);
            let message = format!("You are still signed in: {}.", problem.advice());
            return Reply::html(503, console::sign_in(Some(&message)));
        }
    }
    see_other("/admin").header("set-cookie", &session::clear_cookie(asked.https))
}

/// Whether the request carries a live session: signed with the token, not expired, not ended.
fn signed_in(asked: &Asked, token: &str) -> Result<bool, Refusal> {
    let Some(id) = asked
        .session
        .as_deref()
        .and_then(|value| session::verify(token, value, unix_seconds()))
    else {
        return Ok(false);
    };
    let redis = redis_or_refusal(voting_glue::redis::open())?;
    let live = redis
        .get(&format!("{SESSION_KEY_PREFIX}{id}"))
        .context("checking the session");
    Ok(redis_or_refusal(live)?.is_some())
}

fn open_session(token: &str) -> Result<String, Refusal> {
    let mut random = [0u8; 16];
    getrandom::fill(&mut random)
        .map_err(|_| Refusal::new(503, "No randomness for a session: try again.".into()))?;
    let id = session::hex(&random);
    let expiry = unix_seconds() + session::SESSION_SECONDS;
    let redis = redis_or_refusal(voting_glue::redis::open())?;
    let stored = redis
        .execute(
            "SET",
            &[
                binary(format!("{SESSION_KEY_PREFIX}{id}")),
                binary("1"),
                binary("EX"),
                RedisParameter::Int64(session::SESSION_SECONDS as i64),
            ],
        )
        .context("storing the session");
    redis_or_refusal(stored)?;
    Ok(session::issue(token, &id, expiry))
}

// ---- The token and its failures -----------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Interface {
    Console,
    Api,
}

/// Lets a request through when `given` is the token; refuses it (and counts the failure
/// against its address) otherwise, and refuses an address with too many recent failures
/// without checking. The log names the address, never what was given.
fn check_token(
    asked: &Asked,
    given: Option<&str>,
    token: &str,
    interface: Interface,
) -> Result<(), Reply> {
    let refuse = |status: u16, message: &str| match interface {
        Interface::Api => Reply::json(status, &serde_json::json!({ "error": message }))
            .header("www-authenticate", "Bearer"),
        Interface::Console => Reply::html(status, console::sign_in(Some(message))),
    };
    let address = asked
        .client
        .map(|address| address.to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    let failures_key = format!("{FAILURES_KEY_PREFIX}{address}");
    let redis = match voting_glue::redis::open() {
        Ok(redis) => redis,
        Err(error) => {
            let problem = voting_glue::redis::diagnose("admin", &error);
            return Err(refuse(
                503,
                &format!("The console cannot check tokens now: {}.", problem.advice()),
            ));
        }
    };
    match gate(&redis, &failures_key) {
        Ok(None) => {}
        Ok(Some(retry_after)) => {
            let message = format!(
                "Too many wrong tokens from your address: try again in {retry_after} seconds."
            );
            return Err(refuse(429, &message).header("retry-after", &retry_after.to_string()));
        }
        Err(error) => {
            let problem = voting_glue::redis::diagnose("admin", &error);
            return Err(refuse(
                503,
                &format!("The console cannot check tokens now: {}.", problem.advice()),
            ));
        }
    }
    if given.is_some_and(|given| session::token_matches(given, token)) {
        return Ok(());
    }
    let count = eval(
        &redis,
        FAILURE_SCRIPT,
        &[&failures_key],
        &[RedisParameter::Int64(FAILURE_WINDOW_SECONDS)],
    );
    let count = match count.as_deref() {
        Ok([RedisResult::Int64(count)]) => count.to_string(),
        _ => "?".to_owned(),
    };
    eprintln!(
        "admin: a wrong or missing admin token from {address} ({count} in the last \
         {FAILURE_WINDOW_SECONDS} s; {MAX_FAILURES} are allowed)"
    );
    let message = match interface {
        Interface::Api => "send the admin token as Authorization: Bearer <admin_token>",
        Interface::Console => "That is not the admin token.",
    };
    Err(refuse(401, message))
}

/// `Some(seconds to wait)` when the address has used up its failures.
fn gate(redis: &Connection, failures_key: &str) -> anyhow::Result<Option<i64>> {
    let reply = eval(
        redis,
        GATE_SCRIPT,
        &[failures_key],
        &[RedisParameter::Int64(MAX_FAILURES)],
    )
    .context("checking failed sign-ins")?;
    match reply.as_slice() {
        [RedisResult::Int64(0), _] => Ok(None),
        [RedisResult::Int64(1), RedisResult::Int64(retry_after)] => Ok(Some(*retry_after)),
        other => bail!("unexpected reply checking failed sign-ins: {other:?}"),
    }
}

// ---- Actions ------------------------------------------------------------------------------

/// Why an action was refused or failed, for the answer; the log has the details.
struct Refusal {
    status: u16,
    message: String,
}

impl Refusal {
    fn new(status: u16, message: String) -> Refusal {
        Refusal { status, message }
    }
}

fn redis_or_refusal<T>(result: anyhow::Result<T>) -> Result<T, Refusal> {
    result.map_err(|error| {
        let problem = voting_glue::redis::diagnose("admin", &error);
        Refusal::new(503, format!("Nothing changed: {}.", problem.advice()))
    })
}

fn postgres_or_refusal<T>(result: anyhow::Result<T>) -> Result<T, Refusal> {
    result.map_err(postgres_refusal)
}

fn postgres_refusal(error: anyhow::Error) -> Refusal {
    let problem = postgres::diagnose("admin", &error);
    Refusal::new(503, format!("Nothing changed: {}.", problem.advice()))
}

/// A change to the round.
enum Change {
    /// A new round with this poll.
    Start(Poll),
    /// A new round with the current round's poll (a reset).
    Again,
    SetOpen(bool),
}

/// Makes `change` in PostgreSQL and mirrors the round it leaves to Redis; answers that round.
fn change(change: Change, configured: &Poll) -> Result<Round, Refusal> {
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
fn list_rounds(configured: &Poll) -> Result<Vec<RoundRecord>, Refusal> {
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
fn download(number: &str, file: &str, configured: &Poll) -> Result<Reply, Refusal> {
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

fn read_limit() -> Result<i64, Refusal> {
    let redis = redis_or_refusal(voting_glue::redis::open())?;
    let value = redis
        .get(NEW_VOTER_LIMIT_KEY)
        .context("reading the new-voter limit");
    let value = redis_or_refusal(value)?;
    Ok(value
        .and_then(|bytes| String::from_utf8_lossy(&bytes).trim().parse().ok())
        .unwrap_or(0))
}

fn set_limit(limit: i64) -> Result<i64, Refusal> {
    let redis = redis_or_refusal(voting_glue::redis::open())?;
    let stored = if limit == 0 {
        redis.del(&[NEW_VOTER_LIMIT_KEY.to_owned()]).map(|_| ())
    } else {
        redis.set(NEW_VOTER_LIMIT_KEY, &limit.to_string().into_bytes())
    };
    redis_or_refusal(stored.context("setting the new-voter limit"))?;
    Ok(limit)
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}
