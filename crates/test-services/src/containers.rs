//! Redis and PostgreSQL in containers, when a Docker engine answers (the `testcontainers`
//! feature).

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

pub async fn host(container: &ContainerAsync<GenericImage>, port: u16) -> anyhow::Result<String> {
    let port = container.get_host_port_ipv4(port).await?;
    Ok(format!("127.0.0.1:{port}"))
}
