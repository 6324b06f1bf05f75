//! Asking and upvoting: the voter identified, then the question or the upvote checked and
//! queued in one Redis round trip ([`ASK_SCRIPT`], [`UPVOTE_SCRIPT`]), which also rings the
//! worker when none is rung or draining.

use std::net::IpAddr;

use anyhow::{Context, bail};
use spin_sdk::redis::{RedisParameter, RedisResult};
use voting_glue::redis::{binary, eval};
use voting_glue::{doorbell, variable};
use voting_shared::client::{self, NEW_VOTERS_KEY_PREFIX};
use voting_shared::cookie::Voter;
use voting_shared::doorbell::{DOORBELL_KEY, LEASE_MS, VOTE_RING};
use voting_shared::questions::{
    ASK_SCRIPT, Ask, NEW_VOTERS_OVER_THE_LIMIT, NO_SUCH_QUESTION, OVER_THE_RATE, QA_KEY, QA_OFF,
    QA_UNKNOWN, QUESTION_SEQUENCE_KEY, QUESTIONS_KEY, UPVOTE_SCRIPT, VISIBLE_KEY, asked_key,
    rate_key, upvoted_key,
};
use voting_shared::queue::NEW_VOTER_LIMIT_KEY;

/// What became of a question or an upvote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// A question queued: its id, and whether it is published at once (else it waits for the
    /// presenter's approval).
    Asked { id: i64, published: bool },
    /// An upvote queued: whether the voter now upvotes the question.
    Upvoted { up: bool },
    /// Refused: Q&A is off.
    Off,
    /// Refused: the voter asked their questions for this minute; wait this many seconds.
    OverTheRate { retry_after: i64 },
    /// Refused: no published question has that id.
    NoSuchQuestion,
    /// Refused: the list is not kept in Redis (lost): the caller has it rebuilt.
    Unknown,
    /// Refused: a new voter id over the limit for the client's address.
    NewVotersOverTheLimit { retry_after: i64 },
}

/// What to do to an upvote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tap {
    Up,
    Down,
    /// Up if the voter has not upvoted the question, else down (a form that does not say).
    Toggle,
}

impl Tap {
    fn as_str(self) -> &'static str {
        match self {
            Tap::Up => "up",
            Tap::Down => "down",
            Tap::Toggle => "toggle",
        }
    }
}

/// A queued question or upvote: what became of it, and whether it rang the worker.
pub struct Sent {
    pub queued: Queued,
    pub rang: bool,
}

/// Decodes [`ASK_SCRIPT`]'s reply.
pub fn decode_ask(reply: &[RedisResult]) -> anyhow::Result<Sent> {
    let [
        RedisResult::Int64(first),
        RedisResult::Int64(second),
        RedisResult::Int64(rang),
    ] = reply
    else {
        bail!("unexpected reply asking a question: {reply:?}");
    };
    let queued = match *first {
        QA_OFF => Queued::Off,
        QA_UNKNOWN => Queued::Unknown,
        OVER_THE_RATE => Queued::OverTheRate {
            retry_after: *second,
        },
        NEW_VOTERS_OVER_THE_LIMIT => Queued::NewVotersOverTheLimit {
            retry_after: *second,
        },
        id if id > 0 => Queued::Asked {
            id,
            published: *second == 1,
        },
        other => bail!("unexpected outcome {other} asking a question"),
    };
    Ok(Sent {
        queued,
        rang: *rang == 1,
    })
}

/// Decodes [`UPVOTE_SCRIPT`]'s reply.
pub fn decode_upvote(reply: &[RedisResult]) -> anyhow::Result<Sent> {
    let [RedisResult::Int64(first), RedisResult::Int64(second)] = reply else {
        bail!("unexpected reply upvoting a question: {reply:?}");
    };
    let rang = second;
    let queued = match *first {
        QA_UNKNOWN => Queued::Unknown,
        NEW_VOTERS_OVER_THE_LIMIT => Queued::NewVotersOverTheLimit {
            retry_after: *second,
        },
        NO_SUCH_QUESTION => Queued::NoSuchQuestion,
        0 | 1 => Queued::Upvoted { up: *first == 1 },
        other => bail!("unexpected outcome {other} upvoting a question"),
    };
    Ok(Sent {
        queued,
        rang: *rang == 1,
    })
}

/// The arguments every queuing script ends with: the channel, the ring, whether the
/// component rings the worker itself, the lease.
fn ring_arguments() -> anyhow::Result<[RedisParameter; 4]> {
    let channel = variable("votes_channel")?;
    let chained = doorbell::http_doorbell()?.is_some();
    Ok([
        binary(channel),
        binary(VOTE_RING),
        binary(if chained { "1" } else { "" }),
        RedisParameter::Int64(LEASE_MS),
    ])
}

/// The new-voter count of `client` when `voter` is new and counts against the limit (a key is
/// passed either way: Redis checks an ACL user's key patterns on every key an EVAL declares).
fn new_voters(voter: &Voter, client: Option<IpAddr>) -> (String, RedisParameter) {
    match client.filter(|_| voter.new_cookie.is_some()) {
        Some(address) => (client::new_voters_key(address), binary("1")),
        None => (format!("{NEW_VOTERS_KEY_PREFIX}unlimited"), binary("")),
    }
}

/// Queues `ask` from `voter`, sent from `client`.
pub fn ask(
    redis: &spin_sdk::redis::Connection,
    voter: &Voter,
    client: Option<IpAddr>,
    ask: &Ask,
) -> anyhow::Result<Sent> {
    let rate = rate_key(&voter.id);
    let asked = asked_key(&voter.id);
    let (counter, counts) = new_voters(voter, client);
    let keys = [
        QUESTIONS_KEY,
        QUESTION_SEQUENCE_KEY,
        QA_KEY,
        rate.as_str(),
        asked.as_str(),
        DOORBELL_KEY,
        NEW_VOTER_LIMIT_KEY,
        counter.as_str(),
    ];
    let mut arguments = vec![
        binary(&voter.id),
        binary(&ask.text),
        binary(ask.name.as_deref().unwrap_or_default()),
    ];
    arguments.extend(ring_arguments()?);
    arguments.push(counts);
    let reply = eval(redis, ASK_SCRIPT, &keys, &arguments).context("queuing a question")?;
    decode_ask(&reply)
}

/// Queues `tap` on question `id` from `voter`, sent from `client`.
pub fn upvote(
    redis: &spin_sdk::redis::Connection,
    voter: &Voter,
    client: Option<IpAddr>,
    id: i64,
    tap: Tap,
) -> anyhow::Result<Sent> {
    let upvoted = upvoted_key(&voter.id);
    let (counter, counts) = new_voters(voter, client);
    let keys = [
        QUESTIONS_KEY,
        QUESTION_SEQUENCE_KEY,
        VISIBLE_KEY,
        upvoted.as_str(),
        QA_KEY,
        DOORBELL_KEY,
        NEW_VOTER_LIMIT_KEY,
        counter.as_str(),
    ];
    let mut arguments = vec![
        binary(&voter.id),
        binary(id.to_string()),
        binary(tap.as_str()),
    ];
    arguments.extend(ring_arguments()?);
    arguments.push(counts);
    let reply = eval(redis, UPVOTE_SCRIPT, &keys, &arguments).context("queuing an upvote")?;
    decode_upvote(&reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(values: &[i64]) -> Vec<RedisResult> {
        values.iter().copied().map(RedisResult::Int64).collect()
    }

    #[test]
    fn decodes_what_became_of_a_question() {
        let asked = decode_ask(&ints(&[1_700_000_000_000_001, 1, 1])).unwrap();
        assert_eq!(
            (asked.queued, asked.rang),
            (
                Queued::Asked {
                    id: 1_700_000_000_000_001,
                    published: true
                },
                true
            )
        );
        assert_eq!(
            decode_ask(&ints(&[QA_OFF, 0, 0])).unwrap().queued,
            Queued::Off
        );
        assert_eq!(
            decode_ask(&ints(&[OVER_THE_RATE, 40, 0])).unwrap().queued,
            Queued::OverTheRate { retry_after: 40 }
        );
        assert_eq!(
            decode_ask(&ints(&[QA_UNKNOWN, 0, 0])).unwrap().queued,
            Queued::Unknown
        );
        assert!(decode_ask(&ints(&[0, 0, 0])).is_err());
        assert!(decode_ask(&ints(&[1, 1])).is_err());
    }

    #[test]
    fn decodes_what_became_of_an_upvote() {
        assert_eq!(
            decode_upvote(&ints(&[1, 0])).unwrap().queued,
            Queued::Upvoted { up: true }
        );
        assert_eq!(
            decode_upvote(&ints(&[0, 1])).unwrap().queued,
            Queued::Upvoted { up: false }
        );
        assert_eq!(
            decode_upvote(&ints(&[NO_SUCH_QUESTION, 0])).unwrap().queued,
            Queued::NoSuchQuestion
        );
        assert!(decode_upvote(&ints(&[7, 0])).is_err());
    }
}
