//! The console's routes: the sign-in form, signing out, the forms that change the poll and
//! edit the deck, the presenter view, and the downloads, all behind a session. Every form is
//! answered with a redirect back to the page it came from (`/admin`, or the presenter view),
//! refusals included ([`notice`](crate::notice)).

use spin_sdk::http::Method;
use voting_glue::reply::Reply;
use voting_shared::deck::{deck_json, parse_deck};
use voting_shared::poll::Poll;
use voting_shared::questions::Mode;
use voting_shared::session;

use crate::Asked;
use crate::access::{Interface, check_token, end_session, open_session, signed_in};
use crate::actions::{
    self, FormFields, MAX_NEW_VOTER_LIMIT, Refusal, change, clock, download, edit_deck,
    list_rounds, read_deck, read_limit, replace_deck, set_limit,
};
use crate::deck::Edit;
use crate::notice::{self, see_other, see_other_with_notice};
use crate::{pages, present, present_qa, qa};

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
            (Method::Get | Method::Head, "/admin") => shown_once(
                asked,
                Reply::html(200, pages::sign_in(asked.notice.as_deref())),
            ),
            _ => see_other("/admin"),
        };
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (&asked.method, segments.as_slice()) {
        (Method::Get | Method::Head, ["admin"]) => {
            shown_once(asked, console_page(asked, configured))
        }
        (Method::Get | Method::Head, ["admin", "present"]) if asked.query == "qa" => {
            shown_once(asked, present_qa::page(asked))
        }
        (Method::Get | Method::Head, ["admin", "present"]) => {
            shown_once(asked, present::page(asked, configured))
        }
        (Method::Get | Method::Head, ["admin", "questions.csv"]) => match qa::read() {
            Ok(snapshot) => Reply::new(200, "text/csv; charset=utf-8", qa::csv(&snapshot)).header(
                "content-disposition",
                "attachment; filename=\"questions.csv\"",
            ),
            Err(refusal) => Reply::text(refusal.status, &format!("{}\n", refusal.message)),
        },
        (Method::Get | Method::Head, ["admin", "deck.json"]) => match read_deck() {
            Ok(deck) => Reply::json(200, &deck_json(&deck.questions, deck.next))
                .header("content-disposition", "attachment; filename=\"deck.json\""),
            Err(refusal) => Reply::text(refusal.status, &format!("{}\n", refusal.message)),
        },
        (Method::Get, ["admin", "rounds", number, file]) => download(number, file, configured)
            .unwrap_or_else(|refusal| {
                Reply::text(refusal.status, &format!("{}\n", refusal.message))
            }),
        (Method::Get, _) => Reply::text(404, "Not found: the console is at /admin.\n"),
        (Method::Post, ["admin", rest @ ..]) => {
            let field = |name: &str| {
                form_urlencoded::parse(&asked.body)
                    .find(|(field, _)| field == name)
                    .map(|(_, value)| value.into_owned())
                    .unwrap_or_default()
            };
            let back = if field("back") == "present" {
                "/admin/present"
            } else {
                "/admin"
            };
            match post(rest, &field, configured) {
                Some(Ok(())) => see_other(back),
                Some(Err(refusal)) => see_other_with_notice(back, &refusal.message, asked.https),
                None => Reply::text(404, "Not found: the console is at /admin.\n"),
            }
        }
        _ => Reply::text(405, "Use the console's own forms.\n").header("allow", "GET"),
    }
}

/// Does what the form posted to `/admin/<route…>` asks, with `field` reading its fields;
/// `None` for no such form.
fn post(route: &[&str], field: FormFields, configured: &Poll) -> Option<Result<(), Refusal>> {
    let shown_version = || {
        field("deck_version").trim().parse::<i64>().map_err(|_| {
            Refusal::new(
                400,
                "The form has no deck version: reload the console and try again.".into(),
            )
        })
    };
    let done = match route {
        [name] if actions::action(name).is_some() => {
            let action = actions::action(name).expect("checked by the guard");
            match (action.from_form)(field) {
                Ok(asked_for) => change(asked_for, configured).map(|_| ()),
                Err(problem) => Err(Refusal::new(400, problem)),
            }
        }
        ["deck"] => match parse_deck(field("deck").as_bytes()) {
            Ok(questions) => {
                shown_version().and_then(|version| replace_deck(&questions, Some(version)))
            }
            Err(problem) => Err(Refusal::new(
                400,
                format!("The deck is unchanged: {problem}."),
            )),
        },
        ["deck", "add"] => match pages::question_from_form(field) {
            Ok(question) => {
                shown_version().and_then(|version| edit_deck(Edit::Add(question), version))
            }
            Err(problem) => Err(Refusal::new(400, format!("Nothing added: {problem}."))),
        },
        ["deck", position, action] => {
            let position = position.parse::<usize>().ok()?;
            let edit = match *action {
                "save" => match pages::question_from_form(field) {
                    Ok(question) => Edit::Replace(position, question),
                    Err(problem) => {
                        return Some(Err(Refusal::new(
                            400,
                            format!("Question {position} is unchanged: {problem}."),
                        )));
                    }
                },
                "up" => Edit::MoveUp(position),
                "down" => Edit::MoveDown(position),
                "delete" => Edit::Delete(position),
                _ => return None,
            };
            shown_version().and_then(|version| edit_deck(edit, version))
        }
        ["questions", "mode"] => match Mode::parse(&field("mode")) {
            Some(mode) => qa::set_mode(mode).map(|_| ()),
            None => Err(Refusal::new(
                400,
                "The mode is off, open or moderated.".into(),
            )),
        },
        ["questions", id, action] => match (id.parse::<i64>(), qa::Moderation::parse(action)) {
            (Ok(id), Some(moderation)) => qa::moderate(id, moderation).map(|_| ()),
            _ => return None,
        },
        ["limit"] => match field("limit").trim().parse::<i64>() {
            Ok(limit) if (0..=MAX_NEW_VOTER_LIMIT).contains(&limit) => set_limit(limit).map(|_| ()),
            _ => Err(Refusal::new(
                400,
                format!("The limit is a whole number from 0 (no limit) to {MAX_NEW_VOTER_LIMIT}."),
            )),
        },
        _ => return None,
    };
    Some(done)
}

/// A page that showed the request's notice, which it then clears.
fn shown_once(asked: &Asked, page: Reply) -> Reply {
    match asked.notice {
        Some(_) => page.header("set-cookie", &notice::cleared(asked.https)),
        None => page,
    }
}

fn console_page(asked: &Asked, configured: &Poll) -> Reply {
    let shown = clock().and_then(|now_ms| {
        Ok((
            list_rounds(configured, now_ms)?,
            read_limit()?,
            read_deck()?,
            qa::read()?,
            now_ms,
        ))
    });
    let notice = asked.notice.as_deref();
    match shown {
        Ok((rounds, limit, deck, questions, now_ms)) => {
            let console = pages::Console {
                new_voter_limit: limit,
                deck: &deck,
                questions: Some(&questions),
                notice,
                now_ms,
            };
            Reply::html(200, pages::render(&rounds, &console)).script(pages::SCRIPT)
        }
        Err(refusal) => {
            let deck = crate::deck::Deck {
                questions: Vec::new(),
                next: 1,
                version: 0,
            };
            let message = match notice {
                Some(notice) => format!("{notice} {}", refusal.message),
                None => refusal.message,
            };
            let console = pages::Console {
                new_voter_limit: 0,
                deck: &deck,
                questions: None,
                notice: Some(&message),
                now_ms: 0,
            };
            Reply::html(refusal.status, pages::render(&[], &console)).script(pages::SCRIPT)
        }
    }
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
        Err(refusal) => see_other_with_notice("/admin", &refusal.message, asked.https),
    }
}

fn sign_out(asked: &Asked, token: &str) -> Reply {
    if let Err(refusal) = end_session(asked, token) {
        return see_other_with_notice("/admin", &refusal.message, asked.https);
    }
    see_other("/admin").header("set-cookie", &session::clear_cookie(asked.https))
}
