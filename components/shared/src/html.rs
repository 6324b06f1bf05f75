//! Escaping text for HTML, for everything that comes from configuration or input.

/// Escapes `text` for use in HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// The look every page shares, light and dark; each page adds its own rules. Colours meet
/// WCAG AA contrast with their text (white on every `choice-*` colour); focus is always
/// visible.
const BASE_STYLE: &str = "\
:root { color-scheme: light dark; --bg: #eef1f5; --card: #fff; --text: #1c2430; --muted: #4f5b6b;
  --a: #1d5f9e; --b: #a8480a; --c: #2e7d32; --d: #7b3fa0; --e: #b0265a; --f: #00727a; --g: #7a5b00;
  --h: #4a5568; --focus: #6b3fd4; --alert: #a11b1b; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #10151c; --card: #1b222c; --text: #e8edf3; --muted: #a9b4c2;
    --a: #2f74b8; --b: #b5530f; --focus: #c9b3ff; --alert: #ff9d9d; }
}
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; background: var(--bg); color: var(--text);
  margin: 0; text-align: center; font-size: clamp(1rem, 0.9rem + 0.5vw, 1.35rem); line-height: 1.45; }
main { width: min(100% - 1.5rem, 56rem); margin: clamp(0.75rem, 4vw, 3rem) auto 1rem; padding: clamp(1rem, 4vw, 2.5rem);
  background: var(--card); border-radius: 16px; box-shadow: 0 4px 24px #0003; }
h1 { margin: 0 0 .25em; font-size: clamp(1.6rem, 1.2rem + 2.5vw, 3.2rem); }
a { color: inherit; }
a:focus-visible, button:focus-visible { outline: 4px solid var(--focus); outline-offset: 4px; }
.notice { color: var(--alert); font-weight: 600; min-height: 1.45em; margin: .75rem 0 0; }
footer { color: var(--muted); font-size: .85em; margin: 0 auto 2rem; }
footer a { margin: 0 .5em; }
@media (prefers-reduced-motion: reduce) { * { transition: none !important; } }
.choice-a { background: var(--a); } .choice-b { background: var(--b); } .choice-c { background: var(--c); }
.choice-d { background: var(--d); } .choice-e { background: var(--e); } .choice-f { background: var(--f); }
.choice-g { background: var(--g); } .choice-h { background: var(--h); }
";

/// The JavaScript every page that follows the room starts its script with (the results page,
/// the vote page, the presenter view, the console, the questions), put in with `concat!`:
///
/// - `follow(url, onAnswer, onTrouble)` polls `url` (`/result/api`, `/api/questions`) about
///   once a second with its ETag, calling `onAnswer` with each new answer and `onTrouble` when
///   it fails. A room of phones
///   must not stampede: each wait is jittered by ±20%, a hidden tab does not poll (and polls at
///   once when shown again), and failures back off, doubling up to 30 s, never sooner than a
///   `Retry-After` says.
/// - `deadlineOf(answer)` is the answer's deadline on this device's clock (`null`: none), from
///   its `closes_at` and the server's `now`, whatever this device's clock says; `secondsTo`
///   counts down to it.
#[macro_export]
macro_rules! follow_results_js {
    () => {
        r#"
  const follow = (url, onAnswer, onTrouble) => {
    let etag = null, backoff = 1000, timer = null, busy = false;
    const schedule = (ms) => {
      clearTimeout(timer);
      timer = document.hidden ? null : setTimeout(poll, ms * (0.8 + 0.4 * Math.random()));
    };
    async function poll() {
      timer = null;
      if (busy || document.hidden) return;
      busy = true;
      let wait = 1000;
      try {
        const response = await fetch(url, { headers: etag ? { "If-None-Match": etag } : {} });
        if (response.status === 200 || response.status === 304) {
          backoff = 1000;
          if (response.status === 200) {
            const answer = await response.json();
            etag = response.headers.get("ETag");
            onAnswer(answer);
          }
        } else {
          etag = null;
          backoff = Math.min(backoff * 2, 30000);
          wait = Math.max(backoff, (Number(response.headers.get("Retry-After")) || 0) * 1000);
          onTrouble(response.status);
        }
      } catch (error) {
        etag = null;
        backoff = Math.min(backoff * 2, 30000);
        wait = backoff;
        onTrouble(0);
      }
      busy = false;
      schedule(wait);
    }
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) { clearTimeout(timer); timer = null; } else if (!busy) schedule(0);
    });
    schedule(1000);
  };
  const deadlineOf = (answer) =>
    answer.closes_at === null || answer.closes_at === undefined ? null : Date.now() + (answer.closes_at - answer.now);
  const secondsTo = (deadline) => Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
"#
    };
}

/// The headers every answer carries: no framing by other sites, no MIME sniffing, no
/// referrer sent elsewhere, and a content security policy that allows the page's inline style
/// and exactly one inline script, `script` (the text [`page`] puts in its `<script>`), by hash.
pub fn security_headers(script: &str) -> [(&'static str, String); 4] {
    use base64::Engine;
    use sha2::Digest;
    let scripts = if script.is_empty() {
        String::new()
    } else {
        let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script));
        format!(" script-src 'sha256-{hash}';")
    };
    [
        (
            "content-security-policy",
            format!(
                "default-src 'none'; connect-src 'self'; img-src 'self'; style-src 'unsafe-inline';\
                 {scripts} form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
            ),
        ),
        ("x-content-type-options", "nosniff".to_owned()),
        ("referrer-policy", "same-origin".to_owned()),
        ("x-frame-options", "DENY".to_owned()),
    ]
}

/// A complete page: `title`, `main` and `footer` are HTML (already escaped), `style` the
/// page's own CSS, `script` the JavaScript of its one inline script, or nothing. Everything is
/// inline: no CDN, no file to fetch. Send it with [`security_headers`] of the same `script`.
pub fn page(title: &str, style: &str, main: &str, footer: &str, script: &str) -> String {
    let script = if script.is_empty() {
        String::new()
    } else {
        format!("<script>{script}</script>\n")
    };
    format!(
        "<!DOCTYPE html>
<html lang=\"en\">
<head>
<meta charset=\"utf-8\">
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">
<title>{title}</title>
<style>
{BASE_STYLE}{style}</style>
</head>
<body>
<main>
{main}</main>
<footer>{footer}</footer>
{script}</body>
</html>
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_self_contained() {
        let html = page(
            "T &amp; U",
            "p { }\n",
            "<p>hi</p>\n",
            "<a href=\"/\">x</a>",
            "",
        );
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>T &amp; U</title>"));
        assert!(html.contains("p { }\n</style>"));
        assert!(html.contains("<main>\n<p>hi</p>\n</main>\n<footer><a href=\"/\">x</a></footer>"));
        assert!(!html.contains("src=\"http"));
    }

    #[test]
    fn the_policy_allows_exactly_the_pages_script_by_hash() {
        let script = "console.log(1)";
        let html = page("t", "", "", "", script);
        assert!(html.contains("<script>console.log(1)</script>"));
        let [(name, policy), ..] = security_headers(script);
        assert_eq!(name, "content-security-policy");
        // printf 'console.log(1)' | openssl dgst -sha256 -binary | base64
        assert!(
            policy.contains("script-src 'sha256-CihokcEcBW4atb/CW/XWsvWwbTjqwQlE9nj9ii5ww5M=';"),
            "{policy}"
        );
        assert!(policy.contains("frame-ancestors 'none'"));
        let [(_, no_script), ..] = security_headers("");
        assert!(
            !no_script.contains("script-src"),
            "default-src 'none' forbids scripts"
        );
    }

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("Cats"), "Cats");
    }
}
