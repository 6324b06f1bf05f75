//! The floor of `GET /counter`: open Redis, INCR, answer. What the counter component costs
//! beyond this is the cost of its own code.

use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::{http_component, redis, variables};

#[http_component]
fn handle(_request: Request) -> impl IntoResponse {
    let counted = variables::get("redis_host")
        .map_err(|error| error.to_string())
        .and_then(|host| {
            let redis = redis::Connection::open(&format!("redis://{host}"))
                .map_err(|error| error.to_string())?;
            redis.incr("hits").map_err(|error| error.to_string())
        });
    match counted {
        Ok(visits) => Response::new(200, format!("{visits}")),
        Err(error) => Response::new(503, error),
    }
}
