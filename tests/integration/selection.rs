//! `spin up -c COMPONENT`…, as the test host loads it (`App::load_selected`, which the
//! `spin-test-host up -c` stand-in uses): only the selected components and their triggers run,
//! and a selected component that could chain to an unselected one is refused, as Spin does.

use std::collections::HashMap;

use spin_test_host::App;
use voting_tests::{Deployment, TestEnv, Visitor};

fn selected(env: &TestEnv, deployment: Deployment, components: &[&str]) -> anyhow::Result<App> {
    let components: Vec<String> = components.iter().map(|id| id.to_string()).collect();
    App::load_selected(&deployment.manifest(), &env.environment, &components)
}

#[tokio::test]
async fn only_the_selected_components_and_their_triggers_run() {
    let env = TestEnv::start().await.unwrap();
    let counter = selected(&env, Deployment::RedisTrigger, &["counter"]).unwrap();
    assert_eq!(counter.get("/counter").await.unwrap().status(), 200);
    for path in ["/", "/result", "/healthz"] {
        let response = counter.get(path).await.unwrap();
        assert_eq!(response.status(), 404, "{path}: not selected");
        assert!(response.body().is_empty(), "{path}: Spin's own 404");
    }
    assert!(!counter.has_redis_triggers());

    let worker = selected(&env, Deployment::RedisTrigger, &["worker"]).unwrap();
    assert!(!worker.has_http_routes());
    assert!(worker.has_redis_triggers());
    let _triggers = worker.start_redis_triggers().await.unwrap();
    let web = selected(
        &env,
        Deployment::RedisTrigger,
        &["counter", "vote", "result"],
    )
    .unwrap();
    assert!(!web.has_redis_triggers());
    assert_eq!(Visitor::new(&web).vote("a").await.unwrap().status(), 200);
    // The web tier's vote rang the worker's doorbell, which only the worker's load hears.
    let tally = env.wait_for_total(1).await.unwrap();
    assert_eq!(tally["a"], 1);
}

#[tokio::test]
async fn a_selected_component_may_not_chain_to_one_left_out() {
    let env = TestEnv::start().await.unwrap();
    let error = selected(&env, Deployment::HttpOnly, &["vote"])
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        error,
        "Selected component 'vote' cannot use service chaining to unselected component: \
         allowed_outbound_hosts = [\"http://worker.spin.internal\"]"
    );
    let both = selected(&env, Deployment::HttpOnly, &["vote", "worker"]).unwrap();
    assert_eq!(Visitor::new(&both).vote("b").await.unwrap().status(), 200);
    let error = selected(&env, Deployment::RedisTrigger, &["nope"])
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        error,
        "Specified component \"nope\" not found in application"
    );
    let all = App::load(&Deployment::RedisTrigger.manifest(), &HashMap::new()).unwrap();
    assert!(all.has_http_routes() && all.has_redis_triggers());
}
