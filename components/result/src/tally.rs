//! The tally as the result component reads it from PostgreSQL.

use anyhow::bail;
use spin_sdk::pg4::DbValue;
use voting_shared::counts::Counts;

/// The one row of [`READ_TALLY`](voting_shared::schema::READ_TALLY) or
/// [`COUNT_VOTES`](voting_shared::schema::COUNT_VOTES): the counts of a and b.
pub fn from_row(rows: &[Vec<DbValue>]) -> anyhow::Result<Counts> {
    match rows {
        [row] => match row.as_slice() {
            [DbValue::Int64(a), DbValue::Int64(b)] => Ok(Counts { a: *a, b: *b }),
            other => bail!("expected two counts, got {other:?}"),
        },
        _ => bail!("expected one row, got {}", rows.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_one_row_of_counts() {
        let row = vec![DbValue::Int64(2000), DbValue::Int64(1000)];
        assert_eq!(from_row(&[row]).unwrap(), Counts { a: 2000, b: 1000 });
    }

    #[test]
    fn refuses_anything_but_one_row_of_two_counts() {
        let counts = vec![DbValue::Int64(1), DbValue::Int64(2)];
        assert!(from_row(&[]).is_err());
        assert!(from_row(&[counts.clone(), counts]).is_err());
        assert!(from_row(&[vec![DbValue::Int64(1)]]).is_err());
        assert!(from_row(&[vec![DbValue::Str("a".into()), DbValue::Int64(1)]]).is_err());
    }
}
