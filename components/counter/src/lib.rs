//! The visit counter: `GET /counter` answers `Hello World! I have been seen N times.`,
//! counting visits with Redis `INCR hits` as the original Flask app does.

use anyhow::Context;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::{http_component, redis, variables};
use voting_shared::address::redis_address;

/// The Redis key holding the count, shared with the original app.
const HITS_KEY: &str = "hits";

#[http_component]
fn handle_counter(request: Request) -> Response {
    if *request.method() != Method::Get {
        return text_response(405, "Method not allowed: the counter answers GET only.\n")
            .header("allow", "GET")
            .build();
    }
    match count_visit() {
        Ok(visits) => text_response(200, &greeting(visits)).build(),
        Err(error) => {
            eprintln!("counter: {error:#}");
            text_response(
                503,
                "The visit counter is unavailable: Redis is not answering. Try again in a moment.\n",
            )
            .build()
        }
    }
}

/// Records one visit and returns the total so far.
fn count_visit() -> anyhow::Result<i64> {
    let host = variables::get("redis_host").context("reading variable redis_host")?;
    let redis = redis::Connection::open(&redis_address(&host))
        .with_context(|| format!("connecting to Redis at {host}"))?;
    redis.incr(HITS_KEY).context("INCR hits")
}

fn greeting(visits: i64) -> String {
    format!("Hello World! I have been seen {visits} times.\n")
}

fn text_response(status: u16, body: &str) -> spin_sdk::http::ResponseBuilder {
    let mut builder = Response::builder();
    builder
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(body.to_owned());
    for (name, value) in voting_shared::html::security_headers("") {
        builder.header(name, value);
    }
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_matches_the_original() {
        assert_eq!(greeting(1), "Hello World! I have been seen 1 times.\n");
        assert_eq!(greeting(42), "Hello World! I have been seen 42 times.\n");
    }
}
