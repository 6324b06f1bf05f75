//! `loadtest`: seed, change, room and chaos runs against a running voting app.
//! Exit status: 0 when every check holds, 1 when one fails (a vote lost, not counted in
//! time, …), 2 when the run could not be made (bad arguments, app unreachable).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use loadtest::changes::{ChangesOptions, changes};
use loadtest::chaos::{ChaosOptions, chaos};
use loadtest::faults::{CommandFault, Fault, KillWorker};
use loadtest::room::{Room, RoomOptions, room};
use loadtest::seed::{SeedOptions, seed};
use loadtest::split::Split;
use loadtest::stores::{Postgres, Redis};
use loadtest::target::Target;

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The original seed-data load, one new voter per vote; prints throughput, latency, the
    /// answers, and how long the results took to show every accepted vote.
    Seed {
        #[command(flatten)]
        app: App,
        /// How many votes.
        #[arg(long, default_value_t = 3000)]
        votes: usize,
        /// How many votes are sent at once.
        #[arg(long, default_value_t = 50)]
        concurrency: usize,
        /// Votes for a to votes for b (`2:1`), or for each of more options (`3:1:1:1`).
        #[arg(long, default_value_t = Split::default())]
        split: Split,
        /// Seconds to wait for the results to show every accepted vote.
        #[arg(long, default_value = "60", value_parser = seconds)]
        drain_limit: Duration,
        /// Do not read /result/api (for an app without it, such as the original).
        #[arg(long)]
        no_drain: bool,
    },
    /// Voters that vote, change their vote and change back, all at once; checks that the
    /// results equal each voter's last accepted vote.
    Changes {
        #[command(flatten)]
        app: App,
        /// How many voters.
        #[arg(long, default_value_t = 500)]
        voters: usize,
        /// How many votes are sent at once.
        #[arg(long, default_value_t = 50)]
        concurrency: usize,
        /// Votes for a to votes for b (of the first votes).
        #[arg(long, default_value_t = Split::default())]
        split: Split,
        /// Seconds to wait for the results to settle.
        #[arg(long, default_value = "60", value_parser = seconds)]
        limit: Duration,
        /// Also check each voter's stored vote in this PostgreSQL (a URL; from the environment
        /// rather than the command line, where other users can see its password).
        #[arg(long, env = "LOADTEST_POSTGRES", hide_env_values = true)]
        postgres: Option<String>,
    },
    /// A room of phones: each loads the vote page, votes once in the first half of the run and
    /// polls /result/api about once a second with its ETag, as the page does; prints the
    /// polls' latency, errors, votes and how soon each phone saw its vote counted.
    Room {
        #[command(flatten)]
        app: App,
        /// How many phones (each its own connection).
        #[arg(long, default_value_t = 1000)]
        phones: usize,
        /// Seconds the room polls.
        #[arg(long, default_value = "30", value_parser = seconds)]
        duration: Duration,
        /// Seconds over which the phones join at the start.
        #[arg(long, default_value = "5", value_parser = seconds)]
        ramp: Duration,
        /// The most a poll's p99 latency may be, in seconds.
        #[arg(long, default_value = "1", value_parser = seconds)]
        p99_limit: Duration,
        /// The most errors allowed.
        #[arg(long, default_value_t = 0)]
        max_errors: usize,
        /// The most refused votes allowed.
        #[arg(long, default_value_t = 0)]
        max_refused: usize,
    },
    /// A steady vote load while the given faults are injected one after another; then
    /// compares every accepted vote with what PostgreSQL and /result/api count.
    Chaos(Box<ChaosArgs>),
}

#[derive(Args)]
struct App {
    /// The app's address, e.g. http://127.0.0.1:3000.
    #[arg(long)]
    url: String,
}

#[derive(Args)]
struct ChaosArgs {
    #[command(flatten)]
    app: App,
    /// The app's Redis, e.g. redis://127.0.0.1:6379, or rediss://:PASSWORD@host:port with
    /// the password URL-encoded (read only: queue lengths).
    #[arg(long, env = "LOADTEST_REDIS", hide_env_values = true)]
    redis: String,
    /// The app's PostgreSQL, e.g. postgres://postgres:postgres@127.0.0.1:5432/postgres
    /// (read only: the tool's voters' votes).
    #[arg(long, env = "LOADTEST_POSTGRES", hide_env_values = true)]
    postgres: String,
    /// A command that stops PostgreSQL.
    #[arg(long)]
    stop_postgres: Option<String>,
    /// A command that starts PostgreSQL again after --outage seconds; leave it out when
    /// something else does (scripts/up, Kubernetes).
    #[arg(long, requires = "stop_postgres")]
    start_postgres: Option<String>,
    /// A command that restarts Redis (keep its append-only file on).
    #[arg(long)]
    restart_redis: Option<String>,
    /// The worker's PID file: the worker is killed with SIGKILL, and must be restarted by
    /// what runs it (scripts/up writes .data/worker.pid and restarts it).
    #[arg(long)]
    worker_pid_file: Option<PathBuf>,
    /// A command that kills the worker, for where there is no PID file (e.g. `kubectl delete
    /// pod --force` on the worker's pods); what runs the worker must start it again.
    #[arg(long, conflicts_with = "worker_pid_file")]
    kill_worker: Option<String>,
    /// A command that restarts the whole app, e.g. 'scripts/down && scripts/up --detach'.
    #[arg(long)]
    restart_app: Option<String>,
    /// Votes per second.
    #[arg(long, default_value_t = 100)]
    rate: u32,
    /// How many votes may be in flight at once.
    #[arg(long, default_value_t = 20)]
    concurrency: usize,
    /// The most votes sent.
    #[arg(long, default_value_t = 20_000)]
    max_votes: usize,
    /// Votes for a to votes for b (`2:1`), or for each of more options (`3:1:1:1`).
    #[arg(long, default_value_t = Split::default())]
    split: Split,
    /// Seconds PostgreSQL stays stopped before --start-postgres runs.
    #[arg(long, default_value = "3", value_parser = seconds)]
    outage: Duration,
    /// Seconds of load before the first fault and after each recovery.
    #[arg(long, default_value = "2", value_parser = seconds)]
    settle: Duration,
    /// Seconds to wait for the results after each fault, and for the queue at the end.
    #[arg(long, default_value = "60", value_parser = seconds)]
    limit: Duration,
}

impl ChaosArgs {
    fn faults(&self) -> Vec<Box<dyn Fault>> {
        let mut faults: Vec<Box<dyn Fault>> = Vec::new();
        if let Some(stop) = &self.stop_postgres {
            faults.push(Box::new(CommandFault::new(
                "postgres stopped",
                stop,
                self.start_postgres.as_deref(),
            )));
        }
        if let Some(restart) = &self.restart_redis {
            faults.push(Box::new(CommandFault::new(
                "redis restarted",
                restart,
                None,
            )));
        }
        if let Some(pid_file) = &self.worker_pid_file {
            faults.push(Box::new(KillWorker::new(pid_file.clone())));
        }
        if let Some(kill) = &self.kill_worker {
            faults.push(Box::new(CommandFault::new("worker killed", kill, None)));
        }
        if let Some(restart) = &self.restart_app {
            faults.push(Box::new(CommandFault::new("app restarted", restart, None)));
        }
        faults
    }
}

fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| format!("{text:?} is not a number of seconds"))
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse().command).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs one command and prints its report; `Ok(false)` when a check failed.
async fn run(command: Command) -> anyhow::Result<bool> {
    match command {
        Command::Seed {
            app,
            votes,
            concurrency,
            split,
            drain_limit,
            no_drain,
        } => {
            let target = Target::new(&app.url)?;
            println!("seed: {votes} votes ({split}) at {}", target.url());
            let options = SeedOptions {
                votes,
                split,
                concurrency,
                drain_limit: (!no_drain).then_some(drain_limit),
            };
            let report = seed(&target, &options).await?;
            print!("{report}");
            Ok(report.is_success())
        }
        Command::Changes {
            app,
            voters,
            concurrency,
            split,
            limit,
            postgres,
        } => {
            let target = Target::new(&app.url)?;
            let postgres = postgres.as_deref().map(Postgres::new).transpose()?;
            println!("changes: {voters} voters at {}", target.url());
            let options = ChangesOptions {
                voters,
                split,
                concurrency,
                limit,
            };
            let report = changes(&target, postgres.as_ref(), &options).await?;
            print!("{report}");
            Ok(report.is_success())
        }
        Command::Room {
            app,
            phones,
            duration,
            ramp,
            p99_limit,
            max_errors,
            max_refused,
        } => {
            let target = Room::new(&app.url)?;
            println!(
                "room: {phones} phones for {} s at {}",
                duration.as_secs_f64(),
                app.url
            );
            let options = RoomOptions {
                phones,
                duration,
                ramp,
                p99_limit,
                max_errors,
                max_refused,
            };
            let report = room(&target, &options).await?;
            print!("{report}");
            Ok(report.is_success())
        }
        Command::Chaos(args) => {
            let target = Target::new(&args.app.url)?;
            let redis = Redis::new(&args.redis)?;
            let postgres = Postgres::new(&args.postgres)?;
            let mut faults = args.faults();
            if faults.is_empty() {
                println!(
                    "chaos: no fault given (see --help); running the load and the checks only"
                );
            }
            println!(
                "chaos: {} votes/s at {} with {} fault(s)",
                args.rate,
                target.url(),
                faults.len()
            );
            let options = ChaosOptions {
                split: args.split,
                concurrency: args.concurrency,
                rate: args.rate,
                max_votes: args.max_votes,
                outage: args.outage,
                settle: args.settle,
                converge_limit: args.limit,
            };
            let report = chaos(&target, &redis, &postgres, &mut faults, &options).await?;
            print!("{report}");
            Ok(report.is_success())
        }
    }
}
