//! Votes per option, and the forms every part of the app shows them in: percentages, the total
//! in words, the JSON of `/result/api` (written by the result component, read back by the load
//! tool and the tests) and its ETag.

use crate::choice::{Choice, Labels};

/// Votes per option.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub a: i64,
    pub b: i64,
}

impl Counts {
    pub fn of(&self, choice: Choice) -> i64 {
        match choice {
            Choice::A => self.a,
            Choice::B => self.b,
        }
    }

    /// One more vote for `choice`.
    pub fn add(&mut self, choice: Choice) {
        match choice {
            Choice::A => self.a += 1,
            Choice::B => self.b += 1,
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

    /// The counts in an answer of `/result/api` (its [`Counts::to_json`]), if it has them.
    pub fn from_json(json: &serde_json::Value) -> Option<Counts> {
        Some(Counts {
            a: json["a"].as_i64()?,
            b: json["b"].as_i64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        Labels::new("Cats", "Dogs")
    }

    #[test]
    fn percentages_are_rounded_and_add_up_to_100() {
        assert_eq!(Counts { a: 2000, b: 1000 }.percentages(), (67, 33));
        assert_eq!(Counts { a: 1, b: 0 }.percentages(), (100, 0));
        assert_eq!(Counts { a: 1, b: 1 }.percentages(), (50, 50));
        assert_eq!(Counts { a: 1, b: 2 }.percentages(), (33, 67));
        assert_eq!(Counts::default().percentages(), (50, 50));
    }

    #[test]
    fn total_in_words() {
        assert_eq!(Counts::default().total_in_words(), "No votes yet");
        assert_eq!(Counts { a: 0, b: 1 }.total_in_words(), "1 vote");
        assert_eq!(Counts { a: 2000, b: 1000 }.total_in_words(), "3000 votes");
    }

    #[test]
    fn the_json_reads_back() {
        let counts = Counts { a: 7, b: 3 };
        assert_eq!(Counts::from_json(&counts.to_json(&labels())), Some(counts));
        assert_eq!(Counts::from_json(&serde_json::json!({"a": 1})), None);
        let mut added = Counts::default();
        added.add(Choice::B);
        assert_eq!((added.of(Choice::A), added.of(Choice::B)), (0, 1));
    }

    #[test]
    fn json_has_counts_total_and_labels() {
        let json = Counts { a: 2, b: 1 }.to_json(&labels());
        assert_eq!(
            json,
            serde_json::json!({"a":2,"b":1,"total":3,"option_a":"Cats","option_b":"Dogs"})
        );
    }

    #[test]
    fn etag_changes_with_counts_and_labels() {
        let tally = Counts { a: 2, b: 1 };
        assert_eq!(tally.etag(&labels()), tally.etag(&labels()));
        assert_ne!(tally.etag(&labels()), Counts { a: 1, b: 2 }.etag(&labels()));
        let renamed = Labels::new("Tabs", "Spaces");
        assert_ne!(tally.etag(&labels()), tally.etag(&renamed));
    }
}
