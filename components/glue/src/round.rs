//! The current round and what the room sees of it: read from PostgreSQL, the source of truth,
//! with the version that orders such reads ([`current`]); mirrored to Redis for the vote
//! component ([`mirror`]), and kept in Redis as the answers of `/result/api` ([`keep_results`]).

use anyhow::{Context, bail};
use spin_sdk::pg4;
use spin_sdk::redis::{Connection, RedisResult};
use voting_shared::poll::Poll;
use voting_shared::results::{REBUILD_KEY, RESULTS_KEY, Snapshot, WRITE_SCRIPT};
use voting_shared::round::{MIRROR_ROUND_SCRIPT, MirrorFields, NO_ROUND, ROUND_KEY, Round};
use voting_shared::schema::POLL_SNAPSHOT;

use crate::postgres::{query_with_schema, single_text};
use crate::redis::{binary, eval, integer};

/// The current round as one snapshot of PostgreSQL read it.
#[derive(Debug, Clone)]
pub struct Current {
    pub snapshot: Snapshot,
    pub round: Round,
}

impl Current {
    /// The snapshot in `json`, as [`POLL_SNAPSHOT`] answers it.
    pub fn of(json: &str) -> anyhow::Result<Current> {
        let snapshot = Snapshot::parse(json)?;
        let round = snapshot
            .round()
            .context("the current round's poll in PostgreSQL is damaged")?;
        Ok(Current { snapshot, round })
    }
}

/// The current round, from PostgreSQL (creating the schema if it is missing).
pub fn current(database: &pg4::Connection) -> anyhow::Result<Current> {
    let rows =
        query_with_schema(database, POLL_SNAPSHOT, &[]).context("reading the current round")?;
    Current::of(single_text(&rows).context("reading the current round")?)
}

/// Mirrors `current` to Redis unless a newer snapshot is mirrored; `only_if_missing` restores
/// a lost mirror without undoing any change. Answers whether it wrote.
pub fn mirror(
    redis: &Connection,
    current: &Current,
    only_if_missing: bool,
) -> anyhow::Result<bool> {
    let round = &current.round;
    let arguments = [
        binary(if only_if_missing { "1" } else { "" }),
        binary(round.number.to_string()),
        binary(if round.open { "1" } else { "0" }),
        binary(round.choices_field()),
        binary(round.poll_field()),
        binary(round.results_field()),
        binary(round.closes_field()),
        binary(if round.revealed { "1" } else { "" }),
        binary(&current.snapshot.instance),
        binary(current.snapshot.version.to_string()),
    ];
    let reply = eval(redis, MIRROR_ROUND_SCRIPT, &[ROUND_KEY], &arguments)
        .context("mirroring the current round to Redis")?;
    wrote(&reply).context("mirroring the current round to Redis")
}

/// Keeps the answers of `/result/api` for `current` in Redis, unless a newer snapshot's are
/// kept; `configured` is the poll of a round without its own. Answers whether it wrote.
pub fn keep_results(
    redis: &Connection,
    current: &Current,
    configured: &Poll,
) -> anyhow::Result<bool> {
    let kept = current
        .snapshot
        .to_kept(configured)
        .context("the configured poll")?;
    let (after, after_tag) = match &kept.after {
        Some(answer) => (answer.body.as_str(), answer.tag.as_str()),
        None => ("", ""),
    };
    let arguments = [
        binary(&kept.instance),
        binary(kept.version.to_string()),
        binary(if kept.open { "1" } else { "0" }),
        binary(kept.closes_ms.to_string()),
        binary(&kept.before.body),
        binary(&kept.before.tag),
        binary(after),
        binary(after_tag),
    ];
    let reply = eval(redis, WRITE_SCRIPT, &[RESULTS_KEY, REBUILD_KEY], &arguments)
        .context("keeping the results in Redis")?;
    wrote(&reply).context("keeping the results in Redis")
}

/// The round a script read from its mirror
/// ([`MIRROR_REPLY_LEN`](voting_shared::round::MIRROR_REPLY_LEN) values) and Redis's clock
/// (ms) when it did; `None` while the mirror is missing.
pub fn from_reply(reply: &[RedisResult]) -> anyhow::Result<Option<(Round, i64)>> {
    let [
        RedisResult::Int64(number),
        RedisResult::Int64(open),
        RedisResult::Binary(poll),
        RedisResult::Binary(results),
        RedisResult::Int64(closes_ms),
        RedisResult::Int64(revealed),
        RedisResult::Int64(now_ms),
    ] = reply
    else {
        bail!("unexpected round in a script's reply: {reply:?}");
    };
    if *number == NO_ROUND {
        return Ok(None);
    }
    let fields = MirrorFields {
        number: *number,
        open: *open == 1,
        poll: &String::from_utf8_lossy(poll),
        results: &String::from_utf8_lossy(results),
        closes_ms: *closes_ms,
        revealed: *revealed == 1,
    };
    let round = Round::from_fields(&fields).with_context(|| {
        format!("the mirror of round {number} in Redis ({ROUND_KEY}) is damaged")
    })?;
    Ok(Some((round, *now_ms)))
}

/// Whether a script that writes unless something newer is there wrote.
fn wrote(reply: &[RedisResult]) -> anyhow::Result<bool> {
    Ok(integer(reply)? == 1)
}

#[cfg(test)]
mod tests {
    use voting_shared::deck::Visibility;
    use voting_shared::round::MIRROR_REPLY_LEN;

    use super::*;

    fn text(value: &str) -> RedisResult {
        RedisResult::Binary(value.as_bytes().to_vec())
    }

    #[test]
    fn a_mirror_reply_reads_as_its_round_and_the_clock() {
        let reply = [
            RedisResult::Int64(3),
            RedisResult::Int64(1),
            text(r#"{"question":"Lunch?","options":["Pizza","Soup"]}"#),
            text("after-close"),
            RedisResult::Int64(61_000),
            RedisResult::Int64(0),
            RedisResult::Int64(60_000),
        ];
        assert_eq!(reply.len(), MIRROR_REPLY_LEN);
        let (round, now) = from_reply(&reply).unwrap().unwrap();
        assert_eq!(now, 60_000);
        assert_eq!(
            (round.number, round.open, round.closes_ms),
            (3, true, Some(61_000))
        );
        assert_eq!(round.results, Visibility::AfterClose);
        assert_eq!(round.poll.unwrap().question(), "Lunch?");
    }

    #[test]
    fn no_mirror_and_a_damaged_one_are_told_apart() {
        let missing = [
            RedisResult::Int64(NO_ROUND),
            RedisResult::Int64(0),
            text(""),
            text(""),
            RedisResult::Int64(0),
            RedisResult::Int64(0),
            RedisResult::Int64(0),
        ];
        assert_eq!(from_reply(&missing).unwrap(), None);
        let mut damaged = missing.clone();
        damaged[0] = RedisResult::Int64(2);
        damaged[2] = text("{");
        assert!(format!("{:#}", from_reply(&damaged).unwrap_err()).contains("damaged"));
        assert!(from_reply(&missing[..6]).is_err());
    }
}
