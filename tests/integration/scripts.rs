//! scripts/up's supervision, run with a stand-in `spin` on PATH (the real CLI cannot be
//! installed here): a worker that exits is restarted and the doorbell is rung after each
//! start; the worker can be killed as a process group; stopping scripts/up stops everything
//! it started; before anything starts, it logs into Redis as the app would and names the
//! variable to change when that fails.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use test_services::{AclUser, RedisSecurity, TestPostgres, TestRedis, free_port};
use voting_tests::{repository_root, spin_variables, wait_for};

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

/// This process's PATH without the directories that hold `initdb`, as on a fresh Debian or
/// Ubuntu machine, where PostgreSQL's server binaries live in `/usr/lib/postgresql/<N>/bin`.
fn path_without_initdb() -> String {
    let path = std::env::var_os("PATH").unwrap();
    let kept: Vec<_> = std::env::split_paths(&path)
        .filter(|dir| !dir.join("initdb").exists())
        .collect();
    std::env::join_paths(kept).unwrap().into_string().unwrap()
}

/// scripts/prerequisites.sh's `postgres_bin_dir` with `path` as PATH: what it printed, if it
/// succeeded.
fn postgres_bin_dir_with(path: &str) -> Option<String> {
    let output = Command::new("/bin/bash")
        .args(["-c", "source scripts/prerequisites.sh && postgres_bin_dir"])
        .env("PATH", path)
        .current_dir(repository_root())
        .output()
        .unwrap();
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[test]
fn the_scripts_find_postgresqls_server_binaries_off_path() {
    let dir = postgres_bin_dir_with(&path_without_initdb()).expect(
        "PostgreSQL's server binaries are installed (Debian/Ubuntu: apt-get install postgresql)",
    );
    assert!(Path::new(&dir).join("initdb").is_file(), "{dir}");
    assert!(Path::new(&dir).join("postgres").is_file(), "{dir}");
    // With nothing on PATH at all (not even pg_config), where Debian puts them.
    let found = postgres_bin_dir_with("/nonexistent").expect("found without PATH");
    if cfg!(target_os = "linux") {
        assert!(found.starts_with("/usr/lib/postgresql/"), "{found}");
    }
    assert_eq!(
        test_services::find_postgres_bin_dir(std::ffi::OsStr::new("/nonexistent"))
            .unwrap()
            .display()
            .to_string(),
        found,
        "the tests and the scripts look alike"
    );
}

/// An `initdb` that records how its password file may be read, then fails, beside a `postgres`.
const FAILING_INITDB: &str = r#"#!/bin/sh
for argument in "$@"; do
  case $argument in
    --pwfile=*) echo "pwfile mode $(stat -c %a "${argument#--pwfile=}")" ;;
  esac
done
exit 1
"#;

#[tokio::test]
async fn up_keeps_the_postgresql_password_file_private_and_removes_it_when_initdb_fails() {
    let bin = tempfile::tempdir().unwrap();
    std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for (name, script) in [
        ("spin", FAKE_SPIN),
        ("initdb", FAILING_INITDB),
        (
            "postgres",
            "#!/bin/sh
exit 1
",
        ),
    ] {
        let file = bin.path().join(name);
        std::fs::write(&file, script).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let data = tempfile::tempdir().unwrap();
    // When run as root, initdb runs as `postgres`, who must reach the data directory.
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let redis = TestRedis::start().await.unwrap();
    let output = Command::new(repository_root().join("scripts/up"))
        .envs(voting_tests::redis_variables(&redis))
        .env(
            "SPIN_VARIABLE_POSTGRES_HOST",
            format!("127.0.0.1:{}", free_port().unwrap()),
        )
        .env("SPIN_VARIABLE_POSTGRES_PASSWORD", "pw-never-left-behind")
        .env(
            "PATH",
            format!("{}:{}", bin.path().display(), path_without_initdb()),
        )
        .env("FAKE_SPIN_LOG", bin.path().join("spin.log"))
        .env("UP_DATA_DIR", data.path())
        // Not about the results cache: no nginx on the default address.
        .env("UP_PROXY", "off")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("initdb failed; see .data/initdb.log"),
        "{stderr}"
    );
    let initdb_log = std::fs::read_to_string(data.path().join("initdb.log")).unwrap();
    assert_eq!(
        initdb_log.trim(),
        "pwfile mode 600",
        "only its owner may read it"
    );
    let left: Vec<_> = std::fs::read_dir(data.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!left.iter().any(|name| name.contains("pwfile")), "{left:?}");
    for entry in walk(data.path()) {
        let text = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&text).contains("pw-never-left-behind"),
            "the password is left in {}",
            entry.display()
        );
    }
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn is_alive(pid: &str) -> bool {
    Path::new("/proc").join(pid).exists()
}

#[tokio::test(flavor = "multi_thread")]
async fn up_restarts_an_exited_worker_rings_the_doorbell_each_time_and_stops_everything() {
    // With a password, as a managed Redis wants: the doorbell and the stand-in's SUBSCRIBE log in.
    let redis = TestRedis::start_secured(RedisSecurity {
        password: Some("s3cr/t@pa:ss".to_owned()),
        ..RedisSecurity::default()
    })
    .await
    .unwrap();
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
        // Not about the results cache: no nginx on the default address.
        .env("UP_PROXY", "off")
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
        .filter(|line| line.ends_with("up -c counter -c vote -c result -c admin -c questions"))
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
        // Not about the results cache: no nginx on the default address.
        .env("UP_PROXY", "off")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("spin is not installed") && stderr.contains("spinframework.dev/install"),
        "{stderr}"
    );
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// The password `up_restarts_the_redis_and_postgresql_it_started_when_they_exit` configures.
const LOCAL_PASSWORD: &str = "l0cal/@:pw";

fn redis_cli(port: u16, arguments: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(arguments)
        .env("REDISCLI_AUTH", LOCAL_PASSWORD)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn up_restarts_the_redis_and_postgresql_it_started_when_they_exit() {
    let bin = tempfile::tempdir().unwrap();
    let spin = bin.path().join("spin");
    std::fs::write(&spin, FAKE_SPIN).unwrap();
    std::fs::set_permissions(&spin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = bin.path().join("spin.log");
    std::fs::write(&log, "").unwrap();
    let data = tempfile::tempdir().unwrap();
    // When run as root, PostgreSQL runs as `postgres`, who must reach its directory.
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (redis_port, postgres_port) = (free_port().unwrap(), free_port().unwrap());
    // As on a fresh Debian machine: PostgreSQL's server binaries are not on PATH.
    let path = format!("{}:{}", bin.path().display(), path_without_initdb());
    let mut up = Command::new(repository_root().join("scripts/up"))
        .env("PATH", path)
        .env("FAKE_SPIN_LOG", &log)
        .env("UP_MAX_BACKOFF_SECONDS", "1")
        .env("UP_DATA_DIR", data.path())
        // Not about the results cache: no nginx on the default address.
        .env("UP_PROXY", "off")
        .env(
            "SPIN_VARIABLE_REDIS_HOST",
            format!("127.0.0.1:{redis_port}"),
        )
        .env("SPIN_VARIABLE_REDIS_PASSWORD", "l0cal%2F%40%3Apw")
        .env(
            "SPIN_VARIABLE_POSTGRES_HOST",
            format!("127.0.0.1:{postgres_port}"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("Redis and PostgreSQL", || {
        listening(redis_port) && listening(postgres_port)
    });

    // The Redis it started wants the configured password, which is on no command line.
    let anonymous = Command::new("redis-cli")
        .args(["-p", &redis_port.to_string(), "PING"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&anonymous.stdout).contains("NOAUTH"));
    assert_eq!(redis_cli(redis_port, &["PING"]), "PONG");
    let config = data.path().join("redis.conf");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o077,
        0,
        "only its owner may read {}",
        config.display()
    );
    for entry in std::fs::read_dir("/proc").unwrap() {
        let command_line = std::fs::read(entry.unwrap().path().join("cmdline")).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&command_line).contains(LOCAL_PASSWORD));
    }

    // Redis shut down (saving its append-only file) comes back with its data.
    assert_eq!(redis_cli(redis_port, &["SET", "kept", "yes"]), "OK");
    redis_cli(redis_port, &["SHUTDOWN"]);
    wait_for("Redis to be restarted", || {
        redis_cli(redis_port, &["GET", "kept"]) == "yes"
    });

    // PostgreSQL stopped comes back as a new server.
    let postmaster = data.path().join("postgres/postmaster.pid");
    let first_line = |path: &Path| {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.lines().next().map(str::to_owned))
    };
    let stopped = first_line(&postmaster).unwrap();
    Command::new("kill")
        .args(["-INT", &stopped])
        .status()
        .unwrap();
    wait_for("PostgreSQL to be restarted", || {
        first_line(&postmaster).is_some_and(|pid| pid != stopped && is_alive(&pid))
            && listening(postgres_port)
    });

    let restarted = first_line(&postmaster).unwrap();
    Command::new("kill")
        .args(["-TERM", &up.id().to_string()])
        .status()
        .unwrap();
    up.wait().unwrap();
    wait_for("PostgreSQL to stop", || !is_alive(&restarted));
    wait_for("Redis to stop", || !listening(redis_port));
}

/// Runs scripts/up against `redis` with `settings` and the stand-in `spin`; returns whether it
/// succeeded, its standard error, and whether it got as far as `spin build`.
fn up_with(redis: &TestRedis, settings: &[(&str, &str)]) -> (bool, String, bool) {
    let bin = tempfile::tempdir().unwrap();
    let spin = bin.path().join("spin");
    std::fs::write(&spin, FAKE_SPIN).unwrap();
    std::fs::set_permissions(&spin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = bin.path().join("spin.log");
    std::fs::write(&log, "").unwrap();
    let data = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let output = Command::new(repository_root().join("scripts/up"))
        .envs(voting_tests::redis_variables(redis))
        .envs(settings.iter().copied())
        // Refused at once and not local: were the check passed, scripts/up would stop here.
        .env("SPIN_VARIABLE_POSTGRES_HOST", "127.0.0.2:1")
        .env("PATH", path)
        .env("FAKE_SPIN_LOG", &log)
        .env("UP_DATA_DIR", data.path())
        // Not about the results cache: no nginx on the default address.
        .env("UP_PROXY", "off")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let built = std::fs::read_to_string(&log).unwrap().contains(" build");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), stderr, built)
}

#[tokio::test]
async fn up_logs_into_redis_as_the_app_would_and_names_the_variable_to_change() {
    const PASSWORD: &str = "s3cr/t@pa:ss";
    let password = RedisSecurity {
        password: Some(PASSWORD.to_owned()),
        ..RedisSecurity::default()
    };
    let plain = TestRedis::start_secured(password.clone()).await.unwrap();
    let tls = TestRedis::start_secured(RedisSecurity {
        tls: true,
        ..password.clone()
    })
    .await
    .unwrap();
    let tls_port = tls.tls_host().unwrap().to_owned();
    let without_channel = TestRedis::start_secured(RedisSecurity {
        user: Some(AclUser {
            name: "voting".to_owned(),
            password: PASSWORD.to_owned(),
            rules: "~* +@all".to_owned(),
        }),
        ..password
    })
    .await
    .unwrap();
    let refused = |redis: &TestRedis, settings: &[(&str, &str)], advice: &str| {
        let (succeeded, stderr, built) = up_with(redis, settings);
        assert!(
            !succeeded && stderr.contains(advice),
            "{settings:?}: {stderr}"
        );
        assert!(!built, "{settings:?}: stopped before spin build");
        assert!(!stderr.contains(PASSWORD), "{stderr}");
        assert!(!stderr.contains("s3cr%2Ft%40pa%3Ass"), "{stderr}");
    };
    let password = |value| [("SPIN_VARIABLE_REDIS_PASSWORD", value)];
    refused(&plain, &password(""), "set SPIN_VARIABLE_REDIS_PASSWORD");
    refused(&plain, &password("wrong"), "refused the login");
    refused(&plain, &password(PASSWORD), "must be URL-encoded");
    refused(
        &without_channel,
        &[],
        "may not publish on the channel votes",
    );
    let plain_client = [
        ("SPIN_VARIABLE_REDIS_SCHEME", "redis"),
        ("SPIN_VARIABLE_REDIS_HOST", tls_port.as_str()),
    ];
    refused(&tls, &plain_client, "SPIN_VARIABLE_REDIS_SCHEME=rediss");
    refused(&tls, &[], "does not trust");
    let (_, stderr, _) = up_with(&plain, &[]);
    assert!(
        stderr.contains("PostgreSQL at 127.0.0.2:1"),
        "the right login passes: {stderr}"
    );
}
