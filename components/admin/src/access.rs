//! Who may change the poll: the token, checked in constant time, with failed attempts
//! counted per client address in Redis (too many lock the address out for a while), and the
//! console's sessions, kept in Redis until they expire so that signing out ends one for good.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
use voting_glue::redis::{binary, eval};
use voting_glue::reply::Reply;
use voting_shared::{hex, session};

use crate::Asked;
use crate::actions::{Refusal, redis_or_refusal};
use crate::pages;

/// Failed sign-ins (or Bearer tokens) one address may make per window, and the window.
const MAX_FAILURES: i64 = 5;
const FAILURE_WINDOW_SECONDS: i64 = 60;
const FAILURES_KEY_PREFIX: &str = "voting:admin-failures:";
const SESSION_KEY_PREFIX: &str = "voting:admin-session:";

/// Whether an address may try a token now: 0, or 1 and the seconds until it may. KEYS: its
/// failure count. ARGV: the most failures allowed.
const GATE_SCRIPT: &str = r#"
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then
  return {1, math.max(redis.call('TTL', KEYS[1]), 1)}
end
return {0, 0}
"#;

/// Counts a failed attempt. KEYS: the address's failure count. ARGV: the window in seconds.
/// Returns the count in this window.
const FAILURE_SCRIPT: &str = r#"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"#;

/// Which interface asked, which decides how a refusal is written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    Console,
    Api,
}

/// Lets a request through when `given` is the token; refuses it (and counts the failure
/// against its address) otherwise, and refuses an address with too many recent failures
/// without checking. The log names the address, never what was given.
pub fn check_token(
    asked: &Asked,
    given: Option<&str>,
    token: &str,
    interface: Interface,
) -> Result<(), Reply> {
    let refuse = |status: u16, message: &str| match interface {
        Interface::Api => Reply::json(status, &serde_json::json!({ "error": message }))
            .header("www-authenticate", "Bearer"),
        Interface::Console => Reply::html(status, pages::sign_in(Some(message))),
    };
    let address = asked
        .client
        .map(|address| address.to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    let failures_key = format!("{FAILURES_KEY_PREFIX}{address}");
    let redis = match voting_glue::redis::open() {
        Ok(redis) => redis,
        Err(error) => {
            let problem = voting_glue::redis::diagnose("admin", &error);
            return Err(refuse(
                503,
                &format!("The console cannot check tokens now: {}.", problem.advice()),
            ));
        }
    };
    match gate(&redis, &failures_key) {
        Ok(None) => {}
        Ok(Some(retry_after)) => {
            let message = format!(
                "Too many wrong tokens from your address: try again in {retry_after} seconds."
            );
            return Err(refuse(429, &message).header("retry-after", &retry_after.to_string()));
        }
        Err(error) => {
            let problem = voting_glue::redis::diagnose("admin", &error);
            return Err(refuse(
                503,
                &format!("The console cannot check tokens now: {}.", problem.advice()),
            ));
        }
    }
    if given.is_some_and(|given| session::token_matches(given, token)) {
        return Ok(());
    }
    let count = eval(
        &redis,
        FAILURE_SCRIPT,
        &[&failures_key],
        &[RedisParameter::Int64(FAILURE_WINDOW_SECONDS)],
    );
    let count = match count.as_deref() {
        Ok([RedisResult::Int64(count)]) => count.to_string(),
        _ => "?".to_owned(),
    };
    eprintln!(
        "admin: a wrong or missing admin token from {address} ({count} in the last \
         {FAILURE_WINDOW_SECONDS} s; {MAX_FAILURES} are allowed)"
    );
    let message = match interface {
        Interface::Api => "send the admin token as Authorization: Bearer <admin_token>",
        Interface::Console => "That is not the admin token.",
    };
    Err(refuse(401, message))
}

/// `Some(seconds to wait)` when the address has used up its failures.
fn gate(redis: &Connection, failures_key: &str) -> anyhow::Result<Option<i64>> {
    let reply = eval(
        redis,
        GATE_SCRIPT,
        &[failures_key],
        &[RedisParameter::Int64(MAX_FAILURES)],
    )
    .context("checking failed sign-ins")?;
    match reply.as_slice() {
        [RedisResult::Int64(0), _] => Ok(None),
        [RedisResult::Int64(1), RedisResult::Int64(retry_after)] => Ok(Some(*retry_after)),
        other => bail!("unexpected reply checking failed sign-ins: {other:?}"),
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
