//! `scripts/chaos` against `scripts/up --detach`, end to end: scripts/up starts its own Redis
//! (with a password, as a managed one would want) and PostgreSQL, supervises the test host's
//! stand-in for `spin up`, and puts nginx's results cache in front; scripts/chaos stops PostgreSQL, shuts Redis down, kills the
//! worker's process group and restarts the whole app while the tool votes, and must find
//! nothing lost; the password appears in no output.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use test_services::free_port;
use voting_tests::{repository_root, wait_for};

/// `spin` for scripts/up: the test host's stand-in, except that `spin build` does nothing
/// (the components are built before the tests, and cargo cannot run inside `cargo test`).
const SPIN: &str = r#"#!/usr/bin/env bash
if [[ $1 == build ]]; then exit 0; fi
exec "$SPIN_TEST_HOST" "$@"
"#;

/// `s3cr/t@pa:ss`, URL-encoded as the variable wants it.
const ENCODED_PASSWORD: &str = "s3cr%2Ft%40pa%3Ass";

/// The results cache's verdict on a poll of `/result/api` at `port` (`X-Cache-Status`).
fn results_cache_status(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(b"GET /result/api HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer
        .lines()
        .find_map(|line| line.strip_prefix("X-Cache-Status: "))
        .map(str::to_owned)
}

#[test]
fn scripts_chaos_against_scripts_up_loses_nothing() {
    let bin = tempfile::tempdir().unwrap();
    let spin = bin.path().join("spin");
    std::fs::write(&spin, SPIN).unwrap();
    std::fs::set_permissions(&spin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = tempfile::tempdir().unwrap();
    // When run as root, PostgreSQL runs as `postgres`, who must reach its directory.
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let [redis, postgres, web] = [(); 3].map(|()| free_port().unwrap());
    let environment = [
        (
            "PATH",
            format!(
                "{}:{}",
                bin.path().display(),
                std::env::var("PATH").unwrap()
            ),
        ),
        (
            "SPIN_TEST_HOST",
            voting_tests::spin_test_host_binary().display().to_string(),
        ),
        ("LOADTEST", env!("CARGO_BIN_EXE_loadtest").to_owned()),
        ("UP_DATA_DIR", data.path().display().to_string()),
        ("UP_MAX_BACKOFF_SECONDS", "1".to_owned()),
        ("SPIN_VARIABLE_REDIS_HOST", format!("127.0.0.1:{redis}")),
        ("SPIN_VARIABLE_REDIS_PASSWORD", ENCODED_PASSWORD.to_owned()),
        (
            "SPIN_VARIABLE_POSTGRES_HOST",
            format!("127.0.0.1:{postgres}"),
        ),
        ("SPIN_HTTP_LISTEN_ADDR", format!("127.0.0.1:{web}")),
    ];
    let script = |name: &str| {
        let mut command = Command::new(repository_root().join("scripts").join(name));
        command.envs(environment.clone()).stdin(Stdio::null());
        command
    };

    assert!(script("up").arg("--detach").status().unwrap().success());
    wait_for("the app to answer", || {
        std::net::TcpStream::connect(("127.0.0.1", web)).is_ok()
    });
    // With nginx installed, scripts/up puts the results cache in front of the web tier.
    wait_for("the results cache to answer a poll", || {
        results_cache_status(web).as_deref() == Some("HIT")
    });
    let chaos = script("chaos")
        .args([
            "--rate", "200", "--outage", "0.5", "--settle", "0.5", "--limit", "120",
        ])
        .output()
        .unwrap();
    let down = script("down").status().unwrap();

    let stdout = String::from_utf8_lossy(&chaos.stdout);
    let stderr = String::from_utf8_lossy(&chaos.stderr);
    let log = std::fs::read_to_string(data.path().join("up.log")).unwrap_or_default();
    assert!(chaos.status.success(), "{stdout}\n{stderr}\n{log}");
    assert!(down.success());
    for fault in [
        "postgres stopped",
        "redis restarted",
        "worker killed",
        "app restarted",
    ] {
        assert!(
            stdout
                .lines()
                .any(|line| line.trim_start().starts_with(fault)
                    && line.contains("caught up")
                    && !line.contains("FAILED")),
            "{fault}: {stdout}"
        );
    }
    assert!(stdout.contains("lost:       0"), "{stdout}");
    for output in [stdout.as_ref(), stderr.as_ref(), log.as_str()] {
        for secret in ["s3cr/t@pa:ss", ENCODED_PASSWORD] {
            assert!(
                !output.contains(secret),
                "the Redis password leaked: {output}"
            );
        }
    }
    assert!(stdout.contains("queue:      drained"), "{stdout}");
    wait_for("Redis and PostgreSQL to stop with the app", || {
        std::net::TcpStream::connect(("127.0.0.1", redis)).is_err()
            && std::net::TcpStream::connect(("127.0.0.1", postgres)).is_err()
    });
}
