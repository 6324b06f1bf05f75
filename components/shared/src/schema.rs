//! The PostgreSQL schema and statements: the original app's `votes` table (plus a sequence
//! column) and `vote_tallies`, an exact running count per option kept by triggers on `votes`.
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
END $$";

/// Writes a batch in one statement: `$1` voter ids, `$2` votes, `$3` sequence numbers.
/// A row changes only for a newer vote, so the last vote wins and replays change nothing.
/// The unused `schema_check` names `vote_tallies`, so that against a schema from before the
/// tally the statement fails with [`SCHEMA_MISSING`] and the worker migrates it first.
pub const UPSERT_VOTES: &str = "WITH schema_check AS (SELECT FROM vote_tallies LIMIT 0)
  INSERT INTO votes (id, vote, seq)
  SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::int8[])
  ON CONFLICT (id) DO UPDATE SET vote = EXCLUDED.vote, seq = EXCLUDED.seq
  WHERE votes.seq < EXCLUDED.seq";

/// The tally, one count per choice `a` to `h`, by primary-key lookups in `vote_tallies`: the
/// same cost at one vote and at a million. One row even when the table is empty (an aggregate
/// without `GROUP BY`).
pub const READ_TALLY: &str = "SELECT
  COALESCE(SUM(count) FILTER (WHERE vote = 'a'), 0)::int8 AS a,
  COALESCE(SUM(count) FILTER (WHERE vote = 'b'), 0)::int8 AS b,
  COALESCE(SUM(count) FILTER (WHERE vote = 'c'), 0)::int8 AS c,
  COALESCE(SUM(count) FILTER (WHERE vote = 'd'), 0)::int8 AS d,
  COALESCE(SUM(count) FILTER (WHERE vote = 'e'), 0)::int8 AS e,
  COALESCE(SUM(count) FILTER (WHERE vote = 'f'), 0)::int8 AS f,
  COALESCE(SUM(count) FILTER (WHERE vote = 'g'), 0)::int8 AS g,
  COALESCE(SUM(count) FILTER (WHERE vote = 'h'), 0)::int8 AS h
  FROM vote_tallies WHERE vote IN ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h')";

/// The tally, one count per choice `a` to `h`, counted from `votes`: for a table the original
/// worker made, until our worker's first write migrates it. A full scan, but one row even on
/// an empty table.
pub const COUNT_VOTES: &str = "SELECT
  COUNT(*) FILTER (WHERE vote = 'a') AS a,
  COUNT(*) FILTER (WHERE vote = 'b') AS b,
  COUNT(*) FILTER (WHERE vote = 'c') AS c,
  COUNT(*) FILTER (WHERE vote = 'd') AS d,
  COUNT(*) FILTER (WHERE vote = 'e') AS e,
  COUNT(*) FILTER (WHERE vote = 'f') AS f,
  COUNT(*) FILTER (WHERE vote = 'g') AS g,
  COUNT(*) FILTER (WHERE vote = 'h') AS h
  FROM votes";

/// The original app's result query; its answer must always agree with [`READ_TALLY`].
/// Not for components: on an empty table it returns no rows (see the module docs).
pub const ORIGINAL_TALLY_QUERY: &str = "SELECT vote, COUNT(id) AS count FROM votes GROUP BY vote";

/// SQLSTATE undefined_table.
pub const UNDEFINED_TABLE: &str = "42P01";

/// SQLSTATEs meaning the schema is missing or older than ours: undefined table, undefined column.
pub const SCHEMA_MISSING: [&str; 2] = [UNDEFINED_TABLE, "42703"];
