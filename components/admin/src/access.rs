//! Who may change the poll: the token, checked in constant time, with wrong attempts counted per
//! client address in Redis (too many are refused for a while), and the console's sessions, kept
//! in Redis until they expire so that signing out ends one for good.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
use voting_glue::redis::{binary, eval};
use voting_glue::reply::Reply;
use voting_shared::client::{
    self, LIMIT_WINDOW_SECONDS, MAX_SIGN_IN_ATTEMPTS, SIGN_IN_ATTEMPT_SCRIPT,
};
use voting_shared::{hex, session};

use crate::Asked;
use crate::actions::{Refusal, redis_or_refusal};
use crate::notice::see_other_with_notice;

const SESSION_KEY_PREFIX: &str = "voting:admin-session:";

/// Which interface asked, which decides how a refusal is written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    Console,
    Api,
}

/// Lets a request through when `given` is the token, and refuses it otherwise. The right
/// token is always let through: on venue Wi-Fi the whole room shares one address, and wrong
/// guesses from anyone there must not lock the presenter out (the token is long enough that no
/// one guesses it, [`session::MIN_TOKEN_CHARS`]). Every wrong attempt is counted against its
/// address, atomically, so attempts sent at once cannot slip under the limit: past
/// [`MAX_SIGN_IN_ATTEMPTS`] in a window they are refused with 429 and the wait. The log names
/// the address, never what was given.
pub fn check_token(
    asked: &Asked,
    given: Option<&str>,
    token: &str,
    interface: Interface,
) -> Result<(), Reply> {
    if given.is_some_and(|given| session::token_matches(given, token)) {
        return Ok(());
    }
    let refuse = |status: u16, message: &str| match interface {
        Interface::Api => Reply::json(status, &serde_json::json!({ "error": message }))
            .header("www-authenticate", "Bearer"),
        Interface::Console => see_other_with_notice("/admin", message, asked.https),
    };
    let address = asked
        .client
        .map(|address| address.to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    let attempts_key = client::sign_in_attempts_key(asked.client);
    let counted = voting_glue::redis::open().and_then(|redis| count_attempt(&redis, &attempts_key));
    let count = match counted {
        Ok(Attempt::Judged { count }) => count,
        Ok(Attempt::Refused { retry_after }) => {
            let message = format!(
                "Too many wrong tokens from your address: try again in {retry_after} seconds."
            );
            return Err(refuse(429, &message).header("retry-after", &retry_after.to_string()));
        }
        Err(error) => {
            let problem = voting_glue::redis::diagnose("admin", &error);
            let message = format!(
                "The console cannot count wrong tokens now: {}.",
                problem.advice()
            );
            return Err(refuse(503, &message));
        }
    };
    eprintln!(
        "admin: a wrong or missing admin token from {address} (attempt {count} of \
         {MAX_SIGN_IN_ATTEMPTS} allowed in {LIMIT_WINDOW_SECONDS} s)"
    );
    let message = match interface {
        Interface::Api => "send the admin token as Authorization: Bearer <admin_token>",
        Interface::Console => "That is not the admin token.",
    };
    Err(refuse(401, message))
}

/// What the count of an address's sign-in attempts allows.
enum Attempt {
    /// The attempt is judged: the `count`th of its window.
    Judged { count: i64 },
    /// The address has used up its window: `retry_after` seconds until it closes.
    Refused { retry_after: i64 },
}

fn count_attempt(redis: &Connection, attempts_key: &str) -> anyhow::Result<Attempt> {
    let reply = eval(
        redis,
        SIGN_IN_ATTEMPT_SCRIPT,
        &[attempts_key],
        &[
            RedisParameter::Int64(MAX_SIGN_IN_ATTEMPTS),
            RedisParameter::Int64(LIMIT_WINDOW_SECONDS),
        ],
    )
    .context("counting a sign-in attempt")?;
    match reply.as_slice() {
        [RedisResult::Int64(count), RedisResult::Int64(0)] => Ok(Attempt::Judged { count: *count }),
        [RedisResult::Int64(_), RedisResult::Int64(retry_after)] => Ok(Attempt::Refused {
            retry_after: *retry_after,
        }),
        other => bail!("unexpected reply counting a sign-in attempt: {other:?}"),
    }
}

/// Whether the request carries a live session: signed with the token, not expired, not ended.
pub fn signed_in(asked: &Asked, token: &str) -> Result<bool, Refusal> {
    let Some(id) = asked
        .session
        .as_deref()
        .and_then(|value| session::verify(token, value, unix_seconds()))
    else {
        return Ok(false);
    };
    let redis = redis_or_refusal(voting_glue::redis::open())?;
    let live = redis
        .get(&format!("{SESSION_KEY_PREFIX}{id}"))
        .context("checking the session");
    Ok(redis_or_refusal(live)?.is_some())
}

pub fn open_session(token: &str) -> Result<String, Refusal> {
    let mut random = [0u8; 16];
    getrandom::fill(&mut random)
        .map_err(|_| Refusal::new(503, "No randomness for a session: try again.".into()))?;
    let id = hex::encode(&random);
    let expiry = unix_seconds() + session::SESSION_SECONDS;
    let redis = redis_or_refusal(voting_glue::redis::open())?;
    let stored = redis
        .execute(
            "SET",
            &[
                binary(format!("{SESSION_KEY_PREFIX}{id}")),
                binary("1"),
                binary("EX"),
                RedisParameter::Int64(session::SESSION_SECONDS as i64),
            ],
        )
        .context("storing the session");
    redis_or_refusal(stored)?;
    Ok(session::issue(token, &id, expiry))
}

pub fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

/// Ends the request's session, if it has a live one: a copy of its cookie is refused from now.
pub fn end_session(asked: &Asked, token: &str) -> Result<(), Refusal> {
    let now = unix_seconds();
    let Some(id) = asked
        .session
        .as_deref()
        .and_then(|value| session::verify(token, value, now))
    else {
        return Ok(());
    };
    let ended = voting_glue::redis::open().and_then(|redis| {
        redis
            .del(&[format!("{SESSION_KEY_PREFIX}{id}")])
            .context("ending the session")
    });
    ended.map(|_| ()).map_err(|error| {
        let problem = voting_glue::redis::diagnose("admin", &error);
        Refusal::new(
            503,
            format!("You are still signed in: {}.", problem.advice()),
        )
    })
}
