//! The PostgreSQL schema and statements: the original app's `votes` table (plus a sequence
//! column) and `vote_tallies`, an exact running count per option kept by triggers on `votes`,
//! for the current round; `poll_rounds`, every round with its poll, times, who sees its
//! results and its deadline, `poll_state`, which round is current and which deck question
//! comes next, `round_votes`, the votes of the rounds before it, and `deck_questions`, a
//! talk's questions prepared in advance.
//!
//! `votes` holds the current round only (the original result query has no round filter), so
//! starting a round moves its votes to `round_votes` and empties it. A vote is written in the
//! worker's upsert into the round it was cast in: `votes` while that round is current, else
//! `round_votes`. Both functions lock the `poll_state` row first (the upsert to share, a new
//! round to update), so a batch is written wholly before or wholly after a round change,
//! against the round that is then current, and neither waits for the other in a cycle.
//! Times are BIGINT milliseconds since 1970 by Redis's clock, passed in by the components (the
//! clock the enqueue script decides deadlines by): Spin converts no timestamps. A round past its
//! deadline (`closes_ms`) is closed whether or not `open` says so yet: every reader applies the
//! deadline by Redis's clock, and whoever writes next (a batch, a change) records it.
//!
//! `poll_snapshot()` reads what the room sees (the round and its counts) with a version that
//! orders snapshots, for the Redis copy phones read ([`crate::results`]).
//!
//! Every query here returns exactly one row by construction: under Spin 4.0 to at least 4.1
//! a `query` whose result has no rows never returns (spinframework/spin#3671).

/// Creates or migrates the schema, in one statement (a `DO` block, so one transaction) under
/// an advisory lock, so workers that start together do not race.
///
/// - `votes` is created, or a table the original worker made gets our `seq` column.
/// - `vote_tallies` is created once and back-filled from `votes`. `votes` is locked against
///   writers first, so a vote written meanwhile (by anyone, our worker or not) either
///   committed before the back-fill, which then counts it, or waits and fires the triggers.
/// - Statement-level triggers with transition tables keep the tally exact for every write:
///   our batched upsert, the original worker's plain `INSERT`/`UPDATE`, `DELETE`, `TRUNCATE`.
///   Each statement adds its net change per option (`count = count + delta` under the row
///   lock, so concurrent writers serialize on the option's row and none is lost), in option
///   order so two writers never lock the rows in opposite orders; a replay changes nothing
///   and locks nothing.
pub const CREATE_SCHEMA: &str = "DO $$ BEGIN
  PERFORM pg_advisory_xact_lock(7010001);
  CREATE TABLE IF NOT EXISTS votes (
    id VARCHAR(255) NOT NULL UNIQUE,
    vote VARCHAR(255) NOT NULL,
    seq BIGINT NOT NULL DEFAULT 0
  );
  ALTER TABLE votes ADD COLUMN IF NOT EXISTS seq BIGINT NOT NULL DEFAULT 0;
  IF to_regclass('vote_tallies') IS NULL THEN
    LOCK TABLE votes IN SHARE ROW EXCLUSIVE MODE;
    CREATE TABLE vote_tallies (
      vote VARCHAR(255) PRIMARY KEY,
      count BIGINT NOT NULL
    );
    INSERT INTO vote_tallies (vote, count)
      SELECT vote, COUNT(*) FROM votes GROUP BY vote;
    CREATE OR REPLACE FUNCTION tally_vote_changes() RETURNS trigger LANGUAGE plpgsql AS $tally$
    BEGIN
      IF TG_OP = 'TRUNCATE' THEN
        UPDATE vote_tallies SET count = 0 WHERE count <> 0;
      ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO vote_tallies AS tally (vote, count)
          SELECT vote, COUNT(*) FROM new_votes GROUP BY vote ORDER BY vote
          ON CONFLICT (vote) DO UPDATE SET count = tally.count + EXCLUDED.count;
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO vote_tallies AS tally (vote, count)
          SELECT vote, -COUNT(*) FROM old_votes GROUP BY vote ORDER BY vote
          ON CONFLICT (vote) DO UPDATE SET count = tally.count + EXCLUDED.count;
      ELSE
        INSERT INTO vote_tallies AS tally (vote, count)
          SELECT vote, SUM(delta) FROM (
            SELECT vote, 1 AS delta FROM new_votes
            UNION ALL SELECT vote, -1 FROM old_votes
          ) AS changes
          GROUP BY vote HAVING SUM(delta) <> 0 ORDER BY vote
          ON CONFLICT (vote) DO UPDATE SET count = tally.count + EXCLUDED.count;
      END IF;
      RETURN NULL;
    END $tally$;
    CREATE TRIGGER tally_inserted_votes AFTER INSERT ON votes
      REFERENCING NEW TABLE AS new_votes
      FOR EACH STATEMENT EXECUTE FUNCTION tally_vote_changes();
    CREATE TRIGGER tally_updated_votes AFTER UPDATE ON votes
      REFERENCING OLD TABLE AS old_votes NEW TABLE AS new_votes
      FOR EACH STATEMENT EXECUTE FUNCTION tally_vote_changes();
    CREATE TRIGGER tally_deleted_votes AFTER DELETE ON votes
      REFERENCING OLD TABLE AS old_votes
      FOR EACH STATEMENT EXECUTE FUNCTION tally_vote_changes();
    CREATE TRIGGER tally_truncated_votes AFTER TRUNCATE ON votes
      FOR EACH STATEMENT EXECUTE FUNCTION tally_vote_changes();
  END IF;
  CREATE TABLE IF NOT EXISTS poll_rounds (
    round BIGINT PRIMARY KEY,
    question TEXT,
    options TEXT,
    open BOOLEAN NOT NULL DEFAULT TRUE,
    opened_ms BIGINT NOT NULL,
    closed_ms BIGINT,
    ended_ms BIGINT
  );
  ALTER TABLE poll_rounds ADD COLUMN IF NOT EXISTS results TEXT NOT NULL DEFAULT 'live',
    ADD COLUMN IF NOT EXISTS closes_ms BIGINT, ADD COLUMN IF NOT EXISTS revealed_ms BIGINT,
    ADD COLUMN IF NOT EXISTS deck_position INT;
  INSERT INTO poll_rounds (round, opened_ms)
    VALUES (1, (extract(epoch FROM clock_timestamp()) * 1000)::int8) ON CONFLICT DO NOTHING;
  CREATE TABLE IF NOT EXISTS poll_state (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    round BIGINT NOT NULL REFERENCES poll_rounds (round)
  );
  ALTER TABLE poll_state ADD COLUMN IF NOT EXISTS deck_next INT NOT NULL DEFAULT 1;
  INSERT INTO poll_state (round) VALUES (1) ON CONFLICT DO NOTHING;
  CREATE TABLE IF NOT EXISTS deck_questions (
    position INT PRIMARY KEY,
    question TEXT NOT NULL,
    options TEXT NOT NULL,
    results TEXT NOT NULL,
    seconds INT
  );
  CREATE TABLE IF NOT EXISTS round_votes (
    round BIGINT NOT NULL,
    id VARCHAR(255) NOT NULL,
    vote VARCHAR(255) NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (round, id)
  );
  CREATE SEQUENCE IF NOT EXISTS poll_versions;
  ALTER TABLE poll_state ADD COLUMN IF NOT EXISTS deck_version BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS instance TEXT NOT NULL
      DEFAULT md5(random()::text || clock_timestamp()::text);
  CREATE OR REPLACE FUNCTION poll_snapshot() RETURNS text LANGUAGE plpgsql AS $snapshot$
  DECLARE
    taken int8;
    snapshot text;
  BEGIN
    PERFORM pg_advisory_xact_lock(7010002);
    taken := nextval('poll_versions');
    SELECT json_build_object('instance', state.instance, 'version', taken,
        'round', state.round, 'open', rounds.open, 'question', rounds.question,
        'options', rounds.options::json, 'results', rounds.results, 'closes_ms', rounds.closes_ms,
        'revealed', rounds.revealed_ms IS NOT NULL,
        'counts', COALESCE((SELECT json_object_agg(tally.vote, tally.count)
          FROM vote_tallies AS tally WHERE tally.count <> 0), '{}'::json))::text
      INTO snapshot
      FROM poll_state AS state JOIN poll_rounds AS rounds ON rounds.round = state.round;
    RETURN snapshot;
  END $snapshot$;
  ALTER TABLE poll_state ADD COLUMN IF NOT EXISTS qa_mode TEXT NOT NULL DEFAULT 'off',
    ADD COLUMN IF NOT EXISTS qa_highlighted BIGINT;
  CREATE TABLE IF NOT EXISTS questions (
    id BIGINT PRIMARY KEY,
    voter_id VARCHAR(255) NOT NULL,
    text TEXT NOT NULL,
    name TEXT,
    state TEXT NOT NULL,
    answered BOOLEAN NOT NULL DEFAULT FALSE,
    asked_ms BIGINT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS question_upvotes (
    question BIGINT NOT NULL,
    voter_id VARCHAR(255) NOT NULL,
    up BOOLEAN NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (question, voter_id)
  );
  CREATE OR REPLACE FUNCTION qa_snapshot() RETURNS text LANGUAGE plpgsql AS $qa$
  DECLARE
    taken int8;
    snapshot text;
  BEGIN
    PERFORM pg_advisory_xact_lock(7010003);
    taken := nextval('poll_versions');
    SELECT json_build_object('instance', state.instance, 'version', taken,
        'mode', state.qa_mode, 'highlighted', state.qa_highlighted,
        'questions', COALESCE((SELECT json_agg(json_build_object('id', q.id, 'text', q.text,
            'name', q.name, 'state', q.state, 'answered', q.answered, 'asked_ms', q.asked_ms,
            'upvotes', (SELECT COUNT(*) FROM question_upvotes AS u
              WHERE u.question = q.id AND u.up)) ORDER BY q.id)
          FROM questions AS q), '[]'::json))::text
      INTO snapshot
      FROM poll_state AS state;
    RETURN snapshot;
  END $qa$;
  CREATE OR REPLACE FUNCTION record_questions(ids int8[], voters varchar[], texts text[],
      names text[], published int8[], asked int8[], upvoted int8[], upvoters varchar[],
      ups int8[], seqs int8[]) RETURNS text LANGUAGE plpgsql AS $questions$
  BEGIN
    INSERT INTO questions (id, voter_id, text, name, state, asked_ms)
      SELECT a.id, a.voter, a.text, a.name,
        CASE WHEN a.published = 1 THEN 'published' ELSE 'pending' END, a.asked
      FROM unnest(ids, voters, texts, names, published, asked)
        AS a(id, voter, text, name, published, asked)
      ORDER BY a.id
      ON CONFLICT (id) DO NOTHING;
    INSERT INTO question_upvotes AS u (question, voter_id, up, seq)
      SELECT b.question, b.voter, b.up = 1, b.seq
      FROM unnest(upvoted, upvoters, ups, seqs) AS b(question, voter, up, seq)
      ORDER BY b.question, b.voter
      ON CONFLICT (question, voter_id) DO UPDATE SET up = EXCLUDED.up, seq = EXCLUDED.seq
      WHERE u.seq < EXCLUDED.seq;
    RETURN qa_snapshot();
  END $questions$;
  DROP FUNCTION IF EXISTS record_votes(varchar[], varchar[], int8[], int8[]);
  CREATE OR REPLACE FUNCTION record_batch(ids varchar[], choices varchar[], seqs int8[],
      rounds int8[], now_ms int8) RETURNS text LANGUAGE plpgsql AS $record$
  DECLARE
    current_round int8;
  BEGIN
    SELECT state.round INTO current_round FROM poll_state AS state FOR SHARE;
    UPDATE poll_rounds SET open = FALSE, closed_ms = closes_ms
      WHERE round = current_round AND open AND closes_ms <= now_ms;
    INSERT INTO votes AS v (id, vote, seq)
      SELECT DISTINCT ON (b.id) b.id, b.vote, b.seq
      FROM unnest(ids, choices, seqs, rounds) AS b(id, vote, seq, round)
      WHERE b.round IS NULL OR b.round >= current_round
      ORDER BY b.id, b.seq DESC
      ON CONFLICT (id) DO UPDATE SET vote = EXCLUDED.vote, seq = EXCLUDED.seq
      WHERE v.seq < EXCLUDED.seq;
    INSERT INTO round_votes AS v (round, id, vote, seq)
      SELECT DISTINCT ON (b.round, b.id) b.round, b.id, b.vote, b.seq
      FROM unnest(ids, choices, seqs, rounds) AS b(id, vote, seq, round)
      WHERE b.round < current_round
      ORDER BY b.round, b.id, b.seq DESC
      ON CONFLICT (round, id) DO UPDATE SET vote = EXCLUDED.vote, seq = EXCLUDED.seq
      WHERE v.seq < EXCLUDED.seq;
    RETURN poll_snapshot();
  END $record$;
  DROP FUNCTION IF EXISTS start_round(text, text, text, text);
  DROP FUNCTION IF EXISTS start_round(text, text, text, text, text, int, int);
  CREATE OR REPLACE FUNCTION start_round(new_question text, new_options text,
      current_question text, current_options text, new_results text, new_seconds int,
      new_position int, now_ms int8) RETURNS int8 LANGUAGE plpgsql AS $start$
  DECLARE
    current_round int8;
  BEGIN
    SELECT state.round INTO current_round FROM poll_state AS state FOR UPDATE;
    LOCK TABLE votes IN ACCESS EXCLUSIVE MODE;
    INSERT INTO round_votes (round, id, vote, seq)
      SELECT current_round, id, vote, seq FROM votes;
    TRUNCATE votes;
    UPDATE poll_rounds SET question = COALESCE(question, current_question),
        options = COALESCE(options, current_options), ended_ms = now_ms, open = FALSE,
        closed_ms = COALESCE(closed_ms, LEAST(now_ms, COALESCE(closes_ms, now_ms)))
      WHERE round = current_round;
    INSERT INTO poll_rounds (round, question, options, open, opened_ms, results, closes_ms,
        deck_position)
      VALUES (current_round + 1, new_question, new_options, TRUE, now_ms, new_results,
        now_ms + new_seconds * 1000::int8, new_position);
    UPDATE poll_state SET round = current_round + 1,
      deck_next = COALESCE(new_position + 1, deck_next);
    RETURN current_round + 1;
  END $start$;
  DROP FUNCTION IF EXISTS start_next(text, text);
  CREATE OR REPLACE FUNCTION start_next(current_question text, current_options text,
      from_round int8, now_ms int8) RETURNS int8 LANGUAGE plpgsql AS $next$
  DECLARE
    state poll_state%ROWTYPE;
    prepared deck_questions%ROWTYPE;
  BEGIN
    SELECT * INTO state FROM poll_state FOR UPDATE;
    IF from_round IS NOT NULL AND from_round <> state.round THEN
      RETURN -1;
    END IF;
    SELECT * INTO prepared FROM deck_questions WHERE position = state.deck_next;
    IF NOT FOUND THEN
      RETURN 0;
    END IF;
    RETURN start_round(prepared.question, prepared.options, current_question, current_options,
      prepared.results, prepared.seconds, prepared.position, now_ms);
  END $next$;
  DROP FUNCTION IF EXISTS replace_deck(json, int);
  CREATE OR REPLACE FUNCTION replace_deck(questions json, next_position int,
      expected_version int8, expected_next int) RETURNS int8 LANGUAGE plpgsql AS $deck$
  DECLARE
    state poll_state%ROWTYPE;
    stored int8;
  BEGIN
    SELECT * INTO state FROM poll_state FOR UPDATE;
    IF expected_version <> state.deck_version OR expected_next <> state.deck_next THEN
      RETURN -1;
    END IF;
    DELETE FROM deck_questions;
    INSERT INTO deck_questions (position, question, options, results, seconds)
      SELECT position, q ->> 'question', (q -> 'options')::text, q ->> 'results',
        (q ->> 'seconds')::int
      FROM json_array_elements(questions) WITH ORDINALITY AS d(q, position);
    GET DIAGNOSTICS stored = ROW_COUNT;
    UPDATE poll_state SET deck_next = COALESCE(next_position, deck_next),
      deck_version = deck_version + 1;
    RETURN stored;
  END $deck$;
END $$";

/// Writes a batch in one statement and answers the poll's snapshot after it, as
/// [`POLL_SNAPSHOT`] does: `$1` voter ids, `$2` votes, `$3` sequence numbers, `$4` rounds
/// (NULL: the current one), `$5` Redis's clock (ms), which records a round past its deadline as
/// closed. A row changes only for a newer vote, so the last vote wins in each round and replays
/// change nothing. Fails with [`SCHEMA_MISSING`] on a schema from before it, which the worker
/// then migrates.
pub const RECORD_BATCH: &str =
    "SELECT record_batch($1::varchar[], $2::varchar[], $3::int8[], $4::int8[], $5::int8)";

/// The poll as the room sees it, as one JSON object (one row by construction): `instance` (made
/// once per database, so that a database made anew is told from an old one), `version`, `round`, `open` (the presenter's switch; the deadline is applied by whoever reads it, by
/// Redis's clock), `question` and `options` (NULL for the configured poll), `results`,
/// `closes_ms`, `revealed`, and `counts` (`{"a": 3, …}`, options without votes left out).
///
/// `version` orders snapshots: it is taken under a lock held until the transaction ends, and
/// the snapshot is read after it, so a snapshot with a higher version has seen every change
/// one with a lower version saw. Written to Redis in that order, an older snapshot never
/// replaces a newer one.
pub const POLL_SNAPSHOT: &str = "SELECT poll_snapshot()";

/// Starts the next round, with `$1` its question and `$2` its labels (JSON), `$5` who sees
/// its results, `$6` its time limit in seconds (NULL: none), `$7` the deck question it asks
/// (NULL: none) and `$8` Redis's clock (ms), and answers its number: the current round's votes
/// are kept in `round_votes`, and its poll is written down (`$3` question, `$4` labels) if it
/// had none of its own.
pub const START_ROUND: &str =
    "SELECT start_round($1, $2, $3, $4, $5, $6::int4, $7::int4, $8::int8)";

/// Starts the deck's next question as a new round (`$1`, `$2` as [`START_ROUND`]'s `$3`, `$4`)
/// if round `$3` is still the current one (NULL: whichever is), at Redis's clock `$4` (ms).
/// Answers its number, [`PAST_THE_DECK`] past the deck's last question or [`NOT_FROM_ROUND`]
/// when another round is current; then nothing changed.
pub const START_NEXT: &str = "SELECT start_next($1, $2, $3::int8, $4::int8)";

/// What [`START_NEXT`] answers past the deck's last question.
pub const PAST_THE_DECK: i64 = 0;
/// What [`START_NEXT`] answers when the round it was asked to move on from is not current.
pub const NOT_FROM_ROUND: i64 = -1;

/// Replaces the deck with `$1`, a JSON array of questions (`question`, `options` as an array,
/// `results`, `seconds`), checked by [`crate::deck`] first, and makes `$2` the position of the
/// next question (NULL: as it was). With `$3` and `$4`, only if the deck is still at version
/// `$3` and its next question is still `$4` (NULL: whatever they are): answers
/// [`STALE_DECK`] otherwise, having changed nothing. Answers how many were stored.
pub const REPLACE_DECK: &str = "SELECT replace_deck($1::text::json, $2::int4, $3::int8, $4::int4)";

/// What [`REPLACE_DECK`] answers when the deck changed since it was read.
pub const STALE_DECK: i64 = -1;

/// The deck as a JSON array in order (`question`, `options`, `results`, `seconds`), the
/// position of the question `next` starts, and the deck's version, which every replacement
/// increases. One row by construction.
pub const READ_DECK: &str = "SELECT COALESCE((SELECT json_agg(json_build_object(
    'question', question, 'options', options::json, 'results', results, 'seconds', seconds)
    ORDER BY position) FROM deck_questions), '[]'::json)::text,
  COALESCE((SELECT deck_next FROM poll_state), 1)::int8,
  COALESCE((SELECT deck_version FROM poll_state), 0)::int8";

/// Opens (`$1` true: without a deadline) or closes the current round's voting, at Redis's
/// clock `$2` (ms).
pub const SET_OPEN: &str = "UPDATE poll_rounds SET open = $1,
    closes_ms = CASE WHEN $1 THEN NULL ELSE closes_ms END,
    closed_ms = CASE WHEN $1 THEN NULL
      ELSE COALESCE(closed_ms, LEAST($2::int8, COALESCE(closes_ms, $2::int8))) END
  FROM poll_state WHERE poll_rounds.round = poll_state.round";

/// Gives the current round `$1` more seconds to vote: from its deadline if it is still ahead
/// of Redis's clock `$2` (ms), else from then, opening voting again if it had closed.
pub const ADD_TIME: &str = "UPDATE poll_rounds SET open = TRUE, closed_ms = NULL,
    closes_ms = GREATEST(COALESCE(closes_ms, 0), $2::int8) + $1::int8 * 1000
  FROM poll_state WHERE poll_rounds.round = poll_state.round";

/// Records that the presenter revealed the current round's results (once), at Redis's clock
/// `$1` (ms).
pub const REVEAL: &str = "UPDATE poll_rounds SET revealed_ms = COALESCE(revealed_ms, $1::int8)
  FROM poll_state WHERE poll_rounds.round = poll_state.round";

/// Every round with its counts, as one JSON array (one row by construction): `round`,
/// `question`, `options` (labels, or null for the configured poll), `open` (the presenter's
/// switch, as [`POLL_SNAPSHOT`]'s), `opened_ms`, `closed_ms` (when it was recorded closed),
/// `ended_ms`, `results`, `closes_ms`, `revealed_ms`, `deck_position`, `counts` (`{"a": 3,
/// …}`, options without votes left out).
pub const LIST_ROUNDS: &str = "SELECT COALESCE(json_agg(json_build_object(
    'round', rounds.round, 'question', rounds.question, 'options', rounds.options::json,
    'open', rounds.open, 'opened_ms', rounds.opened_ms, 'closed_ms', rounds.closed_ms,
    'ended_ms', rounds.ended_ms, 'results', rounds.results, 'closes_ms', rounds.closes_ms,
    'revealed_ms', rounds.revealed_ms, 'deck_position', rounds.deck_position,
    'counts', COALESCE(tally.counts, '{}'::json))
    ORDER BY rounds.round), '[]'::json)::text
  FROM poll_rounds AS rounds
  LEFT JOIN LATERAL (
    SELECT json_object_agg(per_option.vote, per_option.count) AS counts FROM (
      SELECT vote, count FROM vote_tallies
        WHERE count > 0 AND rounds.round = (SELECT round FROM poll_state)
      UNION ALL
      SELECT vote, COUNT(*) FROM round_votes WHERE round_votes.round = rounds.round GROUP BY vote
    ) AS per_option
  ) AS tally ON TRUE";

/// Writes a batch of questions and upvotes in one statement and answers the Q&A's snapshot
/// after it, as [`QA_SNAPSHOT`] does: `$1`…`$6` the questions asked (ids, voter ids, texts,
/// names, `1` when published at once, when asked), `$7`…`$10` the upvotes (question, voter id,
/// `1` to upvote or `0` to take it back, sequence number): Spin's PostgreSQL interface has no
/// arrays of booleans. A question is written once;
/// an upvote changes only for a newer one, so the last tap wins and replays change nothing.
pub const RECORD_QUESTIONS: &str = "SELECT record_questions($1::int8[], $2::varchar[],
  $3::text[], $4::text[], $5::int8[], $6::int8[], $7::int8[], $8::varchar[], $9::int8[],
  $10::int8[])";

/// Every question with its state, upvotes and whether it is answered, the Q&A's mode and the
/// highlighted question, as one JSON object with a version ordered like [`POLL_SNAPSHOT`]'s
/// (one row by construction).
pub const QA_SNAPSHOT: &str = "SELECT qa_snapshot()";

/// Sets the Q&A's mode to `$1` (`off`, `open`, `moderated`).
pub const SET_QA_MODE: &str = "UPDATE poll_state SET qa_mode = $1";

/// Moderates question `$1`: `$2` is `approve` (published), `hide` (hidden from the room, and
/// off the projector), `answer` (marked answered) or `highlight` (published and the one on the
/// projector; one at a time). Answers the rows changed: 0 for no such question.
pub const MODERATE: &str = "WITH target AS (SELECT id FROM questions WHERE id = $1),
  highlighted AS (UPDATE poll_state
    SET qa_highlighted = CASE WHEN $2 = 'highlight' THEN $1 END
    WHERE EXISTS (SELECT 1 FROM target)
      AND ($2 = 'highlight' OR ($2 = 'hide' AND qa_highlighted = $1)) RETURNING 1)
  UPDATE questions SET
    state = CASE WHEN $2 IN ('approve', 'highlight') THEN 'published'
      WHEN $2 = 'hide' THEN 'hidden' ELSE state END,
    answered = answered OR $2 = 'answer'
  WHERE id = $1";

/// The original app's result query; its answer must always agree with the counts of
/// [`POLL_SNAPSHOT`].
/// Not for components: on an empty table it returns no rows (see the module docs).
pub const ORIGINAL_TALLY_QUERY: &str = "SELECT vote, COUNT(id) AS count FROM votes GROUP BY vote";

/// SQLSTATEs meaning the schema is missing or older than ours: undefined table, undefined
/// column, undefined function.
pub const SCHEMA_MISSING: [&str; 3] = ["42P01", "42703", "42883"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_functions_answer_the_codes_named_here() {
        for code in [NOT_FROM_ROUND, PAST_THE_DECK, STALE_DECK] {
            assert!(CREATE_SCHEMA.contains(&format!("RETURN {code};")), "{code}");
        }
        assert!(START_NEXT.contains("start_next($1, $2, $3::int8, $4::int8)"));
    }
}
