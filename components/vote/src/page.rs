//! The voting page, complete without JavaScript: one form, one large button per option.
//! The visitor's current choice is marked in words and with a check mark, not by colour alone.

use voting_shared::choice::{Choice, Labels};
use voting_shared::html::{self, escape};

/// What the page says under the buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// Nothing happened yet on this request.
    Idle,
    /// The visitor's vote was just queued.
    Confirmation,
    /// The request failed; the text says why and what to do.
    Error(&'a str),
}

/// Renders the page; `chosen` is the visitor's current vote.
pub fn render(labels: &Labels, chosen: Option<Choice>, message: Message) -> String {
    let a = escape(&labels.a);
    let b = escape(&labels.b);
    let buttons: String = Choice::ALL
        .into_iter()
        .map(|choice| {
            let label = escape(labels.of(choice));
            let value = choice.as_str();
            let pressed = chosen == Some(choice);
            let state = if pressed {
                "<span class=\"state\">&#10003; Your vote</span>"
            } else {
                "<span class=\"state\">Vote</span>"
            };
            format!(
                "<button id=\"{value}\" name=\"vote\" value=\"{value}\" type=\"submit\" \
                 aria-pressed=\"{pressed}\"><span class=\"label\">{label}</span>{state}</button>\n"
            )
        })
        .collect();
    let status = match (message, chosen) {
        (Message::Error(error), _) => {
            format!("<p class=\"notice\" role=\"alert\">{}</p>", escape(error))
        }
        (message, Some(choice)) => format!(
            "<p class=\"cast\" role=\"status\">{thanks}Your vote: <strong>{}</strong>. \
             You can change it at any time.</p>",
            escape(labels.of(choice)),
            thanks = if message == Message::Confirmation {
                "Thanks! "
            } else {
                ""
            },
        ),
        (_, None) => {
            "<p class=\"cast\" role=\"status\">Pick one. You can change your vote later.</p>"
                .to_owned()
        }
    };
    let main = format!(
        r#"<h1>{a} or {b}?</h1>
<form method="post" action="/" aria-label="Your vote">
{buttons}</form>
{status}
"#
    );
    let footer = "<a href=\"/result\">See the results</a> · Served by a Spin WebAssembly component";
    html::page(&format!("{a} or {b}? — vote"), STYLE, &main, footer, "")
}

const STYLE: &str = "\
form { display: flex; flex-wrap: wrap; gap: clamp(.75rem, 2vw, 1.5rem); justify-content: center; margin: 1.5rem 0 1rem; }
button { flex: 1 1 14rem; min-height: clamp(6rem, 18vw, 14rem); display: flex; flex-direction: column;
  align-items: center; justify-content: center; gap: .4em; padding: 1rem; border: 4px solid transparent;
  border-radius: 14px; color: #fff; font: inherit; cursor: pointer; transition: transform .1s; }
button:hover { transform: translateY(-2px); }
#a { background: var(--a); } #b { background: var(--b); }
.label { font-size: clamp(1.6rem, 1.1rem + 3vw, 3.6rem); font-weight: 700; }
.state { font-size: .9em; padding: .15em .8em; border-radius: 99px; border: 2px solid #fff8; }
button[aria-pressed=true] { border-color: var(--text); box-shadow: 0 0 0 3px var(--card) inset; }
button[aria-pressed=true] .state { background: #fff; color: #000; font-weight: 700; border-color: #fff; }
.cast { margin: .75rem 0 0; }
";

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        Labels::new("Cats", "Dogs")
    }

    #[test]
    fn shows_both_options_as_buttons_of_one_form() {
        let page = render(&labels(), None, Message::Idle);
        assert!(page.contains("<title>Cats or Dogs? — vote</title>"));
        assert!(page.contains(
            r#"value="a" type="submit" aria-pressed="false"><span class="label">Cats</span>"#
        ));
        assert!(page.contains(
            r#"value="b" type="submit" aria-pressed="false"><span class="label">Dogs</span>"#
        ));
        assert!(!page.contains("&#10003;"));
    }

    #[test]
    fn highlights_the_current_choice() {
        let page = render(&labels(), Some(Choice::B), Message::Idle);
        assert!(page.contains(
            r#"aria-pressed="true"><span class="label">Dogs</span><span class="state">&#10003; Your vote</span>"#
        ));
        assert!(page.contains("Your vote: <strong>Dogs</strong>"));
        assert!(!page.contains("Thanks!"));
        let confirmed = render(&labels(), Some(Choice::B), Message::Confirmation);
        assert!(confirmed.contains("Thanks! Your vote: <strong>Dogs</strong>"));
    }

    #[test]
    fn escapes_labels_and_notices() {
        let hostile = Labels::new("<script>x</script>", "\"&");
        let page = render(&hostile, Some(Choice::A), Message::Error("<b>oops</b>"));
        assert!(!page.contains("<script>x"));
        assert!(page.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(page.contains("&quot;&amp;"));
        assert!(page.contains("&lt;b&gt;oops&lt;/b&gt;"));
    }
}
