//! The voting app's test kit: the app from one of its manifests on fresh Redis and PostgreSQL
//! servers, a visitor with a cookie jar, the tallies in the database, and one bounded wait.
//! The integration tests (`integration/`), the benchmarks and the load tool's tests use it.
//!
//! # Layout
//!
//! - [`env`]: [`TestEnv`], started from a [`Setup`] (which manifest, which services, which
//!   settings), and what a test asks of it (drain, queue length, tallies, results).
//! - [`visitor`]: [`Visitor`], a client with a cookie jar, as a browser keeps the voter cookie.
//! - [`database`]: the original app's tally query and the running tally.
//! - [`poll`]: [`poll_until`] and [`wait_for`], the bounded waits.
//! - [`presenter`]: [`Presenter`], the console's API and pages with the admin token.
//! - [`round`]: the round's mirror in Redis, for vote without a worker.

pub mod database;
pub mod env;
pub mod poll;
pub mod presenter;
pub mod round;
pub mod visitor;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use database::{counts_by_vote, running_tally};
pub use env::{Deployment, Setup, TestEnv, seed_votes};
pub use poll::{WAIT_LIMIT, poll_until, wait_for};
pub use presenter::{ADMIN_TOKEN, Presenter};
pub use round::{first_round, mirror_round};
pub use visitor::Visitor;

use test_services::{TestPostgres, TestRedis, percent_encode};

/// A response's body as text.
pub fn body(response: &spin_test_host::Response) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

/// The value of the hidden field `name` of a page's form, as a browser showing it would send
/// it.
pub fn form_field(page: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page.find(&marker)? + marker.len();
    page[start..].split('"').next().map(str::to_owned)
}

/// The repository, where `spin.toml` is.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

/// The test host's `spin up` stand-in (`crates/spin-test-host`'s binary), which `cargo test
/// --workspace` builds beside the test binaries (for that crate's own `tests/cli.rs`).
pub fn spin_test_host_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let profile_dir = exe
        .ancestors()
        .find(|dir| dir.join("spin-test-host").is_file())
        .unwrap_or_else(|| {
            panic!(
                "no spin-test-host binary beside {}: run the tests with `cargo test \
                 --workspace` (scripts/test does), which builds it",
                exe.display()
            )
        });
    profile_dir.join("spin-test-host")
}

/// The `SPIN_VARIABLE_*` settings that point the app at these services as their own client.
pub fn spin_variables(redis: &TestRedis, postgres: &TestPostgres) -> HashMap<String, String> {
    let postgres = [
        ("POSTGRES_HOST", postgres.host.clone()),
        ("POSTGRES_USER", postgres.user.clone()),
        ("POSTGRES_PASSWORD", postgres.password.clone()),
        ("POSTGRES_DATABASE", postgres.database.clone()),
    ];
    let mut variables = redis_variables(redis);
    variables.extend(
        postgres
            .into_iter()
            .map(|(name, value)| (format!("SPIN_VARIABLE_{name}"), value)),
    );
    variables
}

/// The `SPIN_VARIABLE_REDIS_*` settings for `redis`: its TLS port with `rediss` when it has
/// one, its ACL user or password, URL-encoded as the variables want them.
pub fn redis_variables(redis: &TestRedis) -> HashMap<String, String> {
    let (scheme, host) = match redis.tls_host() {
        Some(host) => ("rediss", host),
        None => ("redis", redis.host()),
    };
    let (username, password) = redis.client_login();
    [
        ("REDIS_SCHEME", scheme.to_owned()),
        ("REDIS_HOST", host.to_owned()),
        ("REDIS_USERNAME", percent_encode(username)),
        ("REDIS_PASSWORD", percent_encode(password)),
    ]
    .into_iter()
    .map(|(name, value)| (format!("SPIN_VARIABLE_{name}"), value))
    .collect()
}
