//! The voting page, complete without JavaScript: the question, then one form with one large
//! button per option and the round it shows (a vote from it counts in that round or not at
//! all). The visitor's current choice is marked in words and with a check mark, not by colour
//! alone. Without JavaScript the page says to reload it for the next question.
//!
//! A small script makes the page follow the room: it polls `/result/api` as the projector does,
//! and when the presenter moves on it shows the new question and its options without a tap;
//! closing, opening and more time enable or disable the buttons and fix the countdown (from
//! the server's clock); and it shows the results where the round lets this visitor see them
//! (after voting, as the presenter chose), or while they are hidden how many have voted.

use voting_shared::choice::Choice;
use voting_shared::deck::Visibility;
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
    /// The round the ballot is for.
    pub round: i64,
    /// Voting is open (the presenter's switch and the deadline both allow it).
    pub open: bool,
    /// The deadline while voting is open, and the server's clock when read (ms).
    pub closes_ms: Option<i64>,
    pub now_ms: i64,
    /// Who sees the counts, and when.
    pub visibility: Visibility,
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
        (_, _) if !open => format!("<p class=\"notice closed\" role=\"status\">{CLOSED}</p>"),
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
        (_, None) => format!("<p class=\"cast\" role=\"status\">{PICK_ONE}</p>"),
    };
    let size = if poll.option_count() > ROOMY_OPTIONS {
        "compact"
    } else {
        "roomy"
    };
    let countdown = match state.closes_ms {
        Some(closes) if open => {
            let seconds = (closes - state.now_ms + 999).max(0) / 1000;
            format!(
                "<p id=\"countdown\" class=\"countdown\" role=\"timer\" data-closes=\"{closes}\" \
                 data-now=\"{now}\">Voting closes in <span id=\"seconds\">{seconds}</span> s</p>\n",
                now = state.now_ms
            )
        }
        _ => "<p id=\"countdown\" class=\"countdown\" role=\"timer\" hidden></p>\n".to_owned(),
    };
    let results_hidden = if state.results { "" } else { " hidden" };
    let main = format!(
        r#"<h1 id="question">{question}</h1>
{countdown}<form method="post" action="/" aria-label="Your vote" class="{size}" id="ballot" data-round="{round}" data-voted="{voted}" data-results="{visibility}">
<input type="hidden" name="round" value="{round}">
{buttons}</form>
<div id="status">{status}</div>
<section id="results" class="results" aria-labelledby="results-heading"{results_hidden}><h2 id="results-heading">Results</h2><div id="bars" aria-live="polite"></div><p><a href="/result">See the results</a></p></section>
<noscript><p class="hint">When the presenter moves on to the next question, reload this page to see it.</p></noscript>
"#,
        round = state.round,
        voted = chosen.is_some(),
        visibility = state.visibility.as_str(),
    );
    let footer = "<a href=\"/result\">See the results</a> · <a href=\"/questions\">Questions</a> · \
                  Served by a Spin WebAssembly component";
    html::page(&format!("{question} — vote"), STYLE, &main, footer, SCRIPT)
}

/// What the page says while voting is closed.
const CLOSED: &str = "Voting is closed. The results stay up; voting may open again.";
/// What the page says before the visitor votes in this round.
const PICK_ONE: &str = "Pick one. You can change your vote later.";

/// Follows the round (see [`voting_shared::follow_results_js`]): a new round replaces the
/// question, the buttons and the round the form sends; voting opening or closing enables or
/// disables the buttons; the countdown ticks from the server's clock; the results show where
/// the round lets this visitor see them.
pub const SCRIPT: &str = concat!(
    "(() => {",
    voting_shared::follow_results_js!(),
    r#"
  const $ = (id) => document.getElementById(id);
  const form = $("ballot");
  const countdown = $("countdown");
  let deadline = countdown.dataset.closes ? Date.now() + (Number(countdown.dataset.closes) - Number(countdown.dataset.now)) : null;
  const buttons = () => form.querySelectorAll("button");
  const status = (className, text) => {
    const line = document.createElement("p");
    line.className = className;
    line.setAttribute("role", className.includes("notice") ? "alert" : "status");
    line.textContent = text;
    $("status").replaceChildren(line);
  };
  function setOpen(open) {
    const wasOpen = !buttons()[0] || !buttons()[0].disabled;
    buttons().forEach((button) => { button.disabled = !open; });
    if (!open && wasOpen) status("notice closed", "Voting is closed. The results stay up; voting may open again.");
    if (open && !wasOpen) status("cast", form.dataset.voted === "true" ? "Voting is open again. You can change your vote." : "Pick one. You can change your vote later.");
  }
  function tick() {
    if (deadline === null) { countdown.hidden = true; return; }
    const left = secondsTo(deadline);
    countdown.hidden = false;
    countdown.textContent = left > 0 ? "Voting closes in " + left + " s" : "Voting is closed.";
    if (left === 0) { deadline = null; setOpen(false); }
  }
  setInterval(tick, 1000);
  function newBallot(answer) {
    $("question").textContent = answer.question;
    document.title = answer.question + " — vote";
    form.className = answer.options.length > 4 ? "compact" : "roomy";
    form.dataset.round = answer.round;
    form.dataset.voted = "false";
    form.elements.round.value = answer.round;
    const fresh = answer.options.map((option) => {
      const button = document.createElement("button");
      button.id = option.choice;
      button.className = "choice-" + option.choice;
      button.name = "vote";
      button.value = option.choice;
      button.type = "submit";
      button.setAttribute("aria-pressed", "false");
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = option.label;
      const state = document.createElement("span");
      state.className = "state";
      state.textContent = "Vote";
      button.append(label, state);
      return button;
    });
    buttons().forEach((button) => button.remove());
    form.append(...fresh);
    status("cast", "Pick one. You can change your vote later.");
  }
  function showResults(answer) {
    const section = $("results");
    const bars = $("bars");
    if (answer.hidden) {
      section.hidden = false;
      bars.textContent = answer.total + (answer.total === 1 ? " vote so far; the results are hidden for now." : " votes so far; the results are hidden for now.");
      return;
    }
    section.hidden = answer.results === "after-vote" && form.dataset.voted !== "true";
    if (section.hidden) return;
    const rows = answer.options.map((option) => {
      const share = answer.total ? Math.round((100 * option.count) / answer.total) : 0;
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
  follow("/result/api", (answer) => {
    if (String(answer.round) !== form.dataset.round) newBallot(answer);
    setOpen(answer.open);
    deadline = answer.open ? deadlineOf(answer) : null;
    tick();
    showResults(answer);
  }, () => {});
})();
"#
);

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
.hint { color: var(--muted); font-size: .9em; }
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
            round: 3,
            open: true,
            closes_ms: None,
            now_ms: 0,
            visibility: Visibility::Live,
            results: false,
        };
    }

    fn cats_and_dogs() -> Poll {
        Poll::new(&["Cats", "Dogs"]).unwrap()
    }

    #[test]
    fn the_form_sends_the_round_it_shows_and_says_how_to_follow_without_a_script() {
        let page = render(&cats_and_dogs(), None, Message::Idle, State::OPEN);
        assert!(page.contains(r#"<input type="hidden" name="round" value="3">"#));
        assert!(page.contains(r#"data-round="3" data-voted="false" data-results="live""#));
        assert!(page.contains("<noscript>"));
        assert!(page.contains("reload this page to see it"));
        assert!(
            page.contains(r#"follow("/result/api""#),
            "the page follows the round"
        );
    }

    #[test]
    fn shows_both_options_as_buttons_of_one_form() {
        let page = render(&cats_and_dogs(), None, Message::Idle, State::OPEN);
        assert!(page.contains("<title>Cats or Dogs? — vote</title>"));
        assert!(page.contains(r#"<h1 id="question">Cats or Dogs?</h1>"#));
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
            closes_ms: Some(61_000),
            now_ms: 30_500,
            ..State::OPEN
        };
        let page = render(&cats_and_dogs(), None, Message::Idle, timed);
        assert!(page.contains(
            r#"data-closes="61000" data-now="30500">Voting closes in <span id="seconds">31</span> s"#
        ));
        let over = State {
            open: false,
            ..timed
        };
        let page = render(&cats_and_dogs(), None, Message::Idle, over);
        assert!(page.contains(r#"<p id="countdown" class="countdown" role="timer" hidden></p>"#));
        assert!(page.contains("Voting is closed."));
    }

    #[test]
    fn the_results_have_a_place_only_when_the_visitor_may_see_them() {
        let page = render(&cats_and_dogs(), None, Message::Idle, State::OPEN);
        assert!(page.contains(r#"aria-labelledby="results-heading" hidden>"#));
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
        assert!(page.contains(
            r#"<section id="results" class="results" aria-labelledby="results-heading"><h2"#
        ));
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
