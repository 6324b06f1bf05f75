//! The vote component: the voting page (`GET /`, `POST /` with a form) and the JSON API
//! (`POST /api/vote`), for the options of the poll. A vote is appended to the Redis list
//! `votes` and announced on the votes channel in one atomic script, one Redis round trip, which
//! also applies the optional limit on new voter ids per client address.

mod ballot;
mod client;
mod origin;
mod page;
mod voter;

use std::net::IpAddr;

use anyhow::{Context, bail};
use futures::StreamExt;
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;
use spin_sdk::redis::{Connection, RedisResult};
use voting_glue::doorbell;
use voting_glue::redis::{binary, eval};
use voting_glue::reply::{Reply, send};
use voting_glue::variable;
use voting_shared::choice::Choice;
use voting_shared::diagnosis::RedisProblem;
use voting_shared::poll::Poll;
use voting_shared::queue::{
    DOORBELL, ENQUEUE_SCRIPT, NEW_VOTER_LIMIT_KEY, NEW_VOTERS_KEY_PREFIX, REFUSED_BY_LIMIT,
    SEQUENCE_KEY, VOTES_KEY,
};

use crate::ballot::BadBallot;
use crate::page::Message;
use crate::voter::{CHOICE_COOKIE, VOTER_COOKIE, Voter};

/// Where the cookie-signing secret lives when the `cookie_secret` variable is empty.
const COOKIE_SECRET_KEY: &str = "voting:cookie_secret";
/// Creates the secret on first use; every instance then reads the same one.
const COOKIE_SECRET_SCRIPT: &str =
    "redis.call('SET', KEYS[1], ARGV[1], 'NX') return redis.call('GET', KEYS[1])";

/// Which interface a request came through, which decides how answers are written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Interface {
    Page,
    Api,
}

#[http_component]
async fn handle_vote(request: IncomingRequest, response_out: ResponseOutparam) {
    // A vote was queued exactly when a POST got a 2xx: then, once the answer is sent, ring
    // the worker's HTTP doorbell if there is one.
    let is_post = request.method() == Method::Post;
    let reply = match Poll::from_variables(variable) {
        Ok(poll) => route(request, &poll).await,
        Err(error) => {
            eprintln!("vote: {error:#}");
            Reply::text(
                500,
                "The voting page is misconfigured; see the server log.\n",
            )
        }
    };
    let queued = is_post && (200..300).contains(&reply.status);
    send(reply, "", response_out).await;
    if queued {
        ring_http_doorbell().await;
    }
}

/// On hosts without a Redis trigger the worker is a private endpoint; ringing it after the
/// answer is sent costs the voter nothing, and a failure only delays counting: the vote is
/// queued, and the next doorbell drains it.
async fn ring_http_doorbell() {
    let rung = match doorbell::http_doorbell() {
        Ok(Some(url)) => doorbell::ring(&url).await,
        Ok(None) => Ok(()),
        Err(error) => Err(error),
    };
    if let Err(error) = rung {
        eprintln!("vote: {error:#}");
    }
}

async fn route(request: IncomingRequest, poll: &Poll) -> Reply {
    let path = request.path_with_query().unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default();
    let api = path.trim_end_matches('/') == "/api/vote";
    let cookies = header_values(&request, "cookie");
    let current = voter::current_choice(&cookies, poll);
    if request.method() == Method::Post && is_cross_site(&request) {
        let interface = if api { Interface::Api } else { Interface::Page };
        let message = "votes from other sites are refused: vote on this site's own page";
        return error_reply(interface, 403, poll, current, message);
    }
    match (api, request.method()) {
        (true, Method::Post) => cast(request, Interface::Api, poll, &cookies).await,
        (true, _) => {
            error_reply(Interface::Api, 405, poll, None, "use POST").header("allow", "POST")
        }
        (false, Method::Get | Method::Head) => page_reply(200, poll, current, Message::Idle),
        (false, Method::Post) => cast(request, Interface::Page, poll, &cookies).await,
        (false, _) => error_reply(Interface::Page, 405, poll, current, "use GET or POST")
            .header("allow", "GET, HEAD, POST"),
    }
}

/// Whether the request comes from another site's page; the authority it was sent to is where
/// wasi-http carries `Host`.
fn is_cross_site(request: &IncomingRequest) -> bool {
    let first = |name| header_values(request, name).into_iter().next();
    let host = request.authority().or_else(|| first("host"));
    origin::is_cross_site(
        first("sec-fetch-site").as_deref(),
        first("origin").as_deref(),
        host.as_deref(),
    )
}

/// Validates the ballot, then queues it. Nothing is queued unless the ballot is valid.
async fn cast(
    request: IncomingRequest,
    interface: Interface,
    poll: &Poll,
    cookies: &[String],
) -> Reply {
    let current = voter::current_choice(cookies, poll);
    let client = client::address(&header_values(&request, "spin-client-addr"));
    let choice = match read_ballot(request, interface, poll).await {
        Ok(choice) => choice,
        Err(bad) => {
            return error_reply(interface, bad.status(), poll, current, &bad.message(poll));
        }
    };
    let voter = match queue_vote(voter::cookie(cookies, VOTER_COOKIE), choice, client) {
        Ok(Queued::Accepted(voter)) => voter,
        Ok(Queued::OverTheLimit { retry_after }) => {
            let message = format!(
                "too many new voters from your network this minute: try again in \
                 {retry_after} seconds. Your vote was not recorded."
            );
            return error_reply(interface, 429, poll, current, &message)
                .header("retry-after", &retry_after.to_string());
        }
        Err(error) => {
            let message = match voting_glue::redis::diagnose("vote", &error) {
                RedisProblem::NotAnswering => "voting is unavailable right now: Redis is not \
                     answering. Your vote was not recorded; please try again in a moment."
                    .to_owned(),
                problem => format!(
                    "voting is unavailable right now: {}. Your vote was not recorded.",
                    problem.advice()
                ),
            };
            return error_reply(interface, 503, poll, current, &message);
        }
    };
    let reply = match interface {
        Interface::Page => page_reply(200, poll, Some(choice), Message::Confirmation),
        Interface::Api => Reply::json(
            202,
            &serde_json::json!({ "voter_id": voter.id, "vote": choice.as_str() }),
        ),
    };
    let reply = match &voter.new_cookie {
        Some(value) => reply.header("set-cookie", &voter::set_cookie(VOTER_COOKIE, value)),
        None => reply,
    };
    reply.header(
        "set-cookie",
        &voter::set_cookie(CHOICE_COOKIE, choice.as_str()),
    )
}

async fn read_ballot(
    request: IncomingRequest,
    interface: Interface,
    poll: &Poll,
) -> Result<Choice, BadBallot> {
    let expected = match interface {
        Interface::Page => ballot::FORM,
        Interface::Api => ballot::JSON,
    };
    let content_type = header_values(&request, "content-type");
    if !ballot::has_content_type(content_type.first().map(String::as_str), expected) {
        return Err(BadBallot::WrongContentType { expected });
    }
    let declared_length = header_values(&request, "content-length")
        .first()
        .and_then(|length| length.parse::<usize>().ok());
    if declared_length.is_some_and(|length| length > ballot::MAX_BODY_BYTES) {
        return Err(BadBallot::TooLarge);
    }
    let mut body = Vec::new();
    let mut chunks = request.into_body_stream();
    while let Some(chunk) = chunks.next().await {
        body.extend(chunk.map_err(|_| BadBallot::Malformed("body"))?);
        if body.len() > ballot::MAX_BODY_BYTES {
            return Err(BadBallot::TooLarge);
        }
    }
    match interface {
        Interface::Page => ballot::from_form(&body, poll),
        Interface::Api => ballot::from_json(&body, poll),
    }
}

/// What became of a vote.
enum Queued {
    Accepted(Voter),
    /// Refused: a new voter id over the limit for the client's address; `retry_after` seconds
    /// until its minute ends.
    OverTheLimit {
        retry_after: u64,
    },
}

/// Identifies the voter and queues the vote: one Redis round trip when `cookie_secret` is set.
/// A new voter id from a known `client` counts against the new-voter limit.
fn queue_vote(
    cookie: Option<&str>,
    choice: Choice,
    client: Option<IpAddr>,
) -> anyhow::Result<Queued> {
    let channel = variable("votes_channel")?;
    let redis = voting_glue::redis::open()?;
    let secret = cookie_secret(&redis)?;
    let voter = voter::identify(cookie, secret.as_bytes(), random_bytes()?);
    let limited = client.filter(|_| voter.new_cookie.is_some());
    // A key is passed either way: Redis checks an ACL user's key patterns on every key an
    // EVAL declares, used or not.
    let (counter, retry_after) = match limited {
        Some(address) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("reading the clock")?;
            client::new_voters_key(NEW_VOTERS_KEY_PREFIX, address, now.as_secs())
        }
        None => (format!("{NEW_VOTERS_KEY_PREFIX}unlimited"), 0),
    };
    let arguments = [
        binary(&voter.id),
        binary(choice.as_str()),
        binary(&channel),
        binary(DOORBELL),
        binary(if limited.is_some() { "1" } else { "" }),
    ];
    let keys = [
        VOTES_KEY,
        SEQUENCE_KEY,
        NEW_VOTER_LIMIT_KEY,
        counter.as_str(),
    ];
    match eval(&redis, ENQUEUE_SCRIPT, &keys, &arguments)
        .context("queuing a vote in Redis")?
        .as_slice()
    {
        [RedisResult::Int64(REFUSED_BY_LIMIT)] => Ok(Queued::OverTheLimit { retry_after }),
        [RedisResult::Int64(_)] => Ok(Queued::Accepted(voter)),
        other => bail!("unexpected reply to the enqueue script: {other:?}"),
    }
}

/// The `cookie_secret` variable, or when it is empty a random secret kept in Redis.
fn cookie_secret(redis: &Connection) -> anyhow::Result<String> {
    let configured = variable("cookie_secret")?;
    if !configured.is_empty() {
        return Ok(configured);
    }
    let candidate = voter::hex(&random_bytes::<32>()?);
    match eval(
        redis,
        COOKIE_SECRET_SCRIPT,
        &[COOKIE_SECRET_KEY],
        &[binary(&candidate)],
    )
    .context("reading the cookie secret")?
    .as_slice()
    {
        [RedisResult::Binary(secret)] => Ok(String::from_utf8_lossy(secret).into_owned()),
        other => bail!("unexpected reply to the cookie secret script: {other:?}"),
    }
}

fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    Ok(bytes)
}

fn header_values(request: &IncomingRequest, name: &str) -> Vec<String> {
    request
        .headers()
        .get(name)
        .into_iter()
        .map(|value| String::from_utf8_lossy(&value).into_owned())
        .collect()
}

/// The voting page, showing `chosen` as the visitor's choice.
fn page_reply(status: u16, poll: &Poll, chosen: Option<Choice>, message: Message) -> Reply {
    Reply::html(status, page::render(poll, chosen, message))
}

/// An error answer in the interface's format: the page with a notice (and the visitor's
/// current choice still shown), or JSON.
fn error_reply(
    interface: Interface,
    status: u16,
    poll: &Poll,
    current: Option<Choice>,
    message: &str,
) -> Reply {
    match interface {
        Interface::Page => page_reply(status, poll, current, Message::Error(message)),
        Interface::Api => Reply::json(status, &serde_json::json!({ "error": message })),
    }
}
