//! The voting page, complete without JavaScript: the question, then one form with one large
//! button per option. The visitor's current choice is marked in words and with a check mark,
//! not by colour alone. A round with a deadline counts down (the server says how long is
//! left; a small script ticks it). Where the round lets this visitor see the results (after
//! voting, as the presenter chose), the same script shows them under the buttons, polled
//! from `/result/api` as the results page does, with a link to that page without it.

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

/// How the page shows the round to this visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    /// Voting is open (the presenter's switch and the deadline both allow it).
    pub open: bool,
    /// Seconds left to vote, for a round with a deadline.
    pub seconds_left: Option<i64>,
    /// This visitor may see the counts now.
    pub results: bool,
}

/// Renders the page; `chosen` is the visitor's current vote, one of the poll's options. While
/// voting is closed the buttons are disabled and the page says so.
pub fn render(poll: &Poll, chosen: Option<Choice>, message: Message, state: State) -> String {
    let open = state.open;
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
    let countdown = match state.seconds_left {
        Some(seconds) if open => format!(
            "<p id=\"countdown\" class=\"countdown\" role=\"timer\" data-seconds=\"{seconds}\">\
             Voting closes in <span id=\"seconds\">{seconds}</span> s</p>\n"
        ),
        _ => String::new(),
    };
    let results = if state.results {
        "<section id=\"results\" class=\"results\" aria-labelledby=\"results-heading\">\
         <h2 id=\"results-heading\">Results</h2><div id=\"bars\" aria-live=\"polite\"></div>\
         <p><a href=\"/result\">See the results</a></p></section>\n"
    } else {
        ""
    };
    let main = format!(
        r#"<h1>{question}</h1>
{countdown}<form method="post" action="/" aria-label="Your vote" class="{size}">
{buttons}</form>
{status}
{results}"#
    );
    let footer = "<a href=\"/result\">See the results</a> · Served by a Spin WebAssembly component";
    html::page(&format!("{question} — vote"), STYLE, &main, footer, SCRIPT)
}

/// Ticks the countdown down (disabling the buttons at 0), and shows the results where the
/// page has a place for them, from `/result/api` every second.
pub const SCRIPT: &str = r#"
(() => {
  const $ = (id) => document.getElementById(id);
  const countdown = $("countdown");
  if (countdown) {
    let left = Number(countdown.dataset.seconds);
    const tick = () => {
      left = Math.max(left - 1, 0);
      $("seconds").textContent = left;
      if (left === 0) {
        document.querySelectorAll("form button").forEach((button) => { button.disabled = true; });
        countdown.textContent = "Voting is closed.";
      } else {
        setTimeout(tick, 1000);
      }
    };
    setTimeout(tick, 1000);
  }
  const bars = $("bars");
  if (!bars) return;
  let etag = null;
  function show(tally) {
    if (tally.hidden) {
      bars.textContent = tally.total + (tally.total === 1 ? " vote so far; the results are hidden for now." : " votes so far; the results are hidden for now.");
      return;
    }
    const rows = tally.options.map((option) => {
      const share = tally.total ? Math.round((100 * option.count) / tally.total) : 0;
      const row = document.createElement("div");
      row.className = "bar choice-" + option.choice;
      const label = document.createElement("span");
      label.textContent = option.label + " " + share + "% (" + option.count + ")";
      row.style.width = Math.max(share, 1) + "%";
      row.append(label);
      return row;
    });
    bars.replaceChildren(...rows);
  }
  async function poll() {
    try {
      const response = await fetch("/result/api", { headers: etag ? { "If-None-Match": etag } : {} });
      if (response.status === 200) {
        etag = response.headers.get("ETag");
        show(await response.json());
      }
    } catch (error) {
      etag = null;
    }
    setTimeout(poll, 1000);
  }
  poll();
})();
"#;

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
.countdown { font-size: 1.3em; font-weight: 700; margin: .5rem 0 0; }
.results { margin-top: 1.5rem; text-align: left; }
.results h2 { font-size: 1.1em; margin: 0 0 .5rem; }
.bar { color: #fff; border-radius: 8px; margin: .35rem 0; padding: .3rem .6rem; white-space: nowrap; min-width: max-content; }
";

#[cfg(test)]
mod tests {
    use super::*;

    impl State {
        /// Open, no deadline, no results shown.
        const OPEN: State = State {
            open: true,
            seconds_left: None,
            results: false,
        };
    }

    fn cats_and_dogs() -> Poll {
        Poll::new(&["Cats", "Dogs"]).unwrap()
    }

    #[test]
    fn shows_both_options_as_buttons_of_one_form() {
        let page = render(&cats_and_dogs(), None, Message::Idle, State::OPEN);
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
        let page = render(
            &Poll::new(&labels).unwrap(),
            None,
            Message::Idle,
            State::OPEN,
        );
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
        let page = render(
            &cats_and_dogs(),
            Some(Choice::B),
            Message::Idle,
            State::OPEN,
        );
        assert!(page.contains(
            r#"aria-pressed="true"><span class="label">Dogs</span><span class="state">&#10003; Your vote</span>"#
        ));
        assert!(page.contains("Your vote: <strong>Dogs</strong>"));
        assert!(!page.contains("Thanks!"));
        let confirmed = render(
            &cats_and_dogs(),
            Some(Choice::B),
            Message::Confirmation,
            State::OPEN,
        );
        assert!(confirmed.contains("Thanks! Your vote: <strong>Dogs</strong>"));
    }

    #[test]
    fn a_closed_round_disables_every_button_and_says_so() {
        let closed = State {
            open: false,
            ..State::OPEN
        };
        let page = render(&cats_and_dogs(), Some(Choice::A), Message::Idle, closed);
        assert_eq!(page.matches(" disabled>").count(), 2);
        assert!(page.contains("Voting is closed."));
        assert!(!render(&cats_and_dogs(), None, Message::Idle, State::OPEN).contains(" disabled>"));
    }

    #[test]
    fn a_deadline_counts_down_while_voting_is_open() {
        let timed = State {
            seconds_left: Some(30),
            ..State::OPEN
        };
        let page = render(&cats_and_dogs(), None, Message::Idle, timed);
        assert!(
            page.contains(r#"data-seconds="30">Voting closes in <span id="seconds">30</span> s"#)
        );
        let over = State {
            open: false,
            seconds_left: Some(0),
            ..State::OPEN
        };
        let page = render(&cats_and_dogs(), None, Message::Idle, over);
        assert!(!page.contains("id=\"countdown\""));
        assert!(page.contains("Voting is closed."));
    }

    #[test]
    fn the_results_have_a_place_only_when_the_visitor_may_see_them() {
        let page = render(&cats_and_dogs(), None, Message::Idle, State::OPEN);
        assert!(!page.contains("id=\"results\""));
        let shown = State {
            results: true,
            ..State::OPEN
        };
        let page = render(
            &cats_and_dogs(),
            Some(Choice::A),
            Message::Confirmation,
            shown,
        );
        assert!(page.contains(r#"<section id="results" class="results""#));
        assert!(page.contains(r#"<a href="/result">See the results</a></p></section>"#));
    }

    #[test]
    fn escapes_labels_and_notices() {
        let hostile = Poll::new(&["<script>x</script>", "\"&"]).unwrap();
        let page = render(
            &hostile,
            Some(Choice::A),
            Message::Error("<b>oops</b>"),
            State::OPEN,
        );
        assert!(!page.contains("<script>x"));
        assert!(page.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(page.contains("&quot;&amp;"));
        assert!(page.contains("&lt;b&gt;oops&lt;/b&gt;"));
    }
}
