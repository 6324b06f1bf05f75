//! scripts/up's supervision, run with a stand-in `spin` on PATH (the real CLI cannot be
//! installed here): a worker that exits is restarted and the doorbell is rung after each
//! start; the worker can be killed as a process group; stopping scripts/up stops everything
//! it started.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use spin_test_host::repository_root;
use spin_test_host::services::{TestPostgres, TestRedis, spin_variables};

/// Logs each invocation; `up -c worker` subscribes to the channel and exits after the first
/// message, like a worker that crashes after each doorbell; the web tier just stays up.
const FAKE_SPIN: &str = r#"#!/usr/bin/env bash
echo "start $$ $*" >>"$FAKE_SPIN_LOG"
host=${SPIN_VARIABLE_REDIS_HOST%:*} port=${SPIN_VARIABLE_REDIS_HOST##*:}
case "$*" in
  build) exit 0 ;;
  "up -c worker")
    coproc subscriber { exec redis-cli -h "$host" -p "$port" SUBSCRIBE votes; }
    while read -r line <&"${subscriber[0]}"; do
      if [[ $line == catch-up ]]; then
        echo "doorbell $$" >>"$FAKE_SPIN_LOG"
        kill "$subscriber_PID"
        exit 3
      fi
    done ;;
  *) exec sleep 600 ;;
esac
"#;

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !condition() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn is_alive(pid: &str) -> bool {
    Path::new("/proc").join(pid).exists()
}

#[tokio::test(flavor = "multi_thread")]
async fn up_restarts_an_exited_worker_rings_the_doorbell_each_time_and_stops_everything() {
    let redis = TestRedis::start().await.unwrap();
    let postgres = TestPostgres::start().await.unwrap();
    let bin = tempfile::tempdir().unwrap();
    let spin = bin.path().join("spin");
    std::fs::write(&spin, FAKE_SPIN).unwrap();
    std::fs::set_permissions(&spin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = bin.path().join("spin.log");
    let data = tempfile::tempdir().unwrap();
    std::fs::write(&log, "").unwrap();

    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let mut up = Command::new(repository_root().join("scripts/up"))
        .envs(spin_variables(&redis, &postgres))
        .env("PATH", path)
        .env("FAKE_SPIN_LOG", &log)
        .env("UP_MAX_BACKOFF_SECONDS", "1")
        .env("UP_DATA_DIR", data.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let read_log = || std::fs::read_to_string(&log).unwrap();
    wait_for("two doorbells", || {
        read_log().matches("doorbell").count() >= 2
    });
    let lines = read_log();
    assert!(
        lines.lines().any(|line| line.ends_with(" build")),
        "{lines}"
    );
    let web_starts = lines
        .lines()
        .filter(|line| line.ends_with("up -c counter -c vote -c result"))
        .count();
    assert_eq!(web_starts, 1, "the web tier stayed up:\n{lines}");
    let worker_starts = lines
        .lines()
        .filter(|line| line.ends_with("up -c worker"))
        .count();
    assert!(worker_starts >= 2, "the worker was restarted:\n{lines}");

    // The worker leads its own process group, named in .data/worker.pid: killing the group
    // (as `loadtest chaos --worker-pid-file` does) leaves no orphan, and the supervisor starts
    // a new worker.
    let pid_file = data.path().join("worker.pid");
    let group_of = |pid: &str| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(2)
            .map(str::to_owned)
    };
    let mut worker = String::new();
    wait_for("a running worker that leads its process group", || {
        worker = std::fs::read_to_string(&pid_file)
            .unwrap_or_default()
            .trim()
            .to_owned();
        group_of(&worker).as_deref() == Some(worker.as_str())
    });
    Command::new("kill")
        .args(["-KILL", "--", &format!("-{worker}")])
        .status()
        .unwrap();
    wait_for("the worker's process group to be gone", || {
        std::fs::read_dir("/proc").unwrap().all(|entry| {
            let pid = entry.unwrap().file_name().into_string().unwrap();
            group_of(&pid).as_deref() != Some(worker.as_str())
        })
    });
    wait_for("a new worker", || {
        std::fs::read_to_string(&pid_file)
            .is_ok_and(|pid| pid.trim() != worker && is_alive(pid.trim()))
    });

    Command::new("kill")
        .args(["-TERM", &up.id().to_string()])
        .status()
        .unwrap();
    up.wait().unwrap();
    let lines = read_log();
    for line in lines.lines().filter(|line| line.starts_with("start ")) {
        let pid = line.split(' ').nth(1).unwrap();
        wait_for(&format!("{line} to stop"), || !is_alive(pid));
    }
}

#[test]
fn up_says_how_to_install_spin_when_it_is_missing() {
    let data = tempfile::tempdir().unwrap();
    let output = Command::new(repository_root().join("scripts/up"))
        .env("PATH", "/usr/bin:/bin")
        .env("UP_DATA_DIR", data.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("spin is not installed") && stderr.contains("spinframework.dev/install"),
        "{stderr}"
    );
}
