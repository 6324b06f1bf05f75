//! The way into the poll, for a room: the vote page's address and its QR code, an inline SVG
//! made here (no image to fetch, no outside service), large enough to scan off a projector.
//!
//! The address is `public_url` when set (behind a proxy that hides the public name), else the
//! authority this request was sent to (wasi-http gives it in the request's URI, not as a `Host`
//! header), over HTTPS when a TLS proxy says so with `X-Forwarded-Proto` (Spin itself only
//! ever sees plain HTTP there).

use std::fmt::{self, Write};

use qrcode::{Color, EcLevel, QrCode};

/// Light modules around the code, as the QR specification asks for.
const QUIET_ZONE: usize = 4;
/// The longest `public_url` accepted.
const MAX_URL_CHARS: usize = 200;

/// Why `public_url` cannot be used; the text says what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPublicUrl;

impl fmt::Display for BadPublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the variable public_url is not an http:// or https:// address of at most \
             {MAX_URL_CHARS} characters without spaces (e.g. https://poll.example.org): the \
             results page shows the address it was reached at instead"
        )
    }
}

/// The authority of an absolute URI, `host:port` of `http://host:port/path`.
pub fn authority(uri: &str) -> Option<&str> {
    let (_scheme, rest) = uri.split_once("://")?;
    rest.split(['/', '?', '#']).next()
}

/// The vote page's address: `public_url` with one trailing `/`, or, when it is empty, this
/// request's `host` over HTTP, or HTTPS when `forwarded_proto` says so. `None` without either.
pub fn vote_url(
    public_url: &str,
    host: Option<&str>,
    forwarded_proto: Option<&str>,
) -> Result<Option<String>, BadPublicUrl> {
    let public_url = public_url.trim();
    if !public_url.is_empty() {
        let valid = (public_url.starts_with("https://") || public_url.starts_with("http://"))
            && public_url.chars().count() <= MAX_URL_CHARS
            && !public_url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control());
        return match valid {
            true => Ok(Some(format!("{}/", public_url.trim_end_matches('/')))),
            false => Err(BadPublicUrl),
        };
    }
    let Some(host) = host.filter(|host| is_host(host)) else {
        return Ok(None);
    };
    let https = forwarded_proto
        .and_then(|proto| proto.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let scheme = if https { "https" } else { "http" };
    Ok(Some(format!("{scheme}://{host}/")))
}

/// A `Host` header worth printing: a name or address and an optional port, nothing else.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// The QR code of `url` as an `<svg>` element (`label` is its accessible name, HTML-escaped
/// by the caller): dark runs of modules as one path, in a white square with its quiet zone.
pub fn svg(url: &str, label: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(url, EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            let run = row[x..].iter().take_while(|c| **c == Color::Dark).count();
            if run > 0 {
                let _ = write!(
                    path,
                    "M{} {}h{run}v1h-{run}z",
                    x + QUIET_ZONE,
                    y + QUIET_ZONE
                );
            }
            x += run.max(1);
        }
    }
    let size = width + 2 * QUIET_ZONE;
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" role=\"img\" \
         aria-label=\"{label}\" shape-rendering=\"crispEdges\"><rect width=\"{size}\" \
         height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the code back as a phone would: the SVG drawn at 4 pixels a module, then found
    /// and decoded in the picture.
    fn scan(svg: &str) -> String {
        let size: usize = svg
            .split("viewBox=\"0 0 ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        let mut dark = vec![false; size * size];
        let path = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        for run in path.split('M').filter(|run| !run.is_empty()) {
            let (x, rest) = run.split_once(' ').unwrap();
            let (y, rest) = rest.split_once('h').unwrap();
            let length = rest.split('v').next().unwrap();
            let (x, y, length): (usize, usize, usize) = (
                x.parse().unwrap(),
                y.parse().unwrap(),
                length.parse().unwrap(),
            );
            for module in x..x + length {
                dark[y * size + module] = true;
            }
        }
        const SCALE: usize = 4;
        let mut image =
            rqrr::PreparedImage::prepare_from_greyscale(size * SCALE, size * SCALE, |x, y| {
                if dark[(y / SCALE) * size + x / SCALE] {
                    0
                } else {
                    255
                }
            });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "one code in the picture");
        grids[0].decode().unwrap().1
    }

    #[test]
    fn the_code_scans_back_to_the_address() {
        for url in [
            "http://127.0.0.1:3000/",
            "https://poll.example.org/talks/2026/wasm-microservices/",
        ] {
            let svg = svg(url, "QR code").unwrap();
            assert_eq!(scan(&svg), url);
            assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        }
    }

    #[test]
    fn the_authority_of_a_request_uri() {
        assert_eq!(
            authority("http://127.0.0.1:3000/result?x=1"),
            Some("127.0.0.1:3000")
        );
        assert_eq!(
            authority("http://poll.example.org"),
            Some("poll.example.org")
        );
        assert_eq!(authority("/result"), None);
    }

    #[test]
    fn public_url_comes_first_then_the_requests_host() {
        let url = |public, host, proto| vote_url(public, host, proto);
        assert_eq!(
            url("https://poll.example.org//", Some("10.0.0.5:3000"), None),
            Ok(Some("https://poll.example.org/".into()))
        );
        assert_eq!(
            url("", Some("127.0.0.1:3000"), None),
            Ok(Some("http://127.0.0.1:3000/".into()))
        );
        assert_eq!(
            url("", Some("poll.example.net"), Some("https, http")),
            Ok(Some("https://poll.example.net/".into()))
        );
        assert_eq!(url("", None, Some("https")), Ok(None));
        assert_eq!(url("", Some("evil\"><script>"), None), Ok(None));
        for bad in [
            "poll.example.org",
            "ftp://x",
            "https://a b",
            "javascript:alert(1)",
        ] {
            assert_eq!(
                url(bad, Some("127.0.0.1"), None),
                Err(BadPublicUrl),
                "{bad}"
            );
        }
    }
}
