//! The result component: `GET /result` (the live results page), `GET /result/api` (the tally
//! as JSON) and `GET /healthz` (whether Redis and PostgreSQL answer).

mod page;
mod tally;

use anyhow::Context;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::pg4::{self, PgError, QueryError};
use spin_sdk::{http_component, redis, variables};
use voting_shared::address::{PostgresConfig, redis_address};
use voting_shared::choice::Labels;
use voting_shared::diagnosis::PostgresProblem;
use voting_shared::schema::{COUNT_VOTES, READ_TALLY, UNDEFINED_TABLE};

use crate::tally::Tally;

#[http_component]
fn handle_result(request: Request) -> Response {
    if !matches!(request.method(), Method::Get | Method::Head) {
        return text(405, "Method not allowed: use GET.\n")
            .header("allow", "GET, HEAD")
            .build();
    }
    let labels = match Labels::from_variables(variable) {
        Ok(labels) => labels,
        Err(error) => {
            eprintln!("result: {error:#}");
            return text(
                500,
                "The results page is misconfigured; see the server log.\n",
            )
            .build();
        }
    };
    match request.path().trim_end_matches('/') {
        "/result" => results_page(&labels),
        "/result/api" => results_api(&request, &labels),
        "/healthz" => health(),
        _ => text(
            404,
            "Not found: the results are at /result and /result/api.\n",
        )
        .build(),
    }
}

fn results_page(labels: &Labels) -> Response {
    let tally = read_tally().map_err(|error| diagnose("result", &error));
    let status = if tally.is_ok() { 200 } else { 503 };
    Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .body(page::render(labels, tally))
        .build()
}

fn results_api(request: &Request, labels: &Labels) -> Response {
    let tally = match read_tally() {
        Ok(tally) => tally,
        Err(error) => {
            let problem = diagnose("result", &error);
            let body = serde_json::json!({
                "error": format!("results are unavailable: {}", problem.advice())
            });
            return json(503, &body).build();
        }
    };
    let etag = tally.etag(labels);
    let unchanged = request
        .header("if-none-match")
        .and_then(|value| value.as_str())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let mut response = if unchanged {
        let mut builder = Response::builder();
        builder.status(304);
        builder
    } else {
        json(200, &tally.to_json(labels))
    };
    response
        .header("etag", etag)
        .header("cache-control", "no-cache")
        .build()
}

/// 200 when Redis and PostgreSQL both answer, else 503 naming what is down.
fn health() -> Response {
    let redis = check_redis().inspect_err(|error| eprintln!("healthz: {error:#}"));
    let postgres = check_postgres().inspect_err(|error| {
        diagnose("healthz", error);
    });
    let state = |result: &anyhow::Result<()>| if result.is_ok() { "ok" } else { "down" };
    let healthy = redis.is_ok() && postgres.is_ok();
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "redis": state(&redis),
        "postgres": state(&postgres),
    });
    json(if healthy { 200 } else { 503 }, &body).build()
}

fn check_redis() -> anyhow::Result<()> {
    let host = variable("redis_host")?;
    let connection = redis::Connection::open(&redis_address(&host))
        .with_context(|| format!("connecting to Redis at {host}"))?;
    connection.execute("PING", &[]).context("PING")?;
    Ok(())
}

fn check_postgres() -> anyhow::Result<()> {
    let config = postgres_config()?;
    connect(&config)?
        .query("SELECT 1", &[])
        .context("SELECT 1")?;
    Ok(())
}

/// Reads the running tally; on a table the original worker made (not yet migrated by our
/// worker) counts `votes` instead, and before any table exists there are no votes.
fn read_tally() -> anyhow::Result<Tally> {
    let database = connect(&postgres_config()?)?;
    for statement in [READ_TALLY, COUNT_VOTES] {
        match database.query(statement, &[]) {
            Ok(rows) => return Tally::from_row(&rows.rows).context("reading the tally"),
            Err(PgError::QueryFailed(QueryError::DbError(error)))
                if error.code == UNDEFINED_TABLE => {}
            Err(error) => return Err(error).context("reading the tally"),
        }
    }
    Ok(Tally::default())
}

/// Logs a PostgreSQL failure in full, with the advice for the operator, and returns it.
fn diagnose(context: &str, error: &anyhow::Error) -> PostgresProblem {
    let problem = PostgresProblem::diagnose(&format!("{error:#}"));
    eprintln!("{context}: {error:#}\n{context}: {}", problem.advice());
    problem
}

fn connect(config: &PostgresConfig) -> anyhow::Result<pg4::Connection> {
    pg4::Connection::open(&config.address())
        .with_context(|| format!("connecting to PostgreSQL at {}", config.host))
}

fn postgres_config() -> anyhow::Result<PostgresConfig> {
    PostgresConfig::from_variables(variable)
}

fn variable(name: &str) -> anyhow::Result<String> {
    variables::get(name).with_context(|| format!("reading variable {name}"))
}

fn text(status: u16, body: &str) -> spin_sdk::http::ResponseBuilder {
    let mut builder = Response::builder();
    builder
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(body.to_owned());
    builder
}

fn json(status: u16, body: &serde_json::Value) -> spin_sdk::http::ResponseBuilder {
    let mut builder = Response::builder();
    builder
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string());
    builder
}
