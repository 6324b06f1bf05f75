//! Who the voter is: their signed cookie checked against the cookie secret — the
//! `cookie_secret` variable, or when it is empty a random secret kept in Redis, made by the
//! first instance that needs it and read by every other — or a new id from WASI's randomness.

use anyhow::{Context, bail};
use spin_sdk::redis::{Connection, RedisResult};
use voting_shared::cookie::{self, ID_BYTES, Voter};
use voting_shared::hex;

use crate::redis::{binary, eval};

/// Where the cookie-signing secret lives when the `cookie_secret` variable is empty.
const COOKIE_SECRET_KEY: &str = "voting:cookie_secret";
/// Creates the secret on first use; every instance then reads the same one.
const COOKIE_SECRET_SCRIPT: &str =
    "redis.call('SET', KEYS[1], ARGV[1], 'NX') return redis.call('GET', KEYS[1])";

/// The voter behind the voter `cookie` (the request's, if any), or a new one.
pub fn identify(redis: &Connection, cookie: Option<&str>) -> anyhow::Result<Voter> {
    let secret = cookie_secret(redis)?;
    Ok(cookie::identify(
        cookie,
        secret.as_bytes(),
        random_bytes::<ID_BYTES>()?,
    ))
}

/// The `cookie_secret` variable, or when it is empty a random secret kept in Redis.
fn cookie_secret(redis: &Connection) -> anyhow::Result<String> {
    let configured = crate::variable("cookie_secret")?;
    if !configured.is_empty() {
        return Ok(configured);
    }
    let candidate = hex::encode(&random_bytes::<32>()?);
    match eval(
        redis,
        COOKIE_SECRET_SCRIPT,
        &[COOKIE_SECRET_KEY],
        &[binary(&candidate)],
    )
    .context("reading the cookie secret")?
    .as_slice()
    {
        [RedisResult::Binary(secret)] => Ok(String::from_utf8_lossy(secret).into_owned()),
        // The reply is not shown: it may hold the secret.
        other => bail!(
            "unexpected reply to the cookie secret script ({} values, not one string)",
            other.len()
        ),
    }
}

/// `N` bytes from WASI's randomness.
fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    Ok(bytes)
}
