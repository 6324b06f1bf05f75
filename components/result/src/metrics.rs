//! `GET /metrics`: what an operator of a live poll watches, in Prometheus's text format
//! (version 0.0.4): votes per option, labelled by choice and label so that more options need
//! no new metric; votes waiting in the queue; dead letters; seconds since a worker last
//! committed a batch (`+Inf` before the first); whether Redis and PostgreSQL answered; and the
//! build's version. A dependency that is down leaves out only its own samples: the queue
//! growing while PostgreSQL is down is exactly what the operator needs to see.

use std::fmt::Write;

use voting_shared::poll::Poll;

use voting_shared::counts::Counts;

/// The queue as the metrics script reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueState {
    pub waiting: i64,
    pub dead_letters: i64,
    /// Redis time (µs) of the last committed batch; `None` before the first.
    pub last_batch_micros: Option<i64>,
    /// Redis time (µs) when it was read.
    pub now_micros: i64,
}

impl QueueState {
    /// Seconds since the last committed batch, `+Inf` before the first.
    pub fn seconds_since_last_batch(&self) -> f64 {
        match self.last_batch_micros {
            Some(last) => (self.now_micros - last).max(0) as f64 / 1e6,
            None => f64::INFINITY,
        }
    }
}

/// The metrics page: `tally` from PostgreSQL and `queue` from Redis, each `None` when its
/// dependency did not answer.
pub fn render(
    poll: &Poll,
    tally: Option<Counts>,
    queue: Option<QueueState>,
    version: &str,
) -> String {
    let mut text = String::new();
    family(
        &mut text,
        "voting_dependency_up",
        "Whether Redis and PostgreSQL answered this scrape.",
        "gauge",
    );
    for (dependency, up) in [("redis", queue.is_some()), ("postgres", tally.is_some())] {
        let _ = writeln!(
            text,
            "voting_dependency_up{{dependency=\"{dependency}\"}} {}",
            u8::from(up)
        );
    }
    if let Some(tally) = tally {
        family(
            &mut text,
            "voting_votes",
            "Votes counted, per option.",
            "gauge",
        );
        for (choice, label) in poll.options() {
            let count = tally.of(choice);
            let _ = writeln!(
                text,
                "voting_votes{{choice=\"{choice}\",label=\"{}\"}} {count}",
                label_value(label)
            );
        }
    }
    if let Some(queue) = queue {
        queue_gauges(&mut text, queue);
    }
    family(
        &mut text,
        "voting_build_info",
        "The running build; the value is always 1.",
        "gauge",
    );
    let _ = writeln!(
        text,
        "voting_build_info{{version=\"{}\"}} 1",
        label_value(version)
    );
    text
}

fn queue_gauges(text: &mut String, queue: QueueState) {
    let gauges = [
        (
            "voting_queue_length",
            "Votes accepted and waiting in the Redis list votes.",
            queue.waiting.to_string(),
        ),
        (
            "voting_dead_letters",
            "Queue entries that can never be processed, in the Redis list votes:dead.",
            queue.dead_letters.to_string(),
        ),
        (
            "voting_seconds_since_last_batch",
            "Seconds since a worker last committed a batch; +Inf before the first.",
            float(queue.seconds_since_last_batch()),
        ),
    ];
    for (name, help, value) in gauges {
        family(text, name, help, "gauge");
        let _ = writeln!(text, "{name} {value}");
    }
}

fn family(text: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the text format wants it: backslash, double quote and newline escaped.
fn label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn float(value: f64) -> String {
    if value.is_infinite() {
        "+Inf".to_owned()
    } else {
        format!("{value:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUEUE: QueueState = QueueState {
        waiting: 7,
        dead_letters: 2,
        last_batch_micros: Some(1_000_000),
        now_micros: 3_500_000,
    };

    #[test]
    fn every_option_is_a_sample_of_one_metric_labelled_by_choice_and_label() {
        let text = render(
            &Poll::new(&["Cats", "Dogs"]).unwrap(),
            Some(Counts::new(&[3, 5])),
            Some(QUEUE),
            "1.2.3",
        );
        assert!(
            text.contains("voting_votes{choice=\"a\",label=\"Cats\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("voting_votes{choice=\"b\",label=\"Dogs\"} 5\n"),
            "{text}"
        );
        assert!(text.contains("\nvoting_queue_length 7\n"), "{text}");
        assert!(text.contains("\nvoting_dead_letters 2\n"), "{text}");
        assert!(
            text.contains("\nvoting_seconds_since_last_batch 2.500\n"),
            "{text}"
        );
        assert!(
            text.contains("voting_build_info{version=\"1.2.3\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("voting_dependency_up{dependency=\"redis\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("voting_dependency_up{dependency=\"postgres\"} 1\n"),
            "{text}"
        );
        assert_eq!(text.matches("# TYPE ").count(), 6);
    }

    #[test]
    fn a_larger_poll_has_one_sample_per_option_and_none_for_others() {
        let poll = Poll::new(&["Cats", "Dogs", "Birds"]).unwrap();
        let text = render(&poll, Some(Counts::new(&[1, 2, 3, 4])), None, "1");
        assert!(
            text.contains("voting_votes{choice=\"c\",label=\"Birds\"} 3\n"),
            "{text}"
        );
        assert_eq!(text.matches("voting_votes{").count(), 3, "{text}");
    }

    #[test]
    fn a_dependency_that_is_down_leaves_out_only_its_samples() {
        let poll = Poll::new(&["Cats", "Dogs"]).unwrap();
        let text = render(&poll, None, Some(QUEUE), "1");
        assert!(
            text.contains("voting_dependency_up{dependency=\"postgres\"} 0\n"),
            "{text}"
        );
        assert!(!text.contains("voting_votes"), "{text}");
        assert!(text.contains("\nvoting_queue_length 7\n"), "{text}");
        let text = render(&poll, Some(Counts::new(&[1, 0])), None, "1");
        assert!(
            text.contains("voting_dependency_up{dependency=\"redis\"} 0\n"),
            "{text}"
        );
        assert!(!text.contains("voting_queue_length"), "{text}");
        assert!(
            text.contains("voting_votes{choice=\"a\",label=\"Cats\"} 1\n"),
            "{text}"
        );
    }

    #[test]
    fn labels_are_escaped() {
        let text = render(
            &Poll::new(&["say \"hi\"\\", "two\nlines"]).unwrap(),
            Some(Counts::default()),
            Some(QUEUE),
            "0",
        );
        assert!(text.contains(r#"label="say \"hi\"\\"} 0"#), "{text}");
        assert!(text.contains(r#"label="two\nlines"} 0"#), "{text}");
    }

    #[test]
    fn before_the_first_batch_the_age_is_infinite() {
        let queue = QueueState {
            last_batch_micros: None,
            ..QUEUE
        };
        let text = render(&Poll::new(&["a", "b"]).unwrap(), None, Some(queue), "0");
        assert!(
            text.contains("\nvoting_seconds_since_last_batch +Inf\n"),
            "{text}"
        );
    }
}
