//! Casting a vote: identify the voter, then check and queue the vote in one Redis round trip
//! ([`ENQUEUE_SCRIPT`]), which also rings the worker when none is rung or draining and applies
//! the optional limit on new voter ids per client address.

use std::net::IpAddr;

use anyhow::{Context, bail};
use spin_sdk::redis::{RedisParameter, RedisResult};
use voting_glue::redis::{binary, eval};
use voting_glue::{doorbell, variable};
use voting_shared::client::{self, LIMIT_WINDOW_SECONDS, NEW_VOTERS_KEY_PREFIX};
use voting_shared::doorbell::{DOORBELL_KEY, LEASE_MS, VOTE_RING};
use voting_shared::queue::{
    ENQUEUE_SCRIPT, NEW_VOTER_LIMIT_KEY, REFUSED_BY_LIMIT, REFUSED_CLOSED, REFUSED_NO_ROUND,
    REFUSED_NOT_ON_BALLOT, REFUSED_OTHER_ROUND, SEQUENCE_KEY, VOTES_KEY,
};
use voting_shared::round::{ROUND_KEY, Round};

use crate::ballot::Ballot;
use voting_shared::cookie::Voter;

/// What became of a vote, as the enqueue script answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// Queued; `rang` when no worker was rung or draining yet, so this vote rang one (on hosts
    /// without a Redis trigger, it rings the worker itself once it has answered).
    Accepted { rang: bool },
    /// Refused: the round's mirror is missing (the doorbell rang for the worker to restore it).
    NoRound,
    /// Refused: the ballot was of another round than the current one.
    OtherRound,
    /// Refused: voting is closed.
    Closed,
    /// Refused: the current round does not offer the choice.
    NotOnBallot,
    /// Refused: a new voter id over the limit for the client's address; `retry_after` seconds
    /// until its window closes.
    OverTheLimit { retry_after: i64 },
}

/// A vote cast: what became of it, the voter, and the current round with Redis's clock (none
/// while its mirror is missing).
pub struct Cast {
    pub queued: Queued,
    pub voter: Voter,
    pub round: Option<(Round, i64)>,
}

/// Decodes the enqueue script's reply: the outcome and the round it was checked against.
pub fn decode(reply: &[RedisResult]) -> anyhow::Result<(Queued, Option<(Round, i64)>)> {
    let [
        RedisResult::Int64(outcome),
        RedisResult::Int64(second),
        mirror @ ..,
    ] = reply
    else {
        bail!("unexpected reply to the enqueue script: {reply:?}");
    };
    let round = voting_glue::round::from_reply(mirror)?;
    let queued = match *outcome {
        REFUSED_NO_ROUND => Queued::NoRound,
        REFUSED_OTHER_ROUND => Queued::OtherRound,
        REFUSED_CLOSED => Queued::Closed,
        REFUSED_NOT_ON_BALLOT => Queued::NotOnBallot,
        REFUSED_BY_LIMIT => Queued::OverTheLimit {
            retry_after: *second,
        },
        seq if seq > 0 => Queued::Accepted { rang: *second == 1 },
        other => bail!("unexpected outcome {other} of the enqueue script"),
    };
    Ok((queued, round))
}

/// Identifies the voter and queues `ballot`: one Redis round trip when `cookie_secret` is set.
/// A new voter id from a known `client` counts against the new-voter limit; a round without
/// a poll of its own offers `configured_choices`.
pub fn queue(
    cookie: Option<&str>,
    ballot: Ballot,
    client: Option<IpAddr>,
    configured_choices: &str,
) -> anyhow::Result<Cast> {
    let channel = variable("votes_channel")?;
    let chained = doorbell::http_doorbell()?.is_some();
    let redis = voting_glue::redis::open()?;
    let voter = voting_glue::voter::identify(&redis, cookie)?;
    let limited = client.filter(|_| voter.new_cookie.is_some());
    // A key is passed either way: Redis checks an ACL user's key patterns on every key an
    // EVAL declares, used or not.
    let counter = match limited {
        Some(address) => client::new_voters_key(address),
        None => format!("{NEW_VOTERS_KEY_PREFIX}unlimited"),
    };
    let arguments = [
        binary(&voter.id),
        binary(ballot.choice.as_str()),
        binary(&channel),
        binary(VOTE_RING),
        binary(if limited.is_some() { "1" } else { "" }),
        binary(configured_choices),
        RedisParameter::Int64(LIMIT_WINDOW_SECONDS),
        RedisParameter::Int64(LEASE_MS),
        binary(if chained { "1" } else { "" }),
        binary(
            ballot
                .round
                .map(|round| round.to_string())
                .unwrap_or_default(),
        ),
    ];
    let keys = [
        VOTES_KEY,
        SEQUENCE_KEY,
        NEW_VOTER_LIMIT_KEY,
        counter.as_str(),
        ROUND_KEY,
        DOORBELL_KEY,
    ];
    let reply =
        eval(&redis, ENQUEUE_SCRIPT, &keys, &arguments).context("queuing a vote in Redis")?;
    let (queued, round) = decode(&reply)?;
    Ok(Cast {
        queued,
        voter,
        round,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The enqueue script's reply: `outcome`, `second`, then round 4's mirror at 9 000 ms.
    fn reply(outcome: i64, second: i64) -> Vec<RedisResult> {
        vec![
            RedisResult::Int64(outcome),
            RedisResult::Int64(second),
            RedisResult::Int64(4),
            RedisResult::Int64(1),
            RedisResult::Binary(Vec::new()),
            RedisResult::Binary(b"live".to_vec()),
            RedisResult::Int64(0),
            RedisResult::Int64(0),
            RedisResult::Int64(9_000),
        ]
    }

    #[test]
    fn decodes_every_outcome_with_the_round_it_was_checked_against() {
        let cases = [
            (17, 1, Queued::Accepted { rang: true }),
            (17, 0, Queued::Accepted { rang: false }),
            (REFUSED_OTHER_ROUND, 0, Queued::OtherRound),
            (REFUSED_CLOSED, 0, Queued::Closed),
            (REFUSED_NOT_ON_BALLOT, 0, Queued::NotOnBallot),
            (
                REFUSED_BY_LIMIT,
                42,
                Queued::OverTheLimit { retry_after: 42 },
            ),
        ];
        for (outcome, second, queued) in cases {
            let (decoded, round) = decode(&reply(outcome, second)).unwrap();
            assert_eq!(decoded, queued);
            let (round, now) = round.unwrap();
            assert_eq!((round.number, now), (4, 9_000));
        }
        let mut missing = reply(REFUSED_NO_ROUND, 0);
        missing[2] = RedisResult::Int64(0);
        assert_eq!(decode(&missing).unwrap(), (Queued::NoRound, None));
        assert!(decode(&reply(0, 0)).is_err(), "no outcome is 0");
        assert!(decode(&reply(17, 0)[..5]).is_err());
    }
}
