//! Latency percentiles and status counts of a load.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::target::Attempt;

/// Nearest-rank percentiles of request latencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latencies {
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latencies {
    /// `None` when there are no samples.
    pub fn of(samples: impl IntoIterator<Item = Duration>) -> Option<Latencies> {
        let mut sorted: Vec<Duration> = samples.into_iter().collect();
        sorted.sort_unstable();
        let max = *sorted.last()?;
        let rank = |percent: usize| {
            let index = (sorted.len() * percent).div_ceil(100).max(1) - 1;
            sorted[index]
        };
        Some(Latencies {
            p50: rank(50),
            p90: rank(90),
            p99: rank(99),
            max,
        })
    }
}

impl fmt::Display for Latencies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {}  p90 {}  p99 {}  max {}",
            millis(self.p50),
            millis(self.p90),
            millis(self.p99),
            millis(self.max)
        )
    }
}

/// How many answers of each kind: `200 × 2999, 503 × 1, no answer × 0`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Statuses(BTreeMap<String, usize>);

impl Statuses {
    pub fn of<'a>(attempts: impl IntoIterator<Item = &'a Attempt>) -> Statuses {
        let mut counts = BTreeMap::new();
        for attempt in attempts {
            *counts.entry(attempt.outcome.to_string()).or_default() += 1;
        }
        Statuses(counts)
    }
}

impl fmt::Display for Statuses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(status, count)| format!("{status} × {count}"))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// `12.3 ms`, or `1.23 s` from a second up.
pub fn millis(duration: Duration) -> String {
    if duration >= Duration::from_secs(1) {
        format!("{:.2} s", duration.as_secs_f64())
    } else {
        format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples = (1..=100).map(Duration::from_millis);
        let latencies = Latencies::of(samples).unwrap();
        assert_eq!(latencies.p50, Duration::from_millis(50));
        assert_eq!(latencies.p90, Duration::from_millis(90));
        assert_eq!(latencies.p99, Duration::from_millis(99));
        assert_eq!(latencies.max, Duration::from_millis(100));
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let latencies = Latencies::of([Duration::from_millis(7)]).unwrap();
        assert_eq!(latencies.p50, Duration::from_millis(7));
        assert_eq!(latencies.p99, Duration::from_millis(7));
    }

    #[test]
    fn no_samples_no_percentiles() {
        assert_eq!(Latencies::of([]), None);
    }

    #[test]
    fn durations_print_in_a_readable_unit() {
        assert_eq!(millis(Duration::from_micros(12_340)), "12.3 ms");
        assert_eq!(millis(Duration::from_millis(1234)), "1.23 s");
    }
}
