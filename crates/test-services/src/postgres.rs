//! A PostgreSQL database for one test: a throwaway server, or one with TLS and a self-signed
//! certificate, as packaged and managed servers often run.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use tokio::sync::MutexGuard;

use crate::binaries::{POSTGRES_INSTALL_HINT, postgres_bin_dir};
use crate::certificates::self_signed_certificate;
use crate::process::{ServerProcess, is_root, server_command};
use crate::{EXTERNAL_SERVICES, STARTUP_LIMIT, free_port, percent_encode};

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
/// Where a cluster keeps the password it was made with: random, so that a test searching logs
/// and pages for it finds only a real leak (a password like `postgres` is everywhere).
const PASSWORD_FILE: &str = "test-services-password";

impl TestPostgres {
    /// An empty database.
    pub async fn start() -> anyhow::Result<TestPostgres> {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return Self::external(&url).await;
        }
        if let Some(process) = postgres_process(Tls::Off)? {
            return Self::local(process).await;
        }
        #[cfg(feature = "testcontainers")]
        {
            let password = random_password()?;
            if let Some(container) = crate::containers::postgres(&password).await? {
                let postgres = TestPostgres {
                    host: crate::containers::host(&container, 5432).await?,
                    user: TEST_USER.to_owned(),
                    password,
                    database: "postgres".to_owned(),
                    backend: PostgresBackend::Container {
                        _container: container,
                    },
                    _turn: None,
                };
                wait_for_postgres(&postgres).await?;
                return Ok(postgres);
            }
        }
        bail!("tests need PostgreSQL and found no initdb and postgres: {POSTGRES_INSTALL_HINT}")
    }

    /// A local server that offers TLS with a freshly generated self-signed certificate, as
    /// a managed or packaged PostgreSQL often does (Debian's default cluster, for one).
    pub async fn start_with_self_signed_tls() -> anyhow::Result<TestPostgres> {
        let process = postgres_process(Tls::SelfSigned)?.with_context(|| {
            format!("the TLS tests need local PostgreSQL server binaries: {POSTGRES_INSTALL_HINT}")
        })?;
        Self::local(process).await
    }

    async fn local(process: ServerProcess) -> anyhow::Result<TestPostgres> {
        let password = std::fs::read_to_string(process.dir.path().join("data").join(PASSWORD_FILE))
            .context("reading the test cluster's password")?;
        let postgres = TestPostgres {
            host: process.host(),
            user: TEST_USER.to_owned(),
            password,
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
        let database = format!("test_services_{}", std::process::id());
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

    /// The database's URL, credentials percent-encoded, TLS off.
    pub fn address(&self) -> String {
        format!(
            "postgres://{}:{}@{}/{}?sslmode=disable",
            percent_encode(&self.user),
            percent_encode(&self.password),
            self.host,
            percent_encode(&self.database)
        )
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

pub(crate) fn postgres_process(tls: Tls) -> anyhow::Result<Option<ServerProcess>> {
    let Some(bin_dir) = postgres_bin_dir() else {
        return Ok(None);
    };
    let run_as_postgres = is_root();
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    copy_template_cluster(&bin_dir, &data, run_as_postgres)?;
    let port = free_port()?;
    let mut command = [
        &bin_dir.join("postgres").display().to_string(),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tls {
    Off,
    SelfSigned,
}

/// `initdb` is slow, so one cluster per machine and PostgreSQL version is made once, with a
/// random password kept in it ([`PASSWORD_FILE`]), and copied.
/// It lives in the system's temporary directory, not in the checkout: when the tests run as
/// root the cluster belongs to the `postgres` user, who may not be able to enter the checkout
/// (a clone under `/root`, or in a `mktemp -d` folder).
fn copy_template_cluster(bin_dir: &Path, data: &Path, run_as_postgres: bool) -> anyhow::Result<()> {
    let template = template_cluster_path(bin_dir)?;
    if !template.join(PASSWORD_FILE).exists() {
        let staging = tempfile::Builder::new()
            .prefix("test-services-initdb")
            .tempdir_in(template.parent().context("template has a parent")?)?
            .keep();
        let password = random_password()?;
        let password_file = staging.join("pwfile");
        std::fs::write(&password_file, &password)?;
        let cluster = staging.join("data");
        if run_as_postgres {
            chown_to_postgres(&staging)?;
        }
        let initdb = [
            &bin_dir.join("initdb").display().to_string(),
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
        std::fs::write(cluster.join(PASSWORD_FILE), &password)?;
        // Another test process may have won the race; either copy is as good.
        if std::fs::rename(&cluster, &template).is_err() {
            ensure!(
                template.join(PASSWORD_FILE).exists(),
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

fn template_cluster_path(bin_dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let version = Command::new(bin_dir.join("postgres"))
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
    Ok(std::env::temp_dir().join(format!("test-services-cluster-{version}")))
}

/// 24 random hex digits from the system's random source.
fn random_password() -> anyhow::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 12];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .context("reading /dev/urandom for a test password")?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
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
