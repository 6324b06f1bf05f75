//! A Redis server for one test: open, or asking for a password, an ACL user and TLS as
//! managed Redis services do.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::sync::MutexGuard;

use crate::certificates::certificate_signed_by_a_test_ca;
use crate::process::{ServerProcess, on_path};
use crate::{EXTERNAL_SERVICES, STARTUP_LIMIT, free_port, percent_encode};

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
        if let Some(container) = crate::containers::redis().await? {
            let host = crate::containers::host(&container, 6379).await?;
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
        let Some((process, tls)) = redis_process(&security)? else {
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
            Some(password) => format!("redis://:{}@{}", percent_encode(password), self.host),
            None => format!("redis://{}", self.host),
        }
    }

    /// How an application logs in, as opposed to the test's own connections: the ACL user
    /// when there is one, else the `default` user's password; `(username, password)`, empty
    /// when none.
    pub fn client_login(&self) -> (&str, &str) {
        match (&self.security.user, &self.security.password) {
            (Some(user), _) => (&user.name, &user.password),
            (None, Some(password)) => ("", password),
            (None, None) => ("", ""),
        }
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

/// A `redis-server` with its settings in a file (passwords stay off the command line),
/// and, with TLS, the TLS port and the CA that signed its certificate.
#[allow(clippy::type_complexity)]
pub(crate) fn redis_process(
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

fn host_of_url(url: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(url)?;
    let host = url.host_str().context("no host")?;
    Ok(format!("{host}:{}", url.port().unwrap_or(6379)))
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
