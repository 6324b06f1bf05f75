//! Starting the app with its own Redis and PostgreSQL, for one test.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::AsyncCommands;

use crate::services::{TestPostgres, TestRedis, spin_variables};
use crate::{App, Response, repository_root};

/// Which manifest the app runs from, that is how the worker is woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    /// `spin.toml`: the Redis trigger delivers the doorbell published on the votes channel.
    RedisTrigger,
    /// `spin.http-only.toml`: the worker is a private HTTP endpoint rung by service chaining.
    HttpOnly,
}

impl Deployment {
    pub fn manifest(self) -> std::path::PathBuf {
        repository_root().join(match self {
            Deployment::RedisTrigger => "spin.toml",
            Deployment::HttpOnly => crate::HTTP_ONLY_MANIFEST,
        })
    }
}

/// The app from one of the repository's manifests, wired to a fresh Redis and PostgreSQL.
pub struct TestEnv {
    pub redis: TestRedis,
    pub postgres: TestPostgres,
    pub app: App,
    pub deployment: Deployment,
}

impl TestEnv {
    /// The app from `spin.toml`.
    pub async fn start() -> anyhow::Result<TestEnv> {
        Self::start_with(&[]).await
    }

    /// Like [`TestEnv::start`], with extra `SPIN_VARIABLE_*` settings.
    pub async fn start_with(extra_environment: &[(&str, &str)]) -> anyhow::Result<TestEnv> {
        Self::start_with_postgres(TestPostgres::start().await?, extra_environment).await
    }

    /// Like [`TestEnv::start_with`], with a PostgreSQL the test started itself.
    pub async fn start_with_postgres(
        postgres: TestPostgres,
        extra_environment: &[(&str, &str)],
    ) -> anyhow::Result<TestEnv> {
        Self::start_deployment(Deployment::RedisTrigger, postgres, extra_environment).await
    }

    /// The app from `deployment`'s manifest.
    pub async fn start_deployment(
        deployment: Deployment,
        postgres: TestPostgres,
        extra_environment: &[(&str, &str)],
    ) -> anyhow::Result<TestEnv> {
        let redis = TestRedis::start().await?;
        Self::start_on(deployment, redis, postgres, extra_environment)
    }

    /// The app from `deployment`'s manifest, on services the test started itself.
    pub fn start_on(
        deployment: Deployment,
        redis: TestRedis,
        postgres: TestPostgres,
        extra_environment: &[(&str, &str)],
    ) -> anyhow::Result<TestEnv> {
        let app = App::load_manifest(
            &deployment.manifest(),
            &environment(&redis, &postgres, extra_environment),
        )?;
        Ok(TestEnv {
            redis,
            postgres,
            app,
            deployment,
        })
    }

    /// A second, independent load of the same app (as a second `spin up` would be).
    pub fn another_app(&self) -> anyhow::Result<App> {
        App::load_manifest(
            &self.deployment.manifest(),
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

impl TestEnv {
    /// Rings the worker's doorbell once, as the deployment does, and waits for it to finish.
    pub async fn drain(&self) -> anyhow::Result<()> {
        match self.deployment {
            Deployment::RedisTrigger => {
                self.app
                    .deliver("worker", voting_shared::queue::DOORBELL.as_bytes())
                    .await
            }
            Deployment::HttpOnly => {
                let doorbell = App::request("POST", "/").body(Bytes::new())?;
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

    /// How many entries wait in the Redis list `votes`.
    pub async fn queue_length(&self) -> anyhow::Result<usize> {
        Ok(self
            .redis()
            .await?
            .llen(voting_shared::queue::VOTES_KEY)
            .await?)
    }

    /// The tallies by the original app's result query, as (a, b); fails if the running tally
    /// in `vote_tallies` (once it exists) disagrees with it.
    pub async fn tally_in_database(&self) -> anyhow::Result<(i64, i64)> {
        let client = self.postgres.client().await?;
        let counted = counts_by_vote(&client).await?;
        if let Some(running) = running_tally(&client).await? {
            anyhow::ensure!(
                running == counted,
                "vote_tallies {running:?} disagrees with the original query {counted:?}"
            );
        }
        if let Some(other) = counted
            .keys()
            .find(|vote| !["a", "b"].contains(&vote.as_str()))
        {
            anyhow::bail!("unexpected vote {other:?} in the database");
        }
        let count = |vote: &str| counted.get(vote).copied().unwrap_or(0);
        Ok((count("a"), count("b")))
    }

    /// Each voter's vote in the database.
    pub async fn votes_in_database(&self) -> anyhow::Result<HashMap<String, String>> {
        let client = self.postgres.client().await?;
        let rows = client.query("SELECT id, vote FROM votes", &[]).await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    /// Polls `/result/api` until it reports `total` votes, and returns that answer.
    pub async fn wait_for_total(&self, total: i64) -> anyhow::Result<serde_json::Value> {
        let deadline = Instant::now() + WAIT_LIMIT;
        loop {
            let response = self.app.get("/result/api").await?;
            if response.status() == 200 {
                let tally: serde_json::Value = serde_json::from_slice(response.body())?;
                if tally["total"] == total {
                    return Ok(tally);
                }
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "/result/api never reached {total} votes"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Polls `condition` every 100 ms until it holds; panics naming `what` after three minutes.
/// For tests that watch processes and ports from outside (the scripts), not the app.
pub fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while !condition() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The original seed-data load: `votes` distinct voters through the page's form, from
/// `clients` concurrent clients, two for a to one for b. Fails on any answer but 200.
pub async fn seed_votes(app: &App, votes: usize, clients: usize) -> anyhow::Result<()> {
    let clients = (0..clients).map(|client| {
        let app = app.clone();
        tokio::spawn(async move {
            for vote in (client..votes).step_by(clients) {
                let choice = if vote % 3 == 2 { "b" } else { "a" };
                let response = Browser::new(&app).vote(choice).await?;
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

/// Counts per vote by the original app's result query.
pub async fn counts_by_vote(
    client: &tokio_postgres::Client,
) -> anyhow::Result<BTreeMap<String, i64>> {
    let rows = client
        .query(voting_shared::schema::ORIGINAL_TALLY_QUERY, &[])
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// The nonzero counts of the running tally, or `None` before the schema has one.
pub async fn running_tally(
    client: &tokio_postgres::Client,
) -> anyhow::Result<Option<BTreeMap<String, i64>>> {
    let exists: Option<String> = client
        .query_one("SELECT to_regclass('vote_tallies')::text", &[])
        .await?
        .get(0);
    if exists.is_none() {
        return Ok(None);
    }
    let rows = client
        .query("SELECT vote, count FROM vote_tallies WHERE count <> 0", &[])
        .await?;
    Ok(Some(
        rows.iter().map(|row| (row.get(0), row.get(1))).collect(),
    ))
}

/// How long to wait for something that must happen eventually (not a timing assertion: a
/// bound so a broken build fails instead of hanging).
const WAIT_LIMIT: Duration = Duration::from_secs(180);

/// A client with a cookie jar, as a browser keeps the voter cookie.
pub struct Browser {
    app: App,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(app: &App) -> Browser {
        Browser {
            app: app.clone(),
            cookies: BTreeMap::new(),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_owned(), value.to_owned());
    }

    /// Sends a request with the jar's cookies and keeps the cookies the answer sets.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> anyhow::Result<Response> {
        let mut request = App::request(method, path);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.header("cookie", jar.join("; "));
        }
        let response = self
            .app
            .send(request.body(Bytes::copy_from_slice(body))?)
            .await?;
        for header in response.headers().get_all("set-cookie") {
            let pair = header.to_str()?.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Ok(response)
    }

    /// Votes through the page's form, as the browser would submit it.
    pub async fn vote(&mut self, choice: &str) -> anyhow::Result<Response> {
        let body = format!("vote={choice}");
        self.send(
            "POST",
            "/",
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
        )
        .await
    }
}
