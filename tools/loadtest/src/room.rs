//! `loadtest room`: a room of phones, each as the vote page behaves. A phone opens its own
//! connection, loads the vote page, votes once at a random moment of the first half of the run
//! (on the question its page showed), and polls `/result/api` about once a second (±20%) with
//! the ETag it last saw, as the page's script does. The report gives the polls' latency, the
//! errors by kind, the votes accepted and refused, and how long after its own vote's answer
//! each phone first saw a total that counts it.
//!
//! Phones are tasks on one runtime, each with one HTTP/1.1 connection (reopened if the app
//! closes it): ten thousand of them are ten thousand connections, not threads.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;

use crate::progress;
use crate::stats::{Latencies, millis};

/// How long a request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What a room run does, and the limits it is judged by.
#[derive(Debug, Clone)]
pub struct RoomOptions {
    pub phones: usize,
    pub duration: Duration,
    /// Phones join over this long at the start, as a room scans a QR code.
    pub ramp: Duration,
    /// The most a poll's p99 latency may be.
    pub p99_limit: Duration,
    /// The most errors (failed polls or page loads, answers other than 200 and 304).
    pub max_errors: usize,
    /// The most refused votes.
    pub max_refused: usize,
}

/// The app as the phones reach it: plain HTTP.
#[derive(Debug, Clone)]
pub struct Room {
    authority: String,
}

impl Room {
    /// The app at `url`, `http://host:port`.
    pub fn new(url: &str) -> anyhow::Result<Room> {
        let url = reqwest::Url::parse(url)
            .with_context(|| format!("--url {url:?} is not a URL, e.g. http://127.0.0.1:3000"))?;
        if url.scheme() != "http" {
            bail!(
                "--url {url} must be http://: a room's phones each hold a plain connection (run the \
                 tool next to the app, or next to its proxy)"
            );
        }
        let host = url.host_str().context("--url has no host")?;
        let port = url.port_or_known_default().unwrap_or(80);
        Ok(Room {
            authority: format!("{host}:{port}"),
        })
    }
}

/// One phone's connection to the app.
struct Connection {
    room: Room,
    sender: Option<SendRequest<Full<Bytes>>>,
}

/// An answer: its status, headers we need, and body.
struct Answer {
    status: u16,
    etag: Option<String>,
    body: Bytes,
}

impl Connection {
    fn new(room: &Room) -> Connection {
        Connection {
            room: room.clone(),
            sender: None,
        }
    }

    async fn open(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = tokio::net::TcpStream::connect(&self.room.authority)
            .await
            .context("connect")?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("handshake")?;
        tokio::spawn(connection);
        Ok(sender)
    }

    /// Sends a request on this phone's connection, opening it (again) when needed.
    async fn send(
        &mut self,
        request: http::request::Builder,
        body: Bytes,
    ) -> anyhow::Result<Answer> {
        let request = request
            .header(http::header::HOST, &self.room.authority)
            .body(Full::new(body))?;
        let exchange = async {
            let sender = match self.sender.take() {
                Some(sender) if !sender.is_closed() => sender,
                _ => self.open().await?,
            };
            let mut sender = sender;
            sender.ready().await.context("connection")?;
            let response = sender.send_request(request).await.context("request")?;
            let status = response.status().as_u16();
            let etag = response
                .headers()
                .get(http::header::ETAG)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let body = response
                .into_body()
                .collect()
                .await
                .context("body")?
                .to_bytes();
            self.sender = Some(sender);
            anyhow::Ok(Answer { status, etag, body })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| anyhow::anyhow!("timeout"))?
    }
}

/// What the whole room saw.
#[derive(Debug, Default)]
pub struct RoomReport {
    pub phones: usize,
    pub duration: Duration,
    pub polls: usize,
    pub poll_latency: Option<Latencies>,
    /// Errors by kind: `poll: 503`, `page: connect`, …
    pub errors: BTreeMap<String, usize>,
    pub votes_accepted: usize,
    /// Refused votes by status.
    pub votes_refused: BTreeMap<String, usize>,
    /// From each accepted vote's answer to the first poll whose total counts it.
    pub seen_after: Option<Latencies>,
    /// Accepted votes no poll showed counted before the run ended.
    pub unseen: usize,
    pub limits: Option<RoomOptions>,
}

impl RoomReport {
    pub fn errors(&self) -> usize {
        self.errors.values().sum()
    }

    pub fn refused(&self) -> usize {
        self.votes_refused.values().sum()
    }

    /// Whether the run held within its limits.
    pub fn is_success(&self) -> bool {
        let Some(limits) = &self.limits else {
            return false;
        };
        self.poll_latency
            .is_some_and(|latency| latency.p99 <= limits.p99_limit)
            && self.errors() <= limits.max_errors
            && self.refused() <= limits.max_refused
    }
}

impl fmt::Display for RoomReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.duration.as_secs_f64().max(f64::EPSILON);
        writeln!(
            f,
            "phones:     {} for {:.0} s: {} polls, {:.0} polls/s",
            self.phones,
            seconds,
            self.polls,
            self.polls as f64 / seconds
        )?;
        match &self.poll_latency {
            Some(latency) => writeln!(f, "polls:      {latency}")?,
            None => writeln!(f, "polls:      none answered")?,
        }
        let by_kind = |map: &BTreeMap<String, usize>| {
            if map.is_empty() {
                "none".to_owned()
            } else {
                let parts: Vec<String> = map.iter().map(|(k, n)| format!("{k} × {n}")).collect();
                parts.join(", ")
            }
        };
        writeln!(
            f,
            "errors:     {} ({})",
            self.errors(),
            by_kind(&self.errors)
        )?;
        writeln!(
            f,
            "votes:      {} accepted, {} refused ({})",
            self.votes_accepted,
            self.refused(),
            by_kind(&self.votes_refused)
        )?;
        match &self.seen_after {
            Some(seen) => writeln!(
                f,
                "seen:       a phone saw its vote counted p50 {} p99 {} after its answer{}",
                millis(seen.p50),
                millis(seen.p99),
                if self.unseen > 0 {
                    format!("; {} never within the run", self.unseen)
                } else {
                    String::new()
                }
            )?,
            None => writeln!(f, "seen:       no vote seen counted")?,
        }
        if let Some(limits) = &self.limits {
            let verdict = if self.is_success() { "held" } else { "BROKEN" };
            writeln!(
                f,
                "limits:     {verdict}: p99 ≤ {}, errors ≤ {}, refused votes ≤ {}",
                millis(limits.p99_limit),
                limits.max_errors,
                limits.max_refused
            )?;
        }
        Ok(())
    }
}

/// The hidden `name` field's value in a page's form.
fn hidden_field(page: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page.find(&marker)? + marker.len();
    page[start..].split('"').next().map(str::to_owned)
}

/// The choices the page's buttons offer.
fn choices(page: &str) -> Vec<String> {
    page.split(r#"name="vote" value=""#)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// A poll's total, from `/result/api`'s answer.
fn total(body: &[u8]) -> Option<i64> {
    serde_json::from_slice::<serde_json::Value>(body).ok()?["total"].as_i64()
}

/// A small fast generator for each phone's jitter and moment to vote (xorshift64*).
struct Dice(u64);

impl Dice {
    fn new(seed: u64) -> Dice {
        Dice(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number in [0, 1).
    fn roll(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What the room shares while it runs.
#[derive(Default)]
struct Tally {
    polls: AtomicUsize,
    errors: AtomicUsize,
    accepted: AtomicUsize,
    refused: AtomicUsize,
}

/// What one phone saw.
#[derive(Default)]
struct PhoneLog {
    polls: Vec<Duration>,
    errors: Vec<String>,
    vote: Option<Result<Duration, String>>,
    seen_after: Option<Duration>,
}

/// Runs the room and reports.
pub async fn room(target: &Room, options: &RoomOptions) -> anyhow::Result<RoomReport> {
    // Each phone is a connection: lift the open-file limit as far as the system allows.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let mut probe = Connection::new(target);
    let first = probe
        .send(http::Request::get("/result/api"), Bytes::new())
        .await
        .with_context(|| format!("the app at {} does not answer", target.authority))?;
    let base_total = match (first.status, total(&first.body)) {
        (200, Some(total)) => total,
        (status, _) => bail!(
            "GET /result/api answered {status}: {}",
            String::from_utf8_lossy(&first.body).trim()
        ),
    };
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let ends = started + options.duration;
    let spinner = progress::spinner("room");
    let progress = {
        let tally = tally.clone();
        let spinner = spinner.clone();
        let phones = options.phones;
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let polls = tally.polls.load(Ordering::Relaxed);
                spinner.set_message(format!(
                    "room: {phones} phones, {} polls/s, {} votes accepted, {} refused, {} errors",
                    polls - last,
                    tally.accepted.load(Ordering::Relaxed),
                    tally.refused.load(Ordering::Relaxed),
                    tally.errors.load(Ordering::Relaxed)
                ));
                last = polls;
            }
        })
    };
    let phones: Vec<_> = (0..options.phones)
        .map(|index| {
            let mut dice = Dice::new(index as u64 + started.elapsed().subsec_nanos() as u64);
            let joins = started + options.ramp.mul_f64(dice.roll());
            let votes_at = joins.max(started + options.duration.mul_f64(dice.roll() * 0.5));
            let room = target.clone();
            let tally = tally.clone();
            tokio::spawn(async move {
                tokio::time::sleep_until(joins).await;
                phone(&room, votes_at, ends, base_total, &tally, dice).await
            })
        })
        .collect();
    let mut logs = Vec::with_capacity(phones.len());
    for phone in phones {
        logs.push(phone.await.context("a phone's task")?);
    }
    progress.abort();
    spinner.finish_and_clear();
    let mut report = RoomReport {
        phones: options.phones,
        duration: started.elapsed(),
        limits: Some(options.clone()),
        ..RoomReport::default()
    };
    let mut polls = Vec::new();
    let mut seen = Vec::new();
    for log in logs {
        report.polls += log.polls.len();
        polls.extend(log.polls);
        for error in log.errors {
            *report.errors.entry(error).or_default() += 1;
        }
        match log.vote {
            Some(Ok(_)) => {
                report.votes_accepted += 1;
                match log.seen_after {
                    Some(after) => seen.push(after),
                    None => report.unseen += 1,
                }
            }
            Some(Err(refusal)) => *report.votes_refused.entry(refusal).or_default() += 1,
            None => {}
        }
    }
    report.poll_latency = Latencies::of(polls);
    report.seen_after = Latencies::of(seen);
    Ok(report)
}

/// One phone, from joining to the end of the run.
async fn phone(
    room: &Room,
    votes_at: Instant,
    ends: Instant,
    base_total: i64,
    tally: &Tally,
    mut dice: Dice,
) -> PhoneLog {
    let mut log = PhoneLog::default();
    let mut connection = Connection::new(room);
    let fail = |log: &mut PhoneLog, kind: String| {
        tally.errors.fetch_add(1, Ordering::Relaxed);
        log.errors.push(kind);
    };
    // The vote page, as the phone scans the QR code.
    let ballot = match connection.send(http::Request::get("/"), Bytes::new()).await {
        Ok(answer) if answer.status == 200 => {
            let page = String::from_utf8_lossy(&answer.body).into_owned();
            Some((hidden_field(&page, "round"), choices(&page)))
        }
        Ok(answer) => {
            fail(&mut log, format!("page: {}", answer.status));
            None
        }
        Err(error) => {
            fail(&mut log, format!("page: {}", kind_of(&error)));
            None
        }
    };
    let mut etag: Option<String> = None;
    // The phone's vote: when it was accepted, and the total that counts it.
    let mut counted_at: Option<(Instant, i64)> = None;
    let mut voted = ballot.is_none();
    while Instant::now() < ends {
        if !voted && Instant::now() >= votes_at {
            voted = true;
            let (round, choices) = ballot.clone().unwrap_or_default();
            let choice = choices
                .get((dice.roll() * choices.len() as f64) as usize)
                .cloned()
                .unwrap_or_else(|| "a".to_owned());
            let form = match round {
                Some(round) => format!("vote={choice}&round={round}"),
                None => format!("vote={choice}"),
            };
            let request = http::Request::post("/").header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
            let started = Instant::now();
            match connection.send(request, Bytes::from(form)).await {
                Ok(answer) if answer.status == 303 || (200..300).contains(&answer.status) => {
                    let index = tally.accepted.fetch_add(1, Ordering::Relaxed) as i64 + 1;
                    counted_at = Some((Instant::now(), base_total + index));
                    log.vote = Some(Ok(started.elapsed()));
                }
                Ok(answer) => {
                    tally.refused.fetch_add(1, Ordering::Relaxed);
                    log.vote = Some(Err(answer.status.to_string()));
                }
                Err(error) => {
                    tally.refused.fetch_add(1, Ordering::Relaxed);
                    log.vote = Some(Err(kind_of(&error)));
                }
            }
        }
        let mut request = http::Request::get("/result/api");
        if let Some(etag) = &etag {
            request = request.header(http::header::IF_NONE_MATCH, etag);
        }
        let started = Instant::now();
        let mut wait = Duration::from_secs(1);
        match connection.send(request, Bytes::new()).await {
            Ok(answer) if answer.status == 200 || answer.status == 304 => {
                log.polls.push(started.elapsed());
                tally.polls.fetch_add(1, Ordering::Relaxed);
                if answer.status == 200 {
                    etag = answer.etag;
                    if let (Some((accepted, needed)), None, Some(total)) =
                        (counted_at, log.seen_after, total(&answer.body))
                        && total >= needed
                    {
                        log.seen_after = Some(accepted.elapsed());
                    }
                }
            }
            Ok(answer) => {
                etag = None;
                fail(&mut log, format!("poll: {}", answer.status));
                wait = Duration::from_secs(2);
            }
            Err(error) => {
                etag = None;
                fail(&mut log, format!("poll: {}", kind_of(&error)));
                wait = Duration::from_secs(2);
            }
        }
        let next = started + wait.mul_f64(0.8 + 0.4 * dice.roll());
        let next = if voted { next } else { next.min(votes_at) };
        tokio::time::sleep_until(next.min(ends)).await;
    }
    log
}

/// A failed request's kind, for the report: `timeout`, `connect`, …
fn kind_of(error: &anyhow::Error) -> String {
    let text = error.to_string();
    text.split(':').next().unwrap_or("error").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_gives_its_round_and_its_choices() {
        let page = r#"<form><input type="hidden" name="round" value="7">
            <button id="a" name="vote" value="a">A</button><button name="vote" value="b">B</button>"#;
        assert_eq!(hidden_field(page, "round").as_deref(), Some("7"));
        assert_eq!(choices(page), ["a", "b"]);
        assert_eq!(hidden_field("<p>", "round"), None);
    }

    #[test]
    fn dice_roll_between_zero_and_one() {
        let mut dice = Dice::new(3);
        for _ in 0..1000 {
            let roll = dice.roll();
            assert!((0.0..1.0).contains(&roll), "{roll}");
        }
    }

    #[test]
    fn a_room_holds_only_within_its_limits() {
        let limits = RoomOptions {
            phones: 2,
            duration: Duration::from_secs(1),
            ramp: Duration::ZERO,
            p99_limit: Duration::from_secs(1),
            max_errors: 0,
            max_refused: 0,
        };
        let fast = Latencies::of([Duration::from_millis(10)]);
        let held = RoomReport {
            poll_latency: fast,
            limits: Some(limits.clone()),
            ..RoomReport::default()
        };
        assert!(held.is_success());
        let slow = RoomReport {
            poll_latency: Latencies::of([Duration::from_secs(2)]),
            limits: Some(limits.clone()),
            ..RoomReport::default()
        };
        assert!(!slow.is_success());
        let refused = RoomReport {
            poll_latency: fast,
            votes_refused: BTreeMap::from([("409".to_owned(), 1)]),
            limits: Some(limits),
            ..RoomReport::default()
        };
        assert!(!refused.is_success());
        assert!(refused.to_string().contains("BROKEN"));
    }

    #[test]
    fn only_plain_http_addresses_are_a_room() {
        assert!(Room::new("http://127.0.0.1:3000").is_ok());
        assert!(Room::new("https://poll.example.org").is_err());
        assert!(Room::new("127.0.0.1:3000").is_err());
    }
}
