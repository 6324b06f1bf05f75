//! Refusing cross-site POSTs: a page on another site must not be able to cast a vote, or
//! change the poll, with the visitor's cookie. Browsers say where a request comes from (`Sec-Fetch-Site`, `Origin`);
//! clients that are not browsers (curl, ab, the load tool) send neither and are let through.

/// Whether a request with these headers comes from another site's page.
pub fn is_cross_site(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    host: Option<&str>,
) -> bool {
    if sec_fetch_site.is_some_and(|site| site.trim().eq_ignore_ascii_case("cross-site")) {
        return true;
    }
    let Some(origin) = origin.map(str::trim) else {
        return false;
    };
    // `null` (a sandboxed or privacy-sensitive context) is not the app's own origin either.
    let Some((scheme, authority)) = origin.split_once("://") else {
        return true;
    };
    match host {
        Some(host) => {
            without_default_port(scheme, authority) != without_default_port(scheme, host.trim())
        }
        None => true,
    }
}

fn without_default_port(scheme: &str, authority: &str) -> String {
    let authority = authority.to_ascii_lowercase();
    let default = match scheme.to_ascii_lowercase().as_str() {
        "https" => ":443",
        _ => ":80",
    };
    authority
        .strip_suffix(default)
        .map(str::to_owned)
        .unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOST: Option<&str> = Some("votes.example.com");

    #[test]
    fn the_apps_own_pages_and_clients_without_a_browser_may_vote() {
        assert!(!is_cross_site(None, None, HOST), "curl, ab");
        assert!(!is_cross_site(
            Some("same-origin"),
            Some("https://votes.example.com"),
            HOST
        ));
        assert!(!is_cross_site(
            None,
            Some("http://votes.example.com:80"),
            HOST
        ));
        assert!(
            !is_cross_site(Some("none"), None, HOST),
            "typed in the address bar"
        );
        let local = Some("127.0.0.1:3000");
        assert!(!is_cross_site(None, Some("http://127.0.0.1:3000"), local));
    }

    #[test]
    fn other_sites_may_not() {
        assert!(is_cross_site(Some("cross-site"), None, HOST));
        assert!(is_cross_site(None, Some("https://evil.example"), HOST));
        assert!(is_cross_site(None, Some("null"), HOST));
        assert!(is_cross_site(
            None,
            Some("https://votes.example.com:8443"),
            HOST
        ));
        assert!(is_cross_site(None, Some("https://votes.example.com"), None));
    }

    proptest! {
        #[test]
        fn never_panics(site in ".{0,20}", origin in ".{0,40}", host in ".{0,30}") {
            is_cross_site(Some(&site), Some(&origin), Some(&host));
        }
    }
}
