//! The part of the Spin CLI that scripts run — `build` and `up [-f MANIFEST] [-c COMPONENT]…
//! [--listen ADDRESS]` — served by the test host, so scripts, load tools and a browser can
//! drive an app on a machine where the Spin CLI cannot be installed. Put it on `PATH` as
//! `spin`. It behaves like the test host, not like every Spin feature: use the real Spin CLI
//! to run an app for anything but tests and measurements.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use spin_test_host::App;

const USAGE: &str = "usage: spin-test-host build [-f MANIFEST]
       spin-test-host up [-f MANIFEST] [-c COMPONENT]... [--listen ADDRESS]";

#[tokio::main]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

struct Options {
    manifest: PathBuf,
    components: Vec<String>,
    listen: Option<SocketAddr>,
}

fn parse(arguments: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        manifest: PathBuf::from("spin.toml"),
        components: Vec::new(),
        listen: None,
    };
    let mut arguments = arguments.iter();
    while let Some(argument) = arguments.next() {
        let mut value = || {
            arguments
                .next()
                .with_context(|| format!("{argument} needs a value"))
        };
        match argument.as_str() {
            "-f" | "--from" => options.manifest = PathBuf::from(value()?),
            "-c" | "--component-id" => options.components.push(value()?.clone()),
            "--listen" => options.listen = Some(value()?.parse().context("--listen")?),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(options)
}

async fn run(arguments: Vec<String>) -> anyhow::Result<()> {
    match arguments.split_first() {
        Some((command, rest)) if command == "build" => build(&parse(rest)?),
        Some((command, rest)) if command == "up" => up(&parse(rest)?).await,
        _ => bail!("{USAGE}"),
    }
}

/// Runs each component's build command in the manifest's directory, as `spin build` does.
fn build(options: &Options) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&options.manifest)
        .with_context(|| format!("reading {}", options.manifest.display()))?;
    let manifest: toml::Table = toml::from_str(&text)?;
    let directory = options
        .manifest
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let components = manifest.get("component").and_then(toml::Value::as_table);
    for (id, component) in components.into_iter().flatten() {
        let Some(command) = component
            .get("build")
            .and_then(|build| build.get("command"))
            .and_then(toml::Value::as_str)
        else {
            continue;
        };
        println!("Building component {id} with `{command}`");
        let status = std::process::Command::new("sh")
            .args(["-c", command])
            .current_dir(directory)
            .status()?;
        if !status.success() {
            bail!("building component {id} failed ({status})");
        }
    }
    Ok(())
}

/// Serves the selected components' HTTP routes and runs their Redis triggers until SIGINT or
/// SIGTERM; exits with an error when a Redis trigger loses its connection, as Spin's does.
async fn up(options: &Options) -> anyhow::Result<()> {
    let environment: HashMap<String, String> = std::env::vars().collect();
    let app = App::load_selected(&options.manifest, &environment, &options.components)?;
    let _server = if app.has_http_routes() {
        let listen = match options.listen {
            Some(listen) => listen,
            None => environment
                .get("SPIN_HTTP_LISTEN_ADDR")
                .map_or("127.0.0.1:3000", String::as_str)
                .parse()
                .context("SPIN_HTTP_LISTEN_ADDR")?,
        };
        let server = app.serve_at(listen).await?;
        println!("Serving {}", server.url());
        Some(server)
    } else {
        None
    };
    let triggers = if app.has_redis_triggers() {
        let triggers = app.start_redis_triggers().await?;
        println!("Redis trigger subscribed");
        Some(triggers)
    } else {
        None
    };

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let mut printed = 0;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
            _ = ticker.tick() => {}
        }
        // Components' output, as Spin shows it.
        let logs = app.logs();
        if logs.len() > printed {
            eprint!("{}", &logs[printed..]);
            printed = logs.len();
        }
        if triggers
            .as_ref()
            .is_some_and(|triggers| !triggers.is_running())
        {
            bail!("the Redis trigger lost its connection");
        }
    }
}
