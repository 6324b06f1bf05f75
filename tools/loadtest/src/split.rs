//! How a load divides its votes between the two options, written `2:1` as in the original
//! seed-data (2000 for a, 1000 for b).

use std::fmt;
use std::str::FromStr;

use voting_shared::choice::Choice;

/// Votes for a to votes for b.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub a: u32,
    pub b: u32,
}

impl Split {
    /// The choice of the `index`th voter: in every run of `a + b` voters, the first `a`
    /// choose a, so any prefix of a load is split as evenly as it can be.
    pub fn choice_for(self, index: usize) -> Choice {
        let position = index % (self.a + self.b) as usize;
        if position < self.a as usize {
            Choice::A
        } else {
            Choice::B
        }
    }
}

impl Default for Split {
    fn default() -> Split {
        Split { a: 2, b: 1 }
    }
}

impl FromStr for Split {
    type Err = String;

    fn from_str(text: &str) -> Result<Split, String> {
        let invalid = || format!("{text:?} is not a split like 2:1 (votes for a : votes for b)");
        let (a, b) = text.split_once(':').ok_or_else(invalid)?;
        let a = a.trim().parse::<u32>().map_err(|_| invalid())?;
        let b = b.trim().parse::<u32>().map_err(|_| invalid())?;
        if a.checked_add(b).is_none_or(|sum| sum == 0) {
            return Err(format!(
                "{text:?}: at least one side of the split must be positive"
            ));
        }
        Ok(Split { a, b })
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.a, self.b)
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
    fn one_sided_splits_are_allowed() {
        let split: Split = "0:1".parse().unwrap();
        assert!((0..10).all(|index| split.choice_for(index) == Choice::B));
    }

    #[test]
    fn malformed_splits_are_refused_with_the_expected_form() {
        for text in ["", "2", "2:", "a:b", "0:0", "-1:2", "2:1:1", "4294967295:1"] {
            let error = text.parse::<Split>().unwrap_err();
            assert!(error.contains(&format!("{text:?}")), "{error}");
        }
    }

    #[test]
    fn a_split_prints_as_it_is_written() {
        assert_eq!("3:7".parse::<Split>().unwrap().to_string(), "3:7");
    }
}
