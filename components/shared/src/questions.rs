//! The audience's questions, with a vote's guarantees: asking and upvoting are queued in Redis
//! in one script each (checked, rate-limited, stamped, the worker rung), and answered 202 once
//! queued; the worker writes them to PostgreSQL, the source of truth, in the same run that
//! drains the votes, and then keeps the list the room reads in Redis, as it keeps the results
//! ([`crate::results`]): one Redis read per phone, never a PostgreSQL query, rebuilt by one
//! reader when Redis lost it, and never replaced by an older snapshot.
//!
//! Every key is under `voting:`, which the ACL user docs/configuration.md describes may reach.
//! A question's id is Redis's clock in microseconds, bumped past the last one handed out: known
//! when it is queued (the 202 gives it) and unique even if Redis loses the counter.

use std::collections::HashMap;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::queue::Poison;

/// The queue of asked questions and upvotes (a list of JSON entries).
pub const QUESTIONS_KEY: &str = "voting:questions";
/// Entries that can never be processed.
pub const QUESTIONS_DEAD_KEY: &str = "voting:questions:dead";
/// The last id handed out.
pub const QUESTION_SEQUENCE_KEY: &str = "voting:questions:seq";
/// The list the room reads, kept by the worker and the console: `instance`, `version`,
/// `mode`, `list` (the answer of `/api/questions`) and `tag` (its ETag's hash).
pub const QA_KEY: &str = "voting:qa";
/// The ids of the published questions, which phones may upvote.
pub const VISIBLE_KEY: &str = "voting:qa:visible";
/// Held by the one reader rebuilding a missing [`QA_KEY`].
pub const QA_REBUILD_KEY: &str = "voting:qa:rebuild";

/// The questions a voter upvoted (a set of ids), for their own page.
pub fn upvoted_key(voter_id: &str) -> String {
    format!("voting:qa:upvoted:{voter_id}")
}

/// The questions a voter asked (a set of ids), for their own page.
pub fn asked_key(voter_id: &str) -> String {
    format!("voting:qa:asked:{voter_id}")
}

/// How many questions a voter asked in the current window.
pub fn rate_key(voter_id: &str) -> String {
    format!("voting:qa:rate:{voter_id}")
}

/// The most characters in a question, and in an asker's name.
pub const MAX_TEXT_CHARS: usize = 280;
pub const MAX_NAME_CHARS: usize = 40;
/// The most questions a voter may ask a minute.
pub const MAX_QUESTIONS_PER_MINUTE: i64 = 3;

/// Whether the room may ask, and whether questions wait for the presenter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Nobody asks: the page says Q&A is closed.
    #[default]
    Off,
    /// Questions appear at once.
    Open,
    /// Questions wait for the presenter's approval.
    Moderated,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Open => "open",
            Mode::Moderated => "moderated",
        }
    }

    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "off" => Some(Mode::Off),
            "open" => Some(Mode::Open),
            "moderated" => Some(Mode::Moderated),
            _ => None,
        }
    }
}

/// A question as the room asks it, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub text: String,
    pub name: Option<String>,
}

impl Ask {
    /// The question `text` (1 to 280 characters, no control character; spaces around it
    /// trimmed) and the optional `name` (1 to 40; empty: none). The error says what to change.
    pub fn new(text: &str, name: Option<&str>) -> Result<Ask, String> {
        let text = text.trim();
        let length = text.chars().count();
        if length == 0 {
            return Err("the question is empty: write one of 1 to 280 characters".to_owned());
        }
        if length > MAX_TEXT_CHARS {
            return Err(format!(
                "the question has {length} characters: keep it to {MAX_TEXT_CHARS}"
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(
                "the question has a control character (a line break, a tab, …): \
                        write it on one line"
                    .to_owned(),
            );
        }
        // What a lossy decoding makes of bytes that are not UTF-8.
        let replaced = |text: &str| text.contains(char::REPLACEMENT_CHARACTER);
        if replaced(text) || name.is_some_and(replaced) {
            return Err("the question is not valid UTF-8: send it as UTF-8 text".to_owned());
        }
        let name = match name.map(str::trim) {
            None | Some("") => None,
            Some(name) if name.chars().count() > MAX_NAME_CHARS => {
                return Err(format!(
                    "the name is longer than {MAX_NAME_CHARS} characters"
                ));
            }
            Some(name) if name.chars().any(char::is_control) => {
                return Err("the name has a control character".to_owned());
            }
            Some(name) => Some(name.to_owned()),
        };
        Ok(Ask {
            text: text.to_owned(),
            name,
        })
    }
}

/// Queues a question: refuses it while Q&A is off and past the voter's rate, else gives it an
/// id, marks it the voter's, and rings the worker if none is rung or draining.
///
/// # KEYS
/// 1. [`QUESTIONS_KEY`]
/// 2. [`QUESTION_SEQUENCE_KEY`]
/// 3. [`QA_KEY`]
/// 4. the voter's [`rate_key`]
/// 5. the voter's [`asked_key`]
/// 6. [`DOORBELL_KEY`](crate::doorbell::DOORBELL_KEY)
/// 7. [`NEW_VOTER_LIMIT_KEY`](crate::queue::NEW_VOTER_LIMIT_KEY)
/// 8. the client's new-voter count ([`new_voters_key`](crate::client::new_voters_key))
///
/// # ARGV
/// 1. the voter id
/// 2. the question's text
/// 3. the asker's name (empty: none)
/// 4. the votes channel
/// 5. [`VOTE_RING`](crate::doorbell::VOTE_RING)
/// 6. `1` when the component rings the worker itself (service chaining)
/// 7. [`LEASE_MS`](crate::doorbell::LEASE_MS)
/// 8. `1` when the voter id is new and counts against the new-voter limit (else empty)
///
/// # Returns
/// The question's id and `1` when it is published at once (`0`: it waits for approval), then
/// `1` when this rang the worker; or a refusal: [`QA_OFF`], [`QA_UNKNOWN`] (the list is not
/// kept: the caller rebuilds it), [`OVER_THE_RATE`] or [`NEW_VOTERS_OVER_THE_LIMIT`] and the
/// seconds to wait.
pub const ASK_SCRIPT: &str = r#"
local mode = redis.call('HGET', KEYS[3], 'mode')
if not mode then return {-6, 0, 0} end
if mode == 'off' then return {-3, 0, 0} end
if ARGV[8] == '1' then
  local limit = tonumber(redis.call('GET', KEYS[7]) or '0') or 0
  if limit > 0 then
    local new = redis.call('INCR', KEYS[8])
    if redis.call('TTL', KEYS[8]) < 0 then redis.call('EXPIRE', KEYS[8], 60) end
    if new > limit then return {-7, math.max(redis.call('TTL', KEYS[8]), 1), 0} end
  end
end
local count = redis.call('INCR', KEYS[4])
if redis.call('TTL', KEYS[4]) < 0 then redis.call('EXPIRE', KEYS[4], 60) end
if count > 3 then return {-1, math.max(redis.call('TTL', KEYS[4]), 1), 0} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local id = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0') + 1)
redis.call('SET', KEYS[2], string.format('%d', id))
local published = mode == 'open'
local ring = redis.call('EXISTS', KEYS[6]) == 0
local heard = 0
if ring then heard = redis.call('PUBLISH', ARGV[4], ARGV[5]) end
redis.call('RPUSH', KEYS[1], cjson.encode({kind = 'ask', id = string.format('%d', id),
  voter_id = ARGV[1], text = ARGV[2], name = ARGV[3], published = published,
  asked_ms = math.floor(now / 1000)}))
redis.call('SADD', KEYS[5], string.format('%d', id))
redis.call('EXPIRE', KEYS[5], 86400)
if ring and (heard > 0 or ARGV[6] == '1') then redis.call('SET', KEYS[6], 'rung', 'PX', ARGV[7]) end
return {id, published and 1 or 0, ring and 1 or 0}
"#;

/// Queues an upvote or takes one back: refuses a question that is not published, else marks it
/// the voter's (or not) and rings the worker if none is rung or draining. A toggle upvotes a
/// question the voter has not upvoted, and takes back one they have.
///
/// # KEYS
/// 1. [`QUESTIONS_KEY`]
/// 2. [`QUESTION_SEQUENCE_KEY`]
/// 3. [`VISIBLE_KEY`]
/// 4. the voter's [`upvoted_key`]
/// 5. [`QA_KEY`]
/// 6. [`DOORBELL_KEY`](crate::doorbell::DOORBELL_KEY)
/// 7. [`NEW_VOTER_LIMIT_KEY`](crate::queue::NEW_VOTER_LIMIT_KEY)
/// 8. the client's new-voter count ([`new_voters_key`](crate::client::new_voters_key))
///
/// # ARGV
/// 1. the voter id
/// 2. the question's id
/// 3. `up`, `down` or `toggle`
/// 4. the votes channel
/// 5. [`VOTE_RING`](crate::doorbell::VOTE_RING)
/// 6. `1` when the component rings the worker itself (service chaining)
/// 7. [`LEASE_MS`](crate::doorbell::LEASE_MS)
/// 8. `1` when the voter id is new and counts against the new-voter limit (else empty)
///
/// # Returns
/// `1` when the voter now upvotes the question (`0`: not), and `1` when this rang the worker;
/// or a refusal: [`QA_UNKNOWN`] (the list is not kept: the caller rebuilds it),
/// [`NO_SUCH_QUESTION`], or [`NEW_VOTERS_OVER_THE_LIMIT`] and the seconds to wait.
pub const UPVOTE_SCRIPT: &str = r#"
if redis.call('EXISTS', KEYS[5]) == 0 then return {-6, 0} end
if redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 0 then return {-2, 0} end
if ARGV[8] == '1' then
  local limit = tonumber(redis.call('GET', KEYS[7]) or '0') or 0
  if limit > 0 then
    local new = redis.call('INCR', KEYS[8])
    if redis.call('TTL', KEYS[8]) < 0 then redis.call('EXPIRE', KEYS[8], 60) end
    if new > limit then return {-7, math.max(redis.call('TTL', KEYS[8]), 1)} end
  end
end
local up = ARGV[3] == 'up'
if ARGV[3] == 'toggle' then up = redis.call('SISMEMBER', KEYS[4], ARGV[2]) == 0 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local seq = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0') + 1)
redis.call('SET', KEYS[2], string.format('%d', seq))
local ring = redis.call('EXISTS', KEYS[6]) == 0
local heard = 0
if ring then heard = redis.call('PUBLISH', ARGV[4], ARGV[5]) end
redis.call('RPUSH', KEYS[1], cjson.encode({kind = 'upvote', question = ARGV[2],
  voter_id = ARGV[1], up = up, seq = string.format('%d', seq)}))
if up then redis.call('SADD', KEYS[4], ARGV[2]) else redis.call('SREM', KEYS[4], ARGV[2]) end
redis.call('EXPIRE', KEYS[4], 86400)
if ring and (heard > 0 or ARGV[6] == '1') then redis.call('SET', KEYS[6], 'rung', 'PX', ARGV[7]) end
return {up and 1 or 0, ring and 1 or 0}
"#;

/// What [`ASK_SCRIPT`] answers past the voter's rate.
pub const OVER_THE_RATE: i64 = -1;
/// What [`UPVOTE_SCRIPT`] answers for a question that is not published.
pub const NO_SUCH_QUESTION: i64 = -2;
/// What [`ASK_SCRIPT`] answers while Q&A is off.
pub const QA_OFF: i64 = -3;
/// What both answer while the list is not kept in Redis.
pub const QA_UNKNOWN: i64 = -6;
/// What both answer for a new voter id over the limit for the client's address.
pub const NEW_VOTERS_OVER_THE_LIMIT: i64 = -7;

/// Reads the list at once with the voter's own marks, and rings a catch-up when questions wait
/// with no worker rung or draining (at most once per interval), as a results read does.
///
/// # KEYS
/// 1. [`QA_KEY`]
/// 2. [`QA_REBUILD_KEY`]
/// 3. [`QUESTIONS_KEY`]
/// 4. [`DOORBELL_KEY`](crate::doorbell::DOORBELL_KEY)
/// 5. [`CATCH_UP_KEY`](crate::queue::CATCH_UP_KEY)
/// 6. the voter's [`upvoted_key`] (any key when there is no voter)
/// 7. the voter's [`asked_key`]
///
/// # ARGV
/// 1. `If-None-Match` (empty: none)
/// 2. the votes channel to publish the catch-up on (empty: the caller rings it over HTTP)
/// 3. the catch-up ring's payload
/// 4. [`REBUILD_LEASE_MS`](crate::results::REBUILD_LEASE_MS)
/// 5. the catch-up interval, ms
///
/// # Returns
/// The outcome ([`ANSWERED`](crate::results::ANSWERED), [`UNCHANGED`](crate::results::UNCHANGED),
/// [`REBUILD`](crate::results::REBUILD) or [`WAIT`](crate::results::WAIT)) and `1` when the caller is to
/// ring the catch-up itself; then for an answer or a 304 the ETag, and for an answer the list,
/// the mode, and the voter's upvoted and asked ids, each comma-separated.
pub const READ_LIST_SCRIPT: &str = r#"
local ring = 0
if redis.call('LLEN', KEYS[3]) > 0 and redis.call('EXISTS', KEYS[4]) == 0
    and redis.call('SET', KEYS[5], '1', 'NX', 'PX', ARGV[5]) then
  if ARGV[2] == '' then ring = 1 else redis.call('PUBLISH', ARGV[2], ARGV[3]) end
end
local kept = redis.call('HMGET', KEYS[1], 'list', 'tag', 'mode')
if not kept[1] then
  if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[4]) then return {-1, ring} end
  return {-2, ring}
end
local etag = 'W/"' .. kept[2] .. '"'
if ARGV[1] ~= '' and string.find(ARGV[1], etag, 1, true) then return {304, ring, etag} end
return {200, ring, etag, kept[1], kept[3],
  table.concat(redis.call('SMEMBERS', KEYS[6]), ','),
  table.concat(redis.call('SMEMBERS', KEYS[7]), ',')}
"#;

/// Writes a snapshot's list unless a newer one of the same database is kept, and ends a
/// rebuild.
///
/// # KEYS
/// 1. [`QA_KEY`]
/// 2. [`VISIBLE_KEY`]
/// 3. [`QA_REBUILD_KEY`]
///
/// # ARGV
/// 1. the snapshot's instance
/// 2. its version
/// 3. the mode
/// 4. the list (the answer of `/api/questions`)
/// 5. its tag
/// 6. … the ids of the published questions
///
/// # Returns
/// `1` when it wrote, `0` when a newer snapshot was kept.
pub const WRITE_LIST_SCRIPT: &str = r#"
local kept = redis.call('HMGET', KEYS[1], 'instance', 'version')
if kept[1] == ARGV[1] and (tonumber(kept[2]) or 0) >= tonumber(ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'instance', ARGV[1], 'version', ARGV[2], 'mode', ARGV[3],
  'list', ARGV[4], 'tag', ARGV[5])
for i = 6, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
return 1
"#;

/// One step of the worker's drain of the questions: removes what is still at the head of the
/// list of the batch it wrote (another run may have removed part of it) and dead-letters its
/// poison entries, then reads the next batch. No lease: the run that drains the votes drains
/// the questions after them, and writing a batch twice changes nothing.
///
/// # KEYS
/// 1. [`QUESTIONS_KEY`]
/// 2. [`QUESTIONS_DEAD_KEY`]
///
/// # ARGV
/// n, the n entries of the last batch as read, then the 1-based positions of its poison
/// entries (nothing before the first batch).
///
/// # Returns
/// Up to [`BATCH_SIZE`](crate::queue::BATCH_SIZE) entries.
pub const DRAIN_QUESTIONS_SCRIPT: &str = r#"
local n = tonumber(ARGV[1] or '0')
if n > 0 then
  local head = redis.call('LRANGE', KEYS[1], 0, n - 1)
  local start = nil
  for i = 1, n do
    local matches = true
    for j = i, n do
      if head[j - i + 1] ~= ARGV[j + 1] then matches = false; break end
    end
    if matches then start = i; break end
  end
  if start then
    redis.call('LTRIM', KEYS[1], n - start + 1, -1)
    for k = n + 2, #ARGV do
      local position = tonumber(ARGV[k])
      if position >= start then redis.call('RPUSH', KEYS[2], ARGV[position + 1]) end
    end
  end
end
return redis.call('LRANGE', KEYS[1], 0, 250 - 1)
"#;

/// A queued entry: a question asked, or an upvote given or taken back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Ask {
        id: i64,
        voter_id: String,
        ask: Ask,
        published: bool,
        asked_ms: i64,
    },
    Upvote {
        question: i64,
        voter_id: String,
        up: bool,
        seq: i64,
    },
}

/// Parses and checks one queue entry.
pub fn parse_entry(entry: &[u8]) -> Result<Entry, Poison> {
    let poison = |reason: &str| Poison(reason.to_owned());
    let value: Value = serde_json::from_slice(entry).map_err(|_| poison("not JSON"))?;
    let text = |field: &str| value.get(field).and_then(Value::as_str);
    let number = |field: &str| -> Result<i64, Poison> {
        text(field)
            .and_then(|text| text.parse().ok())
            .or_else(|| value.get(field).and_then(Value::as_i64))
            .filter(|number| *number > 0)
            .ok_or_else(|| poison(&format!("{field} is not a positive number")))
    };
    let voter_id = text("voter_id")
        .filter(|id| !id.is_empty() && id.chars().count() <= 255 && !id.contains('\0'))
        .ok_or_else(|| poison("voter_id is missing, empty or too long"))?
        .to_owned();
    match text("kind") {
        Some("ask") => {
            let name = text("name").filter(|name| !name.is_empty());
            let ask = Ask::new(text("text").unwrap_or_default(), name).map_err(Poison)?;
            Ok(Entry::Ask {
                id: number("id")?,
                voter_id,
                ask,
                published: value.get("published").and_then(Value::as_bool) == Some(true),
                asked_ms: number("asked_ms")?,
            })
        }
        Some("upvote") => Ok(Entry::Upvote {
            question: number("question")?,
            voter_id,
            up: value
                .get("up")
                .and_then(Value::as_bool)
                .ok_or_else(|| poison("up is not true or false"))?,
            seq: number("seq")?,
        }),
        _ => Err(poison("kind is not ask or upvote")),
    }
}

/// What to write of a batch.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct QuestionPlan {
    pub asks: Vec<Entry>,
    /// The latest upvote of each voter for each question, sorted (concurrent writers lock rows
    /// in one order).
    pub upvotes: Vec<Entry>,
    pub poison: Vec<(usize, Poison)>,
}

/// Plans a batch read from the queue.
pub fn plan_questions(entries: &[Vec<u8>]) -> QuestionPlan {
    let mut plan = QuestionPlan::default();
    let mut latest: HashMap<(i64, String), Entry> = HashMap::new();
    for (position, entry) in entries.iter().enumerate() {
        match parse_entry(entry) {
            Ok(ask @ Entry::Ask { .. }) => plan.asks.push(ask),
            Ok(upvote @ Entry::Upvote { .. }) => {
                let Entry::Upvote {
                    question,
                    voter_id,
                    seq,
                    ..
                } = &upvote
                else {
                    continue;
                };
                let key = (*question, voter_id.clone());
                let newer = match latest.get(&key) {
                    Some(Entry::Upvote { seq: kept, .. }) => seq > kept,
                    _ => true,
                };
                if newer {
                    latest.insert(key, upvote);
                }
            }
            Err(reason) => plan.poison.push((position, reason)),
        }
    }
    let mut upvotes: Vec<((i64, String), Entry)> = latest.into_iter().collect();
    upvotes.sort_by(|a, b| a.0.cmp(&b.0));
    plan.upvotes = upvotes.into_iter().map(|(_, upvote)| upvote).collect();
    plan
}

/// A question as PostgreSQL keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Question {
    pub id: i64,
    pub text: String,
    pub name: Option<String>,
    /// `pending`, `published` or `hidden`.
    pub state: String,
    pub answered: bool,
    pub asked_ms: i64,
    pub upvotes: i64,
}

impl Question {
    pub fn is_published(&self) -> bool {
        self.state == "published"
    }
}

/// Every question with the Q&A's state, as
/// [`QA_SNAPSHOT`](crate::schema::QA_SNAPSHOT) reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct QaSnapshot {
    pub instance: String,
    pub version: i64,
    pub mode: Mode,
    pub highlighted: Option<i64>,
    pub questions: Vec<Question>,
}

impl QaSnapshot {
    pub fn parse(json: &str) -> anyhow::Result<QaSnapshot> {
        serde_json::from_str(json).context("reading the questions' snapshot")
    }

    /// Every question, most upvoted first (then the newest).
    pub fn by_upvotes(&self) -> Vec<&Question> {
        let mut questions: Vec<&Question> = self.questions.iter().collect();
        questions.sort_by(|a, b| b.upvotes.cmp(&a.upvotes).then(b.id.cmp(&a.id)));
        questions
    }

    /// The published questions, most upvoted first (then the newest).
    pub fn published(&self) -> Vec<&Question> {
        let mut published = self.by_upvotes();
        published.retain(|question| question.is_published());
        published
    }

    /// The answer of `/api/questions`: the published questions only, most upvoted first, each
    /// with its id (as text: JavaScript's numbers hold fewer digits), text, name, upvotes,
    /// whether it is answered and whether it is highlighted; and the mode.
    pub fn list(&self) -> Value {
        let questions: Vec<Value> = self
            .published()
            .into_iter()
            .map(|question| {
                json!({
                    "id": question.id.to_string(),
                    "text": question.text,
                    "name": question.name,
                    "upvotes": question.upvotes,
                    "answered": question.answered,
                    "highlighted": self.highlighted == Some(question.id),
                    "asked_at": question.asked_ms,
                })
            })
            .collect();
        json!({ "mode": self.mode.as_str(), "questions": questions })
    }
}

/// A list as a phone reads it back (the page, the tests).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Listed {
    pub mode: Mode,
    pub questions: Vec<ListedQuestion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedQuestion {
    pub id: String,
    pub text: String,
    pub name: Option<String>,
    pub upvotes: i64,
    pub answered: bool,
    pub highlighted: bool,
    pub asked_at: i64,
}

impl Listed {
    pub fn parse(json: &str) -> anyhow::Result<Listed> {
        serde_json::from_str(json).context("reading the list of questions")
    }
}

/// Every question as CSV (RFC 4180) for the presenter: text, name, upvotes, state, asked at;
/// a field that starts with `=`, `+`, `-` or `@` is prefixed with `'`, so that a spreadsheet
/// does not run it as a formula.
pub fn to_csv(questions: &[Question], utc: impl Fn(i64) -> String) -> String {
    let quoted = |text: &str| {
        let text = if text.starts_with(['=', '+', '-', '@']) {
            format!("'{text}")
        } else {
            text.to_owned()
        };
        format!("\"{}\"", text.replace('"', "\"\""))
    };
    let mut csv = String::from("id,text,name,upvotes,state,answered,asked_at\r\n");
    for question in questions {
        let fields = [
            question.id.to_string(),
            quoted(&question.text),
            quoted(question.name.as_deref().unwrap_or_default()),
            question.upvotes.to_string(),
            question.state.clone(),
            question.answered.to_string(),
            utc(question.asked_ms),
        ];
        csv.push_str(&fields.join(","));
        csv.push_str("\r\n");
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_is_one_line_of_1_to_280_characters_and_a_name_of_1_to_40() {
        let asked = Ask::new("  Why Wasm?  ", Some(" Ada ")).unwrap();
        assert_eq!(
            asked,
            Ask {
                text: "Why Wasm?".into(),
                name: Some("Ada".into())
            }
        );
        assert_eq!(Ask::new("Why?", Some("  ")).unwrap().name, None);
        assert!(Ask::new(&"é".repeat(280), None).is_ok());
        for (text, name, problem) in [
            ("", None, "empty"),
            ("   ", None, "empty"),
            (&*"x".repeat(281), None, "281 characters"),
            ("two\nlines", None, "control character"),
            ("bell\u{7}", None, "control character"),
            ("fine", Some(&*"n".repeat(41)), "longer than 40"),
            ("fine", Some("t\tb"), "control character"),
            ("bad \u{FFFD}", None, "not valid UTF-8"),
        ] {
            let refused = Ask::new(text, name).unwrap_err();
            assert!(refused.contains(problem), "{text:?}: {refused}");
        }
    }

    #[test]
    fn entries_parse_as_the_scripts_write_them() {
        let ask = br#"{"kind":"ask","id":"1700000000000001","voter_id":"v","text":"Why?","name":"","published":true,"asked_ms":1700000000000}"#;
        assert_eq!(
            parse_entry(ask),
            Ok(Entry::Ask {
                id: 1_700_000_000_000_001,
                voter_id: "v".into(),
                ask: Ask {
                    text: "Why?".into(),
                    name: None
                },
                published: true,
                asked_ms: 1_700_000_000_000,
            })
        );
        let upvote = br#"{"kind":"upvote","question":"42","voter_id":"v","up":false,"seq":"7"}"#;
        assert_eq!(
            parse_entry(upvote),
            Ok(Entry::Upvote {
                question: 42,
                voter_id: "v".into(),
                up: false,
                seq: 7
            })
        );
        for poison in [
            &b"nope"[..],
            br#"{"kind":"ask","id":"1","voter_id":"v","text":"","asked_ms":1}"#,
            br#"{"kind":"upvote","question":"x","voter_id":"v","up":true,"seq":"1"}"#,
            br#"{"kind":"upvote","question":"1","voter_id":"","up":true,"seq":"1"}"#,
            br#"{"kind":"other","voter_id":"v"}"#,
        ] {
            assert!(
                parse_entry(poison).is_err(),
                "{}",
                String::from_utf8_lossy(poison)
            );
        }
    }

    #[test]
    fn the_latest_upvote_of_each_voter_for_each_question_is_written() {
        let upvote = |question: i64, voter: &str, up: bool, seq: i64| {
            format!(r#"{{"kind":"upvote","question":"{question}","voter_id":"{voter}","up":{up},"seq":"{seq}"}}"#)
                .into_bytes()
        };
        let plan = plan_questions(&[
            upvote(1, "a", true, 5),
            upvote(1, "a", false, 6),
            upvote(2, "a", true, 7),
            b"garbage".to_vec(),
            upvote(1, "b", true, 8),
        ]);
        let kept: Vec<(i64, &str, bool)> = plan
            .upvotes
            .iter()
            .map(|entry| match entry {
                Entry::Upvote {
                    question,
                    voter_id,
                    up,
                    ..
                } => (*question, voter_id.as_str(), *up),
                Entry::Ask { .. } => unreachable!(),
            })
            .collect();
        assert_eq!(kept, [(1, "a", false), (1, "b", true), (2, "a", true)]);
        assert_eq!(plan.poison.len(), 1);
    }

    #[test]
    fn the_list_has_the_published_questions_most_upvoted_first() {
        let snapshot = QaSnapshot::parse(
            r#"{"instance":"i","version":3,"mode":"moderated","highlighted":2,"questions":[
              {"id":1,"text":"One?","name":null,"state":"published","answered":false,"asked_ms":1,"upvotes":1},
              {"id":2,"text":"Two?","name":"Ada","state":"published","answered":true,"asked_ms":2,"upvotes":5},
              {"id":3,"text":"Hidden?","name":null,"state":"hidden","answered":false,"asked_ms":3,"upvotes":9},
              {"id":4,"text":"Pending?","name":null,"state":"pending","answered":false,"asked_ms":4,"upvotes":0}]}"#,
        )
        .unwrap();
        let list = snapshot.list();
        assert_eq!(list["mode"], "moderated");
        let texts: Vec<&str> = list["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|question| question["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts, ["Two?", "One?"]);
        assert_eq!(list["questions"][0]["highlighted"], true);
        assert_eq!(list["questions"][0]["id"], "2");
        assert!(
            !list.to_string().contains("Hidden?"),
            "a hidden question reaches no phone"
        );
    }

    #[test]
    fn csv_cells_cannot_become_formulas() {
        let question = |text: &str, name: Option<&str>| Question {
            id: 1,
            text: text.into(),
            name: name.map(str::to_owned),
            state: "hidden".into(),
            answered: false,
            asked_ms: 0,
            upvotes: 2,
        };
        let csv = to_csv(
            &[
                question("=HYPERLINK(\"x\")", Some("@me")),
                question("ok", None),
            ],
            |_| "2026-12-06T00:00:00Z".into(),
        );
        assert_eq!(
            csv,
            "id,text,name,upvotes,state,answered,asked_at\r\n\
             1,\"'=HYPERLINK(\"\"x\"\")\",\"'@me\",2,hidden,false,2026-12-06T00:00:00Z\r\n\
             1,\"ok\",\"\",2,hidden,false,2026-12-06T00:00:00Z\r\n"
        );
    }

    #[test]
    fn the_scripts_answer_the_codes_named_here() {
        assert!(ASK_SCRIPT.contains(&format!("return {{{QA_UNKNOWN}, 0, 0}}")));
        assert!(ASK_SCRIPT.contains(&format!("return {{{QA_OFF}, 0, 0}}")));
        assert!(ASK_SCRIPT.contains(&format!("return {{{OVER_THE_RATE}, math.max")));
        assert!(ASK_SCRIPT.contains(&format!("if count > {MAX_QUESTIONS_PER_MINUTE} then")));
        assert!(UPVOTE_SCRIPT.contains(&format!("return {{{QA_UNKNOWN}, 0}}")));
        assert!(UPVOTE_SCRIPT.contains(&format!("return {{{NO_SUCH_QUESTION}, 0}}")));
        assert!(ASK_SCRIPT.contains(&format!("return {{{NEW_VOTERS_OVER_THE_LIMIT}, math.max")));
        assert!(UPVOTE_SCRIPT.contains(&format!("return {{{NEW_VOTERS_OVER_THE_LIMIT}, math.max")));
        assert!(DRAIN_QUESTIONS_SCRIPT.contains(&format!("0, {} - 1)", crate::queue::BATCH_SIZE)));
    }
}
