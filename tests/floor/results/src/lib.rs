//! The floor of `GET /result/api`: open Redis, GET one value, answer it. What the result
//! component costs beyond this is the cost of its own code.

use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::{http_component, redis, variables};

#[http_component]
fn handle(_request: Request) -> impl IntoResponse {
    let read = variables::get("redis_host")
        .map_err(|error| error.to_string())
        .and_then(|host| {
            let redis = redis::Connection::open(&format!("redis://{host}"))
                .map_err(|error| error.to_string())?;
            redis
                .get("floor:results")
                .map_err(|error| error.to_string())
        });
    match read {
        Ok(Some(answer)) => Response::new(200, answer),
        Ok(None) => Response::new(404, "floor:results is not set"),
        Err(error) => Response::new(503, error),
    }
}
