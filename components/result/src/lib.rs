//! The result component: `GET /result` (the live results page, with the vote page's address
//! and QR code), `GET /result/api` (the results as JSON, what every phone and the projector
//! poll), `GET /healthz` (whether Redis and PostgreSQL answer and the poll is configured) and
//! `GET /metrics` (what an operator watches, for Prometheus).
//!
//! The results are read from Redis, where the worker and the console keep them as PostgreSQL
//! has them, in one round trip: a room of phones costs PostgreSQL nothing, and the answer is
//! the same for every viewer, so a proxy may share it for a second. Each read also catches up
//! on queued votes that no worker was rung for (at a deadline, after an outage): on hosts
//! without a Redis trigger it rings the worker's HTTP doorbell after answering, at most once a
//! second across all instances.
//!
//! # Layout
//!
//! - [`answers`]: the kept answers, read from Redis or rebuilt from PostgreSQL.
//! - [`page`]: the results page.
//! - [`metrics`]: `/metrics`, for the operator's scraper only once the console is on.

mod answers;
mod metrics;
mod page;

use anyhow::{Context, bail};
use spin_sdk::http::conversions::TryFromIncomingRequest;
use spin_sdk::http::{IncomingRequest, Method, Request, ResponseOutparam};
use spin_sdk::http_component;
use spin_sdk::redis::RedisResult;
use voting_glue::reply::{Reply, send};
use voting_glue::{doorbell, postgres, redis, round, variable};
use voting_shared::doorbell::CATCH_UP_RING;
use voting_shared::poll::Poll;
use voting_shared::qr;
use voting_shared::queue::{DEAD_LETTER_KEY, LAST_BATCH_KEY, METRICS_SCRIPT, VOTES_KEY};
use voting_shared::results::Served;
use voting_shared::session;

use crate::answers::Answer;
use crate::metrics::QueueState;
use crate::page::Shown;

/// How fresh a shared copy of `/result/api` may be: the pages poll once a second, so a proxy
/// or CDN in front may answer a whole room from one copy for that long.
const SHARED_FOR: &str = "public, max-age=1";

#[http_component]
async fn handle_result(incoming: IncomingRequest, response_out: ResponseOutparam) {
    // What every phone polls, once a second: nothing is read of the request but its ETag.
    if is_results_poll(&incoming) {
        let if_none_match = incoming
            .headers()
            .get("if-none-match")
            .first()
            .map(|value| String::from_utf8_lossy(value).into_owned())
            .unwrap_or_default();
        let (reply, ring) = results_api(&if_none_match);
        send(reply, response_out).await;
        if ring && let Err(error) = catch_up().await {
            eprintln!("result: catching up: {error:#}");
        }
        return;
    }
    let request = match Request::try_from_incoming_request(incoming).await {
        Ok(request) => request,
        Err(error) => {
            eprintln!("result: reading the request: {error}");
            let reply = Reply::text(400, "Bad request: the request could not be read.\n");
            return send(reply, response_out).await;
        }
    };
    let (reply, ring) = respond(&request);
    send(reply, response_out).await;
    if ring && let Err(error) = catch_up().await {
        eprintln!("result: catching up: {error:#}");
    }
}

/// Whether the request is a `GET` (or `HEAD`) of `/result/api`.
fn is_results_poll(request: &IncomingRequest) -> bool {
    let path = request.path_with_query().unwrap_or_default();
    let path = path.split('?').next().unwrap_or_default();
    path.trim_end_matches('/') == "/result/api"
        && matches!(request.method(), Method::Get | Method::Head)
}

/// The answer, and whether to ring the worker's HTTP doorbell for a catch-up after it.
fn respond(request: &Request) -> (Reply, bool) {
    if !matches!(request.method(), Method::Get | Method::Head) {
        let reply = Reply::text(405, "Method not allowed: use GET.\n").header("allow", "GET, HEAD");
        return (reply, false);
    }
    let poll = Poll::from_variables(variable);
    let path = request.path().trim_end_matches('/');
    if path == "/healthz" {
        return (health(poll.err()), false);
    }
    let poll = match poll {
        Ok(poll) => poll,
        Err(error) => {
            eprintln!("result: {error:#}");
            let reply = Reply::text(
                500,
                "The results page is misconfigured; see the server log.\n",
            );
            return (reply, false);
        }
    };
    match path {
        "/result" => results_page(request, &poll),
        "/metrics" => (metrics(request, &poll), false),
        _ => {
            let reply = Reply::text(
                404,
                "Not found: the results are at /result and /result/api.\n",
            );
            (reply, false)
        }
    }
}

/// Rings the worker's HTTP doorbell with a catch-up (the read found votes waiting).
async fn catch_up() -> anyhow::Result<()> {
    doorbell::ring_http(CATCH_UP_RING).await
}

fn results_page(request: &Request, configured: &Poll) -> (Reply, bool) {
    let (served, ring) = match answers::read("", || Ok(configured.clone())) {
        Ok((Answer::Fresh { body, .. }, ring)) => (
            Served::parse(&body).map_err(|error| {
                eprintln!("result: {error:#}");
                "they could not be read; see the server log".to_owned()
            }),
            ring,
        ),
        Ok((Answer::Preparing(Some(problem)), ring)) => (Err(problem), ring),
        Ok((_, ring)) => (Err("they are being prepared".to_owned()), ring),
        Err(failure) => (Err(failure.advice().to_owned()), false),
    };
    let poll = served
        .as_ref()
        .ok()
        .and_then(|served| served.poll().ok())
        .unwrap_or_else(|| configured.clone());
    let shown = match &served {
        Ok(served) => Ok(Shown::of(served)),
        Err(problem) => Err(problem.as_str()),
    };
    let page = page::render(
        &poll,
        shown.as_ref().map_err(|problem| *problem),
        vote_url(request).as_deref(),
    );
    let status = if shown.is_ok() { 200 } else { 503 };
    (Reply::html(status, page).script(page::SCRIPT), ring)
}

/// Where voters go, for the results page to show; see [`qr::vote_url`].
fn vote_url(request: &Request) -> Option<String> {
    let header = |name| request.header(name).and_then(|value| value.as_str());
    let public_url = variable("public_url")
        .inspect_err(|error| eprintln!("result: {error:#}"))
        .unwrap_or_default();
    let host = qr::authority(request.uri());
    let forwarded_proto = header("x-forwarded-proto");
    qr::vote_url(&public_url, host, forwarded_proto)
        .or_else(|problem| {
            eprintln!("result: {problem}");
            qr::vote_url("", host, forwarded_proto)
        })
        .ok()
        .flatten()
}

/// The same answer for every viewer: nothing about the request but `If-None-Match` is read.
fn results_api(if_none_match: &str) -> (Reply, bool) {
    match answers::read(if_none_match, || Poll::from_variables(variable)) {
        Ok((Answer::Fresh { etag, body }, ring)) => {
            let reply = Reply::new(200, "application/json", body)
                .header("etag", &etag)
                .header("cache-control", SHARED_FOR);
            (reply, ring)
        }
        Ok((Answer::Unchanged { etag }, ring)) => {
            let reply = Reply::empty(304)
                .header("etag", &etag)
                .header("cache-control", SHARED_FOR);
            (reply, ring)
        }
        Ok((Answer::Preparing(problem), ring)) => {
            let error = match problem {
                Some(problem) => format!("results are unavailable: {problem}"),
                None => "the results are being prepared: try again in a second".to_owned(),
            };
            let body = serde_json::json!({ "error": error });
            (wait_a_second(Reply::json(503, &body)), ring)
        }
        Err(failure @ answers::Failure::Poll(_)) => {
            // Not something a second's wait mends: the operator must change a variable.
            let body = serde_json::json!({ "error": failure.advice() });
            (Reply::json(500, &body), false)
        }
        Err(failure) => {
            let body = serde_json::json!({
                "error": format!("results are unavailable: {}", failure.advice())
            });
            (wait_a_second(Reply::json(503, &body)), false)
        }
    }
}

fn wait_a_second(reply: Reply) -> Reply {
    reply
        .header("retry-after", "1")
        .header("cache-control", "no-store")
}

/// 200 when Redis and PostgreSQL both answer and the poll's variables make a poll, else 503
/// naming what is down or wrong and what to change.
fn health(poll_problem: Option<anyhow::Error>) -> Reply {
    let redis = check_redis().map_err(|error| redis::diagnose("healthz", &error).advice());
    let postgres = check_postgres().map_err(|error| postgres::diagnose("healthz", &error).advice());
    let poll = poll_problem.map(|error| format!("{error:#}"));
    let state = |result: &Result<(), &str>| if result.is_ok() { "ok" } else { "down" };
    let healthy = redis.is_ok() && postgres.is_ok() && poll.is_none();
    let mut body = serde_json::json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "redis": state(&redis),
        "postgres": state(&postgres),
        "poll": if poll.is_none() { "ok" } else { "misconfigured" },
    });
    let problems: Vec<&str> = [redis, postgres]
        .into_iter()
        .filter_map(Result::err)
        .chain(poll.as_deref())
        .collect();
    if !problems.is_empty() {
        body["problems"] = serde_json::json!(problems);
    }
    Reply::json(if healthy { 200 } else { 503 }, &body)
}

fn check_redis() -> anyhow::Result<()> {
    redis::open()?.execute("PING", &[]).context("PING")?;
    Ok(())
}

fn check_postgres() -> anyhow::Result<()> {
    postgres::open()?
        .query("SELECT 1", &[])
        .context("SELECT 1")?;
    Ok(())
}

/// The metrics page: one Redis round trip and one PostgreSQL query. Always 200 for the
/// scraper, so that a scrape still shows the queue while PostgreSQL is down (and the votes
/// while Redis is). It has every count, hidden or not: once the console is on, only a request
/// with the admin token or the `metrics_token` gets it.
fn metrics(request: &Request, configured: &Poll) -> Reply {
    let tokens = [variable("admin_token"), variable("metrics_token")]
        .into_iter()
        .map(|token| token.unwrap_or_default())
        .filter(|token| !token.is_empty())
        .collect::<Vec<String>>();
    if !tokens.is_empty() {
        let given = request
            .header("authorization")
            .and_then(|value| value.as_str())
            .and_then(session::bearer);
        let allowed = given.is_some_and(|given| {
            tokens
                .iter()
                .any(|token| session::token_matches(given, token))
        });
        if !allowed {
            return Reply::text(
                401,
                "The metrics need a token: send Authorization: Bearer <metrics_token> (or the \
                 admin token).\n",
            )
            .header("www-authenticate", "Bearer");
        }
    }
    let queue = read_queue()
        .inspect_err(|error| {
            redis::diagnose("metrics", error);
        })
        .ok();
    let current = postgres::open()
        .and_then(|database| round::current(&database))
        .inspect_err(|error| {
            postgres::diagnose("metrics", error);
        })
        .ok();
    let poll = match &current {
        Some(current) => current.round.ballot(configured),
        None => configured,
    };
    let counts = current
        .as_ref()
        .map(|current| current.snapshot.counts().only(poll));
    let body = metrics::render(poll, counts, queue, env!("CARGO_PKG_VERSION"));
    Reply::new(200, "text/plain; version=0.0.4; charset=utf-8", body)
        .header("cache-control", "no-store")
}

fn read_queue() -> anyhow::Result<QueueState> {
    let connection = redis::open()?;
    let keys = [VOTES_KEY, DEAD_LETTER_KEY, LAST_BATCH_KEY];
    let reply =
        redis::eval(&connection, METRICS_SCRIPT, &keys, &[]).context("reading the queue")?;
    match reply.as_slice() {
        [
            RedisResult::Int64(waiting),
            RedisResult::Int64(dead_letters),
            RedisResult::Int64(last_batch),
            RedisResult::Int64(now),
        ] => Ok(QueueState {
            waiting: *waiting,
            dead_letters: *dead_letters,
            last_batch_micros: (*last_batch >= 0).then_some(*last_batch),
            now_micros: *now,
        }),
        other => bail!("unexpected reply to the metrics script: {other:?}"),
    }
}
