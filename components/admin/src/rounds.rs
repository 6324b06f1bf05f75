//! Every round and its results, as PostgreSQL lists them
//! ([`LIST_ROUNDS`](voting_shared::schema::LIST_ROUNDS)), and their downloads: JSON and CSV
//! with the round, the question, each option's label and count, and when voting opened and
//! closed.

use std::collections::HashMap;

use anyhow::Context;
use serde::Deserialize;
use voting_shared::choice::{Choice, MAX_OPTIONS};
use voting_shared::counts::Counts;
use voting_shared::deck::Visibility;
use voting_shared::poll::Poll;
use voting_shared::round::Round;

/// One round with its results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundRecord {
    pub number: i64,
    pub poll: Poll,
    pub open: bool,
    /// Whether it is the current round (no later one started).
    pub current: bool,
    pub opened_ms: i64,
    /// When voting last closed: by the console, at its deadline, or when the next round
    /// started.
    pub closed_ms: Option<i64>,
    pub counts: Counts,
    /// Who sees its counts, and when.
    pub results: Visibility,
    /// When voting closes (or closed) by itself.
    pub closes_ms: Option<i64>,
    pub revealed: bool,
    /// The deck question it asked (from 1), if it came from the deck.
    pub deck_position: Option<i64>,
}

/// A round as [`LIST_ROUNDS`](voting_shared::schema::LIST_ROUNDS) lists it.
#[derive(Deserialize)]
struct Listed {
    round: i64,
    question: Option<String>,
    options: Option<Vec<String>>,
    open: bool,
    opened_ms: i64,
    closed_ms: Option<i64>,
    ended_ms: Option<i64>,
    counts: HashMap<String, i64>,
    #[serde(default)]
    results: String,
    #[serde(default)]
    closes_ms: Option<i64>,
    #[serde(default)]
    revealed_ms: Option<i64>,
    #[serde(default)]
    deck_position: Option<i64>,
}

/// The rounds in `json`; a round without a poll of its own has the `configured` one. Whether
/// voting is open, and when it closed, are as Redis's clock `now_ms` sees the deadlines.
pub fn parse(json: &str, configured: &Poll, now_ms: i64) -> anyhow::Result<Vec<RoundRecord>> {
    let listed: Vec<Listed> = serde_json::from_str(json).context("reading the list of rounds")?;
    listed
        .into_iter()
        .map(|listed| {
            let poll = match &listed.options {
                Some(labels) => {
                    Poll::with_question(listed.question.as_deref().unwrap_or_default(), labels)
                        .with_context(|| format!("round {} has a damaged poll", listed.round))?
                }
                None => configured.clone(),
            };
            let mut counts = [0; MAX_OPTIONS];
            for (vote, count) in &listed.counts {
                if let Some(choice) = Choice::parse(vote) {
                    counts[choice.index()] = *count;
                }
            }
            let past_deadline = listed.closes_ms.is_some_and(|closes| closes <= now_ms);
            Ok(RoundRecord {
                number: listed.round,
                open: listed.open && listed.ended_ms.is_none() && !past_deadline,
                current: listed.ended_ms.is_none(),
                opened_ms: listed.opened_ms,
                closed_ms: listed
                    .closed_ms
                    .or(listed.closes_ms.filter(|_| past_deadline)),
                counts: Counts::new(&counts).only(&poll),
                poll,
                results: Visibility::parse(&listed.results).unwrap_or_default(),
                closes_ms: listed.closes_ms,
                revealed: listed.revealed_ms.is_some(),
                deck_position: listed.deck_position,
            })
        })
        .collect()
}

impl RoundRecord {
    /// The round as the components see it, for its rules: when voting is open, how long is
    /// left, whether its counts are hidden.
    pub fn round(&self) -> Round {
        Round {
            number: self.number,
            open: self.open,
            poll: Some(self.poll.clone()),
            results: self.results,
            closes_ms: self.closes_ms,
            revealed: self.revealed,
        }
    }

    /// The round's results as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let options: Vec<serde_json::Value> = self
            .poll
            .options()
            .map(|(choice, label)| {
                serde_json::json!({
                    "choice": choice.as_str(),
                    "label": label,
                    "count": self.counts.of(choice),
                })
            })
            .collect();
        serde_json::json!({
            "round": self.number,
            "question": self.poll.question(),
            "current": self.current,
            "open": self.open,
            "opened_at": utc(self.opened_ms),
            "closed_at": self.closed_ms.map(utc),
            "results": self.results.as_str(),
            "revealed": self.revealed,
            "deck_position": self.deck_position,
            "total": self.counts.total(),
            "options": options,
        })
    }

    /// The round's results as CSV (RFC 4180), one line per option.
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("round,question,choice,label,count,opened_at,closed_at\r\n");
        let opened = utc(self.opened_ms);
        let closed = self.closed_ms.map(utc).unwrap_or_default();
        for (choice, label) in self.poll.options() {
            let fields = [
                self.number.to_string(),
                quoted(self.poll.question()),
                choice.as_str().to_owned(),
                quoted(label),
                self.counts.of(choice).to_string(),
                opened.clone(),
                closed.clone(),
            ];
            csv.push_str(&fields.join(","));
            csv.push_str("\r\n");
        }
        csv
    }
}

/// A CSV field: quoted, with quotes doubled; a leading `=`, `+`, `-` or `@` is prefixed with
/// `'` so that a spreadsheet does not run a label as a formula.
fn quoted(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Milliseconds since 1970 as an RFC 3339 UTC time, to the second.
pub fn utc(ms: i64) -> String {
    let seconds = ms.div_euclid(1000);
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configured() -> Poll {
        Poll::new(&["Cats", "Dogs"]).unwrap()
    }

    const LISTED: &str = r#"[
      {"round":1,"question":null,"options":null,"open":true,"opened_ms":1764660587000,
       "closed_ms":1764660600000,"ended_ms":1764660600000,"counts":{"a":3,"b":1}},
      {"round":2,"question":"Lunch?","options":["Pizza","Soup, \"hot\"","=1+1"],"open":false,
       "opened_ms":1764660600000,"closed_ms":1764660660000,"ended_ms":null,"counts":{"c":2}}
    ]"#;

    #[test]
    fn reads_every_round_with_its_poll_and_counts() {
        let rounds = parse(LISTED, &configured(), 0).unwrap();
        assert_eq!(rounds.len(), 2);
        assert_eq!(rounds[0].poll, configured());
        assert_eq!(rounds[0].counts, Counts::new(&[3, 1]));
        assert!(!rounds[0].current && !rounds[0].open);
        assert_eq!(rounds[1].poll.question(), "Lunch?");
        assert_eq!(rounds[1].counts, Counts::new(&[0, 0, 2]));
        assert!(rounds[1].current && !rounds[1].open);
        assert!(parse("{}", &configured(), 0).is_err());
    }

    #[test]
    fn a_deadline_closes_a_round_by_the_clock_it_is_read_with() {
        let json = r#"[{"round":1,"question":null,"options":null,"open":true,"opened_ms":0,
            "closed_ms":null,"ended_ms":null,"counts":{},"closes_ms":5000}]"#;
        let before = parse(json, &configured(), 4_999).unwrap();
        assert!(before[0].open && before[0].closed_ms.is_none());
        let after = parse(json, &configured(), 5_000).unwrap();
        assert!(!after[0].open);
        assert_eq!(after[0].closed_ms, Some(5_000));
    }

    #[test]
    fn downloads_say_round_question_option_label_count_and_times() {
        let rounds = parse(LISTED, &configured(), 0).unwrap();
        assert_eq!(
            rounds[1].to_csv(),
            "round,question,choice,label,count,opened_at,closed_at\r\n\
             2,\"Lunch?\",a,\"Pizza\",0,2025-12-02T07:30:00Z,2025-12-02T07:31:00Z\r\n\
             2,\"Lunch?\",b,\"Soup, \"\"hot\"\"\",0,2025-12-02T07:30:00Z,2025-12-02T07:31:00Z\r\n\
             2,\"Lunch?\",c,\"'=1+1\",2,2025-12-02T07:30:00Z,2025-12-02T07:31:00Z\r\n"
        );
        let json = rounds[0].to_json();
        assert_eq!(json["round"], 1);
        assert_eq!(json["question"], "Cats or Dogs?");
        assert_eq!(json["total"], 4);
        assert_eq!(json["opened_at"], "2025-12-02T07:29:47Z");
        assert_eq!(
            json["options"][1],
            serde_json::json!({"choice": "b", "label": "Dogs", "count": 1})
        );
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(utc(4_102_444_799_999), "2099-12-31T23:59:59Z");
    }
}
