//! Vote counts and how they are shown: percentages, the total in words, JSON and an ETag.

use anyhow::bail;
use spin_sdk::pg4::DbValue;
use voting_shared::choice::Labels;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub a: i64,
    pub b: i64,
}

impl Tally {
    /// The one row of [`READ_TALLY`](voting_shared::schema::READ_TALLY) or
    /// [`COUNT_VOTES`](voting_shared::schema::COUNT_VOTES): the counts of a and b.
    pub fn from_row(rows: &[Vec<DbValue>]) -> anyhow::Result<Tally> {
        match rows {
            [row] => match row.as_slice() {
                [DbValue::Int64(a), DbValue::Int64(b)] => Ok(Tally { a: *a, b: *b }),
                other => bail!("expected two counts, got {other:?}"),
            },
            _ => bail!("expected one row, got {}", rows.len()),
        }
    }

    pub fn total(&self) -> i64 {
        self.a + self.b
    }

    /// Whole percentages that add up to 100; 50/50 before the first vote, as in the original.
    pub fn percentages(&self) -> (i64, i64) {
        if self.total() == 0 {
            return (50, 50);
        }
        let a = (self.a * 200 + self.total()) / (self.total() * 2);
        (a, 100 - a)
    }

    /// "No votes yet", "1 vote", "3000 votes".
    pub fn total_in_words(&self) -> String {
        match self.total() {
            0 => "No votes yet".to_owned(),
            1 => "1 vote".to_owned(),
            total => format!("{total} votes"),
        }
    }

    pub fn to_json(self, labels: &Labels) -> serde_json::Value {
        serde_json::json!({
            "a": self.a,
            "b": self.b,
            "total": self.total(),
            "option_a": labels.a,
            "option_b": labels.b,
        })
    }

    /// Changes whenever the JSON does, so clients can poll with `If-None-Match`.
    pub fn etag(&self, labels: &Labels) -> String {
        let mut hash: u64 = 0xcbf29ce484222325;
        for byte in labels.a.bytes().chain([0]).chain(labels.b.bytes()) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x100000001b3);
        }
        format!("\"{}-{}-{hash:x}\"", self.a, self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        Labels::new("Cats", "Dogs")
    }

    #[test]
    fn reads_the_one_row_of_counts() {
        let row = vec![DbValue::Int64(2000), DbValue::Int64(1000)];
        assert_eq!(Tally::from_row(&[row]).unwrap(), Tally { a: 2000, b: 1000 });
    }

    #[test]
    fn refuses_anything_but_one_row_of_two_counts() {
        let counts = vec![DbValue::Int64(1), DbValue::Int64(2)];
        assert!(Tally::from_row(&[]).is_err());
        assert!(Tally::from_row(&[counts.clone(), counts]).is_err());
        assert!(Tally::from_row(&[vec![DbValue::Int64(1)]]).is_err());
        assert!(Tally::from_row(&[vec![DbValue::Str("a".into()), DbValue::Int64(1)]]).is_err());
    }

    #[test]
    fn percentages_are_rounded_and_add_up_to_100() {
        assert_eq!(Tally { a: 2000, b: 1000 }.percentages(), (67, 33));
        assert_eq!(Tally { a: 1, b: 0 }.percentages(), (100, 0));
        assert_eq!(Tally { a: 1, b: 1 }.percentages(), (50, 50));
        assert_eq!(Tally { a: 1, b: 2 }.percentages(), (33, 67));
        assert_eq!(Tally::default().percentages(), (50, 50));
    }

    #[test]
    fn total_in_words() {
        assert_eq!(Tally::default().total_in_words(), "No votes yet");
        assert_eq!(Tally { a: 0, b: 1 }.total_in_words(), "1 vote");
        assert_eq!(Tally { a: 2000, b: 1000 }.total_in_words(), "3000 votes");
    }

    #[test]
    fn json_has_counts_total_and_labels() {
        let json = Tally { a: 2, b: 1 }.to_json(&labels());
        assert_eq!(
            json,
            serde_json::json!({"a":2,"b":1,"total":3,"option_a":"Cats","option_b":"Dogs"})
        );
    }

    #[test]
    fn etag_changes_with_counts_and_labels() {
        let tally = Tally { a: 2, b: 1 };
        assert_eq!(tally.etag(&labels()), tally.etag(&labels()));
        assert_ne!(tally.etag(&labels()), Tally { a: 1, b: 2 }.etag(&labels()));
        let renamed = Labels::new("Tabs", "Spaces");
        assert_ne!(tally.etag(&labels()), tally.etag(&renamed));
    }
}
