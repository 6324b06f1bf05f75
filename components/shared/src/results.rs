//! What the room sees of the poll, kept in Redis so that a room of phones and the projector
//! polling once a second cost one Redis read each and nothing in PostgreSQL.
//!
//! Whoever changes the poll in PostgreSQL — the worker after each batch it commits, the console
//! after each change, the worker restoring a lost round — then reads it back with its version
//! ([`POLL_SNAPSHOT`](crate::schema::POLL_SNAPSHOT)) and writes the answers of `/result/api` to
//! the hash [`RESULTS_KEY`] ([`WRITE_SCRIPT`]), never replacing a newer version: the copy is
//! never ahead of PostgreSQL, and never goes back. Two answers are kept: the one before the
//! round's deadline and, for a round with a deadline, the one after it, so that Redis's clock
//! alone closes voting and shows counts hidden until then, with nobody writing anything.
//! A hidden count is in no answer that can be served while it is hidden.
//!
//! Readers ([`READ_SCRIPT`]) get the answer that holds at Redis's clock and its ETag, or only
//! that it is unchanged, in one round trip. When the copy is missing (a fresh app, Redis lost
//! its data) one reader at a time rebuilds it from PostgreSQL while the others are asked to
//! come back in a second. When the worker cannot reach PostgreSQL it marks the copy stale
//! ([`MARK_STALE_SCRIPT`]): phones keep their results, told they may be out of date.

use std::collections::HashMap;

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;

use crate::choice::{Choice, MAX_OPTIONS};
use crate::counts::Counts;
use crate::deck::Visibility;
use crate::poll::{Poll, PollProblem};
use crate::round::Round;

/// The hash of answers: `instance` and `version` (which snapshot it is), `open` (`1`: the
/// presenter has voting open), `closes` (the deadline, ms; `0`: none), `before` and
/// `before_tag` (the answer before the deadline and its ETag's hash), `after` and `after_tag`
/// (after it, for a round with a deadline ahead), `stale` (since when, ms, PostgreSQL could
/// not be written, if it could not).
pub const RESULTS_KEY: &str = "voting:results";
/// Held by the one reader rebuilding a missing [`RESULTS_KEY`].
pub const REBUILD_KEY: &str = "voting:results:rebuild";
/// How long a rebuild may take before another reader tries.
pub const REBUILD_LEASE_MS: i64 = 2000;

/// What [`READ_SCRIPT`] answers first: the answer, unchanged, or …
pub const ANSWERED: i64 = 200;
pub const UNCHANGED: i64 = 304;
/// … no answer is kept: this reader rebuilds it.
pub const REBUILD: i64 = -1;
/// … no answer is kept and another reader is rebuilding it.
pub const WAIT: i64 = -2;

/// Reads the answer at Redis's clock, and rings a catch-up when votes wait with no worker rung
/// or draining (at most once per interval across all readers): results are read every second
/// while a room watches, so no queued vote waits long for a doorbell, even at a deadline.
///
/// # KEYS
/// 1. [`RESULTS_KEY`]
/// 2. [`REBUILD_KEY`]
/// 3. the votes list
/// 4. the doorbell key
/// 5. the catch-up key
///
/// # ARGV
/// 1. the request's `If-None-Match` (empty: none)
/// 2. the votes channel to publish the catch-up on (empty: the caller rings it over HTTP)
/// 3. the catch-up ring's payload
/// 4. [`REBUILD_LEASE_MS`]
/// 5. the catch-up interval, ms
///
/// # Returns
/// The outcome, Redis's clock (ms) and `1` when the caller is to ring the catch-up itself;
/// then for [`UNCHANGED`] the ETag, and for [`ANSWERED`] the ETag, the answer, the deadline
/// (`0`: none), `1` when the presenter has voting open, and since when the answer is stale
/// (`0`: it is not); for [`WAIT`] what the rebuild's key says: `1` while a rebuild is under
/// way, or why the last one failed ([`REBUILD_FAILED_SCRIPT`]). [`REBUILD`] has nothing more.
pub const READ_SCRIPT: &str = r#"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ring = 0
if redis.call('LLEN', KEYS[3]) > 0 and redis.call('EXISTS', KEYS[4]) == 0
    and redis.call('SET', KEYS[5], '1', 'NX', 'PX', ARGV[5]) then
  if ARGV[2] == '' then ring = 1 else redis.call('PUBLISH', ARGV[2], ARGV[3]) end
end
local kept = redis.call('HMGET', KEYS[1], 'closes', 'open', 'before', 'before_tag', 'after',
  'after_tag', 'stale')
if not kept[3] then
  if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[4]) then return {-1, now, ring} end
  return {-2, now, ring, redis.call('GET', KEYS[2]) or '1'}
end
local closes = tonumber(kept[1]) or 0
local body, tag = kept[3], kept[4]
if closes > 0 and now >= closes and kept[5] then body, tag = kept[5], kept[6] end
local stale = tonumber(kept[7] or '0') or 0
if stale > 0 then tag = tag .. '-stale' end
local etag = 'W/"' .. tag .. '"'
if ARGV[1] ~= '' and string.find(ARGV[1], etag, 1, true) then return {304, now, ring, etag} end
return {200, now, ring, etag, body, closes, tonumber(kept[2]) or 0, stale}
"#;

/// Writes a snapshot's answers unless a newer one of the same database is kept, and ends a
/// rebuild.
///
/// # KEYS
/// 1. [`RESULTS_KEY`]
/// 2. [`REBUILD_KEY`]
///
/// # ARGV
/// 1. the snapshot's instance
/// 2. its version
/// 3. `1` when the presenter has voting open, else `0`
/// 4. the deadline, ms (`0`: none)
/// 5. the answer before the deadline
/// 6. its tag
/// 7. the answer after the deadline (empty: none)
/// 8. its tag
///
/// # Returns
/// `1` when it wrote, `0` when a newer snapshot was kept.
pub const WRITE_SCRIPT: &str = r#"
local kept = redis.call('HMGET', KEYS[1], 'instance', 'version')
if kept[1] == ARGV[1] and (tonumber(kept[2]) or 0) >= tonumber(ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'instance', ARGV[1], 'version', ARGV[2], 'open', ARGV[3],
  'closes', ARGV[4], 'before', ARGV[5], 'before_tag', ARGV[6])
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'after', ARGV[7], 'after_tag', ARGV[8]) end
return 1
"#;

/// After a rebuild failed: keeps readers from retrying it for ARGV[2] ms and tells them why,
/// ARGV[1]. KEYS: [`REBUILD_KEY`].
pub const REBUILD_FAILED_SCRIPT: &str = r#"
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 0
"#;

/// Marks the kept answers stale (PostgreSQL could not be written), keeping the time it first
/// was. KEYS: [`RESULTS_KEY`]. Returns 1 when it marked them.
pub const MARK_STALE_SCRIPT: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local time = redis.call('TIME')
return redis.call('HSETNX', KEYS[1], 'stale',
  tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000))
"#;

/// The poll as [`POLL_SNAPSHOT`](crate::schema::POLL_SNAPSHOT) reads it from PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Snapshot {
    /// Which database it was read from.
    pub instance: String,
    /// Which snapshot of it: a higher one saw every change a lower one saw.
    pub version: i64,
    round: i64,
    open: bool,
    question: Option<String>,
    options: Option<Vec<String>>,
    results: String,
    closes_ms: Option<i64>,
    revealed: bool,
    counts: HashMap<String, i64>,
}

impl Snapshot {
    /// The snapshot in [`POLL_SNAPSHOT`](crate::schema::POLL_SNAPSHOT)'s one column.
    pub fn parse(json: &str) -> anyhow::Result<Snapshot> {
        serde_json::from_str(json).context("reading the poll's snapshot")
    }

    /// The current round.
    pub fn round(&self) -> Result<Round, PollProblem> {
        let labels = self
            .options
            .as_ref()
            .map(|labels| serde_json::to_string(labels).expect("strings always serialize"));
        let round = Round::from_stored(
            self.round,
            self.open,
            self.question.as_deref(),
            labels.as_deref(),
        )?;
        Ok(Round {
            results: Visibility::parse(&self.results).unwrap_or_default(),
            closes_ms: self.closes_ms,
            revealed: self.revealed,
            ..round
        })
    }

    /// The current round's votes per choice, `a` to `h`.
    pub fn counts(&self) -> Counts {
        let mut counts = [0; MAX_OPTIONS];
        for (vote, count) in &self.counts {
            if let Some(choice) = Choice::parse(vote) {
                counts[choice.index()] = *count;
            }
        }
        Counts::new(&counts)
    }

    /// What to keep in Redis for this snapshot, `configured` being the poll of a round without
    /// one of its own.
    pub fn to_kept(&self, configured: &Poll) -> Result<Kept, PollProblem> {
        let round = self.round()?;
        let poll = round.ballot(configured);
        let counts = self.counts().only(poll);
        let closes_ms = round.closes_ms.unwrap_or(0);
        let answer_at = |now_ms| {
            let body = answer(&counts, poll, &round, now_ms).to_string();
            let tag = tag(&body);
            Answer { body, tag }
        };
        // Before a deadline, the answer is the same at any time before it.
        let before = answer_at(closes_ms - 1);
        let after = (closes_ms > 0 && round.open).then(|| answer_at(closes_ms));
        Ok(Kept {
            instance: self.instance.clone(),
            version: self.version,
            open: round.open,
            closes_ms,
            before,
            after,
        })
    }
}

/// What [`WRITE_SCRIPT`] keeps of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    pub instance: String,
    pub version: i64,
    /// The presenter's switch.
    pub open: bool,
    /// The deadline, ms; 0: none.
    pub closes_ms: i64,
    pub before: Answer,
    pub after: Option<Answer>,
}

impl Kept {
    /// The answer at Redis's clock `now_ms`: after the deadline, the one kept for then.
    pub fn at(&self, now_ms: i64) -> &Answer {
        match &self.after {
            Some(after) if now_ms >= self.closes_ms => after,
            _ => &self.before,
        }
    }
}

/// One answer of `/result/api` without what changes with the clock, and the hash its ETag is
/// made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub body: String,
    pub tag: String,
}

/// `/result/api`'s answer for `counts`, the votes of `round` (whose ballot is `poll`), at
/// `now_ms` (Redis's clock): the original app's fields, the question and every option, the
/// round, whether voting is open and until when, and who may see the counts. While the round
/// hides them, the answer has no count at all — not `a`, `b` or any option's `count`, only
/// `total`, how many have voted.
pub fn answer(counts: &Counts, poll: &Poll, round: &Round, now_ms: i64) -> Value {
    let mut body = counts.to_json(poll);
    body["round"] = round.number.into();
    body["open"] = round.open_at(now_ms).into();
    body["results"] = round.results.as_str().into();
    body["closes_at"] = round.closes_ms.into();
    let hidden = round.counts_hidden(now_ms);
    body["hidden"] = hidden.into();
    if hidden {
        if let Some(fields) = body.as_object_mut() {
            fields.remove("a");
            fields.remove("b");
        }
        if let Some(options) = body["options"].as_array_mut() {
            for option in options.iter_mut().filter_map(Value::as_object_mut) {
                option.remove("count");
            }
        }
    }
    body
}

/// The hash of an answer (FNV-1a, hex): what its ETag is made of, from exactly what it says.
pub fn tag(body: &str) -> String {
    let hash = body.bytes().fold(0xcbf29ce484222325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100000001b3)
    });
    format!("{hash:016x}")
}

/// The ETag of the answer with `tag`, marked when it is stale.
pub fn etag(tag: &str, stale: bool) -> String {
    if stale {
        format!("W/\"{tag}-stale\"")
    } else {
        format!("W/\"{tag}\"")
    }
}

/// The answer `body` as served at Redis's clock `now_ms`, with what changes with the clock
/// added: `now`, `seconds_left` (`null` without a deadline, 0 once voting closed) and
/// `stale` (whether PostgreSQL could not be written since the answer was kept). Pages count
/// down from `closes_at` and `now`, so the ETag need not change every second.
pub fn served(body: &str, now_ms: i64, closes_ms: i64, open: bool, stale: bool) -> String {
    let seconds_left = match closes_ms {
        0 => "null".to_owned(),
        closes if open && now_ms < closes => ((closes - now_ms + 999) / 1000).to_string(),
        _ => "0".to_owned(),
    };
    let fields = format!(r#""now":{now_ms},"seconds_left":{seconds_left},"stale":{stale}}}"#);
    match body.strip_suffix('}') {
        Some(open_body) if open_body.ends_with('{') => format!("{open_body}{fields}"),
        Some(open_body) => format!("{open_body},{fields}"),
        None => body.to_owned(),
    }
}

/// An answer of `/result/api` as a client reads it: the results page, the load tool, tests.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Served {
    pub round: i64,
    pub question: String,
    pub options: Vec<ServedOption>,
    pub total: i64,
    pub open: bool,
    pub hidden: bool,
    pub results: String,
    pub closes_at: Option<i64>,
    #[serde(default)]
    pub now: i64,
    #[serde(default)]
    pub seconds_left: Option<i64>,
    #[serde(default)]
    pub stale: bool,
}

/// One option in a [`Served`] answer; no count while they are hidden.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServedOption {
    pub choice: String,
    pub label: String,
    pub count: Option<i64>,
}

impl Served {
    pub fn parse(json: &str) -> anyhow::Result<Served> {
        serde_json::from_str(json).context("reading the results' answer")
    }

    /// The poll it shows.
    pub fn poll(&self) -> Result<Poll, PollProblem> {
        let labels: Vec<&str> = self.options.iter().map(|o| o.label.as_str()).collect();
        Poll::with_question(&self.question, &labels)
    }

    /// The counts, unless hidden.
    pub fn counts(&self) -> Option<Counts> {
        if self.hidden {
            return None;
        }
        let mut counts = [0; MAX_OPTIONS];
        for option in &self.options {
            counts[Choice::parse(&option.choice)?.index()] = option.count?;
        }
        Some(Counts::new(&counts))
    }

    /// Who sees the counts, and when.
    pub fn visibility(&self) -> Visibility {
        Visibility::parse(&self.results).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(json: &str) -> Snapshot {
        Snapshot::parse(json).unwrap()
    }

    const LIVE: &str = r#"{"instance":"i1","version":7,"round":2,"open":true,"question":"Lunch?",
        "options":["Pizza","Soup"],"results":"live","closes_ms":null,"revealed":false,
        "counts":{"a":2,"b":1,"z":5}}"#;

    fn configured() -> Poll {
        Poll::new(&["Cats", "Dogs"]).unwrap()
    }

    #[test]
    fn a_live_round_keeps_one_answer_with_every_count() {
        let kept = snapshot(LIVE).to_kept(&configured()).unwrap();
        assert_eq!((kept.version, kept.closes_ms, kept.open), (7, 0, true));
        assert!(kept.after.is_none());
        let body: Value = serde_json::from_str(&kept.before.body).unwrap();
        assert_eq!(body["a"], 2);
        assert_eq!(body["options"][1]["count"], 1);
        assert_eq!(
            body["total"], 3,
            "a vote for no option of the ballot is left out"
        );
        assert_eq!(body["question"], "Lunch?");
        assert_eq!(body["round"], 2);
        assert_eq!(body["hidden"], false);
        assert_eq!(kept.before.tag, tag(&kept.before.body));
    }

    #[test]
    fn a_round_without_its_own_poll_shows_the_configured_one() {
        let json = r#"{"instance":"i1","version":1,"round":1,"open":true,"question":null,
            "options":null,"results":"live","closes_ms":null,"revealed":false,"counts":{}}"#;
        let kept = snapshot(json).to_kept(&configured()).unwrap();
        let body: Value = serde_json::from_str(&kept.before.body).unwrap();
        assert_eq!(body["option_a"], "Cats");
        assert_eq!(body["total"], 0);
    }

    #[test]
    fn hidden_counts_are_in_no_answer_served_while_they_are_hidden() {
        let on_reveal = LIVE.replace(r#""live""#, r#""on-reveal""#);
        let one = snapshot(&on_reveal).to_kept(&configured()).unwrap();
        let other = snapshot(&on_reveal.replace(r#""a":2,"b":1"#, r#""a":1,"b":2"#))
            .to_kept(&configured())
            .unwrap();
        assert_eq!(
            one.before, other.before,
            "the same answer whatever the counts"
        );
        let body: Value = serde_json::from_str(&one.before.body).unwrap();
        assert_eq!(
            (body["hidden"].as_bool(), body["total"].as_i64()),
            (Some(true), Some(3))
        );
        assert!(body.get("a").is_none() && body["options"][0].get("count").is_none());
        let revealed = on_reveal.replace(r#""revealed":false"#, r#""revealed":true"#);
        let shown = snapshot(&revealed).to_kept(&configured()).unwrap();
        assert_ne!(shown.before.tag, one.before.tag);
    }

    #[test]
    fn a_deadline_keeps_a_second_answer_for_after_it() {
        let timed = LIVE
            .replace(r#""live""#, r#""after-close""#)
            .replace(r#""closes_ms":null"#, r#""closes_ms":61000"#);
        let kept = snapshot(&timed).to_kept(&configured()).unwrap();
        let before: Value = serde_json::from_str(&kept.at(60_999).body).unwrap();
        assert_eq!(
            (before["open"].as_bool(), before["hidden"].as_bool()),
            (Some(true), Some(true))
        );
        assert!(before.get("a").is_none());
        let after: Value = serde_json::from_str(&kept.at(61_000).body).unwrap();
        assert_eq!(
            (after["open"].as_bool(), after["hidden"].as_bool()),
            (Some(false), Some(false))
        );
        assert_eq!(after["a"], 2);
        assert_eq!(after["closes_at"], 61_000);
        let closed = timed.replace(r#""open":true"#, r#""open":false"#);
        let kept = snapshot(&closed).to_kept(&configured()).unwrap();
        assert!(
            kept.after.is_none(),
            "closed by the presenter: nothing changes at the deadline"
        );
    }

    #[test]
    fn the_clock_adds_now_the_seconds_left_and_staleness() {
        let served = served(r#"{"a":1}"#, 30_500, 61_000, true, false);
        assert_eq!(
            served,
            r#"{"a":1,"now":30500,"seconds_left":31,"stale":false}"#
        );
        assert!(
            super::served("{}", 61_000, 61_000, true, true)
                .ends_with(r#""seconds_left":0,"stale":true}"#)
        );
        assert!(super::served("{}", 1, 0, true, false).contains(r#""seconds_left":null"#));
        assert_eq!(
            super::served("{}", 1, 61_000, false, false),
            r#"{"now":1,"seconds_left":0,"stale":false}"#
        );
        assert_eq!(etag("ab", false), r#"W/"ab""#);
        assert_eq!(etag("ab", true), r#"W/"ab-stale""#);
    }

    #[test]
    fn an_answer_reads_back_as_it_was_served() {
        let kept = snapshot(LIVE).to_kept(&configured()).unwrap();
        let read = Served::parse(&served(&kept.before.body, 5, 0, true, false)).unwrap();
        assert_eq!(read.poll().unwrap().question(), "Lunch?");
        assert_eq!(read.counts(), Some(Counts::new(&[2, 1])));
        assert_eq!((read.round, read.now, read.seconds_left), (2, 5, None));
    }

    #[test]
    fn the_scripts_answer_the_codes_named_here() {
        for code in [ANSWERED, UNCHANGED, REBUILD, WAIT] {
            assert!(
                READ_SCRIPT.contains(&format!("return {{{code}, now")),
                "{code}"
            );
        }
        assert!(
            READ_SCRIPT.contains("'-stale'"),
            "the ETag of a stale answer, as etag() makes it"
        );
    }
}
