//! The visit counter: `GET /counter` answers `Hello World! I have been seen N times.`,
//! counting visits with Redis `INCR hits` as the original Flask app does.

use anyhow::Context;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

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
            let problem = voting_glue::redis::diagnose("counter", &error);
            let body = format!("The visit counter is unavailable: {}.\n", problem.advice());
            text_response(503, &body).build()
        }
    }
}

/// Records one visit and returns the total so far.
fn count_visit() -> anyhow::Result<i64> {
    voting_glue::redis::open()?
        .incr(HITS_KEY)
        .context("INCR hits")
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
