//! Starting the app with its own Redis and PostgreSQL, for one test.

use std::collections::HashMap;

use crate::services::{TestPostgres, TestRedis, spin_variables};
use crate::{App, repository_root};

/// The app from the repository's `spin.toml`, wired to a fresh Redis and PostgreSQL.
pub struct TestEnv {
    pub redis: TestRedis,
    pub postgres: TestPostgres,
    pub app: App,
}

impl TestEnv {
    pub async fn start() -> anyhow::Result<TestEnv> {
        Self::start_with(&[]).await
    }

    /// Like [`TestEnv::start`], with extra `SPIN_VARIABLE_*` settings.
    pub async fn start_with(extra_environment: &[(&str, &str)]) -> anyhow::Result<TestEnv> {
        let redis = TestRedis::start().await?;
        let postgres = TestPostgres::start().await?;
        let app = App::load(
            &repository_root(),
            &environment(&redis, &postgres, extra_environment),
        )?;
        Ok(TestEnv {
            redis,
            postgres,
            app,
        })
    }

    /// A second, independent load of the same app (as a second `spin up` would be).
    pub fn another_app(&self) -> anyhow::Result<App> {
        App::load(
            &repository_root(),
            &environment(&self.redis, &self.postgres, &[]),
        )
    }

    pub async fn redis(&self) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        self.redis.connection().await
    }
}

fn environment(
    redis: &TestRedis,
    postgres: &TestPostgres,
    extra: &[(&str, &str)],
) -> HashMap<String, String> {
    let mut environment = spin_variables(redis, postgres);
    environment.extend(
        extra
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string())),
    );
    environment
}
