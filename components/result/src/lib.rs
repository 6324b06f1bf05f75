//! The results page (placeholder until the pipeline lands).

use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle_result(_request: Request) -> Response {
    Response::new(503, "Results are not available yet.\n")
}
