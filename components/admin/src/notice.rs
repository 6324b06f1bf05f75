//! Every form of the console and the presenter view is answered with `303 See Other` to the
//! page it came from, refusals included, so that no reload (nor the presenter view's own
//! reload at the end of a countdown) sends an action again. What went wrong travels to that
//! page in a short-lived cookie, shown once and then cleared.

use voting_glue::reply::Reply;

/// The cookie carrying a form's notice to the page it returns to.
const NOTICE_COOKIE: &str = "admin_notice";
/// Long enough to follow a redirect, short enough not to greet a later visit.
const NOTICE_SECONDS: u32 = 60;

pub fn see_other(location: &str) -> Reply {
    Reply::empty(303).header("location", location)
}

/// A redirect to `location` that shows `message` there.
pub fn see_other_with_notice(location: &str, message: &str, https: bool) -> Reply {
    let value: String = form_urlencoded::byte_serialize(message.as_bytes()).collect();
    see_other(location).header("set-cookie", &cookie(&value, NOTICE_SECONDS, https))
}

/// The notice in the request's `Cookie` header values, if any.
pub fn taken(cookie_headers: &[String]) -> Option<String> {
    cookie_headers
        .iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == NOTICE_COOKIE)
        .and_then(|(_, value)| {
            form_urlencoded::parse(format!("notice={value}").as_bytes())
                .next()
                .map(|(_, message)| message.into_owned())
        })
        .filter(|message| !message.is_empty())
}

/// The `Set-Cookie` value that clears the notice once shown.
pub fn cleared(https: bool) -> String {
    cookie("", 0, https)
}

fn cookie(value: &str, max_age: u32, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!(
        "{NOTICE_COOKIE}={value}; Path=/admin; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_survives_the_redirect_once() {
        let reply = see_other_with_notice("/admin/present", "Nothing changed: a; b = <c>", false);
        assert_eq!(reply.status, 303);
        let set_cookie = &reply
            .headers
            .iter()
            .find(|(name, _)| name == "set-cookie")
            .unwrap()
            .1;
        assert!(set_cookie.contains("Path=/admin; Max-Age=60; HttpOnly; SameSite=Strict"));
        let sent = set_cookie.split(';').next().unwrap().to_owned();
        assert_eq!(
            taken(&[format!("admin_session=x; {sent}")]).as_deref(),
            Some("Nothing changed: a; b = <c>")
        );
        assert!(cleared(true).contains("Max-Age=0") && cleared(true).ends_with("; Secure"));
        assert_eq!(taken(&["admin_notice=".to_owned()]), None);
    }
}
