//! Progress bars on stderr; hidden when stderr is not a terminal, so reports stay clean in
//! logs and tests.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting `length` steps.
pub fn bar(length: u64, message: &str) -> ProgressBar {
    let bar = ProgressBar::new(length).with_message(message.to_owned());
    bar.set_style(
        ProgressStyle::with_template("{msg:<28} [{bar:32}] {pos}/{len} {per_sec} {elapsed}")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar
}

/// A spinner for a step whose length is unknown, such as waiting for the queue to drain.
pub fn spinner(message: &str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner().with_message(message.to_owned());
    spinner.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("the template is valid"),
    );
    spinner.enable_steady_tick(Duration::from_millis(100));
    spinner
}
