//! `/result/api`'s answer: the original app's fields, the question and every option, the
//! round, whether voting is open and until when, and who may see the counts. While the round
//! hides them, the answer has no count at all — not `a`, `b` or any option's `count`, only
//! `total`, how many have voted — and its ETag is made from that answer alone, so no hidden
//! count can be read from it either.

use serde_json::Value;
use voting_shared::counts::Counts;
use voting_shared::poll::Poll;
use voting_shared::round::Round;

/// The answer for `tally`, the counts of `round` (whose ballot is `poll`), at `now_ms`.
pub fn body(tally: &Counts, poll: &Poll, round: &Round, now_ms: i64) -> Value {
    let mut body = tally.to_json(poll);
    body["round"] = round.number.into();
    body["open"] = round.open_at(now_ms).into();
    body["results"] = round.results.as_str().into();
    body["closes_at"] = round.closes_ms.into();
    body["seconds_left"] = round.seconds_left(now_ms).into();
    let hidden = round.counts_hidden(now_ms);
    body["hidden"] = hidden.into();
    if hidden {
        if let Some(fields) = body.as_object_mut() {
            fields.remove("a");
            fields.remove("b");
        }
        if let Some(options) = body["options"].as_array_mut() {
            for option in options.iter_mut().filter_map(Value::as_object_mut) {
                option.remove("count");
            }
        }
    }
    body
}

/// The ETag of an answer: a hash of exactly what it says (FNV-1a over its JSON).
pub fn etag(body: &Value) -> String {
    let hash = body
        .to_string()
        .bytes()
        .fold(0xcbf29ce484222325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x100000001b3)
        });
    format!("\"{hash:016x}\"")
}

#[cfg(test)]
mod tests {
    use voting_shared::deck::Visibility;

    use super::*;

    fn round(results: Visibility) -> Round {
        Round {
            results,
            ..Round::configured(2)
        }
    }

    #[test]
    fn a_live_round_answers_every_count() {
        let poll = Poll::new(&["Cats", "Dogs"]).unwrap();
        let body = body(&Counts::new(&[2, 1]), &poll, &round(Visibility::Live), 0);
        assert_eq!(body["a"], 2);
        assert_eq!(body["options"][1]["count"], 1);
        assert_eq!(body["total"], 3);
        assert_eq!(body["hidden"], false);
        assert_eq!(body["results"], "live");
        assert_eq!(body["closes_at"], Value::Null);
        assert_eq!(body["seconds_left"], Value::Null);
        assert_eq!(body["round"], 2);
    }

    #[test]
    fn hidden_counts_leave_no_trace_in_the_answer_or_its_etag() {
        let poll = Poll::new(&["Cats", "Dogs", "Birds"]).unwrap();
        let hidden = round(Visibility::OnReveal);
        let one = body(&Counts::new(&[2, 1, 0]), &poll, &hidden, 0);
        let other = body(&Counts::new(&[0, 1, 2]), &poll, &hidden, 0);
        assert_eq!(one, other, "the same answer whatever the counts");
        assert_eq!(etag(&one), etag(&other));
        assert_eq!(one["hidden"], true);
        assert_eq!(one["total"], 3);
        assert!(one.get("a").is_none() && one.get("b").is_none());
        assert!(
            one["options"]
                .as_array()
                .unwrap()
                .iter()
                .all(|o| o.get("count").is_none())
        );
        assert_eq!(one["options"][2]["label"], "Birds");
        let revealed = Round {
            revealed: true,
            ..hidden
        };
        let shown = body(&Counts::new(&[2, 1, 0]), &poll, &revealed, 0);
        assert_eq!(shown["a"], 2);
        assert_ne!(etag(&shown), etag(&one));
    }

    #[test]
    fn a_deadline_is_in_the_answer_and_closes_voting() {
        let poll = Poll::new(&["Cats", "Dogs"]).unwrap();
        let timed = Round {
            closes_ms: Some(61_000),
            ..round(Visibility::AfterClose)
        };
        let before = body(&Counts::new(&[1, 0]), &poll, &timed, 30_500);
        assert_eq!(before["closes_at"], 61_000);
        assert_eq!(before["seconds_left"], 31);
        assert_eq!(
            (before["open"].as_bool(), before["hidden"].as_bool()),
            (Some(true), Some(true))
        );
        let after = body(&Counts::new(&[1, 0]), &poll, &timed, 61_000);
        assert_eq!(after["seconds_left"], 0);
        assert_eq!(
            (after["open"].as_bool(), after["hidden"].as_bool()),
            (Some(false), Some(false))
        );
        assert_eq!(after["a"], 1);
    }
}
