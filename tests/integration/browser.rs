//! The pages in a real browser: headless Chromium driven over WebDriver (Debian's `chromium`
//! and `chromium-driver`), against the app served on a loopback port with the Redis trigger
//! running. Each test saves screenshots at a phone and a desktop width under
//! `target/screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use spin_test_host::{HttpServer, RedisTriggers};
use tokio::sync::Mutex;
use voting_tests::{Setup, TestEnv, Visitor, poll_until, repository_root};

/// One browser at a time: two cores are enough for one Chromium and the app, not for six.
static TURN: Mutex<()> = Mutex::const_new(());

const PHONE: (u32, u32) = (360, 780);
const DESKTOP: (u32, u32) = (1280, 860);

/// The app, served over HTTP, with its Redis trigger running.
struct Served {
    env: TestEnv,
    server: HttpServer,
    _triggers: RedisTriggers,
}

async fn serve() -> Served {
    serve_with(TestEnv::setup()).await
}

async fn serve_with(setup: Setup) -> Served {
    let env = setup.start().await.unwrap();
    let triggers = env.app.start_redis_triggers().await.unwrap();
    let server = env.app.serve().await.unwrap();
    Served {
        env,
        server,
        _triggers: triggers,
    }
}

impl Served {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }
}

/// A chromedriver process, and the browser sessions opened through it.
struct Chromium {
    driver: Child,
    url: String,
    profiles: Vec<tempfile::TempDir>,
}

impl Chromium {
    async fn start() -> Chromium {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "the browser tests need chromedriver and chromium \
                 (Debian: apt-get install chromium chromium-driver)",
            );
        let url = format!("http://127.0.0.1:{port}");
        poll_until("chromedriver to listen", || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
        })
        .await
        .unwrap();
        Chromium {
            driver,
            url,
            profiles: Vec::new(),
        }
    }

    /// A new browser session: a fresh profile, so a new visitor with no cookies.
    async fn session(&mut self, javascript: bool) -> Client {
        let profile = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            // No animations: a screenshot shows the page as it settles, not mid-transition.
            "--force-prefers-reduced-motion".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
        ];
        if !javascript {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
        }
        self.profiles.push(profile);
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": "/usr/bin/chromium", "args": args },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("chromedriver opens a Chromium session")
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Saves the page at a phone and a desktop width as `target/screenshots/<name>-<width>.png`.
async fn screenshots(client: &Client, name: &str) {
    let dir: PathBuf = repository_root().join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    for (width, height) in [PHONE, DESKTOP] {
        client.set_window_size(width, height).await.unwrap();
        let png = client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}-{width}.png")), png).unwrap();
    }
}

/// The text of element `id`, or "" while the page has none (between pages).
async fn text(client: &Client, id: &str) -> String {
    match client.find(Locator::Id(id)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Attribute `name` of element `id`, or "" while the page has none.
async fn attribute(client: &Client, id: &str, name: &str) -> String {
    match client.find(Locator::Id(id)).await {
        Ok(element) => element.attr(name).await.ok().flatten().unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits until `condition` holds for the page (bounded: [`voting_tests::WAIT_LIMIT`]).
async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    poll_until(what, || {
        let holds = condition();
        async move { holds.await.then_some(()) }
    })
    .await
    .unwrap();
}

async fn pressed(client: &Client) -> (String, String) {
    (
        attribute(client, "a", "aria-pressed").await,
        attribute(client, "b", "aria-pressed").await,
    )
}

/// Clicks a button that submits the form and waits for the answer page to mark it chosen.
async fn click_and_wait(client: &Client, id: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_vote(client, id).await;
}

/// Waits for the page that confirms a vote for `id`.
async fn wait_for_vote(client: &Client, id: &str) {
    wait_until("the page confirming the vote", || async {
        attribute(client, id, "aria-pressed").await == "true"
            && client
                .source()
                .await
                .is_ok_and(|source| source.contains("Thanks!"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vote_by_click_is_marked_kept_on_reload_and_can_be_changed() {
    let _turn = TURN.lock().await;
    let served = serve().await;
    let mut chromium = Chromium::start().await;
    let client = chromium.session(true).await;
    client.goto(&served.url("/")).await.unwrap();
    assert_eq!(pressed(&client).await, ("false".into(), "false".into()));
    screenshots(&client, "vote").await;

    click_and_wait(&client, "b").await;
    assert_eq!(pressed(&client).await, ("false".into(), "true".into()));
    assert!(
        text(&client, "b").await.contains("Your vote"),
        "not by colour alone"
    );
    screenshots(&client, "vote-after-voting").await;

    client.goto(&served.url("/")).await.unwrap();
    assert_eq!(pressed(&client).await, ("false".into(), "true".into()));

    click_and_wait(&client, "a").await;
    assert_eq!(pressed(&client).await, ("true".into(), "false".into()));
    let tally = served.env.wait_for_total(1).await.unwrap();
    assert_eq!(
        (tally["a"].as_i64(), tally["b"].as_i64()),
        (Some(1), Some(0))
    );
    client.close().await.unwrap();
}

/// Eight options, the longest labels a presenter is likely to write.
const EIGHT_OPTIONS: &str = "Rust,Go,Zig,C++,Swift,Kotlin,Haskell,\
    A language nobody in this room has heard of yet";

#[tokio::test(flavor = "multi_thread")]
async fn eight_options_fit_a_phone_and_every_one_can_be_chosen() {
    let _turn = TURN.lock().await;
    let served = serve_with(TestEnv::setup().env("SPIN_VARIABLE_OPTIONS", EIGHT_OPTIONS)).await;
    let mut chromium = Chromium::start().await;
    let client = chromium.session(true).await;
    client.set_window_size(PHONE.0, PHONE.1).await.unwrap();
    client.goto(&served.url("/")).await.unwrap();
    let layout = client
        .execute(
            "const buttons = [...document.querySelectorAll('button')];
             return [document.documentElement.scrollWidth, window.innerWidth,
                     buttons.length, buttons.every((b) => {
                       const box = b.getBoundingClientRect();
                       return box.left >= 0 && box.right <= window.innerWidth && box.height >= 44;
                     })];",
            vec![],
        )
        .await
        .unwrap();
    let [scroll_width, viewport, buttons, all_inside] = layout.as_array().unwrap().as_slice()
    else {
        panic!("{layout}")
    };
    assert!(
        scroll_width.as_i64() <= viewport.as_i64(),
        "no sideways scroll: {layout}"
    );
    assert_eq!(buttons, 8);
    assert_eq!(
        all_inside, true,
        "every button inside the screen, 44 px tall or more"
    );
    screenshots(&client, "vote-eight-options").await;

    click_and_wait(&client, "h").await;
    assert!(text(&client, "h").await.contains("Your vote"));
    let tally = served.env.wait_for_total(1).await.unwrap();
    assert_eq!(tally["options"][7]["count"], 1);
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_open_results_page_of_eight_options_follows_the_votes() {
    let _turn = TURN.lock().await;
    let served = serve_with(TestEnv::setup().env("SPIN_VARIABLE_OPTIONS", EIGHT_OPTIONS)).await;
    let mut chromium = Chromium::start().await;
    let client = chromium.session(true).await;
    client.goto(&served.url("/result")).await.unwrap();
    assert_eq!(
        text(&client, "percent-a").await,
        "13",
        "equal shares before any vote"
    );
    for choice in ["g", "g", "c"] {
        Visitor::new(&served.env.app).vote(choice).await.unwrap();
    }
    wait_until("the live update", || async {
        text(&client, "total").await == "3 votes"
    })
    .await;
    assert_eq!(text(&client, "percent-g").await, "67");
    assert_eq!(text(&client, "percent-c").await, "33");
    assert_eq!(text(&client, "percent-a").await, "0");
    let widths = client
        .execute(
            "return ['a', 'c', 'g'].map((c) => document.getElementById('bar-' + c).style.width);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(widths, serde_json::json!(["0%", "33%", "67%"]));
    screenshots(&client, "result-eight-options").await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_browser_is_a_second_voter() {
    let _turn = TURN.lock().await;
    let served = serve().await;
    let mut chromium = Chromium::start().await;
    for choice in ["a", "b"] {
        let client = chromium.session(true).await;
        client.goto(&served.url("/")).await.unwrap();
        click_and_wait(&client, choice).await;
        client.close().await.unwrap();
    }
    let tally = served.env.wait_for_total(2).await.unwrap();
    assert_eq!(
        (tally["a"].as_i64(), tally["b"].as_i64()),
        (Some(1), Some(1))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_open_results_page_shows_a_vote_cast_elsewhere_without_a_reload() {
    let _turn = TURN.lock().await;
    let served = serve().await;
    let mut chromium = Chromium::start().await;
    let client = chromium.session(true).await;
    client.goto(&served.url("/result")).await.unwrap();
    assert_eq!(text(&client, "total").await, "No votes yet");

    Visitor::new(&served.env.app).vote("a").await.unwrap();
    wait_until("the live update", || async {
        text(&client, "total").await == "1 vote"
    })
    .await;
    assert_eq!(text(&client, "percent-a").await, "100");
    assert_eq!(text(&client, "count-a").await, "1");
    for _ in 0..2 {
        Visitor::new(&served.env.app).vote("b").await.unwrap();
    }
    wait_until("the second live update", || async {
        text(&client, "total").await == "3 votes"
    })
    .await;
    assert_eq!(text(&client, "percent-b").await, "67");
    screenshots(&client, "result").await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn without_javascript_both_pages_still_work() {
    let _turn = TURN.lock().await;
    let served = serve().await;
    let mut chromium = Chromium::start().await;
    let client = chromium.session(false).await;
    client.goto(&served.url("/")).await.unwrap();
    click_and_wait(&client, "a").await;
    assert_eq!(pressed(&client).await, ("true".into(), "false".into()));
    served.env.wait_for_total(1).await.unwrap();

    client.goto(&served.url("/result")).await.unwrap();
    assert_eq!(text(&client, "total").await, "1 vote");
    assert_eq!(text(&client, "percent-a").await, "100");
    screenshots(&client, "result-without-javascript").await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_results_page_shows_when_it_is_stale_and_recovers_by_itself() {
    let _turn = TURN.lock().await;
    let mut served = serve().await;
    let mut chromium = Chromium::start().await;
    let client = chromium.session(true).await;
    Visitor::new(&served.env.app).vote("b").await.unwrap();
    served.env.wait_for_total(1).await.unwrap();
    client.goto(&served.url("/result")).await.unwrap();
    assert!(
        attribute(&client, "results", "class")
            .await
            .contains("live")
    );

    served.env.postgres.stop().unwrap();
    wait_until("the stale state", || async {
        attribute(&client, "results", "class")
            .await
            .contains("stale")
    })
    .await;
    assert!(text(&client, "freshness").await.starts_with("Stale"));
    assert!(!text(&client, "notice").await.is_empty());
    screenshots(&client, "result-stale").await;

    served.env.postgres.restart().await.unwrap();
    wait_until("the recovery", || async {
        !attribute(&client, "results", "class")
            .await
            .contains("stale")
    })
    .await;
    assert_eq!(text(&client, "total").await, "1 vote");
    assert!(text(&client, "notice").await.is_empty());
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn voting_works_with_the_keyboard_alone() {
    let _turn = TURN.lock().await;
    let served = serve().await;
    let mut chromium = Chromium::start().await;
    let client = chromium.session(true).await;
    client.goto(&served.url("/")).await.unwrap();
    const TAB: &str = "\u{E004}";
    const ENTER: &str = "\u{E007}";
    let body = client.find(Locator::Css("body")).await.unwrap();
    body.send_keys(TAB).await.unwrap();
    for _ in 0..10 {
        let focused = client.active_element().await.unwrap();
        if focused.attr("id").await.unwrap().as_deref() == Some("b") {
            break;
        }
        focused.send_keys(TAB).await.unwrap();
    }
    let focused = client.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("b"),
        "Tab reaches the buttons"
    );
    screenshots(&client, "vote-keyboard-focus").await;
    focused.send_keys(ENTER).await.unwrap();
    wait_for_vote(&client, "b").await;
    assert_eq!(pressed(&client).await, ("false".into(), "true".into()));
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_runs_a_round_change_that_an_open_results_page_follows() {
    let _turn = TURN.lock().await;
    let served = serve_with(TestEnv::setup().console()).await;
    Visitor::new(&served.env.app).vote("a").await.unwrap();
    let mut chromium = Chromium::start().await;
    let results = chromium.session(true).await;
    results.goto(&served.url("/result")).await.unwrap();
    wait_until("the first vote", || async {
        text(&results, "total").await == "1 vote"
    })
    .await;

    let console = chromium.session(true).await;
    console.goto(&served.url("/admin")).await.unwrap();
    console
        .find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(voting_tests::ADMIN_TOKEN)
        .await
        .unwrap();
    console
        .find(Locator::Css("form[action='/admin/sign-in'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until("the console", || async {
        text(&console, "current-heading").await == "Round 1: Cats or Dogs?"
    })
    .await;
    console
        .find(Locator::Id("close"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until("voting closed", || async {
        text(&console, "state")
            .await
            .starts_with("Voting is closed")
    })
    .await;
    wait_until("the results page to say so", || async {
        text(&results, "voting").await == "Voting is closed"
    })
    .await;

    console
        .find(Locator::Id("new-question"))
        .await
        .unwrap()
        .send_keys("Lunch?")
        .await
        .unwrap();
    let options = console.find(Locator::Id("new-options")).await.unwrap();
    options.send_keys("Pizza\nSoup\nSalad").await.unwrap();
    console
        .execute("window.scrollTo(0, 0)", Vec::new())
        .await
        .unwrap();
    screenshots(&console, "console").await;
    console
        .find(Locator::Id("start-round"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until("round 2 in the console", || async {
        text(&console, "current-heading").await == "Round 2: Lunch?"
    })
    .await;
    wait_until("the results page to show round 2", || async {
        text(&results, "question").await == "Lunch?" && text(&results, "label-c").await == "Salad"
    })
    .await;
    assert_eq!(text(&results, "total").await, "No votes yet");
    assert_eq!(text(&results, "voting").await, "Voting is open");
    Visitor::new(&served.env.app).vote("c").await.unwrap();
    wait_until("round 2's first vote", || async {
        text(&results, "count-c").await == "1"
    })
    .await;
    screenshots(&results, "result-round-two").await;
    console.close().await.unwrap();
    results.close().await.unwrap();
}
