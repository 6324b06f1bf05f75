//! The voting page, complete without JavaScript: the question, then one form with one large
//! button per option. The visitor's current choice is marked in words and with a check mark,
//! not by colour alone.

use voting_shared::choice::Choice;
use voting_shared::html::{self, escape};
use voting_shared::poll::Poll;

/// More options than this get compact buttons, so that eight still fit a phone's screen.
const ROOMY_OPTIONS: usize = 4;

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

/// Renders the page; `chosen` is the visitor's current vote, one of the poll's options. While
/// voting is closed (`open` false) the buttons are disabled and the page says so.
pub fn render(poll: &Poll, chosen: Option<Choice>, message: Message, open: bool) -> String {
    let question = escape(poll.question());
    let buttons: String = poll
        .options()
        .map(|(choice, label)| {
            let label = escape(label);
            let pressed = chosen == Some(choice);
            let state = if pressed {
                "<span class=\"state\">&#10003; Your vote</span>"
            } else {
                "<span class=\"state\">Vote</span>"
            };
            format!(
                "<button id=\"{choice}\" class=\"choice-{choice}\" name=\"vote\" value=\"{choice}\" \
                 type=\"submit\" aria-pressed=\"{pressed}\"{disabled}><span class=\"label\">\
                 {label}</span>{state}</button>\n",
                disabled = if open { "" } else { " disabled" },
            )
        })
        .collect();
    let chosen_label = chosen.and_then(|choice| poll.label(choice));
    let status = match (message, chosen_label) {
        (Message::Error(error), _) => {
            format!("<p class=\"notice\" role=\"alert\">{}</p>", escape(error))
        }
        (_, _) if !open => "<p class=\"notice closed\" role=\"status\">Voting is closed. \
             The results stay up; voting may open again.</p>"
            .to_owned(),
        (message, Some(label)) => format!(
            "<p class=\"cast\" role=\"status\">{thanks}Your vote: <strong>{}</strong>. \
             You can change it at any time.</p>",
            escape(label),
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
    let size = if poll.option_count() > ROOMY_OPTIONS {
        "compact"
    } else {
        "roomy"
    };
    let main = format!(
        r#"<h1>{question}</h1>
<form method="post" action="/" aria-label="Your vote" class="{size}">
{buttons}</form>
{status}
"#
    );
    let footer = "<a href=\"/result\">See the results</a> · Served by a Spin WebAssembly component";
    html::page(&format!("{question} — vote"), STYLE, &main, footer, "")
}

const STYLE: &str = "\
form { display: flex; flex-wrap: wrap; gap: clamp(.75rem, 2vw, 1.5rem); justify-content: center; margin: 1.5rem 0 1rem; }
button { flex: 1 1 14rem; min-height: clamp(6rem, 18vw, 14rem); display: flex; flex-direction: column;
  align-items: center; justify-content: center; gap: .4em; padding: 1rem; border: 4px solid transparent;
  border-radius: 14px; color: #fff; font: inherit; cursor: pointer; transition: transform .1s;
  overflow-wrap: anywhere; }
button:hover { transform: translateY(-2px); }
button:disabled { opacity: .45; cursor: not-allowed; transform: none; }
.label { font-size: clamp(1.6rem, 1.1rem + 3vw, 3.6rem); font-weight: 700; }
.compact { gap: clamp(.5rem, 1.5vw, 1rem); }
.compact button { flex-basis: 18rem; min-height: clamp(3.5rem, 9vw, 7rem); padding: .6rem 1rem; gap: .2em; }
.compact .label { font-size: clamp(1.2rem, 1rem + 1.6vw, 2.4rem); }
.state { font-size: .9em; padding: .15em .8em; border-radius: 99px; border: 2px solid #fff8; }
.compact .state { font-size: .8em; }
button[aria-pressed=true] { border-color: var(--text); box-shadow: 0 0 0 3px var(--card) inset; }
button[aria-pressed=true] .state { background: #fff; color: #000; font-weight: 700; border-color: #fff; }
.cast { margin: .75rem 0 0; }
";

#[cfg(test)]
mod tests {
    use super::*;

    fn cats_and_dogs() -> Poll {
        Poll::new(&["Cats", "Dogs"]).unwrap()
    }

    #[test]
    fn shows_both_options_as_buttons_of_one_form() {
        let page = render(&cats_and_dogs(), None, Message::Idle, true);
        assert!(page.contains("<title>Cats or Dogs? — vote</title>"));
        assert!(page.contains("<h1>Cats or Dogs?</h1>"));
        assert!(page.contains(
            r#"value="a" type="submit" aria-pressed="false"><span class="label">Cats</span>"#
        ));
        assert!(page.contains(
            r#"value="b" type="submit" aria-pressed="false"><span class="label">Dogs</span>"#
        ));
        assert!(page.contains(r#"class="roomy""#));
        assert!(!page.contains("&#10003;"));
    }

    #[test]
    fn shows_every_option_in_order_compact_past_four() {
        let labels = [
            "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight",
        ];
        let page = render(&Poll::new(&labels).unwrap(), None, Message::Idle, true);
        let positions: Vec<usize> = labels
            .iter()
            .map(|label| page.find(&format!(">{label}</span>")).unwrap())
            .collect();
        assert!(positions.is_sorted(), "{positions:?}");
        assert!(page.contains(r#"<button id="h" class="choice-h" name="vote" value="h""#));
        assert!(page.contains(r#"class="compact""#));
    }

    #[test]
    fn highlights_the_current_choice() {
        let page = render(&cats_and_dogs(), Some(Choice::B), Message::Idle, true);
        assert!(page.contains(
            r#"aria-pressed="true"><span class="label">Dogs</span><span class="state">&#10003; Your vote</span>"#
        ));
        assert!(page.contains("Your vote: <strong>Dogs</strong>"));
        assert!(!page.contains("Thanks!"));
        let confirmed = render(
            &cats_and_dogs(),
            Some(Choice::B),
            Message::Confirmation,
            true,
        );
        assert!(confirmed.contains("Thanks! Your vote: <strong>Dogs</strong>"));
    }

    #[test]
    fn a_closed_round_disables_every_button_and_says_so() {
        let page = render(&cats_and_dogs(), Some(Choice::A), Message::Idle, false);
        assert_eq!(page.matches(" disabled>").count(), 2);
        assert!(page.contains("Voting is closed."));
        assert!(!render(&cats_and_dogs(), None, Message::Idle, true).contains(" disabled>"));
    }

    #[test]
    fn escapes_labels_and_notices() {
        let hostile = Poll::new(&["<script>x</script>", "\"&"]).unwrap();
        let page = render(
            &hostile,
            Some(Choice::A),
            Message::Error("<b>oops</b>"),
            true,
        );
        assert!(!page.contains("<script>x"));
        assert!(page.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(page.contains("&quot;&amp;"));
        assert!(page.contains("&lt;b&gt;oops&lt;/b&gt;"));
    }
}
