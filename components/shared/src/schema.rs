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
//! Times are BIGINT milliseconds since 1970 (PostgreSQL's clock): Spin converts no timestamps.
//! A round past its deadline (`closes_ms`) is closed whether or not `open` says so yet: every
//! read here says so, and whoever writes next (a batch, a change) records it.
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
  CREATE OR REPLACE FUNCTION record_votes(ids varchar[], choices varchar[], seqs int8[],
      rounds int8[]) RETURNS int8 LANGUAGE plpgsql AS $record$
  DECLARE
    current_round int8;
    current_rows int8;
    past_rows int8;
  BEGIN
    SELECT state.round INTO current_round FROM poll_state AS state FOR SHARE;
    UPDATE poll_rounds SET open = FALSE, closed_ms = closes_ms
      WHERE round = current_round AND open
        AND closes_ms <= (extract(epoch FROM clock_timestamp()) * 1000)::int8;
    INSERT INTO votes AS v (id, vote, seq)
      SELECT DISTINCT ON (b.id) b.id, b.vote, b.seq
      FROM unnest(ids, choices, seqs, rounds) AS b(id, vote, seq, round)
      WHERE b.round IS NULL OR b.round >= current_round
      ORDER BY b.id, b.seq DESC
      ON CONFLICT (id) DO UPDATE SET vote = EXCLUDED.vote, seq = EXCLUDED.seq
      WHERE v.seq < EXCLUDED.seq;
    GET DIAGNOSTICS current_rows = ROW_COUNT;
    INSERT INTO round_votes AS v (round, id, vote, seq)
      SELECT DISTINCT ON (b.round, b.id) b.round, b.id, b.vote, b.seq
      FROM unnest(ids, choices, seqs, rounds) AS b(id, vote, seq, round)
      WHERE b.round < current_round
      ORDER BY b.round, b.id, b.seq DESC
      ON CONFLICT (round, id) DO UPDATE SET vote = EXCLUDED.vote, seq = EXCLUDED.seq
      WHERE v.seq < EXCLUDED.seq;
    GET DIAGNOSTICS past_rows = ROW_COUNT;
    RETURN current_rows + past_rows;
  END $record$;
  DROP FUNCTION IF EXISTS start_round(text, text, text, text);
  CREATE OR REPLACE FUNCTION start_round(new_question text, new_options text,
      current_question text, current_options text, new_results text, new_seconds int,
      new_position int) RETURNS int8 LANGUAGE plpgsql AS $start$
  DECLARE
    current_round int8;
    now_ms int8 := (extract(epoch FROM clock_timestamp()) * 1000)::int8;
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
  CREATE OR REPLACE FUNCTION start_next(current_question text, current_options text)
      RETURNS int8 LANGUAGE plpgsql AS $next$
  DECLARE
    next_position int;
    prepared deck_questions%ROWTYPE;
  BEGIN
    SELECT state.deck_next INTO next_position FROM poll_state AS state FOR UPDATE;
    SELECT * INTO prepared FROM deck_questions WHERE position = next_position;
    IF NOT FOUND THEN
      RETURN 0;
    END IF;
    RETURN start_round(prepared.question, prepared.options, current_question, current_options,
      prepared.results, prepared.seconds, prepared.position);
  END $next$;
  CREATE OR REPLACE FUNCTION replace_deck(questions json, next_position int)
      RETURNS int8 LANGUAGE plpgsql AS $deck$
  DECLARE
    stored int8;
  BEGIN
    PERFORM 1 FROM poll_state FOR UPDATE;
    DELETE FROM deck_questions;
    INSERT INTO deck_questions (position, question, options, results, seconds)
      SELECT position, q ->> 'question', (q -> 'options')::text, q ->> 'results',
        (q ->> 'seconds')::int
      FROM json_array_elements(questions) WITH ORDINALITY AS d(q, position);
    GET DIAGNOSTICS stored = ROW_COUNT;
    UPDATE poll_state SET deck_next = COALESCE(next_position, deck_next);
    RETURN stored;
  END $deck$;
END $$";

/// Writes a batch in one statement: `$1` voter ids, `$2` votes, `$3` sequence numbers, `$4`
/// rounds (NULL: the current one). A row changes only for a newer vote, so the last vote wins
/// in each round and replays change nothing. Fails with [`SCHEMA_MISSING`] on a schema from
/// before rounds, which the worker then migrates.
pub const RECORD_VOTES: &str =
    "SELECT record_votes($1::varchar[], $2::varchar[], $3::int8[], $4::int8[])";

/// Starts the next round, with `$1` its question and `$2` its labels (JSON), `$5` who sees
/// its results, `$6` its time limit in seconds (NULL: none) and `$7` the deck question it asks
/// (NULL: none), and answers its number: the current round's votes are kept in `round_votes`,
/// and its poll is written down (`$3` question, `$4` labels) if it had none of its own.
pub const START_ROUND: &str = "SELECT start_round($1, $2, $3, $4, $5, $6::int4, $7::int4)";

/// Starts the deck's next question as a new round (`$1`, `$2` as [`START_ROUND`]'s `$3`, `$4`)
/// and answers its number, or 0 past the deck's last question (nothing changed).
pub const START_NEXT: &str = "SELECT start_next($1, $2)";

/// Replaces the deck with `$1`, a JSON array of questions (`question`, `options` as an array,
/// `results`, `seconds`), checked by [`crate::deck`] first, and makes `$2` the position of the
/// next question (NULL: as it was). Answers how many were stored.
pub const REPLACE_DECK: &str = "SELECT replace_deck($1::text::json, $2::int4)";

/// The deck as a JSON array in order (`question`, `options`, `results`, `seconds`), and the
/// position of the question `next` starts. One row by construction.
pub const READ_DECK: &str = "SELECT COALESCE((SELECT json_agg(json_build_object(
    'question', question, 'options', options::json, 'results', results, 'seconds', seconds)
    ORDER BY position) FROM deck_questions), '[]'::json)::text,
  COALESCE((SELECT deck_next FROM poll_state), 1)::int8";

/// Opens (`$1` true: without a deadline) or closes the current round's voting.
pub const SET_OPEN: &str = "UPDATE poll_rounds SET open = $1,
    closes_ms = CASE WHEN $1 THEN NULL ELSE closes_ms END,
    closed_ms = CASE WHEN $1 THEN NULL
      ELSE COALESCE(closed_ms, LEAST((extract(epoch FROM clock_timestamp()) * 1000)::int8,
        COALESCE(closes_ms, (extract(epoch FROM clock_timestamp()) * 1000)::int8))) END
  FROM poll_state WHERE poll_rounds.round = poll_state.round";

/// Gives the current round `$1` more seconds to vote: from its deadline if it is still ahead,
/// else from now, opening voting again if it had closed.
pub const ADD_TIME: &str = "UPDATE poll_rounds SET open = TRUE, closed_ms = NULL,
    closes_ms = GREATEST(COALESCE(closes_ms, 0),
      (extract(epoch FROM clock_timestamp()) * 1000)::int8) + $1::int8 * 1000
  FROM poll_state WHERE poll_rounds.round = poll_state.round";

/// Records that the presenter revealed the current round's results (once).
pub const REVEAL: &str = "UPDATE poll_rounds SET revealed_ms = COALESCE(revealed_ms,
    (extract(epoch FROM clock_timestamp()) * 1000)::int8)
  FROM poll_state WHERE poll_rounds.round = poll_state.round";

/// The current round: its number, whether voting is open (false past its deadline), its
/// question and labels (JSON; both NULL for the configured poll), who sees its results, its
/// deadline (ms), whether it was revealed, and PostgreSQL's clock (ms). One row by
/// construction.
pub const CURRENT_ROUND: &str = "SELECT state.round,
    rounds.open AND (rounds.closes_ms IS NULL OR rounds.closes_ms > now.ms),
    rounds.question, rounds.options, rounds.results, rounds.closes_ms,
    rounds.revealed_ms IS NOT NULL, now.ms
  FROM (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::int8 AS ms) AS now
  LEFT JOIN poll_state AS state ON TRUE
  LEFT JOIN poll_rounds AS rounds ON rounds.round = state.round";

/// Every round with its counts, as one JSON array (one row by construction): `round`,
/// `question`, `options` (labels, or null for the configured poll), `open`, `opened_ms`,
/// `closed_ms`, `ended_ms`, `counts` (`{"a": 3, …}`, options without votes left out).
pub const LIST_ROUNDS: &str = "SELECT COALESCE(json_agg(json_build_object(
    'round', rounds.round, 'question', rounds.question, 'options', rounds.options::json,
    'open', rounds.open AND (rounds.closes_ms IS NULL
      OR rounds.closes_ms > (extract(epoch FROM clock_timestamp()) * 1000)::int8),
    'opened_ms', rounds.opened_ms,
    'closed_ms', COALESCE(rounds.closed_ms, CASE WHEN rounds.closes_ms
      <= (extract(epoch FROM clock_timestamp()) * 1000)::int8 THEN rounds.closes_ms END),
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

/// The tally of the current round, one count per choice `a` to `h`, by primary-key lookups
/// in `vote_tallies` (the same cost at one vote and at a million), then the round as
/// [`CURRENT_ROUND`] gives it. One row even when the tables are empty (an aggregate without
/// `GROUP BY`, joined to at most one row).
pub const READ_TALLY: &str = "SELECT tally.*, state.round,
    rounds.open AND (rounds.closes_ms IS NULL OR rounds.closes_ms > now.ms),
    rounds.question, rounds.options, rounds.results, rounds.closes_ms,
    rounds.revealed_ms IS NOT NULL, now.ms
  FROM (SELECT
    COALESCE(SUM(count) FILTER (WHERE vote = 'a'), 0)::int8 AS a,
    COALESCE(SUM(count) FILTER (WHERE vote = 'b'), 0)::int8 AS b,
    COALESCE(SUM(count) FILTER (WHERE vote = 'c'), 0)::int8 AS c,
    COALESCE(SUM(count) FILTER (WHERE vote = 'd'), 0)::int8 AS d,
    COALESCE(SUM(count) FILTER (WHERE vote = 'e'), 0)::int8 AS e,
    COALESCE(SUM(count) FILTER (WHERE vote = 'f'), 0)::int8 AS f,
    COALESCE(SUM(count) FILTER (WHERE vote = 'g'), 0)::int8 AS g,
    COALESCE(SUM(count) FILTER (WHERE vote = 'h'), 0)::int8 AS h
    FROM vote_tallies WHERE vote IN ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h')) AS tally
  CROSS JOIN (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::int8 AS ms) AS now
  LEFT JOIN poll_state AS state ON TRUE
  LEFT JOIN poll_rounds AS rounds ON rounds.round = state.round";

/// The tally as [`READ_TALLY`] gives it, counted from `votes`: for a table the original
/// worker made, until our worker's first write migrates it (there are no rounds yet: the
/// round columns are NULL). A full scan, but one row even on an empty table.
pub const COUNT_VOTES: &str = "SELECT
  COUNT(*) FILTER (WHERE vote = 'a') AS a,
  COUNT(*) FILTER (WHERE vote = 'b') AS b,
  COUNT(*) FILTER (WHERE vote = 'c') AS c,
  COUNT(*) FILTER (WHERE vote = 'd') AS d,
  COUNT(*) FILTER (WHERE vote = 'e') AS e,
  COUNT(*) FILTER (WHERE vote = 'f') AS f,
  COUNT(*) FILTER (WHERE vote = 'g') AS g,
  COUNT(*) FILTER (WHERE vote = 'h') AS h,
  NULL::int8 AS round, NULL::boolean AS open, NULL::text AS question, NULL::text AS options,
  NULL::text AS results, NULL::int8 AS closes_ms, FALSE AS revealed,
  (extract(epoch FROM clock_timestamp()) * 1000)::int8 AS now_ms
  FROM votes";

/// The original app's result query; its answer must always agree with [`READ_TALLY`].
/// Not for components: on an empty table it returns no rows (see the module docs).
pub const ORIGINAL_TALLY_QUERY: &str = "SELECT vote, COUNT(id) AS count FROM votes GROUP BY vote";

/// SQLSTATE undefined_table.
pub const UNDEFINED_TABLE: &str = "42P01";

/// SQLSTATEs meaning the schema is missing or older than ours: undefined table, undefined
/// column, undefined function.
pub const SCHEMA_MISSING: [&str; 3] = [UNDEFINED_TABLE, "42703", "42883"];
