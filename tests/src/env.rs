//! The app from one of the repository's manifests, on its own Redis and PostgreSQL.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use bytes::Bytes;
use redis::AsyncCommands;
use spin_test_host::App;
use test_services::{TestPostgres, TestRedis};
use voting_shared::choice::{Choice, MAX_OPTIONS};
use voting_shared::counts::Counts;
use voting_shared::doorbell::{CATCH_UP_RING, Ring, VOTE_RING};

use crate::database::{counts_by_vote, running_tally};
use crate::poll::poll_until;
use crate::visitor::Visitor;
use crate::{repository_root, spin_variables};

/// Which manifest the app runs from, that is how the worker is woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    /// `spin.toml`: the Redis trigger delivers the doorbell published on the votes channel.
    RedisTrigger,
    /// `spin.http-only.toml`: the worker is a private HTTP endpoint rung by service chaining.
    HttpOnly,
}

impl Deployment {
    pub const BOTH: [Deployment; 2] = [Deployment::RedisTrigger, Deployment::HttpOnly];

    /// The manifest's file name.
    pub const fn file_name(self) -> &'static str {
        match self {
            Deployment::RedisTrigger => "spin.toml",
            Deployment::HttpOnly => "spin.http-only.toml",
        }
    }

    pub fn manifest(self) -> PathBuf {
        repository_root().join(self.file_name())
    }
}

/// How to start a [`TestEnv`]: `spin.toml` on fresh servers with no settings, the worker's
/// doorbell rung once as the deployment does, unless told.
pub struct Setup {
    deployment: Option<Deployment>,
    redis: Option<TestRedis>,
    postgres: Option<TestPostgres>,
    environment: HashMap<String, String>,
    rung_at_start: bool,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            deployment: None,
            redis: None,
            postgres: None,
            environment: HashMap::new(),
            rung_at_start: true,
        }
    }
}

impl Setup {
    /// Without the doorbell a deployment rings once its worker runs: Redis has no round
    /// mirror yet, and PostgreSQL no schema.
    pub fn unrung(mut self) -> Setup {
        self.rung_at_start = false;
        self
    }

    /// The app from `deployment`'s manifest.
    pub fn deployment(mut self, deployment: Deployment) -> Setup {
        self.deployment = Some(deployment);
        self
    }

    /// On a Redis the test started itself (with a password, TLS, …).
    pub fn redis(mut self, redis: TestRedis) -> Setup {
        self.redis = Some(redis);
        self
    }

    /// On a PostgreSQL the test started itself.
    pub fn postgres(mut self, postgres: TestPostgres) -> Setup {
        self.postgres = Some(postgres);
        self
    }

    /// With an environment variable Spin reads (`SPIN_VARIABLE_*`, `SPIN_MAX_INSTANCE_MEMORY`);
    /// it wins over the services' own settings.
    pub fn env(mut self, name: &str, value: &str) -> Setup {
        self.environment.insert(name.to_owned(), value.to_owned());
        self
    }

    /// With the presenter's console on, its token [`ADMIN_TOKEN`](crate::presenter::ADMIN_TOKEN).
    pub fn console(self) -> Setup {
        self.env("SPIN_VARIABLE_ADMIN_TOKEN", crate::presenter::ADMIN_TOKEN)
    }

    /// With each of `settings` as [`Setup::env`].
    pub fn envs(self, settings: &[(&str, &str)]) -> Setup {
        settings
            .iter()
            .fold(self, |setup, (name, value)| setup.env(name, value))
    }

    pub async fn start(self) -> anyhow::Result<TestEnv> {
        let redis = match self.redis {
            Some(redis) => redis,
            None => TestRedis::start().await?,
        };
        let postgres = match self.postgres {
            Some(postgres) => postgres,
            None => TestPostgres::start().await?,
        };
        let deployment = self.deployment.unwrap_or(Deployment::RedisTrigger);
        let mut environment = spin_variables(&redis, &postgres);
        environment.extend(self.environment);
        let app = App::load(&deployment.manifest(), &environment)?;
        let env = TestEnv {
            redis,
            postgres,
            app,
            deployment,
            environment,
        };
        // As scripts/up and SpinKube's doorbell do once a worker runs: the worker restores the
        // round's mirror in Redis, without which vote takes no vote. A test of a setting the
        // worker cannot work with starts `unrung`.
        if self.rung_at_start {
            env.drain()
                .await
                .context("the doorbell rung at start (a test of a broken setting starts unrung)")?;
        }
        Ok(env)
    }
}

/// The app from one of the repository's manifests, wired to its own Redis and PostgreSQL.
pub struct TestEnv {
    pub redis: TestRedis,
    pub postgres: TestPostgres,
    pub app: App,
    pub deployment: Deployment,
    /// What the app was loaded with.
    pub environment: HashMap<String, String>,
}

impl TestEnv {
    /// The app from `spin.toml`, on fresh servers.
    pub async fn start() -> anyhow::Result<TestEnv> {
        Setup::default().start().await
    }

    /// The app from `deployment`'s manifest with the presenter's console on (see
    /// [`Setup::console`]).
    pub async fn with_console(deployment: Deployment) -> anyhow::Result<TestEnv> {
        TestEnv::setup()
            .deployment(deployment)
            .console()
            .start()
            .await
    }

    /// Anything else: `TestEnv::setup().deployment(…).env(…).start()`.
    pub fn setup() -> Setup {
        Setup::default()
    }

    /// A second, independent load of the same app (as a second `spin up` would be).
    pub fn another_app(&self) -> anyhow::Result<App> {
        App::load(&self.deployment.manifest(), &self.environment)
    }

    pub async fn redis(&self) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        self.redis.connection().await
    }

    /// Rings the worker's doorbell once with a catch-up, as the deployment does when a worker
    /// starts (a catch-up drains even while another run holds the doorbell), and waits for
    /// the run to end.
    pub async fn drain(&self) -> anyhow::Result<()> {
        self.ring(Ring::CatchUp).await
    }

    /// Rings the worker's doorbell once as `ring` does, and waits for the run to end: a vote's
    /// ring ([`Ring::Vote`]) defers to a run already draining.
    pub async fn ring(&self, ring: Ring) -> anyhow::Result<()> {
        let payload = match ring {
            Ring::Vote => VOTE_RING,
            Ring::CatchUp => CATCH_UP_RING,
        };
        match self.deployment {
            Deployment::RedisTrigger => self.app.deliver("worker", payload.as_bytes()).await,
            Deployment::HttpOnly => {
                let doorbell =
                    App::request("POST", "/").body(Bytes::from_static(payload.as_bytes()))?;
                let response = self.app.chain("worker", doorbell).await?;
                anyhow::ensure!(
                    response.status() == 200,
                    "the worker answered {}: {}",
                    response.status(),
                    String::from_utf8_lossy(response.body())
                );
                Ok(())
            }
        }
    }

    /// Publishes a catch-up doorbell on the votes channel, as an operator or scripts/up does.
    pub async fn publish_doorbell(&self) -> anyhow::Result<()> {
        let channel = self.app.variable("votes_channel").unwrap_or("votes");
        let _: () = self.redis().await?.publish(channel, CATCH_UP_RING).await?;
        Ok(())
    }

    /// Opens the sign-in window of `address` for an hour, rather than the minute a first
    /// attempt opens: it cannot close under the test, and a refusal's wait shows it is this
    /// window.
    pub async fn open_sign_in_window(&self, address: &str) -> anyhow::Result<()> {
        let key = voting_shared::client::sign_in_attempts_key(Some(address.parse()?));
        let _: () = self.redis().await?.set_ex(key, 0, 3600).await?;
        Ok(())
    }

    /// How many entries wait in the Redis list `votes`.
    pub async fn queue_length(&self) -> anyhow::Result<usize> {
        Ok(self
            .redis()
            .await?
            .llen(voting_shared::queue::VOTES_KEY)
            .await?)
    }

    /// The tallies by the original app's result query; fails if the running tally in
    /// `vote_tallies` (once it exists) disagrees with it.
    pub async fn tally_in_database(&self) -> anyhow::Result<Counts> {
        let client = self.postgres.client().await?;
        let counted = counts_by_vote(&client).await?;
        if let Some(running) = running_tally(&client).await? {
            anyhow::ensure!(
                running == counted,
                "vote_tallies {running:?} disagrees with the original query {counted:?}"
            );
        }
        let mut counts = [0; MAX_OPTIONS];
        for (vote, count) in counted {
            let Some(choice) = Choice::parse(&vote) else {
                anyhow::bail!("unexpected vote {vote:?} in the database");
            };
            counts[choice.index()] = count;
        }
        Ok(Counts::new(&counts))
    }

    /// Each voter's vote in the database.
    pub async fn votes_in_database(&self) -> anyhow::Result<HashMap<String, String>> {
        let client = self.postgres.client().await?;
        let rows = client.query("SELECT id, vote FROM votes", &[]).await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    /// The answer of `/result/api`, which must be 200.
    pub async fn results(&self) -> anyhow::Result<serde_json::Value> {
        let response = self.app.get("/result/api").await?;
        anyhow::ensure!(
            response.status() == 200,
            "/result/api answered {}: {}",
            response.status(),
            String::from_utf8_lossy(response.body())
        );
        Ok(serde_json::from_slice(response.body())?)
    }

    /// Polls `/result/api` until it reports `total` votes, and returns that answer.
    pub async fn wait_for_total(&self, total: i64) -> anyhow::Result<serde_json::Value> {
        poll_until(&format!("/result/api to show {total} votes"), || async {
            let response = self.app.get("/result/api").await.ok()?;
            let tally: serde_json::Value = serde_json::from_slice(response.body()).ok()?;
            (response.status() == 200 && tally["total"] == total).then_some(tally)
        })
        .await
    }
}

/// The original seed-data load: `votes` distinct voters through the page's form, from
/// `clients` concurrent clients, two for a to one for b. Fails on any answer but 200 (the page
/// the form's vote is redirected to).
pub async fn seed_votes(app: &App, votes: usize, clients: usize) -> anyhow::Result<()> {
    let clients = (0..clients).map(|client| {
        let app = app.clone();
        tokio::spawn(async move {
            for vote in (client..votes).step_by(clients) {
                let choice = if vote % 3 == 2 { "b" } else { "a" };
                let response = Visitor::new(&app).vote(choice).await?;
                anyhow::ensure!(
                    response.status() == 200,
                    "a vote answered {}",
                    response.status()
                );
            }
            Ok(())
        })
    });
    for client in clients {
        client.await??;
    }
    Ok(())
}
