//! The voting page (placeholder until the pipeline lands).

use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle_vote(_request: Request) -> Response {
    Response::new(503, "Voting is not available yet.\n")
}
