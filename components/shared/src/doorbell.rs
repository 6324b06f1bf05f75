//! The doorbell: when a vote wakes the worker, and how a woken worker drains. A burst of votes
//! costs the worker one run, not one per vote, and no vote is left waiting for a doorbell that
//! never comes.
//!
//! - [`DOORBELL_KEY`] says that a worker has been rung (`rung`) or is draining (the run's
//!   token), with a time to live, [`LEASE_MS`], that the draining run renews at every batch.
//! - The vote's enqueue script rings only when the key is absent, and then sets it to `rung`
//!   if a worker heard the ring (under the Redis trigger: a message published while nobody is
//!   subscribed is lost, so until a worker subscribes every vote rings) or the vote rings the
//!   worker itself (service chaining).
//! - A run claims the key with its token and drains batch after batch. After a batch smaller
//!   than [`BATCH_SIZE`](crate::queue::BATCH_SIZE) it waits [`GATHER_MS`], so that under load
//!   the next batch holds the votes of that while, not one or two. Each batch is acknowledged
//!   in the script that reads the next ([`DRAIN_SCRIPT`]); the script that finds the queue
//!   empty deletes the key in the same step, so a vote queued after it rings again, and one
//!   queued before it is in the batch.
//! - A run that dies leaves the key to expire: [`LEASE_MS`] later the next vote rings. A run
//!   that fails (PostgreSQL down, say) shortens the lease to [`RETRY_MS`]
//!   ([`RETRY_SCRIPT`]), which paces the retries while votes keep coming.
//! - A vote's doorbell ([`Ring::Vote`]) is polite: a run that finds another run draining
//!   ends at once (every `spin up` replica subscribed to the channel hears every ring). Any
//!   other doorbell ([`Ring::CatchUp`]: scripts/up's or SpinKube's when a worker starts, an
//!   operator's `PUBLISH votes catch-up`, a results read on a host without a Redis trigger)
//!   takes over from whatever run holds the key, which ends after its current batch: a
//!   catch-up always drains, even while a dead run's lease lives on.

/// Whether a worker has been rung or is draining: absent, [`RUNG`], or the draining run's
/// token.
pub const DOORBELL_KEY: &str = "votes:doorbell";
/// The value of [`DOORBELL_KEY`] between a vote's ring and a run's claim.
pub const RUNG: &str = "rung";
/// How long a ring or a run's claim holds without being renewed.
pub const LEASE_MS: i64 = 3000;
/// How long a failed run holds the key, so that the next vote after it rings a retry.
pub const RETRY_MS: i64 = 1000;
/// How long a run waits after a batch smaller than a full one, for more votes to arrive.
pub const GATHER_MS: u64 = 20;
/// How long a run rung over HTTP may drain before it hands over (a host may bound a request:
/// Akamai Functions at 30 s); the next vote or results read rings the next run.
pub const HTTP_RUN_LIMIT_MS: u64 = 20_000;

/// Who rang, which decides whether a run defers to another one already draining.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ring {
    /// A vote rang: defer to a run already draining.
    Vote,
    /// Anyone else rang (a worker starting, an operator, a results read): drain regardless.
    CatchUp,
}

/// The payload a vote's ring carries (on the votes channel, or as the body of the HTTP
/// doorbell). The original worker ignored payloads, and so does the queue: it is the list,
/// not the message, that holds the votes.
pub const VOTE_RING: &str = "vote";
/// The payload of a catch-up ring.
pub const CATCH_UP_RING: &str = "catch-up";

impl Ring {
    /// The ring a doorbell's payload is: [`VOTE_RING`] is a vote's, anything else a catch-up.
    pub fn of(payload: &[u8]) -> Ring {
        if payload == VOTE_RING.as_bytes() {
            Ring::Vote
        } else {
            Ring::CatchUp
        }
    }
}

/// What a run asks of [`DRAIN_SCRIPT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The run's first read, after `Ring`.
    Claim(Ring),
    /// A later read: acknowledge the last batch, then read the next unless another run has
    /// taken over.
    Next,
    /// Acknowledge the last batch and give the key up: the run stops with votes still queued.
    Release,
}

impl Step {
    /// The step's name, as [`DRAIN_SCRIPT`] reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Claim(Ring::Vote) => "vote",
            Step::Claim(Ring::CatchUp) => "catch-up",
            Step::Next => "next",
            Step::Release => "release",
        }
    }
}

/// What [`DRAIN_SCRIPT`] answers when the run is to stop because another run drains.
pub const DEFERRED: i64 = -1;

/// One step of a run: acknowledges the batch it wrote, then claims and reads the next.
/// KEYS: the votes list, the dead-letter list, the last-batch time, the round's mirror,
/// [`DOORBELL_KEY`]. ARGV: the run's token, the [`Step`], then, after a batch, n, the n
/// entries of the batch as read and the 1-based positions of its poison entries.
/// [`LEASE_MS`] and [`BATCH_SIZE`](crate::queue::BATCH_SIZE) are written into the script, so
/// that a first step is ten words (`EVAL` included): the most Redis reads from a client that
/// has not logged in, which it answers "NOAUTH" (a longer command gets a protocol error,
/// which tells the operator nothing).
///
/// The acknowledgement removes what is still at the head of the list of the last batch (a run
/// that took over may have removed part or all of it), dead-letters its poison entries, and
/// records the time. Then the run stops — answering [`DEFERRED`] — if another run holds the
/// key (for a vote's claim, or a later step); else it holds the key itself for [`LEASE_MS`]
/// and reads up to a batch, answering the server time (µs), the round (`0` without a mirror),
/// its choices field and the entries; when there are none it deletes the key instead. A
/// release deletes the key if the run holds it and answers nothing more.
pub const DRAIN_SCRIPT: &str = r#"
local time = redis.call('TIME')
local n = tonumber(ARGV[3] or '0')
if n > 0 then
  redis.call('SET', KEYS[3], time[1] .. string.format('%06d', tonumber(time[2])))
  local head = redis.call('LRANGE', KEYS[1], 0, n - 1)
  local start = nil
  for i = 1, n do
    local matches = true
    for j = i, n do
      if head[j - i + 1] ~= ARGV[j + 3] then matches = false; break end
    end
    if matches then start = i; break end
  end
  if start then
    redis.call('LTRIM', KEYS[1], n - start + 1, -1)
    for k = n + 4, #ARGV do
      local position = tonumber(ARGV[k])
      if position >= start then redis.call('RPUSH', KEYS[2], ARGV[position + 3]) end
    end
  end
end
local owner = redis.call('GET', KEYS[5])
local theirs = owner and owner ~= 'rung' and owner ~= ARGV[1]
if ARGV[2] == 'release' then
  if owner == ARGV[1] then redis.call('DEL', KEYS[5]) end
  return {0}
end
if theirs and ARGV[2] ~= 'catch-up' then return {-1} end
local round = redis.call('HMGET', KEYS[4], 'round', 'choices')
local entries = redis.call('LRANGE', KEYS[1], 0, 250 - 1)
if #entries == 0 then
  redis.call('DEL', KEYS[5])
else
  redis.call('SET', KEYS[5], ARGV[1], 'PX', 3000)
end
table.insert(entries, 1, round[2] or '')
table.insert(entries, 1, tonumber(round[1] or '0'))
table.insert(entries, 1, tonumber(time[1]) * 1000000 + tonumber(time[2]))
return entries
"#;

/// After a run failed: holds its key for ARGV[2] ms only, so that the next vote after that
/// rings a retry. KEYS: [`DOORBELL_KEY`]. ARGV: the run's token, [`RETRY_MS`].
pub const RETRY_SCRIPT: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"#;

/// Whether a run waits for more votes before its next read: after a batch that was not full
/// (a full one means a backlog: read on at once).
pub fn gathers_after(batch_len: usize, batch_size: usize) -> bool {
    batch_len < batch_size
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::BATCH_SIZE;

    #[test]
    fn only_a_votes_payload_is_a_polite_ring() {
        assert_eq!(Ring::of(b"vote"), Ring::Vote);
        assert_eq!(Ring::of(b"catch-up"), Ring::CatchUp);
        assert_eq!(Ring::of(b""), Ring::CatchUp, "an empty POST or message");
        assert_eq!(
            Ring::of(b"anything"),
            Ring::CatchUp,
            "an operator's message"
        );
    }

    #[test]
    fn steps_are_named_as_the_script_reads_them() {
        assert_eq!(Step::Claim(Ring::Vote).as_str(), "vote");
        assert_eq!(Step::Claim(Ring::CatchUp).as_str(), "catch-up");
        assert_eq!(Step::Next.as_str(), "next");
        assert_eq!(Step::Release.as_str(), "release");
    }

    #[test]
    fn the_drain_script_holds_the_lease_and_reads_the_batch_size() {
        assert!(DRAIN_SCRIPT.contains(&format!("'PX', {LEASE_MS})")));
        assert!(DRAIN_SCRIPT.contains(&format!("0, {BATCH_SIZE} - 1)")));
    }

    #[test]
    fn a_run_gathers_after_a_partial_batch_only() {
        assert!(gathers_after(1, 250));
        assert!(gathers_after(249, 250));
        assert!(!gathers_after(250, 250));
    }
}
