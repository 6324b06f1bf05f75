//! The vote component: the voting page (`GET /`, `POST /` with a form) and the JSON API
//! (`POST /api/vote`), for the current round's options. It reads only Redis: the page reads
//! the round's mirror, and a vote is checked against it (open, on the ballot), stamped with
//! the round, appended to the Redis list `votes` and announced on the votes channel in one
//! atomic script, one Redis round trip, which also applies the optional limit on new voter ids
//! per client address.

mod ballot;
mod page;
mod voter;

use std::net::IpAddr;

use anyhow::{Context, bail};
use futures::StreamExt;
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
use voting_glue::doorbell;
use voting_glue::headers::Headers;
use voting_glue::redis::{binary, eval};
use voting_glue::reply::{Reply, send};
use voting_glue::variable;
use voting_shared::choice::Choice;
use voting_shared::client::{self, LIMIT_WINDOW_SECONDS, NEW_VOTERS_KEY_PREFIX};
use voting_shared::diagnosis::RedisProblem;
use voting_shared::doorbell::{DOORBELL_KEY, LEASE_MS, VOTE_RING};
use voting_shared::poll::Poll;
use voting_shared::queue::{
    ENQUEUE_SCRIPT, NEW_VOTER_LIMIT_KEY, REFUSED_BY_LIMIT, REFUSED_CLOSED, REFUSED_NO_ROUND,
    REFUSED_NOT_ON_BALLOT, SEQUENCE_KEY, VOTES_KEY,
};
use voting_shared::round::{
    MirrorFields, NO_ROUND, READ_ROUND_SCRIPT, ROUND_KEY, Round, choices_of,
};
use voting_shared::{hex, origin};

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
    let handled = match Poll::from_variables(variable) {
        Ok(configured) => route(request, &configured).await,
        Err(error) => {
            eprintln!("vote: {error:#}");
            let reply = Reply::text(
                500,
                "The voting page is misconfigured; see the server log.\n",
            );
            Handled::answer(reply)
        }
    };
    send(handled.reply, response_out).await;
    if handled.ring_worker {
        ring_http_doorbell().await;
    }
}

/// An answer, and whether to ring the worker's HTTP doorbell once it is sent: after a vote that
/// found no worker rung or draining, or when the round's mirror is missing (the worker
/// restores it).
struct Handled {
    reply: Reply,
    ring_worker: bool,
}

impl Handled {
    fn answer(reply: Reply) -> Handled {
        Handled {
            reply,
            ring_worker: false,
        }
    }
}

/// On hosts without a Redis trigger the worker is a private endpoint; ringing it after the
/// answer is sent costs the voter nothing, and a failure only delays counting: the vote is
/// queued, and the next doorbell drains it.
async fn ring_http_doorbell() {
    let rung = match doorbell::http_doorbell() {
        Ok(Some(url)) => doorbell::ring(&url, VOTE_RING).await,
        Ok(None) => Ok(()),
        Err(error) => Err(error),
    };
    if let Err(error) = rung {
        eprintln!("vote: {error:#}");
    }
}

async fn route(request: IncomingRequest, configured: &Poll) -> Handled {
    let path = request.path_with_query().unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default();
    let interface = if path.trim_end_matches('/') == "/api/vote" {
        Interface::Api
    } else {
        Interface::Page
    };
    let headers = Headers::of(&request);
    let cookies = headers.values("cookie");
    if request.method() == Method::Post && is_cross_site(&request, &headers) {
        let message = "votes from other sites are refused: vote on this site's own page";
        return refuse(interface, 403, configured, &cookies, message);
    }
    match (interface, request.method()) {
        (_, Method::Post) => cast(request, &headers, interface, configured, &cookies).await,
        (Interface::Api, _) => Handled::answer(
            error_reply(
                interface,
                405,
                &Ballot::unknown(configured),
                None,
                "use POST",
            )
            .header("allow", "POST"),
        ),
        (Interface::Page, Method::Get | Method::Head) => show_page(configured, &cookies),
        (Interface::Page, _) => {
            let reply = refuse(interface, 405, configured, &cookies, "use GET or POST");
            Handled::answer(reply.reply.header("allow", "GET, HEAD, POST"))
        }
    }
}

/// The current round's ballot as the pages show it, at Redis's clock when it was read.
struct Ballot<'a> {
    round: i64,
    open: bool,
    /// Seconds left to vote, for a round with a deadline.
    seconds_left: Option<i64>,
    /// Whether the results are shown on this page before voting, and after.
    results_before_voting: bool,
    results_after_voting: bool,
    poll: std::borrow::Cow<'a, Poll>,
}

impl<'a> Ballot<'a> {
    fn of((round, now_ms): (Round, i64), configured: &'a Poll) -> Ballot<'a> {
        let open = round.open_at(now_ms);
        let seconds_left = round.seconds_left(now_ms);
        let results_before_voting = round.counts_shown_to_voter(now_ms, false);
        let results_after_voting = round.counts_shown_to_voter(now_ms, true);
        let poll = match round.poll {
            Some(poll) => std::borrow::Cow::Owned(poll),
            None => std::borrow::Cow::Borrowed(configured),
        };
        Ballot {
            round: round.number,
            open,
            seconds_left,
            results_before_voting,
            results_after_voting,
            poll,
        }
    }

    /// The configured poll, for an answer where Redis could not tell the round.
    fn unknown(configured: &'a Poll) -> Ballot<'a> {
        Ballot {
            round: 1,
            open: true,
            seconds_left: None,
            results_before_voting: false,
            results_after_voting: false,
            poll: std::borrow::Cow::Borrowed(configured),
        }
    }

    /// How the page shows voting and the results to a visitor whose vote in this round is
    /// `chosen`.
    fn state(&self, chosen: Option<Choice>) -> page::State {
        page::State {
            open: self.open,
            seconds_left: self.seconds_left,
            results: if chosen.is_some() {
                self.results_after_voting
            } else {
                self.results_before_voting
            },
        }
    }

    fn current_choice(&self, cookies: &[String]) -> Option<Choice> {
        voter::current_choice(cookies, &self.poll, self.round)
    }
}

/// The voting page for the current round: one Redis round trip.
fn show_page(configured: &Poll, cookies: &[String]) -> Handled {
    match read_round() {
        Ok(Some(round)) => {
            let ballot = Ballot::of(round, configured);
            let current = ballot.current_choice(cookies);
            Handled::answer(page_reply(200, &ballot, current, Message::Idle))
        }
        Ok(None) => setting_up(Interface::Page, configured),
        Err(error) => {
            let message = unavailable(&error);
            Handled::answer(error_reply(
                Interface::Page,
                503,
                &Ballot::unknown(configured),
                None,
                &message,
            ))
        }
    }
}

/// A refusal before anything is queued, showing the current round when Redis can tell it.
fn refuse(
    interface: Interface,
    status: u16,
    configured: &Poll,
    cookies: &[String],
    message: &str,
) -> Handled {
    let round = read_round().ok().flatten();
    let ballot = match round {
        Some(round) => Ballot::of(round, configured),
        None => Ballot::unknown(configured),
    };
    let current = ballot.current_choice(cookies);
    Handled::answer(error_reply(interface, status, &ballot, current, message))
}

/// While the round's mirror is missing: voting waits for the worker to restore it (the
/// doorbell was rung, and is rung again over HTTP where there is no Redis trigger).
fn setting_up(interface: Interface, configured: &Poll) -> Handled {
    let message = "voting opens in a moment: the poll is being set up. Your vote was not \
                   recorded; this page reloads by itself.";
    let waiting = Ballot {
        open: false,
        ..Ballot::unknown(configured)
    };
    let reply = error_reply(interface, 503, &waiting, None, message)
        .header("retry-after", "2")
        .header("refresh", "2");
    Handled {
        reply,
        ring_worker: true,
    }
}

/// The current round from its mirror in Redis, and Redis's clock (ms); `None` when the mirror
/// is missing, and then the script has rung the doorbell for the worker to restore it.
fn read_round() -> anyhow::Result<Option<(Round, i64)>> {
    let channel = variable("votes_channel")?;
    let redis = voting_glue::redis::open()?;
    let reply = eval(
        &redis,
        READ_ROUND_SCRIPT,
        &[ROUND_KEY],
        &[binary(&channel), binary(VOTE_RING)],
    )
    .context("reading the current round from Redis")?;
    match reply.as_slice() {
        [RedisResult::Int64(NO_ROUND), ..] => Ok(None),
        [
            RedisResult::Int64(number),
            RedisResult::Int64(open),
            RedisResult::Binary(poll),
            rest @ ..,
        ] => Ok(Some(round_from_reply(*number, *open == 1, poll, rest)?)),
        other => bail!("unexpected reply reading the round: {other:?}"),
    }
}

/// The round a script read from its mirror: its number, whether it is open, its poll field,
/// then `rest`: its results field, deadline, whether revealed, and Redis's clock (ms).
fn round_from_reply(
    number: i64,
    open: bool,
    poll: &[u8],
    rest: &[RedisResult],
) -> anyhow::Result<(Round, i64)> {
    let [
        RedisResult::Binary(results),
        RedisResult::Int64(closes_ms),
        RedisResult::Int64(revealed),
        RedisResult::Int64(now_ms),
    ] = rest
    else {
        bail!("unexpected round in a script's reply: {rest:?}");
    };
    let fields = MirrorFields {
        number,
        open,
        poll: &String::from_utf8_lossy(poll),
        results: &String::from_utf8_lossy(results),
        closes_ms: *closes_ms,
        revealed: *revealed == 1,
    };
    let round = Round::from_fields(&fields).with_context(|| {
        format!("the mirror of round {number} in Redis ({ROUND_KEY}) is damaged")
    })?;
    Ok((round, *now_ms))
}

/// What a voter reads when Redis fails; the log gets the details.
fn unavailable(error: &anyhow::Error) -> String {
    match voting_glue::redis::diagnose("vote", error) {
        RedisProblem::NotAnswering => "voting is unavailable right now: Redis is not \
             answering. Your vote was not recorded; please try again in a moment."
            .to_owned(),
        problem => format!(
            "voting is unavailable right now: {}. Your vote was not recorded.",
            problem.advice()
        ),
    }
}

/// Whether the request comes from another site's page; the authority it was sent to is where
/// wasi-http carries `Host`.
fn is_cross_site(request: &IncomingRequest, headers: &Headers) -> bool {
    let host = request.authority().or_else(|| headers.first("host"));
    origin::is_cross_site(
        headers.first("sec-fetch-site").as_deref(),
        headers.first("origin").as_deref(),
        host.as_deref(),
    )
}

/// Validates the ballot, then queues it in the current round, if open and on its ballot.
/// Nothing is queued otherwise.
async fn cast(
    request: IncomingRequest,
    headers: &Headers,
    interface: Interface,
    configured: &Poll,
    cookies: &[String],
) -> Handled {
    let client = client::address(&headers.values("spin-client-addr"));
    let choice = match read_ballot(request, headers, interface).await {
        Ok(choice) => choice,
        Err(bad) => {
            let round = read_round().ok().flatten();
            let ballot = match round {
                Some(round) => Ballot::of(round, configured),
                None => Ballot::unknown(configured),
            };
            let current = ballot.current_choice(cookies);
            let message = bad.message(&ballot.poll);
            return Handled::answer(error_reply(
                interface,
                bad.status(),
                &ballot,
                current,
                &message,
            ));
        }
    };
    let configured_choices = choices_of(configured);
    let queued = queue_vote(
        voter::cookie(cookies, VOTER_COOKIE),
        choice,
        client,
        &configured_choices,
    );
    let (outcome, round) = match queued {
        Ok(queued) => queued,
        Err(error) => {
            let message = unavailable(&error);
            return Handled::answer(error_reply(
                interface,
                503,
                &Ballot::unknown(configured),
                None,
                &message,
            ));
        }
    };
    let Some(round) = round else {
        return setting_up(interface, configured);
    };
    let ballot = Ballot::of(round, configured);
    let current = ballot.current_choice(cookies);
    let (voter, rang) = match outcome {
        Queued::Accepted { voter, rang } => (voter, rang),
        Queued::Closed => {
            let message = "voting is closed: your vote was not recorded. The results stay up.";
            return Handled::answer(error_reply(interface, 409, &ballot, current, message));
        }
        Queued::NotOnBallot => {
            let message =
                BadBallot::UnknownOption(choice.as_str().to_owned()).message(&ballot.poll);
            return Handled::answer(error_reply(interface, 400, &ballot, current, &message));
        }
        Queued::OverTheLimit { retry_after } => {
            let message = format!(
                "too many new voters from your network: try again in {retry_after} seconds. \
                 Your vote was not recorded."
            );
            let reply = error_reply(interface, 429, &ballot, current, &message)
                .header("retry-after", &retry_after.to_string());
            return Handled::answer(reply);
        }
        Queued::NoRound => return setting_up(interface, configured),
    };
    let reply = match interface {
        Interface::Page => page_reply(200, &ballot, Some(choice), Message::Confirmation),
        Interface::Api => Reply::json(
            202,
            &serde_json::json!({ "voter_id": voter.id, "vote": choice.as_str(), "round": ballot.round }),
        ),
    };
    let reply = match &voter.new_cookie {
        Some(value) => reply.header("set-cookie", &voter::set_cookie(VOTER_COOKIE, value)),
        None => reply,
    };
    let reply = reply.header(
        "set-cookie",
        &voter::set_cookie(CHOICE_COOKIE, &voter::choice_cookie(choice, ballot.round)),
    );
    Handled {
        reply,
        ring_worker: rang,
    }
}

async fn read_ballot(
    request: IncomingRequest,
    headers: &Headers,
    interface: Interface,
) -> Result<Choice, BadBallot> {
    let expected = match interface {
        Interface::Page => ballot::FORM,
        Interface::Api => ballot::JSON,
    };
    let content_type = headers.values("content-type");
    if !ballot::has_content_type(content_type.first().map(String::as_str), expected) {
        return Err(BadBallot::WrongContentType { expected });
    }
    let declared_length = headers
        .values("content-length")
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
        Interface::Page => ballot::from_form(&body),
        Interface::Api => ballot::from_json(&body),
    }
}

/// What became of a vote.
enum Queued {
    /// Queued; `rang` when no worker was rung or draining yet, so this vote rang one (on hosts
    /// without a Redis trigger, it rings the worker itself once it has answered).
    Accepted { voter: Voter, rang: bool },
    /// Refused: voting is closed.
    Closed,
    /// Refused: the current round does not offer the choice.
    NotOnBallot,
    /// Refused: a new voter id over the limit for the client's address; `retry_after` seconds
    /// until its window closes.
    OverTheLimit { retry_after: i64 },
    /// Refused: the round's mirror is missing (the doorbell rang for the worker to restore it).
    NoRound,
}

/// Identifies the voter and queues the vote in the current round: one Redis round trip when
/// `cookie_secret` is set. A new voter id from a known `client` counts against the new-voter
/// limit. Answers what became of the vote, and the round with Redis's clock (none while its
/// mirror is missing).
fn queue_vote(
    cookie: Option<&str>,
    choice: Choice,
    client: Option<IpAddr>,
    configured_choices: &str,
) -> anyhow::Result<(Queued, Option<(Round, i64)>)> {
    let channel = variable("votes_channel")?;
    let chained = doorbell::http_doorbell()?.is_some();
    let redis = voting_glue::redis::open()?;
    let secret = cookie_secret(&redis)?;
    let voter = voter::identify(cookie, secret.as_bytes(), random_bytes()?);
    let limited = client.filter(|_| voter.new_cookie.is_some());
    // A key is passed either way: Redis checks an ACL user's key patterns on every key an
    // EVAL declares, used or not.
    let counter = match limited {
        Some(address) => client::new_voters_key(address),
        None => format!("{NEW_VOTERS_KEY_PREFIX}unlimited"),
    };
    let arguments = [
        binary(&voter.id),
        binary(choice.as_str()),
        binary(&channel),
        binary(VOTE_RING),
        binary(if limited.is_some() { "1" } else { "" }),
        binary(configured_choices),
        RedisParameter::Int64(LIMIT_WINDOW_SECONDS),
        RedisParameter::Int64(LEASE_MS),
        binary(if chained { "1" } else { "" }),
    ];
    let keys = [
        VOTES_KEY,
        SEQUENCE_KEY,
        NEW_VOTER_LIMIT_KEY,
        counter.as_str(),
        ROUND_KEY,
        DOORBELL_KEY,
    ];
    let reply =
        eval(&redis, ENQUEUE_SCRIPT, &keys, &arguments).context("queuing a vote in Redis")?;
    let [
        RedisResult::Int64(outcome),
        RedisResult::Int64(number),
        RedisResult::Binary(poll),
        RedisResult::Int64(fourth),
        rest @ ..,
    ] = reply.as_slice()
    else {
        bail!("unexpected reply to the enqueue script: {reply:?}");
    };
    if *outcome == REFUSED_NO_ROUND {
        return Ok((Queued::NoRound, None));
    }
    let round = round_from_reply(*number, *outcome != REFUSED_CLOSED, poll, rest)?;
    let queued = match *outcome {
        REFUSED_CLOSED => Queued::Closed,
        REFUSED_NOT_ON_BALLOT => Queued::NotOnBallot,
        REFUSED_BY_LIMIT => Queued::OverTheLimit {
            retry_after: *fourth,
        },
        seq if seq > 0 => Queued::Accepted {
            voter,
            rang: *fourth == 1,
        },
        other => bail!("unexpected outcome {other} of the enqueue script"),
    };
    Ok((queued, Some(round)))
}

/// The `cookie_secret` variable, or when it is empty a random secret kept in Redis.
fn cookie_secret(redis: &Connection) -> anyhow::Result<String> {
    let configured = variable("cookie_secret")?;
    if !configured.is_empty() {
        return Ok(configured);
    }
    let candidate = hex::encode(&random_bytes::<32>()?);
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

/// The voting page for `ballot`, showing `chosen` as the visitor's choice.
fn page_reply(status: u16, ballot: &Ballot, chosen: Option<Choice>, message: Message) -> Reply {
    Reply::html(
        status,
        page::render(&ballot.poll, chosen, message, ballot.state(chosen)),
    )
    .script(page::SCRIPT)
}

/// An error answer in the interface's format: the page with a notice (and the visitor's
/// current choice still shown), or JSON.
fn error_reply(
    interface: Interface,
    status: u16,
    ballot: &Ballot,
    current: Option<Choice>,
    message: &str,
) -> Reply {
    match interface {
        Interface::Page => page_reply(status, ballot, current, Message::Error(message)),
        Interface::Api => Reply::json(status, &serde_json::json!({ "error": message })),
    }
}
