//! The console's routes: the sign-in form, signing out, the forms that change the poll and
//! edit the deck (each answered with a redirect back to `/admin`, or to the presenter view
//! when sent from there), the presenter view, and the downloads, all behind a session.

use spin_sdk::http::Method;
use voting_glue::reply::Reply;
use voting_shared::deck::{deck_json, parse_deck};
use voting_shared::poll::Poll;
use voting_shared::session;

use crate::Asked;
use crate::access::{self, Interface, check_token, end_session, open_session, signed_in};
use crate::actions::{
    ADDED_SECONDS, Change, MAX_NEW_VOTER_LIMIT, Refusal, change, download, edit_deck, list_rounds,
    read_deck, read_limit, replace_deck, set_limit,
};
use crate::deck::Edit;
use crate::{pages, present};

/// Answers `path` (under `/admin`, not the API).
pub fn handle(asked: &Asked, path: &str, token: &str, configured: &Poll) -> Reply {
    if asked.method == Method::Post && asked.cross_site {
        return Reply::text(
            403,
            "Changes from other sites are refused: use the console itself.\n",
        );
    }
    match (&asked.method, path) {
        (Method::Post, "/admin/sign-in") => return sign_in(asked, token),
        (Method::Post, "/admin/sign-out") => return sign_out(asked, token),
        _ => {}
    }
    let signed_in = match signed_in(asked, token) {
        Ok(signed_in) => signed_in,
        Err(refusal) => {
            return Reply::html(refusal.status, pages::sign_in(Some(&refusal.message)));
        }
    };
    if !signed_in {
        return match (&asked.method, path) {
            (Method::Get | Method::Head, "/admin") => Reply::html(200, pages::sign_in(None)),
            _ => see_other("/admin"),
        };
    }
    let form = |name: &str| {
        form_urlencoded::parse(&asked.body)
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default()
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let done = match (&asked.method, segments.as_slice()) {
        (Method::Get | Method::Head, ["admin"]) => return console_page(configured, None, 200),
        (Method::Get | Method::Head, ["admin", "present"]) => {
            return present::page(asked, configured, None, 200);
        }
        (Method::Get | Method::Head, ["admin", "deck.json"]) => {
            return match read_deck() {
                Ok((questions, next)) => Reply::json(200, &deck_json(&questions, next))
                    .header("content-disposition", "attachment; filename=\"deck.json\""),
                Err(refusal) => Reply::text(refusal.status, &format!("{}\n", refusal.message)),
            };
        }
        (Method::Post, ["admin", "rounds"]) => match pages::question_from_form(form) {
            Ok(question) => change(Change::Start(question), configured).map(|_| ()),
            Err(problem) => Err(Refusal::new(400, format!("No new round: {problem}."))),
        },
        (Method::Post, ["admin", "reset"]) => change(Change::Again, configured).map(|_| ()),
        (Method::Post, ["admin", "next"]) => change(Change::Next, configured).map(|_| ()),
        (Method::Post, ["admin", "close"]) => {
            change(Change::SetOpen(false), configured).map(|_| ())
        }
        (Method::Post, ["admin", "open"]) => change(Change::SetOpen(true), configured).map(|_| ()),
        (Method::Post, ["admin", "reveal"]) => change(Change::Reveal, configured).map(|_| ()),
        (Method::Post, ["admin", "time"]) => {
            change(Change::AddTime(ADDED_SECONDS), configured).map(|_| ())
        }
        (Method::Post, ["admin", "deck"]) => match parse_deck(form("deck").as_bytes()) {
            Ok(questions) => replace_deck(&questions, Some(1)),
            Err(problem) => Err(Refusal::new(
                400,
                format!("The deck is unchanged: {problem}."),
            )),
        },
        (Method::Post, ["admin", "deck", "add"]) => match pages::question_from_form(form) {
            Ok(question) => edit_deck(Edit::Add(question)),
            Err(problem) => Err(Refusal::new(400, format!("Nothing added: {problem}."))),
        },
        (Method::Post, ["admin", "deck", position, action]) => {
            match (position.parse::<usize>(), *action) {
                (Ok(position), "save") => match pages::question_from_form(form) {
                    Ok(question) => edit_deck(Edit::Replace(position, question)),
                    Err(problem) => Err(Refusal::new(
                        400,
                        format!("Question {position} is unchanged: {problem}."),
                    )),
                },
                (Ok(position), "up") => edit_deck(Edit::MoveUp(position)),
                (Ok(position), "down") => edit_deck(Edit::MoveDown(position)),
                (Ok(position), "delete") => edit_deck(Edit::Delete(position)),
                _ => return Reply::text(404, "Not found: the console is at /admin.\n"),
            }
        }
        (Method::Post, ["admin", "limit"]) => match form("limit").trim().parse::<i64>() {
            Ok(limit) if (0..=MAX_NEW_VOTER_LIMIT).contains(&limit) => set_limit(limit).map(|_| ()),
            _ => Err(Refusal::new(
                400,
                format!("The limit is a whole number from 0 (no limit) to {MAX_NEW_VOTER_LIMIT}."),
            )),
        },
        (Method::Get, ["admin", "rounds", number, file]) => {
            return download(number, file, configured).unwrap_or_else(|refusal| {
                Reply::text(refusal.status, &format!("{}\n", refusal.message))
            });
        }
        (Method::Get, _) => return Reply::text(404, "Not found: the console is at /admin.\n"),
        _ => return Reply::text(405, "Use the console's own forms.\n").header("allow", "GET"),
    };
    let back = if form("back") == "present" {
        "/admin/present"
    } else {
        "/admin"
    };
    match done {
        Ok(()) => see_other(back),
        Err(refusal) if back == "/admin/present" => {
            present::page(asked, configured, Some(&refusal.message), refusal.status)
        }
        Err(refusal) => console_page(configured, Some(&refusal.message), refusal.status),
    }
}

fn console_page(configured: &Poll, notice: Option<&str>, status: u16) -> Reply {
    let shown =
        list_rounds(configured).and_then(|rounds| Ok((rounds, read_limit()?, read_deck()?)));
    match shown {
        Ok((rounds, limit, (deck, next))) => {
            let console = pages::Console {
                new_voter_limit: limit,
                deck: &deck,
                next,
                notice,
                now_ms: access::unix_ms(),
            };
            Reply::html(status, pages::render(&rounds, &console)).script(pages::SCRIPT)
        }
        Err(refusal) => {
            let console = pages::Console {
                new_voter_limit: 0,
                deck: &[],
                next: 1,
                notice: Some(&refusal.message),
                now_ms: 0,
            };
            Reply::html(refusal.status, pages::render(&[], &console)).script(pages::SCRIPT)
        }
    }
}

fn see_other(location: &str) -> Reply {
    Reply::empty(303).header("location", location)
}

/// Checks the token given at the sign-in form and opens a session.
fn sign_in(asked: &Asked, token: &str) -> Reply {
    let given = form_urlencoded::parse(&asked.body)
        .find(|(field, _)| field == "token")
        .map(|(_, value)| value.into_owned());
    if let Err(refusal) = check_token(asked, given.as_deref(), token, Interface::Console) {
        return refusal;
    }
    match open_session(token) {
        Ok(value) => {
            see_other("/admin").header("set-cookie", &session::set_cookie(&value, asked.https))
        }
        Err(refusal) => Reply::html(refusal.status, pages::sign_in(Some(&refusal.message))),
    }
}

fn sign_out(asked: &Asked, token: &str) -> Reply {
    if let Err(refusal) = end_session(asked, token) {
        return Reply::html(refusal.status, pages::sign_in(Some(&refusal.message)));
    }
    see_other("/admin").header("set-cookie", &session::clear_cookie(asked.https))
}
