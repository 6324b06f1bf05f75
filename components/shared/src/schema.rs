//! The PostgreSQL schema and statements, a superset of the original app's `votes` table.

/// Creates the `votes` table, or adds our column to a table the original worker created.
/// One statement (a `DO` block, so one transaction) under an advisory lock, so workers that
/// start together do not race on `CREATE TABLE IF NOT EXISTS`.
pub const CREATE_SCHEMA: &str = "DO $$ BEGIN
  PERFORM pg_advisory_xact_lock(7010001);
  CREATE TABLE IF NOT EXISTS votes (
    id VARCHAR(255) NOT NULL UNIQUE,
    vote VARCHAR(255) NOT NULL,
    seq BIGINT NOT NULL DEFAULT 0
  );
  ALTER TABLE votes ADD COLUMN IF NOT EXISTS seq BIGINT NOT NULL DEFAULT 0;
END $$";

/// Writes a batch in one statement: `$1` voter ids, `$2` votes, `$3` sequence numbers.
/// A row changes only for a newer vote, so the last vote wins and replays change nothing.
pub const UPSERT_VOTES: &str = "INSERT INTO votes (id, vote, seq)
  SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::int8[])
  ON CONFLICT (id) DO UPDATE SET vote = EXCLUDED.vote, seq = EXCLUDED.seq
  WHERE votes.seq < EXCLUDED.seq";

/// The original app's result query.
pub const TALLY_VOTES: &str = "SELECT vote, COUNT(id) AS count FROM votes GROUP BY vote";

/// SQLSTATEs meaning the schema is missing or older than ours: undefined table, undefined column.
pub const SCHEMA_MISSING: [&str; 2] = ["42P01", "42703"];
