//! The faults `chaos` injects. The CLI builds them from the operator's commands (so they work
//! for `scripts/up`, a VM or Kubernetes alike) and a worker PID file; tests implement
//! [`Fault`] directly on the services they started.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub type FaultFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// Something an operator meets: a service stopped, restarted or killed.
pub trait Fault: Send {
    fn name(&self) -> &str;
    /// Breaks the service; returns once it is broken.
    fn inject(&mut self) -> FaultFuture<'_>;
    /// The step that undoes [`Fault::inject`] (starting what was stopped), run after the
    /// outage; `None` when the service comes back by itself (a supervisor restarts it).
    fn heal(&mut self) -> Option<FaultFuture<'_>>;
}

/// How long a fault's command may run.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);

/// A fault made of shell commands: one that breaks, and optionally one that heals.
pub struct CommandFault {
    name: String,
    inject: String,
    heal: Option<String>,
}

impl CommandFault {
    pub fn new(name: &str, inject: &str, heal: Option<&str>) -> CommandFault {
        CommandFault {
            name: name.to_owned(),
            inject: inject.to_owned(),
            heal: heal.map(str::to_owned),
        }
    }
}

impl Fault for CommandFault {
    fn name(&self) -> &str {
        &self.name
    }

    fn inject(&mut self) -> FaultFuture<'_> {
        Box::pin(run_shell(&self.inject))
    }

    fn heal(&mut self) -> Option<FaultFuture<'_>> {
        let command = self.heal.as_deref()?;
        Some(Box::pin(run_shell(command)))
    }
}

async fn run_shell(command: &str) -> anyhow::Result<()> {
    let child = tokio::process::Command::new("sh")
        .args(["-c", command])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(COMMAND_LIMIT, child)
        .await
        .with_context(|| format!("`{command}` was still running after {COMMAND_LIMIT:?}"))?
        .with_context(|| format!("running `{command}`"))?;
    if !output.status.success() {
        bail!(
            "`{command}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Kills the worker with SIGKILL (its whole process group when it leads one, so a `spin up`
/// and the trigger process it spawned die together); whatever runs it must start it again.
/// Healing waits until the PID file names a new live process.
pub struct KillWorker {
    pid_file: PathBuf,
    killed: Option<u32>,
}

/// How long a supervisor may take to start the killed worker again.
const RESTART_LIMIT: Duration = Duration::from_secs(120);

impl KillWorker {
    pub fn new(pid_file: PathBuf) -> KillWorker {
        KillWorker {
            pid_file,
            killed: None,
        }
    }

    fn pid(&self) -> anyhow::Result<u32> {
        let text = std::fs::read_to_string(&self.pid_file).with_context(|| {
            format!(
                "reading the worker's PID file {}; scripts/up writes .data/worker.pid",
                self.pid_file.display()
            )
        })?;
        text.trim().parse().with_context(|| {
            format!(
                "{} does not hold a process id: {text:?}",
                self.pid_file.display()
            )
        })
    }

    /// Waits until the PID file names a running process other than `not`, and returns it.
    async fn running(&self, not: Option<u32>) -> anyhow::Result<u32> {
        let deadline = Instant::now() + RESTART_LIMIT;
        loop {
            if let Ok(pid) = self.pid()
                && Some(pid) != not
                && is_alive(pid)
            {
                return Ok(pid);
            }
            if Instant::now() >= deadline {
                return Err(self.pid().err().unwrap_or_else(|| {
                    anyhow::anyhow!(
                        "no running worker within {RESTART_LIMIT:?}: {} names no running process",
                        self.pid_file.display()
                    )
                }));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Fault for KillWorker {
    fn name(&self) -> &str {
        "worker killed"
    }

    fn inject(&mut self) -> FaultFuture<'_> {
        Box::pin(async move {
            // A worker that is already down (its Redis connection dropped, say) is waited for:
            // killing it means killing a running one.
            let pid = self.running(None).await?;
            let target = if leads_its_process_group(pid) {
                format!("-{pid}")
            } else {
                pid.to_string()
            };
            let status = tokio::process::Command::new("kill")
                .args(["-KILL", "--", &target])
                .status()
                .await
                .context("running kill")?;
            if !status.success() {
                bail!("kill -KILL {target} failed: is the worker (PID {pid}) running?");
            }
            self.killed = Some(pid);
            Ok(())
        })
    }

    fn heal(&mut self) -> Option<FaultFuture<'_>> {
        Some(Box::pin(async move {
            self.running(self.killed).await?;
            Ok(())
        }))
    }
}

fn is_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether `pid` is its process group's leader (Linux: the fifth field of /proc/PID/stat).
fn leads_its_process_group(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| process_group(&stat))
        == Some(pid)
}

/// The process group in a /proc/PID/stat line; the command name may hold spaces and
/// parentheses, so fields are counted after its last `)`.
fn process_group(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_group_is_read_after_the_command_name() {
        assert_eq!(
            process_group("4242 (spin up) (x) S 1 4242 4242 0 -1 4194560"),
            Some(4242)
        );
        assert_eq!(process_group("17 (sh) S 1 9 9 0"), Some(9));
        assert_eq!(process_group("garbage"), None);
    }

    #[tokio::test]
    async fn a_failing_command_reports_its_error_output() {
        let error = run_shell("echo broken >&2; exit 3").await.unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.contains("broken") && message.contains('3'),
            "{message}"
        );
        run_shell("true").await.unwrap();
    }

    #[tokio::test]
    async fn a_worker_that_is_down_is_waited_for_before_it_is_killed() {
        let directory =
            std::env::temp_dir().join(format!("loadtest-restarting-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let pid_file = directory.join("worker.pid");
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        gone.wait().unwrap();
        std::fs::write(&pid_file, gone.id().to_string()).unwrap();

        let mut fault = KillWorker::new(pid_file.clone());
        let killing = tokio::spawn(async move {
            fault.inject().await.unwrap();
            fault
        });
        let mut restarted = std::process::Command::new("sleep")
            .arg("600")
            .spawn()
            .unwrap();
        std::fs::write(&pid_file, restarted.id().to_string()).unwrap();
        let fault = killing.await.unwrap();
        assert_eq!(fault.killed, Some(restarted.id()));
        assert!(
            !restarted.wait().unwrap().success(),
            "the restarted worker was killed"
        );
        std::fs::remove_dir_all(directory).unwrap();
    }

    #[tokio::test]
    async fn killing_a_worker_waits_for_its_replacement() {
        let directory = std::env::temp_dir().join(format!("loadtest-kill-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let pid_file = directory.join("worker.pid");
        let mut first = std::process::Command::new("sleep")
            .arg("600")
            .spawn()
            .unwrap();
        std::fs::write(&pid_file, first.id().to_string()).unwrap();

        let mut fault = KillWorker::new(pid_file.clone());
        fault.inject().await.unwrap();
        assert!(!first.wait().unwrap().success(), "the worker was killed");

        let mut second = std::process::Command::new("sleep")
            .arg("600")
            .spawn()
            .unwrap();
        std::fs::write(&pid_file, second.id().to_string()).unwrap();
        fault.heal().unwrap().await.unwrap();
        second.kill().unwrap();
        second.wait().unwrap();
        std::fs::remove_dir_all(directory).unwrap();
    }
}
