//! The floor of `POST /`: open Redis, RPUSH a vote, PUBLISH the doorbell, answer. What the
//! vote component costs beyond this is the cost of its own code.

use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::redis::RedisParameter;
use spin_sdk::{http_component, redis, variables};

#[http_component]
fn handle(_request: Request) -> impl IntoResponse {
    let queued = variables::get("redis_host")
        .map_err(|error| error.to_string())
        .and_then(|host| {
            let redis = redis::Connection::open(&format!("redis://{host}"))
                .map_err(|error| error.to_string())?;
            let entry = br#"{"voter_id":"floor","vote":"a"}"#.to_vec();
            redis
                .execute(
                    "RPUSH",
                    &[
                        RedisParameter::Binary(b"votes".to_vec()),
                        RedisParameter::Binary(entry),
                    ],
                )
                .map_err(|error| error.to_string())?;
            redis
                .publish("votes", b"vote")
                .map_err(|error| error.to_string())
        });
    match queued {
        Ok(()) => Response::new(200, "queued"),
        Err(error) => Response::new(503, error),
    }
}
