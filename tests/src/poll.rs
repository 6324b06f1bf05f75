//! The one way the tests wait for something that must happen eventually: polled, and bounded
//! so that a broken build fails instead of hanging. Never a timing assertion.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long anything the tests wait for may take.
pub const WAIT_LIMIT: Duration = Duration::from_secs(180);

/// Runs `check` every 20 ms until it returns `Some`, and returns that; fails naming `what`
/// after [`WAIT_LIMIT`].
pub async fn poll_until<T, F>(what: &str, mut check: impl FnMut() -> F) -> anyhow::Result<T>
where
    F: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT_LIMIT;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        anyhow::ensure!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// [`poll_until`] for tests outside an async runtime that watch processes and ports (the
/// scripts): polls `condition` every 100 ms; panics naming `what` after [`WAIT_LIMIT`].
pub fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT_LIMIT;
    while !condition() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
