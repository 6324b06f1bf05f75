//! Redis as managed services offer it: a password (with `/`, `@` and `:` in it, given
//! URL-encoded as the variables want it), an ACL user with only the permissions
//! docs/configuration.md lists, and TLS with a certificate the Spin host must trust. The whole
//! pipeline and the counter, in both manifests; and for the mistakes an operator makes (a wrong
//! or missing password, a plain client at a TLS port, an untrusted certificate) a 503 page, API
//! error and log line naming the variable to change — never the password.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use redis::AsyncCommands;
use spin_test_host::App;
use test_services::{AclUser, RedisSecurity, TestPostgres, TestRedis, free_port};
use voting_tests::{
    ADMIN_TOKEN, Deployment, Presenter, Setup, TestEnv, Visitor, poll_until, repository_root,
};

/// A password as a cloud console might generate one: `/`, `@` and `:` included.
const PASSWORD: &str = "s3cr/t@pa:ss";
const ADMIN_PASSWORD: &str = "adm1n/@:pw";
const DEPLOYMENTS: [Deployment; 2] = [Deployment::RedisTrigger, Deployment::HttpOnly];

/// The ACL rules docs/configuration.md tells operators to give the app's user.
fn documented_acl_rules() -> String {
    let docs = std::fs::read_to_string(repository_root().join("docs/configuration.md")).unwrap();
    let line = docs
        .lines()
        .find(|line| line.contains("ACL SETUSER voting on >"))
        .expect("docs/configuration.md gives the ACL rules for the app's Redis user");
    let (_, after_password) = line.split_once(" on >").unwrap();
    let (_, rules) = after_password.split_once(' ').unwrap();
    rules.trim().to_owned()
}

fn with_password() -> RedisSecurity {
    RedisSecurity {
        password: Some(PASSWORD.to_owned()),
        ..RedisSecurity::default()
    }
}

/// The app from `deployment`'s manifest with the console on, on a Redis secured by `security`
/// and with `extra` settings.
async fn setup_on(
    deployment: Deployment,
    security: RedisSecurity,
    extra: &[(&str, &str)],
) -> Setup {
    let redis = TestRedis::start_secured(security).await.unwrap();
    let postgres = TestPostgres::start().await.unwrap();
    TestEnv::setup()
        .deployment(deployment)
        .redis(redis)
        .postgres(postgres)
        .envs(extra)
        .console()
}

async fn env_on(
    deployment: Deployment,
    security: RedisSecurity,
    extra: &[(&str, &str)],
) -> TestEnv {
    let setup = setup_on(deployment, security, extra).await;
    setup.start().await.unwrap()
}

/// As [`env_on`], for settings Redis refuses: the worker cannot drain at start either.
async fn refused_env_on(
    deployment: Deployment,
    security: RedisSecurity,
    extra: &[(&str, &str)],
) -> TestEnv {
    let setup = setup_on(deployment, security, extra).await;
    setup.unrung().start().await.unwrap()
}

/// Votes from two voters go through the deployment's doorbell and the worker into the
/// results, the counter counts, and the console signs in, starts a round and locks out an
/// address after five wrong tokens: every component reached Redis as configured.
async fn assert_the_whole_app_works(env: &TestEnv) {
    let triggers = match env.deployment {
        Deployment::RedisTrigger => Some(env.app.start_redis_triggers().await.unwrap()),
        Deployment::HttpOnly => None,
    };
    for choice in ["a", "b"] {
        let response = Visitor::new(&env.app).vote(choice).await.unwrap();
        assert_eq!(response.status(), 200, "{}", env.app.logs());
    }
    let tally = env.wait_for_total(2).await.unwrap();
    assert_eq!(
        (tally["a"].as_i64(), tally["b"].as_i64()),
        (Some(1), Some(1))
    );
    if let Some(triggers) = triggers {
        assert!(
            triggers.is_running(),
            "the trigger logged in: {}",
            env.app.logs()
        );
    }
    let counter = env.app.get("/counter").await.unwrap();
    assert_eq!(counter.status(), 200, "{}", env.app.logs());
    // The questions' scripts declare every key they may touch: the ACL must allow them all.
    let questions = env.app.get("/api/questions").await.unwrap();
    assert_eq!(questions.status(), 200, "{}", env.app.logs());
    let asked = Visitor::new(&env.app)
        .send(
            "POST",
            "/api/questions",
            Some("application/json"),
            br#"{"text":"Allowed?"}"#,
        )
        .await
        .unwrap();
    assert_eq!(asked.status(), 409, "Q&A is off: {}", env.app.logs());
    let health = env.app.get("/healthz").await.unwrap();
    assert_eq!(
        health.status(),
        200,
        "{}",
        String::from_utf8_lossy(health.body())
    );

    env.open_sign_in_window("127.0.0.1").await.unwrap();
    let presenter = Presenter::new(&env.app, ADMIN_TOKEN);
    let session = presenter.sign_in().await.unwrap();
    let console = presenter.console_get("/admin", &session).await.unwrap();
    assert_eq!(console.status(), 200, "{}", env.app.logs());
    let round = presenter.start_round("", &["Tea", "Coffee"]).await.unwrap();
    assert_eq!(round, 2);
    let vote = Visitor::new(&env.app)
        .vote_json(br#"{"vote":"b"}"#)
        .await
        .unwrap();
    assert_eq!(vote.status(), 202, "a vote in the new round");
    let guesser = Presenter::new(&env.app, "not-the-token");
    for attempt in 1..=6 {
        let status = guesser
            .api("GET", "/admin/api/rounds", "")
            .await
            .unwrap()
            .status();
        assert_eq!(
            status,
            if attempt <= 5 { 401 } else { 429 },
            "attempt {attempt}"
        );
    }
    assert_no_secret_in(&env.app.logs());
}

fn assert_no_secret_in(text: &str) {
    for secret in [PASSWORD, ADMIN_PASSWORD, "s3cr%2Ft%40pa%3Ass"] {
        assert!(!text.contains(secret), "a password leaked: {text}");
    }
}

#[tokio::test]
async fn a_password_with_slash_at_and_colon_works_for_every_component_in_both_manifests() {
    for deployment in DEPLOYMENTS {
        let env = env_on(deployment, with_password(), &[]).await;
        assert_eq!(
            env.app.variable("redis_password"),
            Some("s3cr%2Ft%40pa%3Ass"),
            "given URL-encoded"
        );
        assert_the_whole_app_works(&env).await;
    }
}

#[tokio::test]
async fn an_acl_user_with_the_permissions_the_docs_list_runs_the_whole_app() {
    for deployment in DEPLOYMENTS {
        let security = RedisSecurity {
            password: Some(ADMIN_PASSWORD.to_owned()),
            user: Some(AclUser {
                name: "voting".to_owned(),
                password: PASSWORD.to_owned(),
                rules: documented_acl_rules(),
            }),
            tls: false,
        };
        let env = env_on(deployment, security, &[]).await;
        assert_eq!(env.app.variable("redis_username"), Some("voting"));
        assert_the_whole_app_works(&env).await;
        let metrics = voting_tests::Presenter::new(&env.app, voting_tests::ADMIN_TOKEN)
            .api("GET", "/metrics", "")
            .await
            .unwrap();
        let text = String::from_utf8_lossy(metrics.body());
        assert!(
            text.contains("voting_dependency_up{dependency=\"redis\"} 1"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn the_redis_trigger_with_empty_credentials_sends_no_auth() {
    // The default trigger address is `redis://:@host:port`. A Redis without a password
    // answers AUTH with an error, so a trigger that subscribes and delivers sent none.
    let env = TestEnv::setup().console().start().await.unwrap();
    assert_eq!(env.app.variable("redis_username"), Some(""));
    assert_eq!(env.app.variable("redis_password"), Some(""));
    assert_the_whole_app_works(&env).await;
}

/// Every component that talks to Redis refuses with a 503 that names `variable`; the log says
/// it too; nothing is queued or counted; no password appears anywhere.
async fn assert_refused_naming(env: &TestEnv, variable: &str) {
    let page = Visitor::new(&env.app).vote("a").await.unwrap();
    assert_eq!(page.status(), 503);
    let page = String::from_utf8_lossy(page.body()).into_owned();
    assert!(page.contains(variable), "{page}");

    let request = App::request("POST", "/api/vote")
        .header("content-type", "application/json")
        .body(Bytes::from_static(br#"{"vote":"b"}"#))
        .unwrap();
    let api = env.app.send(request).await.unwrap();
    assert_eq!(api.status(), 503);
    let error: serde_json::Value = serde_json::from_slice(api.body()).unwrap();
    assert!(
        error["error"].as_str().unwrap().contains(variable),
        "{error}"
    );

    let counter = env.app.get("/counter").await.unwrap();
    assert_eq!(counter.status(), 503);
    let counter = String::from_utf8_lossy(counter.body()).into_owned();
    assert!(counter.contains(variable), "{counter}");

    let health = env.app.get("/healthz").await.unwrap();
    assert_eq!(health.status(), 503);
    let health: serde_json::Value = serde_json::from_slice(health.body()).unwrap();
    assert_eq!(health["redis"], "down");
    assert!(
        health["problems"][0].as_str().unwrap().contains(variable),
        "{health}"
    );

    assert!(env.drain().await.is_err(), "the worker cannot drain either");
    let logs = env.app.logs();
    for component in ["vote", "counter", "healthz", "worker"] {
        assert!(
            logs.lines()
                .any(|line| line.starts_with(&format!("{component}: ")) && line.contains(variable)),
            "{component} tells the operator: {logs}"
        );
    }
    for text in [
        &page,
        &counter,
        &error.to_string(),
        &health.to_string(),
        &logs,
    ] {
        assert_no_secret_in(text);
    }
    assert_eq!(env.queue_length().await.unwrap(), 0, "nothing was queued");
}

#[tokio::test]
async fn a_wrong_password_is_refused_naming_redis_password() {
    for deployment in DEPLOYMENTS {
        let wrong = [("SPIN_VARIABLE_REDIS_PASSWORD", "not-the-password")];
        let env = refused_env_on(deployment, with_password(), &wrong).await;
        assert_refused_naming(&env, "redis_password").await;
        if deployment == Deployment::RedisTrigger {
            let error = format!("{:#}", env.app.start_redis_triggers().await.err().unwrap());
            assert!(
                error.contains("Redis trigger failed to connect to 127.0.0.1:"),
                "{error}"
            );
            assert!(!error.contains("not-the-password"), "{error}");
        }
    }
}

#[tokio::test]
async fn no_password_for_a_server_that_wants_one_is_refused_naming_redis_password() {
    let none = [("SPIN_VARIABLE_REDIS_PASSWORD", "")];
    let env = refused_env_on(Deployment::RedisTrigger, with_password(), &none).await;
    assert_refused_naming(&env, "redis_password").await;
    // Under Spin the trigger would start and never receive a doorbell; the test host refuses.
    let error = env.app.start_redis_triggers().await.err().unwrap();
    let hazard = error.downcast_ref::<spin_test_host::SpinHazard>();
    assert_eq!(
        hazard,
        Some(&spin_test_host::SpinHazard::SubscribeRefused),
        "{error:#}"
    );
}

#[tokio::test]
async fn a_password_that_is_not_url_encoded_is_refused_naming_redis_password() {
    let raw = [("SPIN_VARIABLE_REDIS_PASSWORD", PASSWORD)];
    let env = refused_env_on(Deployment::HttpOnly, with_password(), &raw).await;
    assert_refused_naming(&env, "redis_password").await;
}

fn with_tls() -> RedisSecurity {
    RedisSecurity {
        tls: true,
        ..with_password()
    }
}

#[tokio::test]
async fn a_plain_client_at_the_tls_port_is_refused_naming_redis_scheme() {
    for deployment in DEPLOYMENTS {
        let redis = TestRedis::start_secured(with_tls()).await.unwrap();
        let tls_host = redis.tls_host().unwrap().to_owned();
        let postgres = TestPostgres::start().await.unwrap();
        let plain = [
            ("SPIN_VARIABLE_REDIS_SCHEME", "redis"),
            ("SPIN_VARIABLE_REDIS_HOST", tls_host.as_str()),
        ];
        let env = TestEnv::setup()
            .deployment(deployment)
            .redis(redis)
            .postgres(postgres)
            .envs(&plain)
            .unrung()
            .start()
            .await
            .unwrap();
        assert_refused_naming(&env, "redis_scheme").await;
    }
}

#[tokio::test]
async fn tls_with_a_certificate_the_host_does_not_trust_is_refused_naming_the_certificate() {
    // This test process trusts only the system's roots, as a Spin host does by default.
    let env = refused_env_on(Deployment::HttpOnly, with_tls(), &[]).await;
    assert_eq!(env.app.variable("redis_scheme"), Some("rediss"));
    assert_refused_naming(&env, "certificate").await;
}

/// The app under `spin-test-host up`, in its own process so that it trusts the test CA the
/// way a Spin host is told to: `SSL_CERT_FILE` in its environment.
struct SpinUp {
    process: Child,
    url: String,
    log: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl SpinUp {
    fn start(manifest: &str, environment: &[(String, String)]) -> SpinUp {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("spin.log");
        let address = format!("127.0.0.1:{}", free_port().unwrap());
        let process = Command::new(voting_tests::spin_test_host_binary())
            .args(["up", "-f"])
            .arg(repository_root().join(manifest))
            .current_dir(dir.path())
            .envs(environment.iter().cloned())
            .env("SPIN_HTTP_LISTEN_ADDR", &address)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.path().join("stdout.log")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        SpinUp {
            process,
            url: format!("http://{address}"),
            log,
            dir,
        }
    }

    /// Waits until its Redis trigger has subscribed: a vote published before then rings no
    /// worker (pub/sub is not a queue, under Spin as here), and would wait for the next doorbell.
    async fn wait_until_subscribed(&self) {
        let stdout = self.dir.path().join("stdout.log");
        poll_until("the Redis trigger to subscribe", || async {
            let printed = std::fs::read_to_string(&stdout).unwrap_or_default();
            printed.contains("Redis trigger subscribed").then_some(())
        })
        .await
        .unwrap_or_else(|error| panic!("{error}: {}", self.log()));
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn send(&self, method: &str, path: &str, json: &str) -> anyhow::Result<(u16, String)> {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        let request = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::copy_from_slice(json.as_bytes())))?;
        let response = client.request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }

    /// Polls `/result/api` until it shows `total` votes.
    async fn wait_for_total(&self, total: i64) -> serde_json::Value {
        let tally = poll_until(&format!("{total} votes"), || async {
            let (status, body) = self.send("GET", "/result/api", "").await.ok()?;
            let tally: serde_json::Value = serde_json::from_str(&body).ok()?;
            (status == 200 && tally["total"] == total).then_some(tally)
        })
        .await;
        tally.unwrap_or_else(|error| panic!("{error}: {}", self.log()))
    }
}

impl Drop for SpinUp {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[tokio::test]
async fn tls_and_a_password_run_the_whole_app_in_both_manifests_once_the_ca_is_trusted() {
    for manifest in ["spin.toml", voting_tests::Deployment::HttpOnly.file_name()] {
        let redis = TestRedis::start_secured(with_tls()).await.unwrap();
        let postgres = TestPostgres::start().await.unwrap();
        let mut environment: Vec<(String, String)> =
            voting_tests::spin_variables(&redis, &postgres)
                .into_iter()
                .collect();
        let ca = redis.ca_certificate().unwrap().display().to_string();
        environment.push(("SSL_CERT_FILE".to_owned(), ca));
        let app = SpinUp::start(manifest, &environment);
        if manifest == "spin.toml" {
            app.wait_until_subscribed().await;
        }

        // A bare `spin up` has rung no doorbell yet: the first vote rings it and is refused
        // (503) while the worker sets up round 1, as a voter would see.
        let answer = poll_until("the app to answer and voting to open", || async {
            let answer = app
                .send("POST", "/api/vote", r#"{"vote":"b"}"#)
                .await
                .ok()?;
            (answer.0 != 503).then_some(answer)
        })
        .await;
        let (status, body) = answer.unwrap_or_else(|error| panic!("{error}: {}", app.log()));
        assert_eq!(status, 202, "{manifest}: {body}\n{}", app.log());
        let tally = app.wait_for_total(1).await;
        assert_eq!(tally["b"], 1, "{manifest}");
        let (status, _) = app.send("GET", "/counter", "").await.unwrap();
        assert_eq!(status, 200, "{manifest}: {}", app.log());

        // The counter's INCR went over TLS to the same server.
        let mut admin = redis.connection().await.unwrap();
        let hits: String = admin.get("hits").await.unwrap();
        assert_eq!(hits, "1");
        assert_no_secret_in(&app.log());
        let listed: HashMap<String, String> = environment.into_iter().collect();
        assert_eq!(listed["SPIN_VARIABLE_REDIS_SCHEME"], "rediss");
    }
}

#[tokio::test]
async fn an_acl_user_without_the_channel_is_caught_before_the_trigger_would_wait_forever() {
    let rules = documented_acl_rules().replace("&votes", "");
    assert_ne!(rules, documented_acl_rules());
    let security = RedisSecurity {
        password: Some(ADMIN_PASSWORD.to_owned()),
        user: Some(AclUser {
            name: "voting".to_owned(),
            password: PASSWORD.to_owned(),
            rules,
        }),
        tls: false,
    };
    let env = env_on(Deployment::RedisTrigger, security, &[]).await;
    let error = env.app.start_redis_triggers().await.err().unwrap();
    let hazard = error.downcast_ref::<spin_test_host::SpinHazard>();
    assert_eq!(
        hazard,
        Some(&spin_test_host::SpinHazard::SubscribeRefused),
        "{error:#}"
    );
    // Vote publishes on the channel inside its script: refused, so nothing is queued.
    let page = Visitor::new(&env.app).vote("a").await.unwrap();
    assert_eq!(page.status(), 503);
    let page = String::from_utf8_lossy(page.body()).into_owned();
    assert!(page.contains("redis_username"), "{page} {}", env.app.logs());
    assert_eq!(env.queue_length().await.unwrap(), 0);
}
