//! The tally as the result component reads it from PostgreSQL.

use anyhow::bail;
use spin_sdk::pg4::DbValue;
use voting_shared::choice::MAX_OPTIONS;
use voting_shared::counts::Counts;

/// The one row of [`READ_TALLY`](voting_shared::schema::READ_TALLY) or
/// [`COUNT_VOTES`](voting_shared::schema::COUNT_VOTES): the counts of `a` to `h`.
pub fn from_row(rows: &[Vec<DbValue>]) -> anyhow::Result<Counts> {
    let [row] = rows else {
        bail!("expected one row, got {}", rows.len());
    };
    let counts = row
        .iter()
        .map(|value| match value {
            DbValue::Int64(count) => Some(*count),
            _ => None,
        })
        .collect::<Option<Vec<i64>>>();
    match counts {
        Some(counts) if counts.len() == MAX_OPTIONS => Ok(Counts::new(&counts)),
        _ => bail!("expected {MAX_OPTIONS} counts, got {row:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(values: &[i64]) -> Vec<DbValue> {
        values.iter().copied().map(DbValue::Int64).collect()
    }

    #[test]
    fn reads_the_one_row_of_counts() {
        let row = counts(&[2000, 1000, 3, 0, 0, 0, 0, 8]);
        let tally = from_row(&[row]).unwrap();
        assert_eq!(tally, Counts::new(&[2000, 1000, 3, 0, 0, 0, 0, 8]));
    }

    #[test]
    fn refuses_anything_but_one_row_of_eight_counts() {
        let eight = counts(&[1; 8]);
        assert!(from_row(&[]).is_err());
        assert!(from_row(&[eight.clone(), eight.clone()]).is_err());
        assert!(from_row(&[counts(&[1, 2])]).is_err());
        let mut text = eight;
        text[0] = DbValue::Str("a".into());
        assert!(from_row(&[text]).is_err());
    }
}
