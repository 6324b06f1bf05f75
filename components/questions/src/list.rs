//! The list the room reads, as the worker and the console keep it in Redis: read in one round
//! trip with the voter's own marks, or rebuilt from PostgreSQL by one reader at a time when
//! Redis has lost it. A read also catches up on questions no worker was rung for.

use anyhow::{Context, bail};
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
use voting_glue::redis::{binary, eval};
use voting_glue::{doorbell, postgres, qa, redis, variable};
use voting_shared::doorbell::{CATCH_UP_RING, DOORBELL_KEY};
use voting_shared::questions::{
    QA_KEY, QA_REBUILD_KEY, QUESTIONS_KEY, READ_LIST_SCRIPT, asked_key, upvoted_key,
};
use voting_shared::queue::{CATCH_UP_INTERVAL_MS, CATCH_UP_KEY};
use voting_shared::results::{ANSWERED, REBUILD, REBUILD_LEASE_MS, UNCHANGED, WAIT, etag, tag};

/// A voter's own marks: the ids of the questions they upvoted and asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    pub upvoted: Vec<String>,
    pub asked: Vec<String>,
}

/// What a reader gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// The list (the answer of `/api/questions`), its ETag, and the voter's marks.
    Fresh {
        etag: String,
        list: String,
        marks: Marks,
    },
    Unchanged {
        etag: String,
    },
    /// Another reader is rebuilding the list: come back in a second.
    Preparing,
}

/// Why the list could not be read or a question queued, by what failed, so the answer gives
/// the right advice. Everything but rebuilding the list is Redis.
#[derive(Debug)]
pub enum Failure {
    Redis(anyhow::Error),
    /// Only while rebuilding a list Redis lost.
    Postgres(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        Failure::Redis(error)
    }
}

impl Failure {
    /// What a phone reads; the log gets the details.
    pub fn advice(&self) -> &'static str {
        match self {
            Failure::Redis(error) => redis::diagnose("questions", error).advice(),
            Failure::Postgres(error) => postgres::diagnose("questions", error).advice(),
        }
    }
}

/// What [`READ_LIST_SCRIPT`] answered, and whether to ring a catch-up over HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    Answered {
        etag: String,
        list: String,
        marks: Marks,
    },
    Unchanged {
        etag: String,
    },
    Rebuild,
    Wait,
}

/// Decodes [`READ_LIST_SCRIPT`]'s reply: what it read, and whether to ring a catch-up.
pub fn decode(reply: &[RedisResult]) -> anyhow::Result<(Read, bool)> {
    let text = |value: &[u8]| String::from_utf8_lossy(value).into_owned();
    let ids = |value: &[u8]| {
        text(value)
            .split(',')
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect::<Vec<String>>()
    };
    let (read, ring) = match reply {
        [
            RedisResult::Int64(ANSWERED),
            RedisResult::Int64(ring),
            RedisResult::Binary(etag),
            RedisResult::Binary(list),
            RedisResult::Binary(_mode),
            RedisResult::Binary(upvoted),
            RedisResult::Binary(asked),
        ] => (
            Read::Answered {
                etag: text(etag),
                list: text(list),
                marks: Marks {
                    upvoted: ids(upvoted),
                    asked: ids(asked),
                },
            },
            ring,
        ),
        [
            RedisResult::Int64(UNCHANGED),
            RedisResult::Int64(ring),
            RedisResult::Binary(etag),
        ] => (Read::Unchanged { etag: text(etag) }, ring),
        [RedisResult::Int64(REBUILD), RedisResult::Int64(ring)] => (Read::Rebuild, ring),
        [RedisResult::Int64(WAIT), RedisResult::Int64(ring)] => (Read::Wait, ring),
        other => bail!("unexpected reply reading the questions: {other:?}"),
    };
    Ok((read, *ring == 1))
}

/// Reads the list for `voter` (their marks; `None`: no voter yet) and a client that has the
/// answer tagged `if_none_match`; answers whether to ring a catch-up over HTTP. Where the Redis
/// trigger is the doorbell, the read itself publishes the catch-up.
pub fn read(
    redis: &Connection,
    voter: Option<&str>,
    if_none_match: &str,
) -> Result<(Listing, bool), Failure> {
    let channel = match doorbell::http_doorbell()? {
        Some(_) => String::new(),
        None => variable("votes_channel")?,
    };
    let voter = voter.unwrap_or("-");
    let (upvoted, asked) = (upvoted_key(voter), asked_key(voter));
    let keys = [
        QA_KEY,
        QA_REBUILD_KEY,
        QUESTIONS_KEY,
        DOORBELL_KEY,
        CATCH_UP_KEY,
        upvoted.as_str(),
        asked.as_str(),
    ];
    let arguments = [
        binary(if_none_match),
        binary(channel),
        binary(CATCH_UP_RING),
        RedisParameter::Int64(REBUILD_LEASE_MS),
        RedisParameter::Int64(CATCH_UP_INTERVAL_MS),
    ];
    let reply =
        eval(redis, READ_LIST_SCRIPT, &keys, &arguments).context("reading the questions")?;
    let (read, ring) = decode(&reply)?;
    let listing = match read {
        Read::Answered { etag, list, marks } => Listing::Fresh { etag, list, marks },
        Read::Unchanged { etag } => Listing::Unchanged { etag },
        Read::Wait => Listing::Preparing,
        Read::Rebuild => rebuild(redis, if_none_match)?,
    };
    Ok((listing, ring))
}

/// Rebuilds the kept list from PostgreSQL, and answers from it (without marks: Redis lost
/// them with the list).
fn rebuild(redis: &Connection, if_none_match: &str) -> Result<Listing, Failure> {
    let snapshot = postgres::open()
        .and_then(|database| qa::current(&database))
        .map_err(Failure::Postgres)?;
    if let Err(error) = qa::keep_list(redis, &snapshot) {
        eprintln!("questions: {error:#}");
    }
    let list = snapshot.list().to_string();
    let etag = etag(&tag(&list), false);
    if !if_none_match.is_empty() && if_none_match.contains(&etag) {
        return Ok(Listing::Unchanged { etag });
    }
    Ok(Listing::Fresh {
        etag,
        list,
        marks: Marks::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> RedisResult {
        RedisResult::Binary(value.as_bytes().to_vec())
    }

    #[test]
    fn decodes_the_list_with_the_voters_marks() {
        let reply = [
            RedisResult::Int64(ANSWERED),
            RedisResult::Int64(1),
            text(r#"W/"ab""#),
            text(r#"{"questions":[]}"#),
            text("open"),
            text("7,9"),
            text(""),
        ];
        let (read, ring) = decode(&reply).unwrap();
        assert!(ring);
        assert_eq!(
            read,
            Read::Answered {
                etag: r#"W/"ab""#.into(),
                list: r#"{"questions":[]}"#.into(),
                marks: Marks {
                    upvoted: vec!["7".into(), "9".into()],
                    asked: vec![]
                }
            }
        );
        let unchanged = [
            RedisResult::Int64(UNCHANGED),
            RedisResult::Int64(0),
            text(r#"W/"ab""#),
        ];
        assert_eq!(
            decode(&unchanged).unwrap().0,
            Read::Unchanged {
                etag: r#"W/"ab""#.into()
            }
        );
        let wait = [RedisResult::Int64(WAIT), RedisResult::Int64(0)];
        assert_eq!(decode(&wait).unwrap().0, Read::Wait);
        assert!(decode(&reply[..3]).is_err());
    }
}
