//! The console's routes: the sign-in form, signing out, the forms that change the poll (each
//! answered with a redirect back to `/admin`) and the downloads, all behind a session.

use spin_sdk::http::Method;
use voting_glue::reply::Reply;
use voting_shared::poll::Poll;
use voting_shared::session;

use crate::Asked;
use crate::access::{Interface, check_token, end_session, open_session, signed_in};
use crate::actions::{
    Change, MAX_NEW_VOTER_LIMIT, Refusal, change, download, list_rounds, read_limit, set_limit,
};
use crate::pages;

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
    let done = match (&asked.method, path) {
        (Method::Get | Method::Head, "/admin") => return console_page(configured, None, 200),
        (Method::Post, "/admin/rounds") => {
            match pages::poll_from_form(&form("question"), &form("options")) {
                Ok(poll) => change(Change::Start(poll), configured).map(|_| ()),
                Err(problem) => Err(Refusal::new(400, format!("No new round: {problem}."))),
            }
        }
        (Method::Post, "/admin/reset") => change(Change::Again, configured).map(|_| ()),
        (Method::Post, "/admin/close") => change(Change::SetOpen(false), configured).map(|_| ()),
        (Method::Post, "/admin/open") => change(Change::SetOpen(true), configured).map(|_| ()),
        (Method::Post, "/admin/limit") => match form("limit").trim().parse::<i64>() {
            Ok(limit) if (0..=MAX_NEW_VOTER_LIMIT).contains(&limit) => set_limit(limit).map(|_| ()),
            _ => Err(Refusal::new(
                400,
                format!("The limit is a whole number from 0 (no limit) to {MAX_NEW_VOTER_LIMIT}."),
            )),
        },
        (Method::Get, _) => {
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            return match segments.as_slice() {
                ["admin", "rounds", number, file] => download(number, file, configured)
                    .unwrap_or_else(|refusal| {
                        Reply::text(refusal.status, &format!("{}\n", refusal.message))
                    }),
                _ => Reply::text(404, "Not found: the console is at /admin.\n"),
            };
        }
        _ => return Reply::text(405, "Use the console's own forms.\n").header("allow", "GET"),
    };
    match done {
        Ok(()) => see_other("/admin"),
        Err(refusal) => console_page(configured, Some(&refusal.message), refusal.status),
    }
}

fn console_page(configured: &Poll, notice: Option<&str>, status: u16) -> Reply {
    let shown = list_rounds(configured).and_then(|rounds| Ok((rounds, read_limit()?)));
    match shown {
        Ok((rounds, limit)) => Reply::html(status, pages::render(&rounds, limit, notice)),
        Err(refusal) => Reply::html(
            refusal.status,
            pages::render(&[], 0, Some(&refusal.message)),
        ),
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
