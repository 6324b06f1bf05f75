//! Votes per option, and the forms every part of the app shows them in: percentages, the total
//! in words, the JSON of `/result/api` (written by the result component, read back by the load
//! tool and the tests) and its ETag.

use std::cmp::Reverse;
use std::ops::{Add, Sub};

use crate::choice::{Choice, MAX_OPTIONS};
use crate::poll::Poll;

/// Votes per choice, `a` to `h`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts([i64; MAX_OPTIONS]);

impl Counts {
    /// `counts[0]` votes for `a`, `counts[1]` for `b`, …; panics past [`MAX_OPTIONS`].
    pub fn new(counts: &[i64]) -> Counts {
        let mut all = [0; MAX_OPTIONS];
        all[..counts.len()].copy_from_slice(counts);
        Counts(all)
    }

    pub fn of(&self, choice: Choice) -> i64 {
        self.0[choice.index()]
    }

    /// One more vote for `choice`.
    pub fn add_vote(&mut self, choice: Choice) {
        self.0[choice.index()] += 1;
    }

    pub fn total(&self) -> i64 {
        self.0.iter().sum()
    }

    /// The counts of the poll's own options, none of the others (what the votes of an earlier
    /// configuration with more options left).
    pub fn only(self, poll: &Poll) -> Counts {
        let mut counts = Counts::default();
        for (choice, _) in poll.options() {
            counts.0[choice.index()] = self.of(choice);
        }
        counts
    }

    /// The choices worth listing in a report: `a` and `b`, then the others up to the last
    /// one with a vote.
    pub fn listed_choices(&self) -> Vec<Choice> {
        let last_voted = self.0.iter().rposition(|count| *count != 0).unwrap_or(0);
        Choice::ALL[..last_voted.max(1) + 1].to_vec()
    }

    /// `a 2000, b 1000`: the [`Counts::listed_choices`] with their counts.
    pub fn describe(&self) -> String {
        let listed: Vec<String> = self
            .listed_choices()
            .into_iter()
            .map(|choice| format!("{choice} {}", self.of(choice)))
            .collect();
        listed.join(", ")
    }

    /// Whether every choice has at least as many votes as in `other`.
    pub fn covers(&self, other: &Counts) -> bool {
        self.0
            .iter()
            .zip(other.0)
            .all(|(mine, theirs)| *mine >= theirs)
    }

    /// Whole percentages of the poll's options, in ballot order, that add up to 100 (largest
    /// remainder, the earlier option first on a tie); equal shares before the first vote, as
    /// the original's 50/50.
    pub fn percentages(&self, poll: &Poll) -> Vec<i64> {
        let counts = &self.0[..poll.option_count()];
        let total: i64 = counts.iter().sum();
        let (mut shares, remainders): (Vec<i64>, Vec<i64>) = if total == 0 {
            counts
                .iter()
                .map(|_| (100 / counts.len() as i64, 1))
                .unzip()
        } else {
            counts
                .iter()
                .map(|count| (count * 100 / total, count * 100 % total))
                .unzip()
        };
        let left = 100 - shares.iter().sum::<i64>();
        let mut order: Vec<usize> = (0..counts.len()).collect();
        order.sort_by_key(|&index| (Reverse(remainders[index]), index));
        for index in order.into_iter().take(left as usize) {
            shares[index] += 1;
        }
        shares
    }

    /// "No votes yet", "1 vote", "3000 votes".
    pub fn total_in_words(&self) -> String {
        votes_in_words(self.total())
    }

    /// The JSON of `/result/api`: the original's fields for `a` and `b`, the question, and
    /// every option in ballot order.
    pub fn to_json(self, poll: &Poll) -> serde_json::Value {
        let label = |choice| poll.label(choice).unwrap_or_default();
        let options: Vec<serde_json::Value> = poll
            .options()
            .map(|(choice, label)| {
                serde_json::json!({ "choice": choice.as_str(), "label": label, "count": self.of(choice) })
            })
            .collect();
        serde_json::json!({
            "a": self.of(Choice::A),
            "b": self.of(Choice::B),
            "total": self.total(),
            "option_a": label(Choice::A),
            "option_b": label(Choice::B),
            "question": poll.question(),
            "options": options,
        })
    }

    /// The counts in an answer of `/result/api` (its [`Counts::to_json`]), if it has them:
    /// every option's, or only `a` and `b` from an answer without `options`.
    pub fn from_json(json: &serde_json::Value) -> Option<Counts> {
        let Some(options) = json.get("options") else {
            return Some(Counts::new(&[json["a"].as_i64()?, json["b"].as_i64()?]));
        };
        let mut counts = Counts::default();
        for option in options.as_array()? {
            let choice = Choice::parse(option["choice"].as_str()?)?;
            counts.0[choice.index()] = option["count"].as_i64()?;
        }
        Some(counts)
    }
}

impl Add for Counts {
    type Output = Counts;

    /// The votes per choice of both.
    fn add(self, other: Counts) -> Counts {
        Counts(std::array::from_fn(|index| self.0[index] + other.0[index]))
    }
}

impl Sub for Counts {
    type Output = Counts;

    /// The votes per choice gained since `earlier`.
    fn sub(self, earlier: Counts) -> Counts {
        Counts(std::array::from_fn(|index| {
            self.0[index] - earlier.0[index]
        }))
    }
}

/// "No votes yet", "1 vote", "3000 votes".
pub fn votes_in_words(total: i64) -> String {
    match total {
        0 => "No votes yet".to_owned(),
        1 => "1 vote".to_owned(),
        total => format!("{total} votes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats_and_dogs() -> Poll {
        Poll::new(&["Cats", "Dogs"]).unwrap()
    }

    #[test]
    fn percentages_are_rounded_and_add_up_to_100() {
        let two = cats_and_dogs();
        assert_eq!(Counts::new(&[2000, 1000]).percentages(&two), [67, 33]);
        assert_eq!(Counts::new(&[1, 0]).percentages(&two), [100, 0]);
        assert_eq!(Counts::new(&[1, 1]).percentages(&two), [50, 50]);
        assert_eq!(Counts::new(&[1, 2]).percentages(&two), [33, 67]);
        assert_eq!(Counts::new(&[3, 5]).percentages(&two), [38, 62]);
        assert_eq!(Counts::default().percentages(&two), [50, 50]);
        let three = Poll::new(&["x", "y", "z"]).unwrap();
        assert_eq!(Counts::new(&[1, 1, 1]).percentages(&three), [34, 33, 33]);
        assert_eq!(Counts::new(&[0, 1, 1]).percentages(&three), [0, 50, 50]);
        assert_eq!(Counts::default().percentages(&three), [34, 33, 33]);
        let eight = Poll::new(&["1", "2", "3", "4", "5", "6", "7", "8"]).unwrap();
        let shares = Counts::new(&[7, 1, 1, 1, 1, 1, 1, 0]).percentages(&eight);
        assert_eq!(shares, [54, 8, 8, 8, 8, 7, 7, 0]);
    }

    #[test]
    fn total_in_words() {
        assert_eq!(Counts::default().total_in_words(), "No votes yet");
        assert_eq!(Counts::new(&[0, 1]).total_in_words(), "1 vote");
        assert_eq!(Counts::new(&[2000, 1000]).total_in_words(), "3000 votes");
    }

    #[test]
    fn the_json_reads_back() {
        let counts = Counts::new(&[7, 3]);
        assert_eq!(
            Counts::from_json(&counts.to_json(&cats_and_dogs())),
            Some(counts)
        );
        let three = Poll::new(&["x", "y", "z"]).unwrap();
        let counts = Counts::new(&[7, 3, 5]);
        assert_eq!(Counts::from_json(&counts.to_json(&three)), Some(counts));
        let original = serde_json::json!({"a": 1, "b": 2});
        assert_eq!(Counts::from_json(&original), Some(Counts::new(&[1, 2])));
        assert_eq!(Counts::from_json(&serde_json::json!({"a": 1})), None);
        let mut added = Counts::default();
        added.add_vote(Choice::B);
        assert_eq!((added.of(Choice::A), added.of(Choice::B)), (0, 1));
    }

    #[test]
    fn json_has_the_originals_fields_the_question_and_every_option() {
        let json = Counts::new(&[2, 1]).to_json(&cats_and_dogs());
        assert_eq!(
            json,
            serde_json::json!({
                "a": 2, "b": 1, "total": 3, "option_a": "Cats", "option_b": "Dogs",
                "question": "Cats or Dogs?",
                "options": [
                    {"choice": "a", "label": "Cats", "count": 2},
                    {"choice": "b", "label": "Dogs", "count": 1},
                ],
            })
        );
    }

    #[test]
    fn only_keeps_the_polls_options() {
        let counts = Counts::new(&[2, 1, 5]).only(&cats_and_dogs());
        assert_eq!(counts, Counts::new(&[2, 1]));
        assert_eq!(counts.total(), 3);
    }

    #[test]
    fn reports_list_a_and_b_then_up_to_the_last_vote() {
        assert_eq!(Counts::default().describe(), "a 0, b 0");
        assert_eq!(Counts::new(&[2000, 1000]).describe(), "a 2000, b 1000");
        assert_eq!(Counts::new(&[1, 0, 0, 2]).describe(), "a 1, b 0, c 0, d 2");
    }

    #[test]
    fn differences_and_coverage() {
        let later = Counts::new(&[5, 3, 1]);
        assert_eq!(later - Counts::new(&[2, 3]), Counts::new(&[3, 0, 1]));
        assert_eq!(Counts::new(&[3, 0, 1]) + Counts::new(&[2, 3]), later);
        assert!(later.covers(&Counts::new(&[5, 2, 1])));
        assert!(!later.covers(&Counts::new(&[5, 2, 2])));
    }
}
