//! A choice on the ballot: `a`, `b`, … `h` on the wire, as in the original app (whose two
//! options were `a` and `b`).

use std::fmt;

/// The most options a poll can have.
pub const MAX_OPTIONS: usize = 8;

const WIRE_FORMS: [&str; MAX_OPTIONS] = ["a", "b", "c", "d", "e", "f", "g", "h"];

/// An option's place on the ballot: `a` is the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Choice(u8);

impl Choice {
    pub const A: Choice = Choice(0);
    pub const B: Choice = Choice(1);

    /// Every choice a poll can offer, in ballot order.
    pub const ALL: [Choice; MAX_OPTIONS] = [
        Choice(0),
        Choice(1),
        Choice(2),
        Choice(3),
        Choice(4),
        Choice(5),
        Choice(6),
        Choice(7),
    ];

    /// Parses the wire form, `a` to `h`, exactly. Whether the poll offers it is
    /// [`Poll::choice`](crate::poll::Poll::choice)'s question.
    pub fn parse(text: &str) -> Option<Choice> {
        WIRE_FORMS
            .iter()
            .position(|form| *form == text)
            .map(Choice::at)
    }

    /// The choice at `index` (0 for `a`); panics past [`MAX_OPTIONS`].
    pub fn at(index: usize) -> Choice {
        assert!(
            index < MAX_OPTIONS,
            "a poll has at most {MAX_OPTIONS} options"
        );
        Choice(index as u8)
    }

    /// Its place on the ballot, 0 for `a`.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// What a voter of a two-option poll changes to: `a` and `b` swap, any other goes to `a`.
    pub fn other(self) -> Choice {
        if self == Choice::A {
            Choice::B
        } else {
            Choice::A
        }
    }

    pub fn as_str(self) -> &'static str {
        WIRE_FORMS[self.index()]
    }
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_the_wire_forms() {
        assert_eq!(Choice::parse("a"), Some(Choice::A));
        assert_eq!(Choice::parse("b"), Some(Choice::B));
        assert_eq!(Choice::parse("h"), Some(Choice::at(7)));
        for invalid in ["", "A", "i", " a", "ab", "cats"] {
            assert_eq!(Choice::parse(invalid), None, "{invalid:?}");
        }
    }

    #[test]
    fn every_choice_round_trips_in_ballot_order() {
        for (index, choice) in Choice::ALL.into_iter().enumerate() {
            assert_eq!(choice.index(), index);
            assert_eq!(Choice::parse(choice.as_str()), Some(choice));
        }
        assert_eq!(Choice::ALL.map(Choice::as_str).concat(), "abcdefgh");
    }

    #[test]
    fn the_other_of_a_two_option_poll() {
        assert_eq!(Choice::A.other(), Choice::B);
        assert_eq!(Choice::B.other(), Choice::A);
        assert_eq!(Choice::at(5).other(), Choice::A);
    }
}
