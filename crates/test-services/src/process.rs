//! A server process in a temporary directory: started, stopped and started again on the same
//! port with its data, killed when dropped; PostgreSQL run as `postgres` when the tests run as
//! root (it refuses to run as root).

use std::process::{Child, Command, Stdio};

use anyhow::{Context, ensure};
use tempfile::TempDir;

/// A server process in a temporary directory, killed when dropped.
pub(crate) struct ServerProcess {
    pub(crate) command: Vec<String>,
    pub(crate) run_as_postgres: bool,
    pub(crate) port: u16,
    pub(crate) child: Option<Child>,
    pub(crate) dir: TempDir,
}

impl ServerProcess {
    pub(crate) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub(crate) fn restart(&mut self) -> anyhow::Result<()> {
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

    pub(crate) fn stop(&mut self) -> anyhow::Result<()> {
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

pub(crate) fn server_command(command: &[String], run_as_postgres: bool) -> Command {
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

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

pub(crate) fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}
