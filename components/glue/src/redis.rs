//! Redis, reached as the `redis_*` variables say.

use anyhow::Context;
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
use voting_shared::address::RedisConfig;
use voting_shared::diagnosis::RedisProblem;
use voting_shared::round::CLOCK_SCRIPT;

/// Opens a connection to the configured Redis (every `open` is a new TCP connection in Spin).
pub fn open() -> anyhow::Result<Connection> {
    let config = RedisConfig::from_variables(crate::variable)?;
    // The context names the location only: the address may carry the password.
    Connection::open(&config.address())
        .with_context(|| format!("connecting to Redis at {}", config.location()))
}

/// Runs `script` with `EVAL` in one round trip: `keys` become `KEYS`, `arguments` `ARGV`.
pub fn eval(
    connection: &Connection,
    script: &str,
    keys: &[&str],
    arguments: &[RedisParameter],
) -> Result<Vec<RedisResult>, spin_sdk::redis::Error> {
    let mut parameters = Vec::with_capacity(2 + keys.len() + arguments.len());
    parameters.push(binary(script));
    parameters.push(RedisParameter::Int64(keys.len() as i64));
    parameters.extend(keys.iter().map(binary));
    parameters.extend(arguments.iter().cloned());
    connection.execute("EVAL", &parameters)
}

/// Redis's clock (ms): the clock every deadline is set, enforced and reported by.
pub fn clock_ms(connection: &Connection) -> anyhow::Result<i64> {
    let reply = eval(connection, CLOCK_SCRIPT, &[], &[]).context("reading Redis's clock")?;
    integer(&reply).context("reading Redis's clock")
}

/// The one integer a script answered.
pub fn integer(reply: &[RedisResult]) -> anyhow::Result<i64> {
    match reply {
        [RedisResult::Int64(value)] => Ok(*value),
        other => anyhow::bail!("unexpected reply {other:?}"),
    }
}

/// A text argument for [`eval`].
pub fn binary(text: impl AsRef<[u8]>) -> RedisParameter {
    RedisParameter::Binary(text.as_ref().to_vec())
}

/// Logs a Redis failure in full with the operator's advice (`component: …` lines), and
/// returns the problem for the answer.
pub fn diagnose(component: &str, error: &anyhow::Error) -> RedisProblem {
    let problem = RedisProblem::of(error);
    eprintln!("{component}: {error:#}\n{component}: {}", problem.advice());
    problem
}
