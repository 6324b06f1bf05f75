//! Redis and PostgreSQL for tests.
//!
//! Each test gets its own: `REDIS_URL` / `DATABASE_URL` when set (tests using them then run
//! one at a time, and each gets a fresh database), otherwise a throwaway `redis-server` or
//! `postgres` process on a free port in a temporary directory, stopped when the test ends;
//! otherwise, with the `testcontainers` feature, a container when a Docker engine answers.
//! When none of these is possible the error says what to install.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use tempfile::TempDir;
use tokio::sync::{Mutex, MutexGuard};

/// How long a server may take to accept connections after it starts.
const STARTUP_LIMIT: Duration = Duration::from_secs(60);

/// Tests that share an external server take turns.
static EXTERNAL_SERVICES: LazyLock<Mutex<()>> = LazyLock::new(|| Mutex::new(()));

/// A Redis server for one test.
pub struct TestRedis {
    /// The plain port, `host:port`.
    host: String,
    security: RedisSecurity,
    /// With [`RedisSecurity::tls`]: the TLS port, and the test CA that signed its certificate.
    tls: Option<(String, std::path::PathBuf)>,
    backend: RedisBackend,
    _turn: Option<MutexGuard<'static, ()>>,
}

/// How a test Redis wants clients to log in and connect, as managed Redis services do.
#[derive(Debug, Clone, Default)]
pub struct RedisSecurity {
    /// The `default` user's password (`requirepass`); the test's own connections use it.
    pub password: Option<String>,
    /// An ACL user for the app; the `default` user then needs [`RedisSecurity::password`].
    pub user: Option<AclUser>,
    /// A TLS port beside the plain one, its certificate signed by a test CA, and no client
    /// certificates asked for (`--tls-auth-clients no`), as managed services do it.
    pub tls: bool,
}

/// A Redis ACL user: name, password and rules (`~keys &channels +commands`).
#[derive(Debug, Clone)]
pub struct AclUser {
    pub name: String,
    pub password: String,
    pub rules: String,
}

enum RedisBackend {
    External,
    Process(ServerProcess),
    /// Held so the container lives as long as the test; dropping it removes the container.
    #[cfg(feature = "testcontainers")]
    Container {
        _container: testcontainers::ContainerAsync<testcontainers::GenericImage>,
    },
}

impl TestRedis {
    /// A Redis server that starts empty, open to any client on the loopback.
    pub async fn start() -> anyhow::Result<TestRedis> {
        if let Ok(url) = std::env::var("REDIS_URL") {
            let turn = EXTERNAL_SERVICES.lock().await;
            let host = host_of_url(&url).context("REDIS_URL")?;
            let redis = TestRedis {
                host,
                security: RedisSecurity::default(),
                tls: None,
                backend: RedisBackend::External,
                _turn: Some(turn),
            };
            redis::cmd("FLUSHALL")
                .exec_async(&mut redis.connection().await?)
                .await
                .context("emptying the Redis at REDIS_URL")?;
            return Ok(redis);
        }
        if let Some(redis) = Self::local(RedisSecurity::default()).await? {
            return Ok(redis);
        }
        #[cfg(feature = "testcontainers")]
        if let Some(container) = containers::redis().await? {
            let host = containers::host(&container, 6379).await?;
            return Ok(TestRedis {
                host,
                security: RedisSecurity::default(),
                tls: None,
                backend: RedisBackend::Container {
                    _container: container,
                },
                _turn: None,
            });
        }
        bail!(
            "tests need Redis: install redis-server (Debian: apt-get install redis-server), \
             or set REDIS_URL to a Redis they may empty"
        )
    }

    /// A local `redis-server` that asks for what `security` says (passwords, an ACL user, TLS).
    pub async fn start_secured(security: RedisSecurity) -> anyhow::Result<TestRedis> {
        Self::local(security).await?.context(
            "the tests of Redis passwords and TLS need a local redis-server built with TLS \
             (Debian: apt-get install redis-server)",
        )
    }

    async fn local(security: RedisSecurity) -> anyhow::Result<Option<TestRedis>> {
        let Some((process, tls)) = ServerProcess::redis(&security)? else {
            return Ok(None);
        };
        let redis = TestRedis {
            host: process.host(),
            security,
            tls,
            backend: RedisBackend::Process(process),
            _turn: None,
        };
        wait_for_redis(&redis.url()).await?;
        Ok(Some(redis))
    }

    /// `host:port` of the plain port, the form of the `redis_host` variable.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `host:port` of the TLS port, when the server has one.
    pub fn tls_host(&self) -> Option<&str> {
        self.tls.as_ref().map(|(host, _)| host.as_str())
    }

    /// The test CA's certificate (PEM), which a client must trust to use the TLS port.
    pub fn ca_certificate(&self) -> Option<&Path> {
        self.tls.as_ref().map(|(_, ca)| ca.as_path())
    }

    /// The plain port's URL with the `default` user's password: for the test's own
    /// connections, which see everything.
    pub fn url(&self) -> String {
        match &self.security.password {
            Some(password) => format!(
                "redis://:{}@{}",
                crate::outbound::percent_encode_all(password),
                self.host
            ),
            None => format!("redis://{}", self.host),
        }
    }

    /// The `SPIN_VARIABLE_*` settings that point the app at this server as its own client:
    /// the TLS port with `rediss` when there is one, the ACL user or the `default` user's
    /// password, the credentials URL-encoded as the variables want them.
    pub fn spin_variables(&self) -> Vec<(String, String)> {
        let (scheme, host) = match self.tls_host() {
            Some(host) => ("rediss", host),
            None => ("redis", self.host.as_str()),
        };
        let (username, password) = match (&self.security.user, &self.security.password) {
            (Some(user), _) => (user.name.as_str(), user.password.as_str()),
            (None, Some(password)) => ("", password.as_str()),
            (None, None) => ("", ""),
        };
        [
            ("REDIS_SCHEME", scheme.to_owned()),
            ("REDIS_HOST", host.to_owned()),
            (
                "REDIS_USERNAME",
                crate::outbound::percent_encode_all(username),
            ),
            (
                "REDIS_PASSWORD",
                crate::outbound::percent_encode_all(password),
            ),
        ]
        .into_iter()
        .map(|(name, value)| (format!("SPIN_VARIABLE_{name}"), value))
        .collect()
    }

    pub async fn connection(&self) -> anyhow::Result<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(self.url())?;
        client
            .get_multiplexed_async_connection()
            .await
            .with_context(|| format!("connecting to Redis at {}", self.host))
    }

    /// Stops the server; its data is kept for [`TestRedis::restart`].
    pub fn stop(&mut self) -> anyhow::Result<()> {
        self.process()?.stop()
    }

    /// Starts the stopped server again on the same port, with the data it saved.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.process()?.restart()?;
        wait_for_redis(&self.url()).await
    }

    fn process(&mut self) -> anyhow::Result<&mut ServerProcess> {
        match &mut self.backend {
            RedisBackend::Process(process) => Ok(process),
            _ => bail!("stopping Redis needs a local redis-server: install it and unset REDIS_URL"),
        }
    }
}

/// A PostgreSQL database for one test.
pub struct TestPostgres {
    pub host: String,
    pub user: String,
    pub password: String,
    pub database: String,
    backend: PostgresBackend,
    _turn: Option<MutexGuard<'static, ()>>,
}

enum PostgresBackend {
    External,
    Process(ServerProcess),
    /// Held so the container lives as long as the test; dropping it removes the container.
    #[cfg(feature = "testcontainers")]
    Container {
        _container: testcontainers::ContainerAsync<testcontainers::GenericImage>,
    },
}

const TEST_USER: &str = "postgres";
const TEST_PASSWORD: &str = "postgres";

impl TestPostgres {
    /// An empty database.
    pub async fn start() -> anyhow::Result<TestPostgres> {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return Self::external(&url).await;
        }
        if let Some(process) = ServerProcess::postgres(Tls::Off)? {
            return Self::local(process).await;
        }
        #[cfg(feature = "testcontainers")]
        if let Some(container) = containers::postgres(TEST_PASSWORD).await? {
            let postgres = TestPostgres {
                host: containers::host(&container, 5432).await?,
                user: TEST_USER.to_owned(),
                password: TEST_PASSWORD.to_owned(),
                database: "postgres".to_owned(),
                backend: PostgresBackend::Container {
                    _container: container,
                },
                _turn: None,
            };
            wait_for_postgres(&postgres).await?;
            return Ok(postgres);
        }
        bail!(
            "tests need PostgreSQL: put its server binaries (initdb, postgres) on PATH \
             (Debian: apt-get install postgresql), or set DATABASE_URL"
        )
    }

    /// A local server that offers TLS with a freshly generated self-signed certificate, as
    /// a managed or packaged PostgreSQL often does (Debian's default cluster, for one).
    pub async fn start_with_self_signed_tls() -> anyhow::Result<TestPostgres> {
        let process = ServerProcess::postgres(Tls::SelfSigned)?.context(
            "the TLS tests need local PostgreSQL server binaries (initdb, postgres) on PATH \
             (Debian: apt-get install postgresql)",
        )?;
        Self::local(process).await
    }

    async fn local(process: ServerProcess) -> anyhow::Result<TestPostgres> {
        let postgres = TestPostgres {
            host: process.host(),
            user: TEST_USER.to_owned(),
            password: TEST_PASSWORD.to_owned(),
            database: "postgres".to_owned(),
            backend: PostgresBackend::Process(process),
            _turn: None,
        };
        wait_for_postgres(&postgres).await?;
        Ok(postgres)
    }

    async fn external(url: &str) -> anyhow::Result<TestPostgres> {
        let turn = EXTERNAL_SERVICES.lock().await;
        let config: tokio_postgres::Config = url.parse().context("DATABASE_URL")?;
        let host = match (config.get_hosts().first(), config.get_ports().first()) {
            (Some(tokio_postgres::config::Host::Tcp(host)), port) => {
                format!("{host}:{}", port.copied().unwrap_or(5432))
            }
            _ => bail!("DATABASE_URL must name a TCP host"),
        };
        let mut postgres = TestPostgres {
            host,
            user: config.get_user().unwrap_or("postgres").to_owned(),
            password: config
                .get_password()
                .map(|password| String::from_utf8_lossy(password).into_owned())
                .unwrap_or_default(),
            database: config.get_dbname().unwrap_or("postgres").to_owned(),
            backend: PostgresBackend::External,
            _turn: Some(turn),
        };
        let database = format!("voting_test_{}", std::process::id());
        let client = postgres.client().await?;
        client
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {database}; CREATE DATABASE {database}"
            ))
            .await
            .context("creating a test database at DATABASE_URL (needs CREATEDB)")?;
        postgres.database = database;
        Ok(postgres)
    }

    /// A client connected to the test database.
    pub async fn client(&self) -> anyhow::Result<tokio_postgres::Client> {
        let (client, connection) = tokio_postgres::connect(&self.address(), tokio_postgres::NoTls)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {}", self.host))?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// The URL a component builds from the manifest's variables.
    pub fn address(&self) -> String {
        voting_shared::address::PostgresConfig {
            host: self.host.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            database: self.database.clone(),
            ssl_mode: "disable".to_owned(),
        }
        .address()
    }

    /// Stops the server; its data is kept for [`TestPostgres::restart`].
    pub fn stop(&mut self) -> anyhow::Result<()> {
        self.process()?.stop()
    }

    /// Starts the stopped server again on the same port.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.process()?.restart()?;
        wait_for_postgres(self).await
    }

    fn process(&mut self) -> anyhow::Result<&mut ServerProcess> {
        match &mut self.backend {
            PostgresBackend::Process(process) => Ok(process),
            _ => bail!(
                "stopping PostgreSQL needs local server binaries: install them and unset DATABASE_URL"
            ),
        }
    }
}

/// The `SPIN_VARIABLE_*` settings that point the app at these services.
pub fn spin_variables(
    redis: &TestRedis,
    postgres: &TestPostgres,
) -> std::collections::HashMap<String, String> {
    let postgres = [
        ("POSTGRES_HOST", postgres.host.clone()),
        ("POSTGRES_USER", postgres.user.clone()),
        ("POSTGRES_PASSWORD", postgres.password.clone()),
        ("POSTGRES_DATABASE", postgres.database.clone()),
    ]
    .into_iter()
    .map(|(name, value)| (format!("SPIN_VARIABLE_{name}"), value));
    redis.spin_variables().into_iter().chain(postgres).collect()
}

/// A server process in a temporary directory, killed when dropped.
struct ServerProcess {
    command: Vec<String>,
    run_as_postgres: bool,
    port: u16,
    child: Option<Child>,
    dir: TempDir,
}

impl ServerProcess {
    /// A `redis-server` with its settings in a file (passwords stay off the command line),
    /// and, with TLS, the TLS port and the CA that signed its certificate.
    #[allow(clippy::type_complexity)]
    fn redis(
        security: &RedisSecurity,
    ) -> anyhow::Result<Option<(ServerProcess, Option<(String, std::path::PathBuf)>)>> {
        if !on_path("redis-server") {
            return Ok(None);
        }
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let mut config = format!(
            "bind 127.0.0.1\nport {port}\ndir \"{}\"\nsave \"\"\nappendonly yes\n\
             appendfsync no\ndaemonize no\nloglevel warning\n",
            dir.path().display()
        );
        if let Some(password) = &security.password {
            config.push_str(&format!("user default on >{password} ~* &* +@all\n"));
        }
        if let Some(user) = &security.user {
            config.push_str(&format!(
                "user {} on >{} {}\n",
                user.name, user.password, user.rules
            ));
        }
        let tls = if security.tls {
            let files = certificate_signed_by_a_test_ca(dir.path())?;
            let tls_port = free_port()?;
            config.push_str(&format!(
                "tls-port {tls_port}\ntls-cert-file \"{}\"\ntls-key-file \"{}\"\n\
                 tls-ca-cert-file \"{}\"\ntls-auth-clients no\n",
                files.certificate.display(),
                files.key.display(),
                files.ca.display()
            ));
            Some((format!("127.0.0.1:{tls_port}"), files.ca))
        } else {
            None
        };
        let config_file = dir.path().join("redis.conf");
        std::fs::write(&config_file, config)?;
        let command = vec!["redis-server".to_owned(), config_file.display().to_string()];
        let mut process = ServerProcess {
            command,
            run_as_postgres: false,
            port,
            child: None,
            dir,
        };
        process.restart()?;
        Ok(Some((process, tls)))
    }

    fn postgres(tls: Tls) -> anyhow::Result<Option<ServerProcess>> {
        if !on_path("postgres") || !on_path("initdb") {
            return Ok(None);
        }
        let run_as_postgres = is_root();
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        copy_template_cluster(&data, run_as_postgres)?;
        let port = free_port()?;
        let mut command = [
            "postgres",
            "-D",
            &data.display().to_string(),
            "-p",
            &port.to_string(),
            "-k",
            &dir.path().display().to_string(),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ]
        .map(str::to_owned)
        .to_vec();
        if tls == Tls::SelfSigned {
            command.extend(self_signed_certificate(dir.path())?);
        }
        if run_as_postgres {
            chown_to_postgres(dir.path())?;
        }
        let mut process = ServerProcess {
            command,
            run_as_postgres,
            port,
            child: None,
            dir,
        };
        process.restart()?;
        Ok(Some(process))
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn restart(&mut self) -> anyhow::Result<()> {
        ensure!(self.child.is_none(), "the server is already running");
        let mut command = server_command(&self.command, self.run_as_postgres);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.command[0]))?;
        self.child = Some(child);
        Ok(())
    }

    fn stop(&mut self) -> anyhow::Result<()> {
        let mut child = self.child.take().context("the server is not running")?;
        // SIGINT: PostgreSQL's fast shutdown; Redis saves its append-only file and exits.
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()?;
        child.wait()?;
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn server_command(command: &[String], run_as_postgres: bool) -> Command {
    if run_as_postgres {
        // PostgreSQL refuses to run as root.
        let mut wrapped = Command::new("setpriv");
        wrapped.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ]);
        wrapped.args(command);
        wrapped
    } else {
        let mut plain = Command::new(&command[0]);
        plain.args(&command[1..]);
        plain
    }
}

/// `initdb` is slow, so one cluster per machine and PostgreSQL version is made once and copied.
/// It lives in the system's temporary directory, not in the checkout: when the tests run as
/// root the cluster belongs to the `postgres` user, who may not be able to enter the checkout
/// (a clone under `/root`, or in a `mktemp -d` folder).
fn copy_template_cluster(data: &Path, run_as_postgres: bool) -> anyhow::Result<()> {
    let template = template_cluster_path()?;
    if !template.join("PG_VERSION").exists() {
        let staging = tempfile::Builder::new()
            .prefix("spin-voting-app-initdb")
            .tempdir_in(template.parent().context("template has a parent")?)?
            .keep();
        let password_file = staging.join("pwfile");
        std::fs::write(&password_file, TEST_PASSWORD)?;
        let cluster = staging.join("data");
        if run_as_postgres {
            chown_to_postgres(&staging)?;
        }
        let initdb = [
            "initdb",
            "-D",
            &cluster.display().to_string(),
            "-U",
            TEST_USER,
            &format!("--pwfile={}", password_file.display()),
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "--no-sync",
            "--encoding=UTF8",
            "--locale=C",
        ]
        .map(str::to_owned);
        let output = server_command(&initdb, run_as_postgres)
            .output()
            .context("running initdb")?;
        ensure!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        // Another test process may have won the race; either copy is as good.
        if std::fs::rename(&cluster, &template).is_err() {
            ensure!(
                template.join("PG_VERSION").exists(),
                "could not create {}",
                template.display()
            );
        }
        let _ = std::fs::remove_dir_all(&staging);
    }
    let status = Command::new("cp")
        .arg("-a")
        .arg(&template)
        .arg(data)
        .status()?;
    ensure!(status.success(), "copying {} failed", template.display());
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tls {
    Off,
    SelfSigned,
}

/// Makes a self-signed certificate and key in `dir`; returns the server settings that use them.
fn self_signed_certificate(dir: &Path) -> anyhow::Result<Vec<String>> {
    let certificate = dir.join("server.crt");
    let key = dir.join("server.key");
    let output = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&certificate)
        .output()
        .context("running openssl to make a test certificate (Debian: apt-get install openssl)")?;
    ensure!(
        output.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // PostgreSQL refuses a key that others may read.
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    Ok([
        "-c".to_owned(),
        "ssl=on".to_owned(),
        "-c".to_owned(),
        format!("ssl_cert_file={}", certificate.display()),
        "-c".to_owned(),
        format!("ssl_key_file={}", key.display()),
    ]
    .to_vec())
}

/// A server certificate for 127.0.0.1 and localhost, and the test CA that signed it.
struct CertificateFiles {
    ca: std::path::PathBuf,
    certificate: std::path::PathBuf,
    key: std::path::PathBuf,
}

fn certificate_signed_by_a_test_ca(dir: &Path) -> anyhow::Result<CertificateFiles> {
    let files = CertificateFiles {
        ca: dir.join("ca.crt"),
        certificate: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    let extensions = dir.join("server.ext");
    std::fs::write(
        &extensions,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )?;
    let [ca, ca_key, certificate, key, request, extensions] = [
        &files.ca,
        &dir.join("ca.key"),
        &files.certificate,
        &files.key,
        &dir.join("server.csr"),
        &extensions,
    ]
    .map(|path| path.display().to_string());
    let new_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    openssl(
        &format!("req -x509 {new_key} -days 2 -keyout {ca_key} -out {ca}"),
        "/CN=test CA",
    )?;
    openssl(
        &format!("req {new_key} -keyout {key} -out {request}"),
        "/CN=127.0.0.1",
    )?;
    openssl(
        &format!(
            "x509 -req -days 2 -CAcreateserial -in {request} -CA {ca} -CAkey {ca_key} \
             -extfile {extensions} -out {certificate}"
        ),
        "",
    )?;
    Ok(files)
}

/// Runs `openssl` with `arguments` (split on spaces: paths here have none) and `-subj subject`.
fn openssl(arguments: &str, subject: &str) -> anyhow::Result<()> {
    let mut command = Command::new("openssl");
    command.args(arguments.split_whitespace());
    if !subject.is_empty() {
        command.args(["-subj", subject]);
    }
    let output = command
        .output()
        .context("running openssl to make a test certificate (Debian: apt-get install openssl)")?;
    ensure!(
        output.status.success(),
        "openssl {arguments} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

fn template_cluster_path() -> anyhow::Result<std::path::PathBuf> {
    let version = Command::new("postgres")
        .arg("--version")
        .output()
        .context("running postgres --version")?;
    let version: String = String::from_utf8_lossy(&version.stdout)
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    Ok(std::env::temp_dir().join(format!("spin-voting-app-template-{version}")))
}

fn chown_to_postgres(path: &Path) -> anyhow::Result<()> {
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(path)
        .status()?;
    ensure!(
        status.success(),
        "chown postgres {} failed (is there a postgres user?)",
        path.display()
    );
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn host_of_url(url: &str) -> anyhow::Result<String> {
    let destination = crate::outbound::Destination::of_address(url, "redis")?;
    Ok(format!("{}:{}", destination.host, destination.port))
}

async fn wait_for_redis(url: &str) -> anyhow::Result<()> {
    let client = redis::Client::open(url)?;
    let started = Instant::now();
    loop {
        let ping = async {
            let mut connection = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").exec_async(&mut connection).await
        };
        match ping.await {
            Ok(()) => return Ok(()),
            Err(error) if started.elapsed() > STARTUP_LIMIT => {
                return Err(error).with_context(|| format!("Redis at {url} did not start"));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

async fn wait_for_postgres(postgres: &TestPostgres) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        match postgres.client().await {
            Ok(_) => return Ok(()),
            Err(error) if started.elapsed() > STARTUP_LIMIT => {
                return Err(error).context("PostgreSQL did not start");
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[cfg(feature = "testcontainers")]
mod containers {
    use testcontainers::core::{IntoContainerPort, WaitFor};
    use testcontainers::runners::AsyncRunner;
    use testcontainers::{ContainerAsync, GenericImage, ImageExt};

    /// A Redis container, or `None` when no Docker engine answers.
    pub async fn redis() -> anyhow::Result<Option<ContainerAsync<GenericImage>>> {
        let image = GenericImage::new("redis", "7-alpine")
            .with_exposed_port(6379.tcp())
            .with_wait_for(WaitFor::message_on_stdout("Ready to accept connections"));
        Ok(image.start().await.ok())
    }

    /// A PostgreSQL container, or `None` when no Docker engine answers.
    pub async fn postgres(password: &str) -> anyhow::Result<Option<ContainerAsync<GenericImage>>> {
        let image = GenericImage::new("postgres", "15-alpine")
            .with_exposed_port(5432.tcp())
            .with_wait_for(WaitFor::message_on_stderr(
                "database system is ready to accept connections",
            ))
            .with_env_var("POSTGRES_PASSWORD", password);
        Ok(image.start().await.ok())
    }

    pub async fn host(
        container: &ContainerAsync<GenericImage>,
        port: u16,
    ) -> anyhow::Result<String> {
        let port = container.get_host_port_ipv4(port).await?;
        Ok(format!("127.0.0.1:{port}"))
    }
}
