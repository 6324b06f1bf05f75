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

/// Whether element `id` is on the page and shown.
async fn displayed(client: &Client, id: &str) -> bool {
    match client.find(Locator::Id(id)).await {
        Ok(element) => element.is_displayed().await.unwrap_or(false),
        Err(_) => false,
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

    // PostgreSQL goes down and a vote cannot be counted: the page keeps the last results,
    // marked as possibly out of date.
    served.env.postgres.stop().unwrap();
    Visitor::new(&served.env.app).vote("a").await.unwrap();
    wait_until("the stale state", || async {
        attribute(&client, "results", "class")
            .await
            .contains("stale")
    })
    .await;
    assert!(
        text(&client, "freshness")
            .await
            .starts_with("May be out of date")
    );
    assert_eq!(
        text(&client, "total").await,
        "1 vote",
        "the last results stay up"
    );
    screenshots(&client, "result-stale").await;

    // PostgreSQL back: the page's own polling catches the vote up, with no other action.
    served.env.postgres.restart().await.unwrap();
    wait_until("the recovery", || async {
        !attribute(&client, "results", "class")
            .await
            .contains("stale")
            && text(&client, "total").await == "2 votes"
    })
    .await;
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
    sign_in(&console, &served).await;
    assert_eq!(
        text(&console, "current-heading").await,
        "Round 1: Cats or Dogs?"
    );
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

/// Projectors: full HD, and the 1280×720 of many a meeting room.
const PROJECTORS: [(u32, u32); 2] = [(1920, 1080), (1280, 720)];

/// Eight labels as long as a talk's answers get.
const LONG_LABELS: [&str; 8] = [
    "Rust, for the borrow checker that catches it first",
    "Go, because the whole team reads it on day one",
    "Zig, for comptime and the C it replaces",
    "C++, with twenty years of libraries behind it",
    "Python, for getting the prototype out by Friday",
    "TypeScript, since the front end is already there",
    "Java, for the JVM and its tooling in production",
    "Whatever the existing codebase was written in",
];

/// Sizes the window so that its viewport (what a projector shows) is `width` × `height`: the
/// window's frame is measured, then added (again, if the window manager answered late).
async fn set_viewport(client: &Client, (width, height): (u32, u32)) {
    let (mut outer_width, mut outer_height) = (width, height);
    for _ in 0..5 {
        client
            .set_window_size(outer_width, outer_height)
            .await
            .unwrap();
        let inner = client
            .execute(
                "return [window.innerWidth, window.innerHeight];",
                Vec::new(),
            )
            .await
            .unwrap();
        let (inner_width, inner_height) = (
            inner[0].as_u64().unwrap() as u32,
            inner[1].as_u64().unwrap() as u32,
        );
        if (inner_width, inner_height) == (width, height) {
            return;
        }
        outer_width = outer_width + width - inner_width.min(width + outer_width);
        outer_height = outer_height + height - inner_height.min(height + outer_height);
    }
}

/// Saves the page with a viewport of `size` as `target/screenshots/<name>-<width>.png`.
async fn screenshot_at(client: &Client, name: &str, size: (u32, u32)) {
    let dir: PathBuf = repository_root().join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    set_viewport(client, size).await;
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}-{}.png", size.0)), png).unwrap();
}

/// Asserts that the page fits the window without scrolling and that each element of
/// `selectors` is wholly inside it.
async fn assert_fits(client: &Client, size: (u32, u32), selectors: &[&str], what: &str) {
    let script = r#"
        const [selectors] = arguments;
        const root = document.documentElement;
        const outside = selectors.filter((selector) => {
          const element = document.querySelector(selector);
          if (!element) return true;
          const box = element.getBoundingClientRect();
          return box.top < 0 || box.left < 0 || box.bottom > window.innerHeight || box.right > window.innerWidth;
        });
        return [root.scrollHeight <= window.innerHeight && root.scrollWidth <= window.innerWidth,
          outside, window.innerWidth, window.innerHeight];
    "#;
    let answer = client
        .execute(script, vec![serde_json::json!(selectors)])
        .await
        .unwrap();
    assert_eq!(answer[0], true, "{what} scrolls: {answer}");
    assert_eq!(
        (answer[2].as_u64(), answer[3].as_u64()),
        (Some(u64::from(size.0)), Some(u64::from(size.1))),
        "the viewport"
    );
    assert_eq!(
        answer[1],
        serde_json::json!([]),
        "{what}: outside the screen: {answer}"
    );
}

/// Signs a browser in at the console.
async fn sign_in(client: &Client, served: &Served) {
    client.goto(&served.url("/admin")).await.unwrap();
    client
        .find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(voting_tests::ADMIN_TOKEN)
        .await
        .unwrap();
    client
        .find(Locator::Css("form[action='/admin/sign-in'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until("the console", || async {
        text(client, "current-heading").await.starts_with("Round ")
    })
    .await;
}

/// Presses `key` on the page, as a presenter does.
async fn press(client: &Client, key: &str) {
    client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys(key)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_presenter_view_drives_a_deck_from_the_keyboard_while_a_phone_votes() {
    const RIGHT: &str = "\u{E014}";
    let _turn = TURN.lock().await;
    let served = serve_with(TestEnv::setup().console()).await;
    let deck = serde_json::json!({ "questions": [
        { "question": "Which language would you start a new service in today?",
          "options": LONG_LABELS, "results": "on-reveal" },
        { "question": "Coffee or tea?", "options": ["Coffee", "Tea"], "results": "after-vote" },
    ]});
    voting_tests::Presenter::new(&served.env.app, voting_tests::ADMIN_TOKEN)
        .api_json("PUT", "/admin/api/deck", &deck.to_string(), 200)
        .await
        .unwrap();
    let mut chromium = Chromium::start().await;
    let presenter = chromium.session(true).await;
    sign_in(&presenter, &served).await;
    presenter.goto(&served.url("/admin/present")).await.unwrap();
    press(&presenter, RIGHT).await;
    wait_until("the deck's first question", || async {
        text(&presenter, "question")
            .await
            .starts_with("Which language")
    })
    .await;

    // A phone votes: the results stay hidden, there and on the projector.
    let phone = chromium.session(true).await;
    phone.set_window_size(PHONE.0, PHONE.1).await.unwrap();
    phone.goto(&served.url("/")).await.unwrap();
    click_and_wait(&phone, "a").await;
    wait_until("the phone to say how many have voted", || async {
        text(&phone, "bars").await == "1 vote so far; the results are hidden for now."
    })
    .await;
    assert!(
        phone.find(Locator::Css(".bar")).await.is_err(),
        "no results on the phone before the reveal"
    );
    wait_until("the vote on the projector", || async {
        text(&presenter, "total").await == "1 vote"
    })
    .await;
    assert!(presenter.find(Locator::Id("percent-a")).await.is_err());
    for size in PROJECTORS {
        set_viewport(&presenter, size).await;
        assert_fits(
            &presenter,
            size,
            &["#option-h", ".qr svg", ".join p", "#next"],
            "the presenter view",
        )
        .await;
        screenshot_at(&presenter, "present-hidden", size).await;
    }

    // R reveals; the projector shows the bars; the results page fits the projector too.
    press(&presenter, "r").await;
    wait_until("the revealed results", || async {
        text(&presenter, "percent-a").await == "100"
    })
    .await;
    for size in PROJECTORS {
        set_viewport(&presenter, size).await;
        assert_fits(
            &presenter,
            size,
            &["#option-h", ".qr svg", "#next"],
            "the presenter view",
        )
        .await;
        screenshot_at(&presenter, "present-revealed", size).await;
    }
    let results = chromium.session(true).await;
    results.goto(&served.url("/result")).await.unwrap();
    for size in PROJECTORS {
        screenshot_at(&results, "result-eight-long-options", size).await;
        assert_fits(
            &results,
            size,
            &["#option-h", "#vote-url", "#total"],
            "the results page",
        )
        .await;
    }
    results.close().await.unwrap();

    // C closes voting, → asks the next question, T gives thirty more seconds.
    press(&presenter, "c").await;
    wait_until("voting closed", || async {
        text(&presenter, "voting").await == "Voting is closed"
    })
    .await;
    press(&presenter, " ").await;
    wait_until("the second question", || async {
        text(&presenter, "question").await == "Coffee or tea?"
    })
    .await;
    press(&presenter, "t").await;
    wait_until("a countdown", || async {
        text(&presenter, "countdown").await.contains("closes in")
    })
    .await;

    // After voting, the phone sees the results of an after-vote question, live.
    phone.goto(&served.url("/")).await.unwrap();
    assert!(!displayed(&phone, "results").await, "not before voting");
    click_and_wait(&phone, "b").await;
    wait_until("the results on the phone", || async {
        text(&phone, "bars").await.contains("Tea 100%")
    })
    .await;
    assert!(text(&phone, "countdown").await.contains("Voting closes in"));
    screenshot_at(&phone, "vote-after-voting-results", PHONE).await;
    wait_until("the phone's vote on the projector", || async {
        text(&presenter, "count-b").await == "1"
    })
    .await;
    screenshot_at(&presenter, "present-second-question", PROJECTORS[1]).await;
    phone.close().await.unwrap();
    presenter.close().await.unwrap();
}

/// Whether element `id` is enabled (a button), or false while the page has none.
async fn enabled(client: &Client, id: &str) -> bool {
    match client.find(Locator::Id(id)).await {
        Ok(element) => element.is_enabled().await.unwrap_or(false),
        Err(_) => false,
    }
}

/// A phone on the vote page follows the presenter without a tap: the next question replaces
/// the ballot, a deadline disables the buttons, thirty seconds more enable them again. The
/// presenter view's keys move on once however they are pressed, and the console refreshes
/// without losing a draft.
#[tokio::test(flavor = "multi_thread")]
async fn a_phone_follows_the_presenter_and_a_press_moves_on_once() {
    let _turn = TURN.lock().await;
    let served = serve_with(TestEnv::setup().console()).await;
    let presenter = voting_tests::Presenter::new(&served.env.app, voting_tests::ADMIN_TOKEN);
    let deck = serde_json::json!({ "questions": [
        { "question": "Tabs or spaces?", "options": ["Tabs", "Spaces"] },
        { "question": "Vim, Emacs or VS Code?", "options": ["Vim", "Emacs", "VS Code"], "seconds": 5 },
        { "question": "Dark or light?", "options": ["Dark", "Light"] },
        { "question": "Coffee or tea?", "options": ["Coffee", "Tea"] },
    ]});
    presenter
        .api_json("PUT", "/admin/api/deck", &deck.to_string(), 200)
        .await
        .unwrap();
    presenter
        .api_json("POST", "/admin/api/next", "", 201)
        .await
        .unwrap();
    let mut chromium = Chromium::start().await;
    let phone = chromium.session(true).await;
    phone.set_window_size(PHONE.0, PHONE.1).await.unwrap();
    phone.goto(&served.url("/")).await.unwrap();
    assert_eq!(text(&phone, "question").await, "Tabs or spaces?");

    // The presenter moves on: the phone shows question 2 and its options, by itself.
    let moved = std::time::Instant::now();
    presenter
        .api_json("POST", "/admin/api/next", r#"{"from_round": 2}"#, 201)
        .await
        .unwrap();
    wait_until("the phone to show question 2", || async {
        text(&phone, "question").await == "Vim, Emacs or VS Code?"
            && text(&phone, "c").await.starts_with("VS Code")
    })
    .await;
    println!(
        "the phone followed the next question in {:?}",
        moved.elapsed()
    );
    assert_eq!(attribute(&phone, "ballot", "data-round").await, "3");
    screenshot_at(&phone, "vote-followed-next-question", PHONE).await;
    // Its vote counts in question 2.
    click_and_wait(&phone, "b").await;
    served.env.wait_for_total(1).await.unwrap();

    // The deadline disables the buttons; thirty seconds more enable them again.
    wait_until("the deadline to close voting on the phone", || async {
        !enabled(&phone, "a").await && text(&phone, "status").await.starts_with("Voting is closed")
    })
    .await;
    presenter
        .api_json("POST", "/admin/api/time", "", 200)
        .await
        .unwrap();
    wait_until("thirty seconds more on the phone", || async {
        enabled(&phone, "a").await
            && text(&phone, "countdown")
                .await
                .starts_with("Voting closes in")
    })
    .await;

    // The console, with a draft in its new-round form, follows a change made elsewhere
    // without a reload and without losing the draft.
    let console = chromium.session(true).await;
    sign_in(&console, &served).await;
    console
        .execute("window.notReloaded = true", Vec::new())
        .await
        .unwrap();
    console
        .find(Locator::Id("new-question"))
        .await
        .unwrap()
        .send_keys("A draft?")
        .await
        .unwrap();
    presenter
        .api_json("POST", "/admin/api/close", "", 200)
        .await
        .unwrap();
    wait_until("the console to show voting closed", || async {
        text(&console, "state")
            .await
            .starts_with("Voting is closed")
    })
    .await;
    let draft = console
        .find(Locator::Id("new-question"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(draft.as_deref(), Some("A draft?"), "the draft is kept");
    let kept = console
        .execute("return window.notReloaded === true", Vec::new())
        .await
        .unwrap();
    assert_eq!(kept, serde_json::Value::Bool(true), "no reload");
    console.close().await.unwrap();

    // The presenter view: a held key (a repeat) submits nothing, and of two presses at once
    // only the first is sent.
    let view = chromium.session(true).await;
    sign_in(&view, &served).await;
    view.goto(&served.url("/admin/present")).await.unwrap();
    wait_until("the presenter view", || async {
        text(&view, "question").await == "Vim, Emacs or VS Code?"
    })
    .await;
    let submitted = |script: &'static str| {
        let view = &view;
        async move {
            view.execute(
                &format!(
                    "let sent = 0;
                     document.addEventListener('submit', (event) => {{
                       if (!event.defaultPrevented) sent += 1;
                     }});
                     const key = (repeat) => document.dispatchEvent(new KeyboardEvent('keydown',
                       {{ key: 'ArrowRight', repeat, bubbles: true, cancelable: true }}));
                     {script}
                     return sent;"
                ),
                Vec::new(),
            )
            .await
            .unwrap()
        }
    };
    assert_eq!(submitted("key(true);").await, 0, "a repeated key");
    assert_eq!(submitted("key(false); key(false);").await, 1, "two presses");
    wait_until("the next question on the projector", || async {
        text(&view, "question").await == "Dark or light?"
    })
    .await;
    let rounds = presenter
        .api_json("GET", "/admin/api/rounds", "", 200)
        .await
        .unwrap();
    assert_eq!(
        rounds["rounds"].as_array().unwrap().len(),
        4,
        "round 4 asks question 3: the double press moved on once"
    );
    view.close().await.unwrap();
    phone.close().await.unwrap();
}

/// A question of the full 280 characters, the longest a phone may ask.
fn longest_question(opening: &str) -> String {
    let filler = " and how does that hold up once a whole room of phones is polling it at once";
    let mut text = opening.to_owned();
    while text.chars().count() < voting_shared::questions::MAX_TEXT_CHARS {
        text.push_str(filler);
    }
    let text: String = text
        .chars()
        .take(voting_shared::questions::MAX_TEXT_CHARS - 1)
        .collect();
    format!("{}?", text.trim_end())
}

/// The id of the question whose text is `text`, once the worker has stored it.
async fn stored_id(presenter: &voting_tests::Presenter, text: &str) -> String {
    poll_until("the question in PostgreSQL", || async {
        let all = presenter
            .api_json("GET", "/admin/api/questions", "", 200)
            .await
            .unwrap();
        all["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|question| question["text"] == text)
            .map(|question| question["id"].as_str().unwrap().to_owned())
    })
    .await
    .unwrap()
}

/// The audience's questions, moderated, from phone to projector: a phone asks through the
/// page's form, the console approves, a second phone sees the question without a reload and
/// upvotes it, the asker's page follows the count, the console puts it on the screen, and the
/// presenter view's Q&A screen shows it whole, with the next ones, on a projector.
#[tokio::test(flavor = "multi_thread")]
async fn a_question_goes_from_a_phone_through_moderation_to_the_projector() {
    let _turn = TURN.lock().await;
    let served = serve_with(TestEnv::setup().console()).await;
    let presenter = voting_tests::Presenter::new(&served.env.app, voting_tests::ADMIN_TOKEN);
    let mut chromium = Chromium::start().await;

    // The console turns moderated Q&A on.
    let console = chromium.session(true).await;
    sign_in(&console, &served).await;
    console
        .find(Locator::Id("qa-mode"))
        .await
        .unwrap()
        .select_by_value("moderated")
        .await
        .unwrap();
    console
        .find(Locator::Id("set-mode"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until("moderated Q&A", || async {
        let mode = match console.find(Locator::Id("qa-mode")).await {
            Ok(select) => select.prop("value").await.ok().flatten(),
            Err(_) => None,
        };
        mode.as_deref() == Some("moderated")
            && text(&console, "current-heading")
                .await
                .starts_with("Round ")
    })
    .await;

    // A phone asks the longest question the form takes; it waits for approval.
    let asker = chromium.session(true).await;
    asker.set_window_size(PHONE.0, PHONE.1).await.unwrap();
    asker.goto(&served.url("/questions")).await.unwrap();
    let question = longest_question("How do WebAssembly components keep a vote safe");
    asker
        .find(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys("Ada")
        .await
        .unwrap();
    // Enter asks it, as in a chat; it does not break the line.
    const ENTER: &str = "\u{E007}";
    asker
        .find(Locator::Id("text"))
        .await
        .unwrap()
        .send_keys(&format!("{question}{ENTER}"))
        .await
        .unwrap();
    wait_until(
        "the page to say the question waits for approval",
        || async {
            asker
                .source()
                .await
                .is_ok_and(|source| source.contains("once the presenter approves it"))
        },
    )
    .await;
    assert!(
        displayed(&asker, "none").await,
        "not published before approval"
    );

    // The console lists it (refreshing by itself) and approves it.
    let id = stored_id(&presenter, &question).await;
    let approve = format!("approve-{id}");
    wait_until("the question in the console", || async {
        displayed(&console, &approve).await
    })
    .await;
    console
        .find(Locator::Id(&approve))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // A second phone, already on the page, sees it without a reload and upvotes it.
    let listed = format!("q-{id}");
    let upvote = format!("#q-{id} button");
    let neighbour = chromium.session(true).await;
    neighbour.set_window_size(PHONE.0, PHONE.1).await.unwrap();
    neighbour.goto(&served.url("/questions")).await.unwrap();
    neighbour
        .execute("window.notReloaded = true", Vec::new())
        .await
        .unwrap();
    wait_until("the approved question on the second phone", || async {
        text(&neighbour, &listed).await.contains("Ada")
    })
    .await;
    let kept = neighbour
        .execute("return window.notReloaded === true", Vec::new())
        .await
        .unwrap();
    assert_eq!(kept, serde_json::Value::Bool(true), "no reload");
    neighbour
        .find(Locator::Css(&upvote))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until("the upvote marked on the second phone", || async {
        match neighbour.find(Locator::Css(&upvote)).await {
            Ok(button) => button.attr("aria-pressed").await.ok().flatten() == Some("true".into()),
            Err(_) => false,
        }
    })
    .await;

    // The asker's page follows the count, and marks the question as theirs.
    wait_until("the upvote on the asker's page", || async {
        let item = text(&asker, &listed).await;
        item.contains("You asked this") && item.ends_with('1')
    })
    .await;
    screenshot_at(&asker, "questions-phone", PHONE).await;

    // Five more long questions wait under it, then the console puts it on the screen.
    for number in 1..=5 {
        let more = longest_question(&format!("Question {number}: what would you change"));
        let mut phone = Visitor::new(&served.env.app);
        let json = serde_json::json!({ "text": more }).to_string();
        let asked = phone
            .send(
                "POST",
                "/api/questions",
                Some("application/json"),
                json.as_bytes(),
            )
            .await
            .unwrap();
        assert_eq!(asked.status(), 202);
        let more_id = stored_id(&presenter, &more).await;
        presenter
            .api_json(
                "POST",
                &format!("/admin/api/questions/{more_id}/approve"),
                "",
                200,
            )
            .await
            .unwrap();
    }
    let highlight = format!("highlight-{id}");
    wait_until("the console's highlight button", || async {
        displayed(&console, &highlight).await
    })
    .await;
    console
        .find(Locator::Id(&highlight))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until("the question on the screen in the console", || async {
        text(&console, &format!("question-{id}"))
            .await
            .contains("on the screen")
    })
    .await;
    wait_until("the On the screen badge on the asker's page", || async {
        text(&asker, &listed).await.contains("On the screen")
    })
    .await;

    // Q on the presenter view opens the Q&A screen: the question whole, the next five, the
    // code to join, on a projector without scrolling.
    let view = chromium.session(true).await;
    sign_in(&view, &served).await;
    view.goto(&served.url("/admin/present")).await.unwrap();
    press(&view, "q").await;
    wait_until("the Q&A screen", || async {
        text(&view, "highlighted").await == question
    })
    .await;
    wait_until("the next five", || async {
        match view.find_all(Locator::Css("#next li")).await {
            Ok(items) => items.len() == 5,
            Err(_) => false,
        }
    })
    .await;
    assert!(text(&view, "highlighted-who").await.starts_with("Ada"));
    for size in PROJECTORS {
        set_viewport(&view, size).await;
        assert_fits(
            &view,
            size,
            &[
                "#highlighted",
                "#highlighted-who",
                "#next",
                ".qr svg",
                "#to-poll",
            ],
            "the Q&A screen",
        )
        .await;
        screenshot_at(&view, "present-questions", size).await;
    }
    press(&view, "q").await;
    wait_until("back to the poll", || async {
        displayed(&view, "to-questions").await
    })
    .await;
    for client in [view, neighbour, asker, console] {
        client.close().await.unwrap();
    }
}
