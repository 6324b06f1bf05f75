//! A room of thousands behind a proxy (guarantee 11): the nginx micro-cache scripts/up runs and
//! docs/deploying.md gives (deploy/nginx/voting-app.conf), with Debian's nginx in front of the
//! app, answers thousands of polls a second of the results and of the questions while about one
//! a second of each reaches the app, with the app's answers and 304s.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use spin_test_host::HostCall;
use voting_shared::questions::READ_LIST_SCRIPT;
use voting_shared::results::READ_SCRIPT;
use voting_tests::{ADMIN_TOKEN, Presenter, TestEnv, Visitor, poll_until, repository_root};

/// nginx, serving the configuration docs/deploying.md gives in front of the app at `upstream`.
struct Nginx {
    process: Child,
    port: u16,
    _prefix: tempfile::TempDir,
}

impl Nginx {
    async fn start(upstream: &str) -> Nginx {
        let binary = ["nginx", "/usr/sbin/nginx"]
            .into_iter()
            .map(PathBuf::from)
            .find(|binary| {
                Command::new(binary)
                    .arg("-v")
                    .stderr(Stdio::null())
                    .status()
                    .is_ok()
            })
            .expect("the proxy test needs nginx (Debian: apt-get install nginx)");
        let prefix = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let documented = documented_configuration()
            .replace(
                "/var/cache/nginx/voting-results",
                &prefix.path().join("cache").display().to_string(),
            )
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace("http://127.0.0.1:3000", &format!("http://{upstream}"));
        let temp = |name: &str| prefix.path().join(name).display().to_string();
        let configuration = format!(
            "daemon off;\nmaster_process off;\npid {pid};\nerror_log stderr warn;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\naccess_log off;\nclient_body_temp_path {body};\nproxy_temp_path {proxy};\n\
             fastcgi_temp_path {fastcgi};\nuwsgi_temp_path {uwsgi};\nscgi_temp_path {scgi};\n\
             {documented}\n}}\n",
            pid = temp("nginx.pid"),
            body = temp("body"),
            proxy = temp("proxy"),
            fastcgi = temp("fastcgi"),
            uwsgi = temp("uwsgi"),
            scgi = temp("scgi"),
        );
        let file = prefix.path().join("nginx.conf");
        std::fs::write(&file, configuration).unwrap();
        let process = Command::new(binary)
            .arg("-p")
            .arg(prefix.path())
            .arg("-c")
            .arg(&file)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        poll_until("nginx to listen", || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
        })
        .await
        .unwrap();
        Nginx {
            process,
            port,
            _prefix: prefix,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// deploy/nginx/voting-app.conf, which scripts/up runs, without its opening comment; the same
/// as docs/deploying.md gives in "A room of thousands behind a proxy".
fn documented_configuration() -> String {
    let file =
        std::fs::read_to_string(repository_root().join("deploy/nginx/voting-app.conf")).unwrap();
    let configuration: String = file
        .lines()
        .skip_while(|line| line.starts_with('#'))
        .map(|line| format!("{line}\n"))
        .collect();
    let guide = std::fs::read_to_string(repository_root().join("docs/deploying.md")).unwrap();
    let section = guide
        .split("## A room of thousands behind a proxy")
        .nth(1)
        .expect("docs/deploying.md has the proxy's section");
    let documented = section
        .split("```nginx\n")
        .nth(1)
        .and_then(|block| block.split("```").next())
        .expect("the section gives nginx's configuration");
    assert_eq!(
        documented, configuration,
        "the docs show the file scripts/up runs"
    );
    configuration
}

/// A room of 100 phones polling `path` through the documented nginx as fast as they can, half
/// of them with their ETag: every answer passes `check`, and about one read a second (a run of
/// `read_script`) reaches the app.
async fn a_room_polls_through_nginx(
    env: &TestEnv,
    path: &str,
    read_script: &'static str,
    check: fn(&serde_json::Value),
) {
    let server = env.app.serve().await.unwrap();
    let nginx = Nginx::start(&server.address().to_string()).await;
    let reads = Arc::new(AtomicUsize::new(0));
    let counted = reads.clone();
    env.app.on_host_call(Arc::new(move |call: &HostCall| {
        if let HostCall::RedisExecute { arguments, .. } = call
            && arguments.first().map(Vec::as_slice) == Some(read_script.as_bytes())
        {
            counted.fetch_add(1, Ordering::SeqCst);
        }
        None
    }));

    let client: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let first = client.get(nginx.url(path).parse().unwrap()).await.unwrap();
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let answer = first.into_body().collect().await.unwrap().to_bytes();
    check(&serde_json::from_slice(&answer).unwrap());

    const PHONES: usize = 100;
    const POLLS: usize = 40;
    let started = Instant::now();
    let unchanged = Arc::new(AtomicUsize::new(0));
    let phones = (0..PHONES).map(|phone| {
        let client = client.clone();
        let url = nginx.url(path);
        let etag = etag.clone();
        let unchanged = unchanged.clone();
        tokio::spawn(async move {
            for _ in 0..POLLS {
                let mut request = http::Request::get(&url);
                if phone % 2 == 0 {
                    request = request.header("if-none-match", &etag);
                }
                let response = client
                    .request(request.body(Empty::new()).unwrap())
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                match status {
                    304 => {
                        assert_eq!(phone % 2, 0);
                        unchanged.fetch_add(1, Ordering::SeqCst);
                    }
                    200 => check(&serde_json::from_slice(&body).unwrap()),
                    other => panic!("a poll through nginx answered {other}"),
                }
            }
        })
    });
    for phone in phones {
        phone.await.unwrap();
    }
    let elapsed = started.elapsed();
    env.app.clear_host_call_hook();
    let polls = PHONES * POLLS;
    let reached = reads.load(Ordering::SeqCst);
    let per_second = polls as f64 / elapsed.as_secs_f64();
    println!(
        "{polls} polls of {path} in {elapsed:?} ({per_second:.0}/s) through nginx; {reached} reached the app"
    );
    assert!(
        reached >= 1,
        "the first poll reached the app, and was counted"
    );
    assert!(
        unchanged.load(Ordering::SeqCst) > 0,
        "the phones that send their ETag get 304s through nginx"
    );
    assert!(
        reached as f64 <= elapsed.as_secs_f64().ceil() + 2.0,
        "about one read a second reaches the app: {reached} in {elapsed:?}"
    );
    assert!(
        reached * 100 < polls,
        "the cache answered the room: {reached} of {polls}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_the_documented_nginx_thousands_of_polls_reach_the_app_as_about_one_a_second() {
    let env = TestEnv::start().await.unwrap();
    for choice in ["a", "b", "b"] {
        Visitor::new(&env.app).vote(choice).await.unwrap();
    }
    env.drain().await.unwrap();
    a_room_polls_through_nginx(&env, "/result/api", READ_SCRIPT, |answer| {
        assert_eq!(answer["total"], 3)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_the_documented_nginx_the_questions_list_is_read_about_once_a_second() {
    let env = TestEnv::setup().console().start().await.unwrap();
    Presenter::new(&env.app, ADMIN_TOKEN)
        .api_json(
            "PUT",
            "/admin/api/questions/mode",
            r#"{"mode":"open"}"#,
            200,
        )
        .await
        .unwrap();
    let asked = Visitor::new(&env.app)
        .send(
            "POST",
            "/api/questions",
            Some("application/json"),
            br#"{"text":"Why Wasm?"}"#,
        )
        .await
        .unwrap();
    assert_eq!(asked.status(), 202);
    env.drain().await.unwrap();
    a_room_polls_through_nginx(&env, "/api/questions", READ_LIST_SCRIPT, |answer| {
        assert_eq!(answer["questions"][0]["text"], "Why Wasm?")
    })
    .await;
}
