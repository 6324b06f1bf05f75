//! The voter cookie as vote issues it, and as the load tool and the tests read it back: its
//! name, and its value `<id>.<signature>` (vote signs the id; see its `voter` module).

/// The cookie that carries the voter's signed id.
pub const VOTER_COOKIE: &str = "voter_id";
/// The cookie that remembers the voter's current choice, for display only.
pub const CHOICE_COOKIE: &str = "vote";

/// A cookie value from an id and its signature.
pub fn value(id: &str, signature: &str) -> String {
    format!("{id}.{signature}")
}

/// A cookie value's id and signature, if it has both.
pub fn split(value: &str) -> Option<(&str, &str)> {
    value.split_once('.')
}

/// The voter id a cookie value names, unverified: what the app stores the vote under.
pub fn voter_id(value: &str) -> &str {
    split(value).map_or(value, |(id, _signature)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_the_id_then_its_signature() {
        let value = value("0123abcd", "5167");
        assert_eq!(value, "0123abcd.5167");
        assert_eq!(split(&value), Some(("0123abcd", "5167")));
        assert_eq!(voter_id(&value), "0123abcd");
        assert_eq!(voter_id("unsigned"), "unsigned");
        assert_eq!(split("unsigned"), None);
    }
}
