//! How a load divides its votes between the options, written `2:1` as in the original
//! seed-data (2000 for a, 1000 for b), or `3:1:1:1` for a poll of four.

use std::fmt;
use std::str::FromStr;

use voting_shared::choice::{Choice, MAX_OPTIONS};

/// Votes for a, to votes for b, to votes for c, …: 2 to 8 weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    weights: [u32; MAX_OPTIONS],
    options: usize,
}

impl Split {
    /// The choice of the `index`th voter: in every run of as many voters as the weights add
    /// up to, the first choose a, the next b, and so on, so any prefix of a load is split as
    /// evenly as it can be.
    pub fn choice_for(self, index: usize) -> Choice {
        let weights = &self.weights[..self.options];
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut position = index as u64 % total;
        for (option, weight) in weights.iter().enumerate() {
            if position < u64::from(*weight) {
                return Choice::at(option);
            }
            position -= u64::from(*weight);
        }
        unreachable!("the position is below the total of the weights")
    }
}

impl Default for Split {
    fn default() -> Split {
        "2:1".parse().expect("a valid split")
    }
}

impl FromStr for Split {
    type Err = String;

    fn from_str(text: &str) -> Result<Split, String> {
        let invalid = || {
            format!(
                "{text:?} is not a split like 2:1 (votes for a : votes for b), or 3:1:1 for \
                 more options (2 to {MAX_OPTIONS})"
            )
        };
        let parts: Vec<&str> = text.split(':').collect();
        if !(2..=MAX_OPTIONS).contains(&parts.len()) {
            return Err(invalid());
        }
        let mut weights = [0; MAX_OPTIONS];
        for (weight, part) in weights.iter_mut().zip(&parts) {
            *weight = part.trim().parse::<u32>().map_err(|_| invalid())?;
        }
        if weights.iter().all(|weight| *weight == 0) {
            return Err(format!(
                "{text:?}: at least one part of the split must be positive"
            ));
        }
        Ok(Split {
            weights,
            options: parts.len(),
        })
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.weights[..self.options]
            .iter()
            .map(u32::to_string)
            .collect();
        f.write_str(&parts.join(":"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_seed_split_gives_two_thirds_to_a() {
        let split: Split = "2:1".parse().unwrap();
        let a = (0..3000)
            .filter(|&index| split.choice_for(index) == Choice::A)
            .count();
        assert_eq!(a, 2000);
    }

    #[test]
    fn a_split_of_more_options_follows_its_weights() {
        let split: Split = "3:1:0:2".parse().unwrap();
        let choices: Vec<&str> = (0..6)
            .map(|index| split.choice_for(index).as_str())
            .collect();
        assert_eq!(choices, ["a", "a", "a", "b", "d", "d"]);
        let eight: Split = "1:1:1:1:1:1:1:1".parse().unwrap();
        assert_eq!(eight.choice_for(7), Choice::at(7));
    }

    #[test]
    fn one_sided_splits_are_allowed() {
        let split: Split = "0:1".parse().unwrap();
        assert!((0..10).all(|index| split.choice_for(index) == Choice::B));
    }

    #[test]
    fn malformed_splits_are_refused_with_the_expected_form() {
        for text in [
            "",
            "2",
            "2:",
            "a:b",
            "0:0",
            "-1:2",
            "1:1:1:1:1:1:1:1:1",
            "0:0:0",
        ] {
            let error = text.parse::<Split>().unwrap_err();
            assert!(error.contains(&format!("{text:?}")), "{error}");
        }
        assert!(
            "4294967295:4294967295".parse::<Split>().is_ok(),
            "the sum is counted in u64"
        );
    }

    #[test]
    fn a_split_prints_as_it_is_written() {
        assert_eq!("3:7".parse::<Split>().unwrap().to_string(), "3:7");
        assert_eq!("3:1:1".parse::<Split>().unwrap().to_string(), "3:1:1");
    }
}
