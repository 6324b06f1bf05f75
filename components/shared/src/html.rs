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

/// The look every page shares; each page adds its own rules.
const BASE_STYLE: &str = "\
body { font-family: system-ui, sans-serif; background: #f4f6f8; color: #222; margin: 0; text-align: center; }
main { max-width: 40rem; margin: 3rem auto; padding: 2rem; background: #fff; border-radius: 12px; box-shadow: 0 2px 12px #0002; }
h1 { margin-top: 0; }
.notice { color: #a00; min-height: 1.2em; }
footer { color: #777; font-size: .85rem; }
";

/// A complete page: `title` and `main` are HTML (already escaped), `style` the page's own
/// CSS, `script` its inline `<script>` element or nothing. Everything is inline: no CDN.
pub fn page(title: &str, style: &str, main: &str, script: &str) -> String {
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
        let html = page("T &amp; U", "p { }\n", "<p>hi</p>\n", "");
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>T &amp; U</title>"));
        assert!(html.contains("p { }\n</style>"));
        assert!(html.contains("<main>\n<p>hi</p>\n</main>"));
        assert!(!html.contains("src=\"http"));
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
