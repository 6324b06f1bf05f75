//! No secret leaks: every component, the console included, taken through its error paths — a
//! wrong Redis or PostgreSQL password, Redis or PostgreSQL down, TLS refused — with secrets
//! no other text can contain by chance (random hex, unlike a password such as `postgres`,
//! which is also the user's and the database's name). No log line, page, API answer, header
//! or trigger error carries a password, the admin token or the cookie secret.

use bytes::Bytes;
use spin_test_host::{App, Response};
use test_services::{RedisSecurity, TestPostgres, TestRedis};
use voting_tests::{Deployment, Presenter, Setup, TestEnv, Visitor};

/// 32 random hex digits.
fn random_secret() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .unwrap();
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The secrets of one run: Redis's password, the admin token and the cookie secret (the
/// PostgreSQL password is the test server's own, random too).
struct Secrets {
    redis_password: String,
    admin_token: String,
    cookie_secret: String,
    /// A wrong password a scenario configures: a secret too.
    wrong_password: String,
}

impl Secrets {
    fn new() -> Secrets {
        Secrets {
            redis_password: random_secret(),
            admin_token: random_secret(),
            cookie_secret: random_secret(),
            wrong_password: random_secret(),
        }
    }

    /// The app from `deployment`'s manifest with these secrets, on a Redis that wants the
    /// password (and offers only TLS from a test CA the host does not trust, with `tls`) and on
    /// `postgres`; unrung, since some of these setups cannot drain.
    async fn setup(&self, deployment: Deployment, tls: bool, postgres: TestPostgres) -> Setup {
        let security = RedisSecurity {
            password: Some(self.redis_password.clone()),
            tls,
            ..RedisSecurity::default()
        };
        let redis = TestRedis::start_secured(security).await.unwrap();
        TestEnv::setup()
            .deployment(deployment)
            .redis(redis)
            .postgres(postgres)
            .env("SPIN_VARIABLE_ADMIN_TOKEN", &self.admin_token)
            .env("SPIN_VARIABLE_COOKIE_SECRET", &self.cookie_secret)
            .unrung()
    }

    /// Fails naming the secret found in `text`, never printing the secret itself.
    fn assert_absent_from(&self, postgres_password: &str, what: &str, text: &str) {
        let secrets = [
            ("the Redis password", self.redis_password.as_str()),
            ("the PostgreSQL password", postgres_password),
            ("the admin token", self.admin_token.as_str()),
            ("the cookie secret", self.cookie_secret.as_str()),
            ("the wrong password", self.wrong_password.as_str()),
        ];
        for (name, secret) in secrets {
            assert!(!text.contains(secret), "{name} leaked in {what}");
        }
    }
}

fn text_of(response: &Response) -> String {
    let headers: Vec<String> = response
        .headers()
        .iter()
        .map(|(name, value)| format!("{name}: {}", String::from_utf8_lossy(value.as_bytes())))
        .collect();
    format!(
        "{} {}\n{}\n\n{}",
        response.status(),
        response.status().canonical_reason().unwrap_or(""),
        headers.join("\n"),
        String::from_utf8_lossy(response.body())
    )
}

/// Every route of every component, as a voter, a presenter with the token, a guesser without
/// it, and the worker's doorbell: what each answered (status, headers, body), whatever it was.
async fn visit_everything(env: &TestEnv, token: &str) -> Vec<(String, String)> {
    let mut answers = Vec::new();
    let mut visitor = Visitor::new(&env.app);
    let page = visitor.vote("a").await.unwrap();
    answers.push(("POST /".to_owned(), text_of(&page)));
    let api = visitor.vote_json(br#"{"vote":"b"}"#).await.unwrap();
    answers.push(("POST /api/vote".to_owned(), text_of(&api)));
    for path in [
        "/",
        "/counter",
        "/result",
        "/result/api",
        "/healthz",
        "/metrics",
        "/admin",
    ] {
        let response = env.app.get(path).await.unwrap();
        answers.push((format!("GET {path}"), text_of(&response)));
    }
    let presenter = Presenter::new(&env.app, token);
    let sign_in = presenter
        .console_post("/admin/sign-in", &format!("token={token}"), None)
        .await
        .unwrap();
    answers.push(("POST /admin/sign-in".to_owned(), text_of(&sign_in)));
    if let Some(cookie) = sign_in.headers().get("set-cookie") {
        let cookie = cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        for path in ["/admin", "/admin/rounds/1/results.csv"] {
            let page = presenter.console_get(path, &cookie).await.unwrap();
            answers.push((format!("GET {path} signed in"), text_of(&page)));
        }
        for (path, form) in [
            ("/admin/close", ""),
            ("/admin/rounds", "question=Q%3F&options=x%0D%0Ay"),
            ("/admin/sign-out", ""),
        ] {
            let response = presenter
                .console_post(path, form, Some(&cookie))
                .await
                .unwrap();
            answers.push((format!("POST {path}"), text_of(&response)));
        }
    }
    for (method, path, body) in [
        ("GET", "/admin/api/rounds", ""),
        (
            "POST",
            "/admin/api/rounds",
            r#"{"question":"Q?","options":["x","y"]}"#,
        ),
        ("POST", "/admin/api/open", ""),
        ("GET", "/admin/api/rounds/1/results.json", ""),
        ("POST", "/admin/api/limit", r#"{"new_voter_limit":3}"#),
    ] {
        let response = presenter.api(method, path, body).await.unwrap();
        answers.push((format!("{method} {path}"), text_of(&response)));
    }
    let guess = Presenter::new(&env.app, "a-guess")
        .api("GET", "/admin/api/rounds", "")
        .await
        .unwrap();
    answers.push(("a wrong token".to_owned(), text_of(&guess)));
    let drained = env.drain().await;
    answers.push((
        "the worker's doorbell".to_owned(),
        format!("{:?}", drained.err()),
    ));
    if env.deployment == Deployment::RedisTrigger {
        let trigger = env.app.start_redis_triggers().await;
        answers.push((
            "the Redis trigger".to_owned(),
            format!("{:?}", trigger.err()),
        ));
    }
    let request = App::request("POST", "/api/vote")
        .header("content-type", "application/json")
        .body(Bytes::from_static(b"{not json"))
        .unwrap();
    let malformed = env.app.send(request).await.unwrap();
    answers.push(("malformed JSON".to_owned(), text_of(&malformed)));
    answers
}

/// Runs `env` through everything and checks no answer and no log line has a secret; answers
/// how many answers were errors (so a scenario can show it took the error paths).
async fn assert_nothing_leaks(env: &TestEnv, secrets: &Secrets) -> usize {
    let answers = visit_everything(env, &secrets.admin_token).await;
    let postgres_password = env.postgres.password.clone();
    for (what, text) in &answers {
        secrets.assert_absent_from(&postgres_password, what, text);
    }
    secrets.assert_absent_from(&postgres_password, "the logs", &env.app.logs());
    answers
        .iter()
        .filter(|(_, text)| text.starts_with('5') || text.contains("Some("))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_leaks_on_any_error_path_of_any_component() {
    for deployment in Deployment::BOTH {
        let secrets = Secrets::new();

        // Everything up: the happy paths (sign-in, sessions, the API) leak nothing either.
        let postgres = TestPostgres::start().await.unwrap();
        let setup = secrets.setup(deployment, false, postgres).await;
        let env = setup.start().await.unwrap();
        env.drain().await.unwrap();
        assert_nothing_leaks(&env, &secrets).await;

        // PostgreSQL down, then Redis down too.
        let mut env = env;
        env.postgres.stop().unwrap();
        assert!(assert_nothing_leaks(&env, &secrets).await > 0);
        env.redis.stop().unwrap();
        assert!(assert_nothing_leaks(&env, &secrets).await > 0);
        drop(env);

        // Wrong passwords.
        for variable in [
            "SPIN_VARIABLE_REDIS_PASSWORD",
            "SPIN_VARIABLE_POSTGRES_PASSWORD",
        ] {
            let postgres = TestPostgres::start().await.unwrap();
            let setup = secrets.setup(deployment, false, postgres).await;
            let env = setup
                .env(variable, &secrets.wrong_password)
                .start()
                .await
                .unwrap();
            assert!(assert_nothing_leaks(&env, &secrets).await > 0, "{variable}");
        }

        // TLS refused: PostgreSQL's self-signed certificate, Redis's from an untrusted CA.
        let postgres = TestPostgres::start_with_self_signed_tls().await.unwrap();
        let setup = secrets.setup(deployment, false, postgres).await;
        let env = setup
            .env("SPIN_VARIABLE_POSTGRES_SSLMODE", "require")
            .start()
            .await
            .unwrap();
        assert!(assert_nothing_leaks(&env, &secrets).await > 0);
        let postgres = TestPostgres::start().await.unwrap();
        let setup = secrets.setup(deployment, true, postgres).await;
        let env = setup.start().await.unwrap();
        assert_eq!(env.app.variable("redis_scheme"), Some("rediss"));
        assert!(assert_nothing_leaks(&env, &secrets).await > 0);
    }
}
