//! The answers of `/result/api` as the worker and the console keep them in Redis
//! ([`voting_shared::results`]): read in one round trip at Redis's clock, or, when they are
//! missing, rebuilt from PostgreSQL by one reader at a time.

use anyhow::{Context, bail};
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
use voting_glue::redis::{binary, eval};
use voting_glue::{doorbell, postgres, round, variable};
use voting_shared::doorbell::{CATCH_UP_RING, DOORBELL_KEY};
use voting_shared::poll::Poll;
use voting_shared::queue::{CATCH_UP_INTERVAL_MS, CATCH_UP_KEY, VOTES_KEY};
use voting_shared::results::{
    ANSWERED, READ_SCRIPT, REBUILD, REBUILD_FAILED_SCRIPT, REBUILD_KEY, REBUILD_LEASE_MS,
    RESULTS_KEY, UNCHANGED, WAIT, etag, served,
};

/// What a reader gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The answer as served now, and its ETag.
    Fresh { etag: String, body: String },
    /// The answer the client has is still the one served.
    Unchanged { etag: String },
    /// No answer is kept and another reader is rebuilding it, or failed to for the reason
    /// given: come back in a second.
    Preparing(Option<String>),
}

/// Why the results could not be read, by what failed, so the answer gives the right advice.
#[derive(Debug)]
pub enum Failure {
    Redis(anyhow::Error),
    /// Only while rebuilding missing answers.
    Postgres(anyhow::Error),
    /// The poll's variables, only needed to rebuild missing answers, make no poll.
    Poll(anyhow::Error),
}

impl Failure {
    /// What a viewer reads; the log gets the details.
    pub fn advice(&self) -> &'static str {
        match self {
            Failure::Redis(error) => voting_glue::redis::diagnose("result", error).advice(),
            Failure::Postgres(error) => postgres::diagnose("result", error).advice(),
            Failure::Poll(error) => {
                eprintln!("result: {error:#}");
                "the results page is misconfigured; see the server log"
            }
        }
    }
}

/// What [`READ_SCRIPT`] answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    Answered {
        etag: String,
        body: String,
        closes_ms: i64,
        open: bool,
        stale: bool,
    },
    Unchanged {
        etag: String,
    },
    Rebuild,
    /// …with what the rebuild's key said.
    Wait(String),
}

/// A read: what it found, Redis's clock (ms), and whether this reader is to ring the worker's
/// HTTP doorbell for a catch-up once it has answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub read: Read,
    pub now_ms: i64,
    pub ring: bool,
}

/// Decodes [`READ_SCRIPT`]'s reply.
pub fn decode(reply: &[RedisResult]) -> anyhow::Result<Reading> {
    let text = |value: &[u8]| String::from_utf8_lossy(value).into_owned();
    let (read, now_ms, ring) = match reply {
        [
            RedisResult::Int64(ANSWERED),
            RedisResult::Int64(now_ms),
            RedisResult::Int64(ring),
            RedisResult::Binary(etag),
            RedisResult::Binary(body),
            RedisResult::Int64(closes_ms),
            RedisResult::Int64(open),
            RedisResult::Int64(stale),
        ] => {
            let read = Read::Answered {
                etag: text(etag),
                body: text(body),
                closes_ms: *closes_ms,
                open: *open == 1,
                stale: *stale > 0,
            };
            (read, now_ms, ring)
        }
        [
            RedisResult::Int64(UNCHANGED),
            RedisResult::Int64(now_ms),
            RedisResult::Int64(ring),
            RedisResult::Binary(etag),
        ] => (Read::Unchanged { etag: text(etag) }, now_ms, ring),
        [
            RedisResult::Int64(REBUILD),
            RedisResult::Int64(now_ms),
            RedisResult::Int64(ring),
        ] => (Read::Rebuild, now_ms, ring),
        [
            RedisResult::Int64(WAIT),
            RedisResult::Int64(now_ms),
            RedisResult::Int64(ring),
            RedisResult::Binary(state),
        ] => (Read::Wait(text(state)), now_ms, ring),
        other => bail!("unexpected reply reading the results: {other:?}"),
    };
    Ok(Reading {
        read,
        now_ms: *now_ms,
        ring: *ring == 1,
    })
}

/// Reads the answer for a client that has the one tagged `if_none_match` (empty: none), and
/// answers whether to ring a catch-up over HTTP. Where the Redis trigger is the doorbell, the
/// read itself publishes a catch-up when votes wait with no worker rung or draining. The
/// configured poll is read only to rebuild missing answers.
pub fn read(
    if_none_match: &str,
    configured: impl FnOnce() -> anyhow::Result<Poll>,
) -> Result<(Answer, bool), Failure> {
    let (redis, reading) = read_kept(if_none_match).map_err(Failure::Redis)?;
    let answer = match reading.read {
        Read::Answered {
            etag,
            body,
            closes_ms,
            open,
            stale,
        } => Answer::Fresh {
            etag,
            body: served(&body, reading.now_ms, closes_ms, open, stale),
        },
        Read::Unchanged { etag } => Answer::Unchanged { etag },
        Read::Wait(state) => Answer::Preparing((state != "1").then_some(state)),
        Read::Rebuild => {
            let configured = configured().map_err(Failure::Poll)?;
            rebuild(&redis, &configured, reading.now_ms, if_none_match).map_err(|error| {
                let failure = Failure::Postgres(error);
                let told = eval(
                    &redis,
                    REBUILD_FAILED_SCRIPT,
                    &[REBUILD_KEY],
                    &[
                        binary(failure.advice()),
                        RedisParameter::Int64(REBUILD_LEASE_MS),
                    ],
                );
                if let Err(error) = told {
                    eprintln!("result: could not tell other readers why: {error:#}");
                }
                failure
            })?
        }
    };
    Ok((answer, reading.ring))
}

/// One [`READ_SCRIPT`] round trip.
fn read_kept(if_none_match: &str) -> anyhow::Result<(Connection, Reading)> {
    let http_doorbell = doorbell::http_doorbell()?.is_some();
    let channel = if http_doorbell {
        String::new()
    } else {
        variable("votes_channel")?
    };
    let redis = voting_glue::redis::open()?;
    let keys = [
        RESULTS_KEY,
        REBUILD_KEY,
        VOTES_KEY,
        DOORBELL_KEY,
        CATCH_UP_KEY,
    ];
    let arguments = [
        binary(if_none_match),
        binary(channel),
        binary(CATCH_UP_RING),
        RedisParameter::Int64(REBUILD_LEASE_MS),
        RedisParameter::Int64(CATCH_UP_INTERVAL_MS),
    ];
    let reply = eval(&redis, READ_SCRIPT, &keys, &arguments).context("reading the results")?;
    let reading = decode(&reply)?;
    Ok((redis, reading))
}

/// Rebuilds the kept answers from PostgreSQL, and answers from them (a failure to keep them is
/// only logged: the next reader rebuilds them).
fn rebuild(
    redis: &Connection,
    configured: &Poll,
    now_ms: i64,
    if_none_match: &str,
) -> anyhow::Result<Answer> {
    let database = postgres::open()?;
    let current = round::current(&database)?;
    match round::keep_results(redis, &current, configured) {
        Ok(_) => eprintln!(
            "result: rebuilt the results of round {} in Redis ({RESULTS_KEY}) from PostgreSQL",
            current.round.number
        ),
        Err(error) => eprintln!("result: {error:#}"),
    }
    let kept = current
        .snapshot
        .to_kept(configured)
        .context("the configured poll")?;
    let answer = kept.at(now_ms);
    let etag = etag(&answer.tag, false);
    if !if_none_match.is_empty() && if_none_match.contains(&etag) {
        return Ok(Answer::Unchanged { etag });
    }
    let body = served(&answer.body, now_ms, kept.closes_ms, kept.open, false);
    Ok(Answer::Fresh { etag, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> RedisResult {
        RedisResult::Binary(value.as_bytes().to_vec())
    }

    #[test]
    fn decodes_every_outcome_of_the_read() {
        let answered = [
            RedisResult::Int64(ANSWERED),
            RedisResult::Int64(5_000),
            RedisResult::Int64(1),
            text(r#"W/"ab""#),
            text(r#"{"total":0}"#),
            RedisResult::Int64(9_000),
            RedisResult::Int64(1),
            RedisResult::Int64(0),
        ];
        let reading = decode(&answered).unwrap();
        assert_eq!((reading.now_ms, reading.ring), (5_000, true));
        assert_eq!(
            reading.read,
            Read::Answered {
                etag: r#"W/"ab""#.into(),
                body: r#"{"total":0}"#.into(),
                closes_ms: 9_000,
                open: true,
                stale: false
            }
        );
        let unchanged = [
            RedisResult::Int64(UNCHANGED),
            RedisResult::Int64(5_000),
            RedisResult::Int64(0),
            text(r#"W/"ab""#),
        ];
        assert_eq!(
            decode(&unchanged).unwrap().read,
            Read::Unchanged {
                etag: r#"W/"ab""#.into()
            }
        );
        let rebuild = [
            RedisResult::Int64(REBUILD),
            RedisResult::Int64(1),
            RedisResult::Int64(0),
        ];
        assert_eq!(decode(&rebuild).unwrap().read, Read::Rebuild);
        let wait = [
            RedisResult::Int64(WAIT),
            RedisResult::Int64(1),
            RedisResult::Int64(0),
            text("PostgreSQL is not answering"),
        ];
        assert_eq!(
            decode(&wait).unwrap().read,
            Read::Wait("PostgreSQL is not answering".into())
        );
        assert!(decode(&answered[..5]).is_err());
        assert!(decode(&[RedisResult::Int64(7)]).is_err());
    }
}
