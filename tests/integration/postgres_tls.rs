//! PostgreSQL with TLS, connected to the way Spin connects (native-tls, the system's root
//! certificates, TLS whenever `sslmode` is not `disable`): what each `postgres_sslmode` does
//! against a server with a self-signed certificate, and that the operator is told which
//! variable to change.

use test_services::TestPostgres;
use voting_tests::{TestEnv, Visitor, first_round, mirror_round};

/// The app with `postgres_sslmode` set to `sslmode`; unrung, since the worker cannot reach
/// PostgreSQL with a mode it refuses.
async fn app_with_sslmode(postgres: TestPostgres, sslmode: &str) -> TestEnv {
    TestEnv::setup()
        .postgres(postgres)
        .envs(&[("SPIN_VARIABLE_POSTGRES_SSLMODE", sslmode)])
        .unrung()
        .start()
        .await
        .unwrap()
}

/// Asserts that the results and the worker fail, each saying to change `advice_fragment`.
async fn assert_refused_with_advice(env: &TestEnv, advice_fragment: &str) {
    let api = env.app.get("/result/api").await.unwrap();
    assert_eq!(api.status(), 503);
    let error: serde_json::Value = serde_json::from_slice(api.body()).unwrap();
    let error = error["error"].as_str().unwrap();
    assert!(error.contains(advice_fragment), "{error}");
    assert!(
        !error.contains("SSL routines"),
        "no internals in the answer: {error}"
    );

    let page = env.app.get("/result").await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(String::from_utf8_lossy(page.body()).contains(advice_fragment));

    // The worker could not set up round 1 from PostgreSQL: voting stays closed until it can.
    assert_eq!(
        Visitor::new(&env.app).vote("a").await.unwrap().status(),
        503
    );
    assert_eq!(env.queue_length().await.unwrap(), 0);
    // Once round 1 was set up (before the setting broke, say), votes are queued meanwhile.
    mirror_round(&mut env.redis().await.unwrap(), &first_round())
        .await
        .unwrap();
    assert_eq!(
        Visitor::new(&env.app).vote("a").await.unwrap().status(),
        200
    );
    assert!(env.drain().await.is_err());
    assert_eq!(
        env.queue_length().await.unwrap(),
        1,
        "the vote stays queued"
    );
    let logs = env.app.logs();
    assert!(
        logs.contains("worker: connecting to PostgreSQL")
            && logs.matches(advice_fragment).count() >= 3,
        "the log tells the operator too: {logs}"
    );
}

#[tokio::test]
async fn prefer_refuses_a_self_signed_certificate_and_says_to_set_sslmode() {
    let postgres = TestPostgres::start_with_self_signed_tls().await.unwrap();
    let env = app_with_sslmode(postgres, "prefer").await;
    assert_refused_with_advice(&env, "set the variable postgres_sslmode to disable").await;
}

#[tokio::test]
async fn require_refuses_a_self_signed_certificate_and_says_to_set_sslmode() {
    let postgres = TestPostgres::start_with_self_signed_tls().await.unwrap();
    let env = app_with_sslmode(postgres, "require").await;
    assert_refused_with_advice(&env, "set the variable postgres_sslmode to disable").await;
}

#[tokio::test]
async fn disable_connects_in_plain_text_to_a_server_that_offers_tls() {
    let postgres = TestPostgres::start_with_self_signed_tls().await.unwrap();
    let env = app_with_sslmode(postgres, "disable").await;
    env.drain()
        .await
        .expect("the worker reaches PostgreSQL and mirrors round 1");
    let vote = Visitor::new(&env.app).vote("b").await.unwrap();
    assert_eq!(vote.status(), 200);
    env.drain().await.unwrap();
    let api = env.app.get("/result/api").await.unwrap();
    assert_eq!(api.status(), 200);
    let tally: serde_json::Value = serde_json::from_slice(api.body()).unwrap();
    assert_eq!(tally["b"], 1);
}

#[tokio::test]
async fn require_against_a_server_without_tls_says_the_server_does_not_offer_it() {
    let postgres = TestPostgres::start().await.unwrap();
    let env = app_with_sslmode(postgres, "require").await;
    assert_refused_with_advice(&env, "PostgreSQL does not offer TLS").await;
}
