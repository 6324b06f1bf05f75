//! The two options a voter can choose between.

use std::fmt;

/// An option on the ballot, written `a` or `b` on the wire as in the original app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Choice {
    A,
    B,
}

impl Choice {
    pub const ALL: [Choice; 2] = [Choice::A, Choice::B];

    /// Parses the wire form, `a` or `b`, exactly.
    pub fn parse(text: &str) -> Option<Choice> {
        match text {
            "a" => Some(Choice::A),
            "b" => Some(Choice::B),
            _ => None,
        }
    }

    /// The other option: what a voter changes to.
    pub fn other(self) -> Choice {
        match self {
            Choice::A => Choice::B,
            Choice::B => Choice::A,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Choice::A => "a",
            Choice::B => "b",
        }
    }
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the two options are called, from the `option_a` and `option_b` variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    pub a: String,
    pub b: String,
}

impl Labels {
    pub fn new(a: impl Into<String>, b: impl Into<String>) -> Labels {
        Labels {
            a: a.into(),
            b: b.into(),
        }
    }

    /// Reads the `option_a` and `option_b` variables through `variable` (Spin's `variables::get`).
    pub fn from_variables(
        mut variable: impl FnMut(&str) -> anyhow::Result<String>,
    ) -> anyhow::Result<Labels> {
        Ok(Labels::new(variable("option_a")?, variable("option_b")?))
    }

    pub fn of(&self, choice: Choice) -> &str {
        match choice {
            Choice::A => &self.a,
            Choice::B => &self.b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_the_wire_forms() {
        assert_eq!(Choice::parse("a"), Some(Choice::A));
        assert_eq!(Choice::parse("b"), Some(Choice::B));
        for invalid in ["", "A", "c", " a", "ab", "cats"] {
            assert_eq!(Choice::parse(invalid), None, "{invalid:?}");
        }
    }
}
