//! The vote queue: a Redis list of JSON entries, wire-compatible with the original app.
//!
//! The vote component appends an entry, and rings the worker when no worker is rung or
//! draining already, in one atomic script ([`ENQUEUE_SCRIPT`]; when to ring is the
//! [`doorbell`](crate::doorbell)'s business). The worker reads a batch from the head of the
//! list, writes it to PostgreSQL, and only then removes it (in the script that reads the next,
//! [`DRAIN_SCRIPT`](crate::doorbell::DRAIN_SCRIPT)), so a crash at any point leaves the batch
//! queued for the next doorbell. Applying a batch twice is harmless: every vote carries a
//! sequence number and the database keeps, per voter, the vote with the highest one.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::choice::Choice;
use crate::round::offers;

/// The list of queued votes (the original app's key).
pub const VOTES_KEY: &str = "votes";
/// Entries that can never be processed, moved aside so they do not block the queue.
pub const DEAD_LETTER_KEY: &str = "votes:dead";
/// The last sequence number handed out.
pub const SEQUENCE_KEY: &str = "votes:seq";
/// When a worker last committed a batch (Redis time, µs), for monitoring.
pub const LAST_BATCH_KEY: &str = "votes:last-batch";
/// The most new voter ids one client address may get in a window of
/// [`LIMIT_WINDOW_SECONDS`](crate::client::LIMIT_WINDOW_SECONDS), an integer; absent or 0: no
/// limit (the default: a conference's wifi puts hundreds of phones behind one address).
pub const NEW_VOTER_LIMIT_KEY: &str = "voting:new-voter-limit";
/// What [`ENQUEUE_SCRIPT`] answers for a vote refused by the new-voter limit.
pub const REFUSED_BY_LIMIT: i64 = -1;
/// How many entries the worker reads, writes and acknowledges at a time.
pub const BATCH_SIZE: usize = 250;
/// The longest voter id the `votes` table accepts (`VARCHAR(255)`).
pub const MAX_VOTER_ID_CHARS: usize = 255;

/// What [`ENQUEUE_SCRIPT`] answers, besides a sequence number, for a vote it refused: there
/// is no round mirror yet (the doorbell was rung for the worker to restore it).
pub const REFUSED_NO_ROUND: i64 = -2;
/// … voting is closed.
pub const REFUSED_CLOSED: i64 = -3;
/// … the choice is not on the current round's ballot.
pub const REFUSED_NOT_ON_BALLOT: i64 = -4;
/// … the ballot was of another round than the current one.
pub const REFUSED_OTHER_ROUND: i64 = -5;

/// Appends a vote for the current round and rings the worker if none is rung or draining,
/// atomically.
///
/// # KEYS
/// 1. the votes list
/// 2. the sequence key
/// 3. [`NEW_VOTER_LIMIT_KEY`]
/// 4. this client's new-voter count ([`new_voters_key`](crate::client::new_voters_key))
/// 5. [`ROUND_KEY`](crate::round::ROUND_KEY)
/// 6. [`DOORBELL_KEY`](crate::doorbell::DOORBELL_KEY)
///
/// # ARGV
/// 1. the voter id
/// 2. the vote
/// 3. the votes channel
/// 4. [`VOTE_RING`](crate::doorbell::VOTE_RING)
/// 5. `1` when the voter id is new (else empty)
/// 6. the configured poll's choices (`ab`: the ballot of a round without a poll of its own)
/// 7. the limit's window in seconds
/// 8. [`LEASE_MS`](crate::doorbell::LEASE_MS)
/// 9. `1` when the vote component rings the worker itself after answering (service chaining;
///    else empty)
/// 10. the round whose ballot the voter saw (empty: whichever is current)
///
/// # Returns
/// 1. the sequence number, or a refusal (nothing queued)
/// 2. for an accepted vote `1` when it rang, `0` when a worker was rung or draining already;
///    for [`REFUSED_BY_LIMIT`] the seconds until the window closes; else `0`
/// 3. … the round's mirror and Redis's clock, as
///    [`MIRROR_REPLY_LEN`](crate::round::MIRROR_REPLY_LEN) says.
///
/// Refusals, in this order: without a round mirror [`REFUSED_NO_ROUND`] (and the doorbell
/// rings, so that the worker restores it); a ballot of another round [`REFUSED_OTHER_ROUND`]
/// (a phone still showing the last question must not vote in the new one); [`REFUSED_CLOSED`]
/// (closed by the presenter, or past the round's deadline by Redis's clock: a vote a
/// millisecond late is refused whether or not anything else is running);
/// [`REFUSED_NOT_ON_BALLOT`]; and for a new voter id over the limit [`REFUSED_BY_LIMIT`].
///
/// The sequence number is the server time in microseconds, bumped past the last one handed
/// out, so it increases strictly even if Redis loses the sequence key.
/// Redis keeps what a script wrote before an error, so everything that can be refused (an
/// ACL user without the channel or the keys) comes before the first write to the queue: a
/// refused vote leaves nothing queued (at most a new-voter count one higher). Ringing before
/// the push is safe: no worker can read the list until the script has ended. The ring is
/// marked only once a worker heard it (or the vote rings by HTTP): a message published while
/// nobody is subscribed is lost, so until a worker subscribes every vote rings.
pub const ENQUEUE_SCRIPT: &str = r#"
local round = redis.call('HMGET', KEYS[5], 'round', 'open', 'choices', 'poll', 'closes',
  'results', 'revealed')
if not round[1] then
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  return {-2, 0, 0, 0, '', '', 0, 0, 0}
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local number = tonumber(round[1])
local closes = tonumber(round[5] or '')
local function answer(outcome, second)
  return {outcome, second, number, tonumber(round[2]) or 0, round[4] or '', round[6] or '',
    closes or 0, tonumber(round[7] or '') or 0, math.floor(now / 1000)}
end
if ARGV[10] ~= '' and tonumber(ARGV[10]) ~= number then return answer(-5, 0) end
if round[2] ~= '1' or (closes and now >= closes * 1000) then return answer(-3, 0) end
local choices = round[3] or ''
if choices == '' then choices = ARGV[6] end
if #ARGV[2] ~= 1 or not string.find(choices, ARGV[2], 1, true) then return answer(-4, 0) end
if ARGV[5] == '1' then
  local limit = tonumber(redis.call('GET', KEYS[3]) or '0') or 0
  if limit > 0 then
    local count = redis.call('INCR', KEYS[4])
    if redis.call('TTL', KEYS[4]) < 0 then redis.call('EXPIRE', KEYS[4], ARGV[7]) end
    if count > limit then return answer(-1, math.max(redis.call('TTL', KEYS[4]), 1)) end
  end
end
local ring = redis.call('EXISTS', KEYS[6]) == 0
local heard = 0
if ring then heard = redis.call('PUBLISH', ARGV[3], ARGV[4]) end
local seq = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0') + 1)
redis.call('SET', KEYS[2], string.format('%d', seq))
redis.call('RPUSH', KEYS[1], string.format(
  '{"voter_id":%s,"vote":%s,"seq":%d,"ts":%d,"round":%d}',
  cjson.encode(ARGV[1]), cjson.encode(ARGV[2]), seq, math.floor(now / 1000), number))
if ring and (heard > 0 or ARGV[9] == '1') then
  redis.call('SET', KEYS[6], 'rung', 'PX', ARGV[8])
end
return answer(seq, ring and 1 or 0)
"#;

/// How often at most (ms) results reads ring the worker to catch up on queued votes that no
/// worker was rung for ([`READ_SCRIPT`](crate::results::READ_SCRIPT)).
pub const CATCH_UP_INTERVAL_MS: i64 = 1000;
/// Set for [`CATCH_UP_INTERVAL_MS`] after a catch-up ring, shared by every instance.
pub const CATCH_UP_KEY: &str = "votes:catch-up";

/// What an operator watches, in one round trip. KEYS: the votes list, the dead-letter list,
/// the last-batch time. Returns the queue length, the dead letters, the last batch's time
/// (µs, -1 before the first) and the server time (µs).
pub const METRICS_SCRIPT: &str = r#"
local time = redis.call('TIME')
return {redis.call('LLEN', KEYS[1]), redis.call('LLEN', KEYS[2]),
  tonumber(redis.call('GET', KEYS[3]) or '-1'),
  tonumber(time[1]) * 1000000 + tonumber(time[2])}
"#;

/// A queue entry in the original app's format, as its Python vote service pushed them.
#[derive(Debug, Serialize)]
pub struct LegacyEntry<'a> {
    pub voter_id: &'a str,
    pub vote: &'a str,
}

impl LegacyEntry<'_> {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("two strings always serialize")
    }
}

/// A valid queued vote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    pub voter_id: String,
    pub choice: Choice,
    /// Absent in entries pushed by the original app.
    pub seq: Option<i64>,
    /// The round it was cast in; absent in entries pushed by the original app, which belong to
    /// the current round.
    pub round: Option<i64>,
}

/// Why an entry can never be processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poison(pub String);

/// Parses and validates one queue entry: a vote for one of the options of its round. The
/// enqueue script checked a stamped vote against its round's ballot; an entry without a round
/// is for the current round, whose ballot offers `current_choices` (`abc`).
pub fn parse_entry(entry: &[u8], current_choices: &str) -> Result<Vote, Poison> {
    let poison = |reason: &str| Poison(reason.to_owned());
    let value: Value = serde_json::from_slice(entry).map_err(|_| poison("not JSON"))?;
    let object = value
        .as_object()
        .ok_or_else(|| poison("not a JSON object"))?;
    let voter_id = object
        .get("voter_id")
        .and_then(Value::as_str)
        .ok_or_else(|| poison("voter_id is missing or not a string"))?;
    if voter_id.is_empty()
        || voter_id.chars().count() > MAX_VOTER_ID_CHARS
        || voter_id.contains('\0')
    {
        return Err(poison("voter_id is empty, too long or contains NUL"));
    }
    let vote = object
        .get("vote")
        .and_then(Value::as_str)
        .ok_or_else(|| poison("vote is missing or not a string"))?;
    let round = match object.get("round") {
        None | Some(Value::Null) => None,
        Some(round) => Some(
            round
                .as_i64()
                .filter(|round| *round >= 1)
                .ok_or_else(|| poison("round is not a positive integer"))?,
        ),
    };
    let choice = match round {
        Some(_) => Choice::parse(vote),
        None => Choice::parse(vote).filter(|choice| offers(current_choices, *choice)),
    }
    .ok_or_else(|| poison("vote is not one of the poll's options"))?;
    let seq = match object.get("seq") {
        None | Some(Value::Null) => None,
        Some(seq) => Some(
            seq.as_i64()
                .filter(|seq| *seq >= 0)
                .ok_or_else(|| poison("seq is not a non-negative integer"))?,
        ),
    };
    Ok(Vote {
        voter_id: voter_id.to_owned(),
        choice,
        seq,
        round,
    })
}

/// The latest vote of one voter in one round within a batch, to upsert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upsert {
    pub voter_id: String,
    pub choice: Choice,
    pub seq: i64,
    /// `None`: the current round, whichever it is when the batch is written.
    pub round: Option<i64>,
}

/// What to do with a batch read from the queue.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchPlan {
    /// One row per voter and round, sorted by voter id so concurrent workers lock rows in one
    /// order.
    pub upserts: Vec<Upsert>,
    /// Positions (0-based) of poison entries, with the reason.
    pub poison: Vec<(usize, Poison)>,
}

/// Plans a batch read at `now_micros` (Redis server time), the current round's ballot
/// offering `current_choices`. Entries of the original format have no sequence number; they get `now_micros`
/// plus their position, so within a batch the later entry wins, and they rank after every
/// vote queued before they were read.
pub fn plan_batch(now_micros: i64, entries: &[Vec<u8>], current_choices: &str) -> BatchPlan {
    let mut latest: HashMap<(String, Option<i64>), (i64, Choice)> = HashMap::new();
    let mut poison = Vec::new();
    for (position, entry) in entries.iter().enumerate() {
        match parse_entry(entry, current_choices) {
            Ok(vote) => {
                let seq = vote.seq.unwrap_or(now_micros + position as i64);
                let kept = latest
                    .entry((vote.voter_id, vote.round))
                    .or_insert((seq, vote.choice));
                if seq >= kept.0 {
                    *kept = (seq, vote.choice);
                }
            }
            Err(reason) => poison.push((position, reason)),
        }
    }
    let mut upserts: Vec<Upsert> = latest
        .into_iter()
        .map(|((voter_id, round), (seq, choice))| Upsert {
            voter_id,
            choice,
            seq,
            round,
        })
        .collect();
    upserts.sort_by(|a, b| (&a.voter_id, a.round).cmp(&(&b.voter_id, b.round)));
    BatchPlan { upserts, poison }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(json: &str) -> Vec<u8> {
        json.as_bytes().to_vec()
    }

    fn cats_and_dogs() -> &'static str {
        "ab"
    }

    #[test]
    fn parses_our_entries_and_the_original_format() {
        assert_eq!(
            parse_entry(
                br#"{"voter_id":"v1","vote":"a","seq":17,"ts":5}"#,
                cats_and_dogs()
            ),
            Ok(Vote {
                voter_id: "v1".into(),
                choice: Choice::A,
                seq: Some(17),
                round: None,
            })
        );
        assert_eq!(
            parse_entry(
                br#"{"voter_id":"v1","vote":"e","seq":17,"ts":5,"round":4}"#,
                cats_and_dogs()
            ),
            Ok(Vote {
                voter_id: "v1".into(),
                choice: Choice::at(4),
                seq: Some(17),
                round: Some(4),
            })
        );
        let legacy = LegacyEntry {
            voter_id: "4f2a",
            vote: "b",
        }
        .to_json();
        assert_eq!(legacy, r#"{"voter_id":"4f2a","vote":"b"}"#);
        assert_eq!(
            parse_entry(legacy.as_bytes(), cats_and_dogs()),
            Ok(Vote {
                voter_id: "4f2a".into(),
                choice: Choice::B,
                seq: None,
                round: None,
            })
        );
    }

    #[test]
    fn rejects_entries_that_can_never_be_processed() {
        let long_id = format!(r#"{{"voter_id":"{}","vote":"a"}}"#, "x".repeat(256));
        let poison = [
            "",
            "not json",
            "[1,2]",
            r#"{"vote":"a"}"#,
            r#"{"voter_id":7,"vote":"a"}"#,
            r#"{"voter_id":"","vote":"a"}"#,
            r#"{"voter_id":"v\u0000","vote":"a"}"#,
            long_id.as_str(),
            r#"{"voter_id":"v"}"#,
            r#"{"voter_id":"v","vote":"c"}"#,
            r#"{"voter_id":"v","vote":"a","seq":-1}"#,
            r#"{"voter_id":"v","vote":"a","seq":"x"}"#,
            r#"{"voter_id":"v","vote":"a","round":0}"#,
            r#"{"voter_id":"v","vote":"a","round":"1"}"#,
            r#"{"voter_id":"v","vote":"i","round":1}"#,
        ];
        for json in poison {
            assert!(
                parse_entry(json.as_bytes(), cats_and_dogs()).is_err(),
                "{json:?}"
            );
        }
        let longest = format!(r#"{{"voter_id":"{}","vote":"a"}}"#, "é".repeat(255));
        assert!(parse_entry(longest.as_bytes(), cats_and_dogs()).is_ok());
        let third = br#"{"voter_id":"v","vote":"c"}"#;
        assert_eq!(parse_entry(third, "abc").unwrap().choice, Choice::at(2));
        assert!(parse_entry(third, cats_and_dogs()).is_err());
    }

    #[test]
    fn keeps_each_voters_latest_vote_sorted_by_voter() {
        let plan = plan_batch(
            1_000,
            &[
                entry(r#"{"voter_id":"z","vote":"a","seq":5}"#),
                entry(r#"{"voter_id":"y","vote":"a","seq":9}"#),
                entry(r#"{"voter_id":"z","vote":"b","seq":7}"#),
                entry(r#"{"voter_id":"y","vote":"b","seq":8}"#),
            ],
            cats_and_dogs(),
        );
        assert_eq!(
            plan.upserts,
            [
                Upsert {
                    voter_id: "y".into(),
                    choice: Choice::A,
                    seq: 9,
                    round: None,
                },
                Upsert {
                    voter_id: "z".into(),
                    choice: Choice::B,
                    seq: 7,
                    round: None,
                },
            ]
        );
        assert!(plan.poison.is_empty());
    }

    #[test]
    fn original_format_entries_are_ordered_by_position_after_the_read_time() {
        let plan = plan_batch(
            1_000,
            &[
                entry(r#"{"voter_id":"v","vote":"a"}"#),
                entry("garbage"),
                entry(r#"{"voter_id":"v","vote":"b"}"#),
            ],
            cats_and_dogs(),
        );
        assert_eq!(
            plan.upserts,
            [Upsert {
                voter_id: "v".into(),
                choice: Choice::B,
                seq: 1_002,
                round: None,
            }]
        );
        assert_eq!(plan.poison, [(1, Poison("not JSON".into()))]);
    }

    #[test]
    fn a_voter_keeps_a_latest_vote_in_each_round() {
        let plan = plan_batch(
            1_000,
            &[
                entry(r#"{"voter_id":"v","vote":"a","seq":5,"round":1}"#),
                entry(r#"{"voter_id":"v","vote":"b","seq":6,"round":2}"#),
                entry(r#"{"voter_id":"v","vote":"c","seq":7,"round":1}"#),
            ],
            cats_and_dogs(),
        );
        let rounds: Vec<(Option<i64>, Choice)> =
            plan.upserts.iter().map(|u| (u.round, u.choice)).collect();
        assert_eq!(rounds, [(Some(1), Choice::at(2)), (Some(2), Choice::B)]);
    }

    #[test]
    fn the_enqueue_script_answers_the_codes_named_here() {
        assert!(ENQUEUE_SCRIPT.contains(&format!("return {{{REFUSED_NO_ROUND}, 0,")));
        for (code, refusal) in [
            (REFUSED_OTHER_ROUND, "return answer(-5, 0)"),
            (REFUSED_CLOSED, "return answer(-3, 0)"),
            (REFUSED_NOT_ON_BALLOT, "return answer(-4, 0)"),
            (REFUSED_BY_LIMIT, "return answer(-1, "),
        ] {
            assert!(refusal.contains(&format!("({code}, ")), "{refusal}");
            assert!(ENQUEUE_SCRIPT.contains(refusal), "{refusal}");
        }
        let order: Vec<usize> = ["(-5, 0)", "(-3, 0)", "(-4, 0)", "(-1, "]
            .iter()
            .map(|refusal| ENQUEUE_SCRIPT.find(refusal).unwrap())
            .collect();
        assert!(order.is_sorted(), "refusals in the documented order");
        assert_eq!(
            ENQUEUE_SCRIPT.matches("return answer(").count(),
            5,
            "every exit but the missing mirror's is a refusal checked here or the sequence number"
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn no_entry_makes_the_parser_panic(entry in prop::collection::vec(any::<u8>(), 0..200)) {
                let _ = parse_entry(&entry, cats_and_dogs());
                let _ = plan_batch(0, &[entry], cats_and_dogs());
            }

            #[test]
            fn an_original_format_entry_round_trips(voter_id in "[^\\x00]{1,255}", b in any::<bool>()) {
                let vote = if b { "b" } else { "a" };
                let entry = LegacyEntry { voter_id: &voter_id, vote }.to_json();
                let parsed = parse_entry(entry.as_bytes(), cats_and_dogs()).unwrap();
                prop_assert_eq!(parsed.voter_id, voter_id);
                prop_assert_eq!(parsed.choice.as_str(), vote);
                prop_assert_eq!(parsed.seq, None);
            }
        }
    }
}
