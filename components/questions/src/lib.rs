//! The questions component: the room asks, upvotes, and reads the questions by upvotes —
//! `/questions` (the page, complete without JavaScript) and `/api/questions` (JSON). It reads
//! Redis only (PostgreSQL only to rebuild a list Redis lost): asking and upvoting are queued in
//! one Redis script each and answered 202 (or, for a form, a redirect back to the list) once
//! queued, exactly as a vote is; the worker writes them to PostgreSQL.
//!
//! # Layout
//!
//! - [`queue`]: asking and upvoting, and what became of each.
//! - [`list`]: the list the room reads, kept in Redis, with the phone's own marks.
//! - [`page`]: the page, and its script that follows the list.

mod list;
mod page;
mod queue;

use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;
use voting_glue::headers::{BodyProblem, Headers, read_body};
use voting_glue::reply::{Reply, send};
use voting_glue::{doorbell, redis};
use voting_shared::client;
use voting_shared::cookie::{VOTER_COOKIE, Voter, cookie, set_cookie};
use voting_shared::doorbell::VOTE_RING;
use voting_shared::questions::{Ask, Listed};

use crate::list::{Failure, Listing};
use crate::page::{Draft, Message, Order};
use crate::queue::{Queued, Sent, Tap};

/// The largest body read: a question of 280 characters, a name, and their escapes.
const MAX_BODY_BYTES: usize = 8 * 1024;
/// The cookie that carries "Your question was sent" through the redirect to the list.
const SENT_COOKIE: &str = "qa_sent";
/// How a proxy may share the list: for a second, as the results.
const SHARED_FOR: &str = "public, max-age=1";

#[http_component]
async fn handle_questions(request: IncomingRequest, response_out: ResponseOutparam) {
    let (reply, ring) = respond(request).await;
    send(reply, response_out).await;
    if ring {
        ring_worker().await;
    }
}

/// Where there is no Redis trigger, rings the worker after answering: a question queued, or
/// questions waiting that a read found.
async fn ring_worker() {
    if let Err(error) = doorbell::ring_http(VOTE_RING).await {
        eprintln!("questions: {error:#}");
    }
}

/// What the request is: the page or the API, and which question it names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Page,
    PageUpvote(i64),
    Api,
    ApiUpvote(i64),
    /// A question id that is no number: no such question.
    NoSuchQuestion {
        api: bool,
    },
    NotFound,
}

fn route(path: &str) -> Route {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let id = |text: &str| text.parse::<i64>().ok().filter(|id| *id > 0);
    match segments.as_slice() {
        ["questions"] => Route::Page,
        ["questions", text, "upvote"] => {
            id(text).map_or(Route::NoSuchQuestion { api: false }, Route::PageUpvote)
        }
        ["api", "questions"] => Route::Api,
        ["api", "questions", text, "upvote"] => {
            id(text).map_or(Route::NoSuchQuestion { api: true }, Route::ApiUpvote)
        }
        _ => Route::NotFound,
    }
}

async fn respond(request: IncomingRequest) -> (Reply, bool) {
    let full = request.path_with_query().unwrap_or_default();
    let (path, query) = full.split_once('?').unwrap_or((&full, ""));
    let order = Order::parse(
        &form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "sort")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default(),
    );
    let method = request.method();
    let headers = Headers::of(&request);
    let cookies = headers.values("cookie");
    let route = route(path);
    let api = matches!(
        route,
        Route::Api | Route::ApiUpvote(_) | Route::NoSuchQuestion { api: true }
    );
    if matches!(method, Method::Post | Method::Delete) && headers.is_cross_site(&request) {
        let message = "questions from other sites are refused: ask on this site's own page";
        return (refusal(api, 403, message), false);
    }
    let client = client::address(&headers.values("spin-client-addr"));
    match (route, method) {
        (Route::Page, Method::Get | Method::Head) => {
            (show_page(&cookies, order, Message::Idle, 200), false)
        }
        (Route::Api, Method::Get | Method::Head) => {
            let if_none_match = headers.first("if-none-match").unwrap_or_default();
            api_list(&if_none_match)
        }
        (Route::Page, Method::Post) => {
            let body = match read_form(request, &headers).await {
                Ok(body) => body,
                Err(reply) => return (reply, false),
            };
            let field = |name: &str| {
                form_urlencoded::parse(&body)
                    .find(|(field, _)| field == name)
                    .map(|(_, value)| value.into_owned())
            };
            let order = Order::parse(&field("sort").unwrap_or_default());
            let (text, name) = (field("text").unwrap_or_default(), field("name"));
            match Ask::new(&text, name.as_deref()) {
                Ok(asked) => ask(&cookies, client, &asked, false, order),
                Err(problem) => {
                    let draft = Draft {
                        text: &text,
                        name: name.as_deref().unwrap_or_default(),
                    };
                    let message = Message::Error(&problem, draft);
                    (show_page(&cookies, order, message, 400), false)
                }
            }
        }
        (Route::Api, Method::Post) => {
            let body = match read_json(request, &headers).await {
                Ok(body) => body,
                Err(reply) => return (reply, false),
            };
            match ask_from_json(&body) {
                Ok(asked) => ask(&cookies, client, &asked, true, Order::MostUpvoted),
                Err(problem) => (refusal(true, 400, &problem), false),
            }
        }
        (Route::PageUpvote(id), Method::Post) => {
            let body = match read_form(request, &headers).await {
                Ok(body) => body,
                Err(reply) => return (reply, false),
            };
            let field = |name: &str| {
                form_urlencoded::parse(&body)
                    .find(|(field, _)| field == name)
                    .map(|(_, value)| value.into_owned())
            };
            let order = Order::parse(&field("sort").unwrap_or_default());
            // The page's button says what a press asks for, so pressing twice does it once.
            let tap = match field("up").as_deref() {
                Some("1") => Tap::Up,
                Some("0") => Tap::Down,
                _ => Tap::Toggle,
            };
            upvote(&cookies, client, id, tap, false, order)
        }
        (Route::ApiUpvote(id), Method::Post) => upvote(&cookies, client, id, Tap::Up, true, order),
        (Route::ApiUpvote(id), Method::Delete) => {
            upvote(&cookies, client, id, Tap::Down, true, order)
        }
        (Route::NoSuchQuestion { api }, _) => {
            (refusal(api, 404, "there is no such question"), false)
        }
        (Route::Page | Route::Api, _) => (
            refusal(api, 405, "use GET, or POST to ask").header("allow", "GET, HEAD, POST"),
            false,
        ),
        (Route::PageUpvote(_), _) => (
            refusal(false, 405, "use POST").header("allow", "POST"),
            false,
        ),
        (Route::ApiUpvote(_), _) => (
            refusal(true, 405, "use POST to upvote, DELETE to take it back")
                .header("allow", "POST, DELETE"),
            false,
        ),
        (Route::NotFound, _) => (
            Reply::text(
                404,
                "Not found: the questions are at /questions and /api/questions.\n",
            ),
            false,
        ),
    }
}

/// A refusal in the interface's format.
fn refusal(api: bool, status: u16, message: &str) -> Reply {
    if api {
        Reply::json(status, &serde_json::json!({ "error": message }))
    } else {
        Reply::text(
            status,
            &format!("{}{}\n", message[..1].to_uppercase(), &message[1..]),
        )
    }
}

/// A form's body, or the refusal to answer.
async fn read_form(request: IncomingRequest, headers: &Headers) -> Result<Vec<u8>, Reply> {
    read(request, headers, "application/x-www-form-urlencoded", false).await
}

async fn read_json(request: IncomingRequest, headers: &Headers) -> Result<Vec<u8>, Reply> {
    read(request, headers, "application/json", true).await
}

async fn read(
    request: IncomingRequest,
    headers: &Headers,
    expected: &str,
    api: bool,
) -> Result<Vec<u8>, Reply> {
    if !headers.content_type_is(expected) {
        return Err(refusal(api, 415, &format!("send the body as {expected}")));
    }
    read_body(request, headers, MAX_BODY_BYTES)
        .await
        .map_err(|problem| match problem {
            BodyProblem::TooLarge => refusal(
                api,
                413,
                &format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            ),
            BodyProblem::Unreadable => refusal(api, 400, "the body could not be read"),
        })
}

/// A question from `{"text": "…", "name": "…"}` (the name optional).
fn ask_from_json(body: &[u8]) -> Result<Ask, String> {
    const FORMAT: &str = r#"send {"text": "your question", "name": "optional"} as JSON"#;
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| FORMAT.to_owned())?;
    let object = value.as_object().ok_or_else(|| FORMAT.to_owned())?;
    let text = object
        .get("text")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| format!("\"text\" is missing: {FORMAT}"))?;
    let name = match object.get("name") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(name)) => Some(name.as_str()),
        Some(_) => return Err("\"name\" is text".to_owned()),
    };
    Ask::new(text, name)
}

/// Identifies the voter and runs `queue_it`; when the list is not kept in Redis, has it
/// rebuilt and tries once more.
fn queue_with(
    cookies: &[String],
    queue_it: impl Fn(&spin_sdk::redis::Connection, &Voter) -> anyhow::Result<Sent>,
) -> Result<(Sent, Voter), Failure> {
    let connection = redis::open()?;
    let voter = voting_glue::voter::identify(&connection, cookie(cookies, VOTER_COOKIE))?;
    let sent = queue_it(&connection, &voter)?;
    if sent.queued != Queued::Unknown {
        return Ok((sent, voter));
    }
    list::read(&connection, None, "")?;
    Ok((queue_it(&connection, &voter)?, voter))
}

fn ask(
    cookies: &[String],
    client: Option<std::net::IpAddr>,
    asked: &Ask,
    api: bool,
    order: Order,
) -> (Reply, bool) {
    match queue_with(cookies, |connection, voter| {
        queue::ask(connection, voter, client, asked)
    }) {
        Ok((sent, voter)) => {
            let reply = match sent.queued {
                Queued::Asked { id, published } if api => Reply::json(
                    202,
                    &serde_json::json!({ "id": id.to_string(), "published": published }),
                ),
                Queued::Asked { published, .. } => {
                    Reply::empty(303).header("location", order.path()).header(
                        "set-cookie",
                        &format!(
                            "{SENT_COOKIE}={}; Path=/questions; HttpOnly; SameSite=Lax; Max-Age=60",
                            if published { "sent" } else { "pending" }
                        ),
                    )
                }
                other => {
                    let draft = Draft {
                        text: &asked.text,
                        name: asked.name.as_deref().unwrap_or_default(),
                    };
                    return (refused(other, api, cookies, order, draft), false);
                }
            };
            (with_voter(reply, &voter), sent.rang)
        }
        Err(error) => (unavailable(api, &error), false),
    }
}

fn upvote(
    cookies: &[String],
    client: Option<std::net::IpAddr>,
    id: i64,
    tap: Tap,
    api: bool,
    order: Order,
) -> (Reply, bool) {
    match queue_with(cookies, |connection, voter| {
        queue::upvote(connection, voter, client, id, tap)
    }) {
        Ok((sent, voter)) => {
            let reply = match sent.queued {
                Queued::Upvoted { up } if api => Reply::json(
                    202,
                    &serde_json::json!({ "id": id.to_string(), "upvoted": up }),
                ),
                Queued::Upvoted { .. } => Reply::empty(303).header("location", order.path()),
                other => {
                    let reply = refused(other, api, cookies, order, Draft::default());
                    return (reply, false);
                }
            };
            (with_voter(reply, &voter), sent.rang)
        }
        Err(error) => (unavailable(api, &error), false),
    }
}

/// A newly issued voter's cookie, on an answer.
fn with_voter(reply: Reply, voter: &Voter) -> Reply {
    match &voter.new_cookie {
        Some(value) => reply.header("set-cookie", &set_cookie(VOTER_COOKIE, value)),
        None => reply,
    }
}

/// The answer to a refused question or upvote: the page with the reason and the `draft` to
/// send again, or JSON.
fn refused(queued: Queued, api: bool, cookies: &[String], order: Order, draft: Draft) -> Reply {
    let (status, message, retry_after) = match queued {
        Queued::Off => (
            409,
            "Q&A is closed: your question was not sent. Questions open when the presenter asks \
             for them."
                .to_owned(),
            None,
        ),
        Queued::OverTheRate { retry_after } => (
            429,
            format!(
                "you asked three questions this minute: ask again in {retry_after} seconds. \
                 This one was not sent."
            ),
            Some(retry_after),
        ),
        Queued::NewVotersOverTheLimit { retry_after } => (
            429,
            format!(
                "too many new voters from your network: try again in {retry_after} seconds. \
                 Nothing was sent."
            ),
            Some(retry_after),
        ),
        Queued::NoSuchQuestion => (404, "there is no such question".to_owned(), None),
        Queued::Unknown => (
            503,
            "the questions are being set up: try again in a second. Nothing was sent.".to_owned(),
            Some(1),
        ),
        Queued::Asked { .. } | Queued::Upvoted { .. } => {
            (500, "an answer that is not a refusal".to_owned(), None)
        }
    };
    let reply = if api {
        Reply::json(status, &serde_json::json!({ "error": message }))
    } else {
        show_page(cookies, order, Message::Error(&message, draft), status)
    };
    match retry_after {
        Some(seconds) => reply.header("retry-after", &seconds.to_string()),
        None => reply,
    }
}

/// What a phone reads when Redis (or, rebuilding the list, PostgreSQL) fails; the log gets
/// the details.
fn unavailable(api: bool, failure: &Failure) -> Reply {
    let advice = failure.advice();
    let message = format!("questions are unavailable right now: {advice}. Nothing was sent.");
    refusal(api, 503, &message).header("retry-after", "1")
}

/// The page: the list, the phone's marks, and `message`.
fn show_page(cookies: &[String], order: Order, message: Message, status: u16) -> Reply {
    let read = || -> Result<(Listing, bool), Failure> {
        let connection = redis::open()?;
        // Marks belong to a voter the app issued; a phone without the cookie has none.
        let known = match cookie(cookies, VOTER_COOKIE) {
            Some(value) => {
                let voter = voting_glue::voter::identify(&connection, Some(value))?;
                voter.new_cookie.is_none().then_some(voter.id)
            }
            None => None,
        };
        list::read(&connection, known.as_deref(), "")
    };
    let read = read();
    let sent = cookie(cookies, SENT_COOKIE);
    let message = match (message, sent) {
        (Message::Idle, Some("sent")) => Message::Sent,
        (Message::Idle, Some("pending")) => Message::Pending,
        (message, _) => message,
    };
    let (listed, marks) = match read {
        Ok((Listing::Fresh { list, marks, .. }, _)) => match Listed::parse(&list) {
            Ok(listed) => (listed, marks),
            Err(error) => return page_unavailable(&Failure::from(error)),
        },
        Ok(_) => {
            return Reply::text(
                503,
                "The questions are being set up: this page reloads by itself.\n",
            )
            .header("retry-after", "1")
            .header("refresh", "1");
        }
        Err(error) => return page_unavailable(&error),
    };
    let reply =
        Reply::html(status, page::render(&listed, order, &marks, message)).script(page::SCRIPT);
    match sent {
        Some(_) => reply.header(
            "set-cookie",
            &format!("{SENT_COOKIE}=; Path=/questions; HttpOnly; SameSite=Lax; Max-Age=0"),
        ),
        None => reply,
    }
}

fn page_unavailable(failure: &Failure) -> Reply {
    let advice = failure.advice();
    Reply::text(
        503,
        &format!("The questions are unavailable right now: {advice}. This page can be reloaded.\n"),
    )
}

/// `/api/questions`: the same for every viewer, shared for a second.
fn api_list(if_none_match: &str) -> (Reply, bool) {
    let read = redis::open()
        .map_err(Failure::Redis)
        .and_then(|connection| list::read(&connection, None, if_none_match));
    match read {
        Ok((Listing::Fresh { etag, list, .. }, ring)) => (
            Reply::new(200, "application/json", list)
                .header("etag", &etag)
                .header("cache-control", SHARED_FOR),
            ring,
        ),
        Ok((Listing::Unchanged { etag }, ring)) => (
            Reply::empty(304)
                .header("etag", &etag)
                .header("cache-control", SHARED_FOR),
            ring,
        ),
        Ok((Listing::Preparing, ring)) => (
            refusal(
                true,
                503,
                "the questions are being set up: try again in a second",
            )
            .header("retry-after", "1")
            .header("cache-control", "no-store"),
            ring,
        ),
        Err(error) => (
            unavailable(true, &error).header("cache-control", "no-store"),
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_name_the_page_the_api_and_the_question() {
        assert_eq!(route("/questions"), Route::Page);
        assert_eq!(route("/questions/"), Route::Page);
        assert_eq!(route("/questions/12/upvote"), Route::PageUpvote(12));
        assert_eq!(route("/api/questions"), Route::Api);
        assert_eq!(route("/api/questions/12/upvote"), Route::ApiUpvote(12));
        assert_eq!(
            route("/api/questions/x/upvote"),
            Route::NoSuchQuestion { api: true }
        );
        assert_eq!(
            route("/questions/0/upvote"),
            Route::NoSuchQuestion { api: false }
        );
        assert_eq!(route("/questions/12"), Route::NotFound);
    }

    #[test]
    fn a_json_question_has_its_text_and_maybe_a_name() {
        assert_eq!(
            ask_from_json(br#"{"text":"Why?","name":"Ada"}"#),
            Ok(Ask {
                text: "Why?".into(),
                name: Some("Ada".into())
            })
        );
        assert_eq!(ask_from_json(br#"{"text":"Why?"}"#).unwrap().name, None);
        for bad in [
            &b"nope"[..],
            b"[]",
            br#"{"name":"Ada"}"#,
            br#"{"text":"Why?","name":3}"#,
            br#"{"text":""}"#,
        ] {
            assert!(
                ask_from_json(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
