//! The tally and the current round as the result component reads them from PostgreSQL.

use anyhow::bail;
use spin_sdk::pg4::DbValue;
use voting_glue::round::from_columns;
use voting_shared::choice::MAX_OPTIONS;
use voting_shared::counts::Counts;
use voting_shared::round::Round;

/// The one row of [`READ_TALLY`](voting_shared::schema::READ_TALLY) or
/// [`COUNT_VOTES`](voting_shared::schema::COUNT_VOTES): the counts of `a` to `h`, then the
/// round (all NULL before rounds exist: round 1, open, the configured poll) and PostgreSQL's
/// clock (ms).
pub fn from_row(rows: &[Vec<DbValue>]) -> anyhow::Result<(Counts, Round, i64)> {
    let [row] = rows else {
        bail!("expected one row, got {}", rows.len());
    };
    let (counts, round) = row.split_at(MAX_OPTIONS.min(row.len()));
    let counts = counts
        .iter()
        .map(|value| match value {
            DbValue::Int64(count) => Some(*count),
            _ => None,
        })
        .collect::<Option<Vec<i64>>>();
    let counts = match counts {
        Some(counts) if counts.len() == MAX_OPTIONS => Counts::new(&counts),
        _ => bail!("expected {MAX_OPTIONS} counts, got {row:?}"),
    };
    let (round, now_ms) = from_columns(round)?;
    Ok((counts, round, now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(values: &[i64]) -> Vec<DbValue> {
        values.iter().copied().map(DbValue::Int64).collect()
    }

    /// The round's columns after the counts: the four given, then live, no deadline, not
    /// revealed, and the clock.
    fn with_round(mut row: Vec<DbValue>, round: [DbValue; 4]) -> Vec<DbValue> {
        row.extend(round);
        row.extend([
            DbValue::Str("live".into()),
            DbValue::DbNull,
            DbValue::Boolean(false),
            DbValue::Int64(1_700_000_000_000),
        ]);
        row
    }

    #[test]
    fn reads_the_one_row_of_counts_and_the_round() {
        let row = counts(&[2000, 1000, 3, 0, 0, 0, 0, 8]);
        let configured = [
            DbValue::Int64(1),
            DbValue::Boolean(true),
            DbValue::DbNull,
            DbValue::DbNull,
        ];
        let (tally, round, now) = from_row(&[with_round(row.clone(), configured)]).unwrap();
        assert_eq!(now, 1_700_000_000_000);
        assert_eq!(tally, Counts::new(&[2000, 1000, 3, 0, 0, 0, 0, 8]));
        assert_eq!((round.number, round.open, round.poll), (1, true, None));
        let own = [
            DbValue::Int64(4),
            DbValue::Boolean(false),
            DbValue::Str("Lunch?".into()),
            DbValue::Str(r#"["Pizza","Soup"]"#.into()),
        ];
        let (_, round, _) = from_row(&[with_round(row.clone(), own)]).unwrap();
        assert_eq!((round.number, round.open), (4, false));
        assert_eq!(round.poll.unwrap().question(), "Lunch?");
        let before_rounds = [
            DbValue::DbNull,
            DbValue::DbNull,
            DbValue::DbNull,
            DbValue::DbNull,
        ];
        let (_, round, _) = from_row(&[with_round(row, before_rounds)]).unwrap();
        assert_eq!((round.number, round.open), (1, true));
    }

    #[test]
    fn refuses_anything_but_one_row_of_eight_counts_and_a_round() {
        let round = [
            DbValue::Int64(1),
            DbValue::Boolean(true),
            DbValue::DbNull,
            DbValue::DbNull,
        ];
        let eight = with_round(counts(&[1; 8]), round);
        assert!(from_row(&[]).is_err());
        assert!(from_row(&[eight.clone(), eight.clone()]).is_err());
        assert!(from_row(&[counts(&[1, 2])]).is_err());
        let mut text = eight;
        text[0] = DbValue::Str("a".into());
        assert!(from_row(&[text]).is_err());
    }
}
