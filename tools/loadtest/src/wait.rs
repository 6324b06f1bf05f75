//! Polling the results API until the tally reaches what was accepted, within a limit.

use std::time::{Duration, Instant};

use crate::target::Target;
use voting_shared::counts::Counts;

/// How often `/result/api` is read while waiting.
pub const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Reads `/result/api` every [`POLL_INTERVAL`] until `reached` holds for the tally or `limit`
/// has passed. Returns the last tally read (if any) and whether it was reached; errors while
/// reading (the app restarting, its database down) count as not yet.
pub async fn until_tally(
    target: &Target,
    limit: Duration,
    reached: impl Fn(Counts) -> bool,
) -> (Option<Counts>, bool) {
    let deadline = Instant::now() + limit;
    let mut last = None;
    loop {
        if let Ok(tally) = target.tally().await {
            last = Some(tally);
            if reached(tally) {
                return (last, true);
            }
        }
        if Instant::now() >= deadline {
            return (last, false);
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
