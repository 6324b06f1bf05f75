//! The PostgreSQL schema and statements: the original app's `votes` table (plus a sequence
//! column) and `vote_tallies`, an exact running count per option kept by triggers on `votes`,
//! for the current round; `poll_rounds`, every round with its poll and times, `poll_state`,
//! which round is current, and `round_votes`, the votes of the rounds before it.
//!
//! `votes` holds the current round only (the original result query has no round filter), so
//! starting a round moves its votes to `round_votes` and empties it. A vote is written in the
//! worker's upsert into the round it was cast in: `votes` while that round is current, else
//! `round_votes`. Both functions lock the `poll_state` row first (the upsert to share, a new
//! round to update), so a batch is written wholly before or wholly after a round change,
//! against the round that is then current, and neither waits for the other in a cycle.
//! Times are BIGINT milliseconds since 1970 (PostgreSQL's clock): Spin converts no timestamps.
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
  INSERT INTO poll_rounds (round, opened_ms)
    VALUES (1, (extract(epoch FROM clock_timestamp()) * 1000)::int8) ON CONFLICT DO NOTHING;
  CREATE TABLE IF NOT EXISTS poll_state (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    round BIGINT NOT NULL REFERENCES poll_rounds (round)
  );
  INSERT INTO poll_state (round) VALUES (1) ON CONFLICT DO NOTHING;
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
  CREATE OR REPLACE FUNCTION start_round(new_question text, new_options text,
      current_question text, current_options text) RETURNS int8 LANGUAGE plpgsql AS $start$
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
        options = COALESCE(options, current_options), ended_ms = now_ms,
        closed_ms = COALESCE(closed_ms, now_ms)
      WHERE round = current_round;
    INSERT INTO poll_rounds (round, question, options, open, opened_ms)
      VALUES (current_round + 1, new_question, new_options, TRUE, now_ms);
    UPDATE poll_state SET round = current_round + 1;
    RETURN current_round + 1;
  END $start$;
END $$";

/// Writes a batch in one statement: `$1` voter ids, `$2` votes, `$3` sequence numbers, `$4`
/// rounds (NULL: the current one). A row changes only for a newer vote, so the last vote wins
/// in each round and replays change nothing. Fails with [`SCHEMA_MISSING`] on a schema from
/// before rounds, which the worker then migrates.
pub const RECORD_VOTES: &str =
    "SELECT record_votes($1::varchar[], $2::varchar[], $3::int8[], $4::int8[])";

/// Starts the next round, with `$1` its question and `$2` its labels (JSON), and answers its
/// number: the current round's votes are kept in `round_votes`, and its poll is written down
/// (`$3` question, `$4` labels) if it had none of its own.
pub const START_ROUND: &str = "SELECT start_round($1, $2, $3, $4)";

/// Opens (`$1` true) or closes the current round's voting.
pub const SET_OPEN: &str = "UPDATE poll_rounds SET open = $1,
    closed_ms = CASE WHEN $1 THEN NULL
      ELSE COALESCE(closed_ms, (extract(epoch FROM clock_timestamp()) * 1000)::int8) END
  FROM poll_state WHERE poll_rounds.round = poll_state.round";

/// The current round: its number, whether voting is open, its question and labels (JSON; both
/// NULL for the configured poll). One row by construction.
pub const CURRENT_ROUND: &str = "SELECT state.round, rounds.open, rounds.question, rounds.options
  FROM (SELECT 1) AS one
  LEFT JOIN poll_state AS state ON TRUE
  LEFT JOIN poll_rounds AS rounds ON rounds.round = state.round";

/// Every round with its counts, as one JSON array (one row by construction): `round`,
/// `question`, `options` (labels, or null for the configured poll), `open`, `opened_ms`,
/// `closed_ms`, `ended_ms`, `counts` (`{"a": 3, …}`, options without votes left out).
pub const LIST_ROUNDS: &str = "SELECT COALESCE(json_agg(json_build_object(
    'round', rounds.round, 'question', rounds.question, 'options', rounds.options::json,
    'open', rounds.open, 'opened_ms', rounds.opened_ms, 'closed_ms', rounds.closed_ms,
    'ended_ms', rounds.ended_ms, 'counts', COALESCE(tally.counts, '{}'::json))
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
pub const READ_TALLY: &str = "SELECT tally.*, state.round, rounds.open, rounds.question,
    rounds.options
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
  NULL::int8 AS round, NULL::boolean AS open, NULL::text AS question, NULL::text AS options
  FROM votes";

/// The original app's result query; its answer must always agree with [`READ_TALLY`].
/// Not for components: on an empty table it returns no rows (see the module docs).
pub const ORIGINAL_TALLY_QUERY: &str = "SELECT vote, COUNT(id) AS count FROM votes GROUP BY vote";

/// SQLSTATE undefined_table.
pub const UNDEFINED_TABLE: &str = "42P01";

/// SQLSTATEs meaning the schema is missing or older than ours: undefined table, undefined
/// column, undefined function.
pub const SCHEMA_MISSING: [&str; 3] = [UNDEFINED_TABLE, "42703", "42883"];
