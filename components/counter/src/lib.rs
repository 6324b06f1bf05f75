//! The visit counter: `GET /counter` answers `Hello World! I have been seen N times.`,
//! counting visits with Redis `INCR hits` as the original Flask app does.

use anyhow::Context;
use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;
use voting_glue::reply::{Reply, send};

/// The Redis key holding the count, shared with the original app.
const HITS_KEY: &str = "hits";

#[http_component]
async fn handle_counter(request: IncomingRequest, response_out: ResponseOutparam) {
    send(answer(request.method()), response_out).await;
}

fn answer(method: Method) -> Reply {
    if method != Method::Get {
        return Reply::text(405, "Method not allowed: the counter answers GET only.\n")
            .header("allow", "GET");
    }
    match count_visit() {
        Ok(visits) => Reply::text(200, &greeting(visits)),
        Err(error) => {
            let problem = voting_glue::redis::diagnose("counter", &error);
            let body = format!("The visit counter is unavailable: {}.\n", problem.advice());
            Reply::text(503, &body)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_matches_the_original() {
        assert_eq!(greeting(1), "Hello World! I have been seen 1 times.\n");
        assert_eq!(greeting(42), "Hello World! I have been seen 42 times.\n");
    }
}
