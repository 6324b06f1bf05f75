//! The tool against the app under the test host, over real HTTP on a loopback port, with
//! real Redis and PostgreSQL: a seed is fully counted, changes keep each voter's last vote,
//! chaos with every fault loses nothing, and a worker that loses writes is caught.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use loadtest::chaos::{ChaosOptions, ChaosReport, chaos};
use loadtest::faults::{Fault, FaultFuture};
use loadtest::split::Split;
use loadtest::stores::{Postgres, Redis};
use loadtest::target::Target;
use spin_test_host::{App, HttpServer, RedisTriggers};
use test_services::{TestPostgres, TestRedis};
use tokio::sync::Mutex;
use voting_shared::choice::Choice;
use voting_shared::counts::Counts;
use voting_tests::spin_variables;
use voting_tests::{Deployment, TestEnv, counts_by_vote, running_tally};

/// The app as `scripts/up` runs it: served on a port, its worker subscribed (Redis trigger
/// deployments), and a doorbell rung once the worker is up.
struct Running {
    app: App,
    server: Option<HttpServer>,
    worker: Option<RedisTriggers>,
    address: SocketAddr,
    redis_url: String,
    deployment: Deployment,
}

impl Running {
    async fn start(env: &TestEnv) -> Running {
        let server = env.app.serve().await.unwrap();
        let mut running = Running {
            app: env.app.clone(),
            address: server.address(),
            server: Some(server),
            worker: None,
            redis_url: env.redis.url(),
            deployment: env.deployment,
        };
        running.start_worker().await;
        running
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// What scripts/up's supervisor does after the worker exits: start it again, and ring.
    async fn start_worker(&mut self) {
        if self.deployment == Deployment::HttpOnly {
            return;
        }
        self.worker = None;
        self.worker = Some(self.app.start_redis_triggers().await.unwrap());
        let client = redis::Client::open(self.redis_url.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("PUBLISH")
            .arg(VOTES_CHANNEL)
            .arg("catch-up")
            .exec_async(&mut connection)
            .await
            .unwrap();
    }
}

type Shared = Arc<Mutex<Running>>;

/// spin.toml's default `votes_channel`.
const VOTES_CHANNEL: &str = "votes";

/// PostgreSQL stopped (fast shutdown) for the outage, then started.
struct StopPostgres(TestPostgres);

/// Redis stopped and started on its append-only file; the worker's subscription dies with the
/// connection (as Spin's Redis trigger exits), and the supervisor restarts it.
struct RestartRedis(TestRedis, Shared);

/// The worker's process gone, started again by the supervisor after the outage.
struct KillWorker(Shared);

/// Everything stopped, then a new load of the manifest served at the same address.
struct RestartApp(Shared, HashMap<String, String>);

impl Fault for StopPostgres {
    fn name(&self) -> &str {
        "postgres stopped"
    }
    fn inject(&mut self) -> FaultFuture<'_> {
        Box::pin(async move { self.0.stop() })
    }
    fn heal(&mut self) -> Option<FaultFuture<'_>> {
        Some(Box::pin(self.0.restart()))
    }
}

impl Fault for RestartRedis {
    fn name(&self) -> &str {
        "redis restarted"
    }
    fn inject(&mut self) -> FaultFuture<'_> {
        Box::pin(async move {
            self.0.stop()?;
            self.0.restart().await?;
            self.1.lock().await.start_worker().await;
            Ok(())
        })
    }
    fn heal(&mut self) -> Option<FaultFuture<'_>> {
        None
    }
}

impl Fault for KillWorker {
    fn name(&self) -> &str {
        "worker killed"
    }
    fn inject(&mut self) -> FaultFuture<'_> {
        Box::pin(async move {
            self.0.lock().await.worker = None;
            Ok(())
        })
    }
    fn heal(&mut self) -> Option<FaultFuture<'_>> {
        Some(Box::pin(async move {
            self.0.lock().await.start_worker().await;
            Ok(())
        }))
    }
}

impl Fault for RestartApp {
    fn name(&self) -> &str {
        "app restarted"
    }
    fn inject(&mut self) -> FaultFuture<'_> {
        Box::pin(async move {
            let mut running = self.0.lock().await;
            running.server = None;
            running.worker = None;
            Ok(())
        })
    }
    fn heal(&mut self) -> Option<FaultFuture<'_>> {
        Some(Box::pin(async move {
            let mut running = self.0.lock().await;
            running.app = App::load(&running.deployment.manifest(), &self.1)?;
            running.server = Some(running.app.serve_at(running.address).await?);
            running.start_worker().await;
            Ok(())
        }))
    }
}

/// A short run: every figure of it is bounded, none is asserted.
fn quick_chaos() -> ChaosOptions {
    ChaosOptions {
        split: Split::default(),
        concurrency: 8,
        rate: 200,
        max_votes: 5000,
        outage: Duration::from_millis(500),
        settle: Duration::from_millis(300),
        converge_limit: Duration::from_secs(120),
    }
}

/// Runs chaos with every fault the deployment has against a fresh app, and checks that
/// nothing was lost.
async fn chaos_with_every_fault_loses_nothing(deployment: Deployment, fault_count: usize) {
    let env = TestEnv::setup()
        .deployment(deployment)
        .postgres(TestPostgres::start().await.unwrap())
        .start()
        .await
        .unwrap();
    let running = Arc::new(Mutex::new(Running::start(&env).await));
    let target = Target::new(&running.lock().await.url()).unwrap();
    let redis = Redis::new(&env.redis.url()).unwrap();
    let postgres_url = env.postgres.address();
    let postgres = Postgres::new(&postgres_url).unwrap();
    let variables = spin_variables(&env.redis, &env.postgres);
    let TestEnv {
        redis: test_redis,
        postgres: test_postgres,
        ..
    } = env;
    let mut faults: Vec<Box<dyn Fault>> = vec![
        Box::new(StopPostgres(test_postgres)),
        Box::new(RestartRedis(test_redis, running.clone())),
    ];
    if deployment == Deployment::RedisTrigger {
        faults.push(Box::new(KillWorker(running.clone())));
    }
    faults.push(Box::new(RestartApp(running.clone(), variables)));
    let report = chaos(&target, &redis, &postgres, &mut faults, &quick_chaos())
        .await
        .unwrap();
    assert_nothing_lost(&report, &postgres_url, fault_count).await;
}

/// What a correct app must give under chaos: every fault run and recovered from, votes
/// accepted throughout, none lost or counted twice, the queue empty, and the database's
/// running tally equal to its votes.
async fn assert_nothing_lost(report: &ChaosReport, postgres_url: &str, faults: usize) {
    println!("{report}");
    assert_eq!(report.faults.len(), faults);
    for fault in &report.faults {
        assert_eq!(fault.error, None, "{}", fault.name);
        assert!(fault.converged.is_some(), "{} never converged", fault.name);
    }
    assert!(report.accepted_voters > 0);
    assert_eq!(report.counted, report.accepted_voters);
    assert!(report.lost.is_empty());
    assert!(report.duplicated <= 0);
    assert!(report.drained);
    assert!(report.is_success());

    let (client, connection) = tokio_postgres::connect(postgres_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let stored = counts_by_vote(&client).await.unwrap();
    assert_eq!(running_tally(&client).await.unwrap(), Some(stored.clone()));
    let rows: i64 = stored.values().sum();
    assert!(
        rows as usize >= report.counted,
        "{rows} rows, {} counted",
        report.counted
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_with_every_fault_loses_nothing_with_the_redis_trigger() {
    chaos_with_every_fault_loses_nothing(Deployment::RedisTrigger, 4).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_with_every_fault_loses_nothing_over_http_only() {
    chaos_with_every_fault_loses_nothing(Deployment::HttpOnly, 3).await;
}

/// Runs the tool's binary with `arguments`, while this test's runtime serves the app.
async fn run_tool(arguments: &[&str]) -> Output {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_loadtest"))
        .args(arguments)
        .output()
        .await
        .unwrap();
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    output
}

#[tokio::test(flavor = "multi_thread")]
async fn a_room_votes_once_per_phone_sees_its_votes_counted_and_reports() {
    let env = TestEnv::start().await.unwrap();
    let running = Running::start(&env).await;
    let output = run_tool(&[
        "room",
        "--url",
        &running.url(),
        "--phones",
        "40",
        "--duration",
        "6",
        "--ramp",
        "1",
        "--p99-limit",
        "60",
    ])
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("votes:      40 accepted, 0 refused"),
        "{stdout}"
    );
    assert!(stdout.contains("errors:     0 (none)"), "{stdout}");
    assert!(
        stdout.contains("a phone saw its vote counted p50"),
        "{stdout}"
    );
    assert!(stdout.contains("limits:     held"), "{stdout}");
    let counted = env.tally_in_database().await.unwrap();
    assert_eq!(counted.total(), 40, "every phone's vote, once");

    // A limit broken is a failing run: no vote refused is allowed by default.
    let _: () = redis::AsyncCommands::hset(
        &mut env.redis().await.unwrap(),
        voting_shared::round::ROUND_KEY,
        "open",
        "0",
    )
    .await
    .unwrap();
    let closed = run_tool(&[
        "room",
        "--url",
        &running.url(),
        "--phones",
        "5",
        "--duration",
        "2",
        "--ramp",
        "0",
    ])
    .await;
    let stdout = String::from_utf8_lossy(&closed.stdout);
    assert_eq!(closed.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("5 refused (409 × 5)"), "{stdout}");
    assert!(stdout.contains("limits:     BROKEN"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seed_is_fully_counted_and_reported() {
    let env = TestEnv::start().await.unwrap();
    let running = Running::start(&env).await;
    let output = run_tool(&[
        "seed",
        "--url",
        &running.url(),
        "--votes",
        "600",
        "--concurrency",
        "20",
    ])
    .await;
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("answers:    303 See Other × 600"),
        "{stdout}"
    );
    assert!(
        stdout.contains("a 400 (+400), b 200 (+200): exactly the accepted votes"),
        "{stdout}"
    );
    assert!(
        stdout.contains("every accepted vote visible in /result/api"),
        "{stdout}"
    );
    assert_eq!(
        env.tally_in_database().await.unwrap(),
        Counts::new(&[400, 200])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seed_over_more_options_is_split_as_asked() {
    let env = TestEnv::setup()
        .env("SPIN_VARIABLE_OPTIONS", "Cats,Dogs,Birds")
        .start()
        .await
        .unwrap();
    let running = Running::start(&env).await;
    let url = running.url();
    let arguments = ["seed", "--url", &url, "--votes", "300", "--split", "1:1:1"];
    let output = run_tool(&arguments).await;
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("a 100 (+100), b 100 (+100), c 100 (+100): exactly the accepted votes"),
        "{stdout}"
    );
    assert_eq!(
        env.tally_in_database().await.unwrap(),
        Counts::new(&[100, 100, 100])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn changed_votes_end_as_each_voters_last_vote() {
    let env = TestEnv::start().await.unwrap();
    let running = Running::start(&env).await;
    let voters = 150;
    let output = run_tool(&[
        "changes",
        "--url",
        &running.url(),
        "--voters",
        &voters.to_string(),
        "--postgres",
        &env.postgres.address(),
    ])
    .await;
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "{voters} of {voters} voters stored with their last accepted vote"
        )),
        "{stdout}"
    );

    let split = Split::default();
    let last_votes =
        (0..voters).map(|index| *loadtest::changes::plan(split, index).last().unwrap());
    let expected_a = last_votes.filter(|&choice| choice == Choice::A).count() as i64;
    assert_eq!(
        env.tally_in_database().await.unwrap(),
        Counts::new(&[expected_a, voters as i64 - expected_a])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_that_loses_writes_makes_chaos_report_the_loss_and_fail() {
    let env = TestEnv::start().await.unwrap();
    let running = Running::start(&env).await;
    env.app.discard_postgres_writes(true);
    let output = run_tool(&[
        "chaos",
        "--url",
        &running.url(),
        "--redis",
        &env.redis.url(),
        "--postgres",
        &env.postgres.address(),
        "--rate",
        "200",
        "--settle",
        "0.5",
        "--max-votes",
        "100",
    ])
    .await;
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lost: usize = stdout
        .lines()
        .find_map(|line| line.strip_prefix("lost:"))
        .expect("the report says how many were lost")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        env.queue_length().await.unwrap(),
        0,
        "the broken worker acknowledged everything"
    );
    let accepted: usize = stdout
        .lines()
        .find_map(|line| line.strip_prefix("accepted:"))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the report says how many votes were accepted")
        .parse()
        .unwrap();
    assert!(accepted <= 100, "--max-votes 100 bounds the run: {stdout}");
    assert!(lost > 0, "{stdout}");
    assert!(stdout.contains("counted:    0 voters"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_app_is_an_error_not_a_verdict() {
    let output = run_tool(&["seed", "--url", "http://127.0.0.1:9"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/result/api"));
}
