//! The result component: `GET /result` (the live results page, with the vote page's address
//! and QR code), `GET /result/api` (the tally as JSON), `GET /healthz` (whether Redis and
//! PostgreSQL answer and the poll is configured) and `GET /metrics` (what an operator watches,
//! for Prometheus).
//!
//! On hosts without a Redis trigger it also keeps an open results page converging while nobody
//! votes: after answering, it rings the worker's HTTP doorbell when votes are queued, at most
//! once a second across all instances.

mod api;
mod metrics;
mod page;
mod tally;

use anyhow::{Context, bail};
use spin_sdk::http::conversions::TryFromIncomingRequest;
use spin_sdk::http::{IncomingRequest, Method, Request, ResponseOutparam};
use spin_sdk::http_component;
use spin_sdk::pg4::{PgError, QueryError};
use spin_sdk::redis::{RedisParameter, RedisResult};
use voting_glue::reply::{Reply, send};
use voting_glue::{doorbell, postgres, redis, round, variable};
use voting_shared::doorbell::{CATCH_UP_RING, DOORBELL_KEY};
use voting_shared::poll::Poll;
use voting_shared::qr;
use voting_shared::queue::{
    CATCH_UP_INTERVAL_MS, CATCH_UP_KEY, CATCH_UP_SCRIPT, DEAD_LETTER_KEY, LAST_BATCH_KEY,
    METRICS_SCRIPT, VOTES_KEY,
};
use voting_shared::round::Round;
use voting_shared::schema::{COUNT_VOTES, READ_TALLY, SCHEMA_MISSING, UNDEFINED_TABLE};

use crate::metrics::QueueState;
use voting_shared::counts::Counts;

#[http_component]
async fn handle_result(incoming: IncomingRequest, response_out: ResponseOutparam) {
    let request = match Request::try_from_incoming_request(incoming).await {
        Ok(request) => request,
        Err(error) => {
            eprintln!("result: reading the request: {error}");
            let reply = Reply::text(400, "Bad request: the request could not be read.\n");
            return send(reply, response_out).await;
        }
    };
    let reply = respond(&request);
    let read_results = reply.status < 400 && request.path().starts_with("/result");
    send(reply, response_out).await;
    if read_results && let Err(error) = catch_up().await {
        eprintln!("result: catching up: {error:#}");
    }
}

fn respond(request: &Request) -> Reply {
    if !matches!(request.method(), Method::Get | Method::Head) {
        return Reply::text(405, "Method not allowed: use GET.\n").header("allow", "GET, HEAD");
    }
    let poll = Poll::from_variables(variable);
    if request.path().trim_end_matches('/') == "/healthz" {
        return health(poll.err());
    }
    let poll = match poll {
        Ok(poll) => poll,
        Err(error) => {
            eprintln!("result: {error:#}");
            return Reply::text(
                500,
                "The results page is misconfigured; see the server log.\n",
            );
        }
    };
    match request.path().trim_end_matches('/') {
        "/result" => results_page(request, &poll),
        "/result/api" => results_api(request, &poll),
        "/metrics" => metrics(&poll),
        _ => Reply::text(
            404,
            "Not found: the results are at /result and /result/api.\n",
        ),
    }
}

/// Where there is no Redis trigger (`doorbell_url` is set), rings the worker's doorbell when
/// votes are queued, no worker is rung or draining, and nobody rang in the last
/// [`CATCH_UP_INTERVAL_MS`].
async fn catch_up() -> anyhow::Result<()> {
    let Some(url) = doorbell::http_doorbell()? else {
        return Ok(());
    };
    let connection = redis::open()?;
    let interval = [RedisParameter::Int64(CATCH_UP_INTERVAL_MS)];
    let reply = redis::eval(
        &connection,
        CATCH_UP_SCRIPT,
        &[VOTES_KEY, CATCH_UP_KEY, DOORBELL_KEY],
        &interval,
    )?;
    match reply.as_slice() {
        [RedisResult::Int64(0)] => return Ok(()),
        [RedisResult::Int64(1)] => {}
        other => bail!("unexpected reply to the catch-up script: {other:?}"),
    }
    doorbell::ring(&url, CATCH_UP_RING).await
}

fn results_page(request: &Request, configured: &Poll) -> Reply {
    let tally = read_tally(configured).map_err(|error| postgres::diagnose("result", &error));
    let status = if tally.is_ok() { 200 } else { 503 };
    let (poll, shown) = match &tally {
        Ok((counts, round, now_ms)) => (
            round.ballot(configured),
            Ok(page::Shown {
                counts: (!round.counts_hidden(*now_ms)).then_some(*counts),
                total: counts.total(),
                round,
                open: round.open_at(*now_ms),
                seconds_left: round.seconds_left(*now_ms),
            }),
        ),
        Err(problem) => (configured, Err(*problem)),
    };
    Reply::html(
        status,
        page::render(poll, shown, vote_url(request).as_deref()),
    )
    .script(page::SCRIPT)
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

fn results_api(request: &Request, configured: &Poll) -> Reply {
    let (tally, round, now_ms) = match read_tally(configured) {
        Ok(tally) => tally,
        Err(error) => {
            let problem = postgres::diagnose("result", &error);
            let body = serde_json::json!({
                "error": format!("results are unavailable: {}", problem.advice())
            });
            return Reply::json(503, &body);
        }
    };
    let body = api::body(&tally, round.ballot(configured), &round, now_ms);
    let etag = api::etag(&body);
    let unchanged = request
        .header("if-none-match")
        .and_then(|value| value.as_str())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let reply = if unchanged {
        Reply::empty(304)
    } else {
        Reply::json(200, &body)
    };
    reply
        .header("etag", &etag)
        .header("cache-control", "no-cache")
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

/// The metrics page: one Redis round trip and one PostgreSQL query. Always 200, so that a
/// scrape still shows the queue while PostgreSQL is down (and the votes while Redis is).
fn metrics(configured: &Poll) -> Reply {
    let queue = read_queue()
        .inspect_err(|error| {
            redis::diagnose("metrics", error);
        })
        .ok();
    let tally = read_tally(configured)
        .inspect_err(|error| {
            postgres::diagnose("metrics", error);
        })
        .ok();
    let poll = match &tally {
        Some((_, round, _)) => round.ballot(configured),
        None => configured,
    };
    let counts = tally.as_ref().map(|(counts, _, _)| *counts);
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

/// Reads the current round and the running tally of its options; on a table the original
/// worker made (not yet migrated by our worker) counts `votes` instead, and before any table
/// exists there are no votes, in round 1.
/// Answers them with PostgreSQL's clock (ms) when read. A schema of an older version of the app
/// (a column or a function it lacks) is migrated, as the worker's next write would.
fn read_tally(configured: &Poll) -> anyhow::Result<(Counts, Round, i64)> {
    let database = postgres::open()?;
    for statement in [READ_TALLY, COUNT_VOTES] {
        let rows = match database.query(statement, &[]) {
            Ok(rows) => rows,
            Err(PgError::QueryFailed(QueryError::DbError(error)))
                if error.code == UNDEFINED_TABLE =>
            {
                continue;
            }
            Err(PgError::QueryFailed(QueryError::DbError(error)))
                if SCHEMA_MISSING.contains(&error.code.as_str()) =>
            {
                round::create_schema(&database)?;
                database
                    .query(statement, &[])
                    .context("reading the tally")?
            }
            Err(error) => return Err(error).context("reading the tally"),
        };
        let (counts, round, now_ms) = tally::from_row(&rows.rows).context("reading the tally")?;
        return Ok((counts.only(round.ballot(configured)), round, now_ms));
    }
    Ok((Counts::default(), Round::configured(1), 0))
}
