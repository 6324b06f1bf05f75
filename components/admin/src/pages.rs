//! The console's pages, complete without JavaScript: the sign-in form, and the console itself
//! (the current round with its controls, a new round, the new-voter limit, every round's
//! results to download). Its forms POST to the console and are answered with a redirect back.

use voting_shared::deck::{MAX_SECONDS, MIN_SECONDS, Question, Visibility, deck_json, time_limit};
use voting_shared::html::{self, escape};
use voting_shared::poll::{Poll, PollProblem};
use voting_shared::questions::{Mode, QaSnapshot};

use crate::deck::Deck;
use crate::qa::Moderation;
use crate::rounds::{RoundRecord, utc};

/// The sign-in page, with `notice` (why the last attempt failed) if any.
pub fn sign_in(notice: Option<&str>) -> String {
    let notice = notice
        .map(|text| format!("<p class=\"notice\" role=\"alert\">{}</p>", escape(text)))
        .unwrap_or_default();
    let main = format!(
        r#"<h1>Presenter's console</h1>
<form method="post" action="/admin/sign-in" class="panel">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
{notice}"#
    );
    html::page("Sign in — console", STYLE, &main, FOOTER, "")
}

/// What the console shows besides the rounds.
pub struct Console<'a> {
    /// The new-voter limit (0: off).
    pub new_voter_limit: i64,
    pub deck: &'a Deck,
    /// The audience's questions, when they could be read.
    pub questions: Option<&'a QaSnapshot>,
    /// Why the last action failed, if it did.
    pub notice: Option<&'a str>,
    /// Redis's clock (ms since 1970), by which deadlines are kept.
    pub now_ms: i64,
}

/// The console: `rounds` in order (the last is the current one; none when they could not be
/// read) and what [`Console`] has.
pub fn render(rounds: &[RoundRecord], console: &Console) -> String {
    let notice = console
        .notice
        .map(|text| format!("<p class=\"notice\" role=\"alert\">{}</p>", escape(text)))
        .unwrap_or_default();
    let current = rounds
        .last()
        .map(|round| current_round(round, console))
        .unwrap_or_default();
    let history: String = rounds.iter().rev().map(history_row).collect();
    let deck = deck_section(console.deck);
    let questions = console.questions.map(questions_section).unwrap_or_default();
    let new_voter_limit = console.new_voter_limit;
    let new_round = question_fields("new", None);
    let main = format!(
        r#"<h1>Presenter's console</h1>
{notice}{current}
{questions}
{deck}
<section class="panel" aria-labelledby="new-round">
<h2 id="new-round">Start a new round</h2>
<form method="post" action="/admin/rounds">
{new_round}<button type="submit" id="start-round">Start the round</button>
</form>
</section>
<section class="panel" aria-labelledby="limit-heading">
<h2 id="limit-heading">New voters per address and minute</h2>
<form method="post" action="/admin/limit">
<label for="limit">Limit (0: no limit; behind one wifi, hundreds of phones share an address)</label>
<input id="limit" name="limit" type="number" min="0" max="1000000" value="{new_voter_limit}">
<button type="submit" id="set-limit">Set the limit</button>
</form>
</section>
<section aria-labelledby="rounds-heading" id="rounds" data-refresh>
<h2 id="rounds-heading">Rounds</h2>
<table><thead><tr><th>Round</th><th>Question</th><th>Votes</th><th>Opened</th><th>Closed</th><th>Results</th></tr></thead>
<tbody>
{history}</tbody></table>
</section>
<form method="post" action="/admin/sign-out"><button type="submit" class="quiet" id="sign-out">Sign out</button></form>
"#
    );
    html::page("Console", STYLE, &main, FOOTER, SCRIPT)
}

/// Keeps the console current without a reload, so that no draft is lost: it follows
/// `/result/api` as the other pages do, and when the round, its voting, its total or its
/// deadline change, fetches the console anew and swaps in each part marked `data-refresh`,
/// unless the presenter is editing in it (a field changed or focused there). The countdown
/// ticks from the server's clock.
pub const SCRIPT: &str = concat!(
    "(() => {",
    voting_shared::follow_results_js!(),
    r#"
  const edited = new WeakSet();
  document.addEventListener("input", (event) => { const part = event.target.closest("[data-refresh]"); if (part) edited.add(part); });
  const busy = (part) => edited.has(part) || part.contains(document.activeElement);
  let refreshing = false;
  async function refresh() {
    if (refreshing) return;
    refreshing = true;
    try {
      const response = await fetch("/admin", { headers: { Accept: "text/html" } });
      if (response.ok) {
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        for (const part of document.querySelectorAll("[data-refresh]")) {
          const replacement = fresh.getElementById(part.id);
          if (replacement && !busy(part)) part.replaceWith(document.importNode(replacement, true));
        }
        start();
      }
    } finally {
      refreshing = false;
    }
  }
  let deadline = null, seen = null;
  function start() {
    const countdown = document.getElementById("countdown");
    deadline = countdown ? Date.now() + (Number(countdown.dataset.closes) - Number(countdown.dataset.now)) : null;
  }
  setInterval(() => {
    const countdown = document.getElementById("countdown");
    if (!countdown || deadline === null) return;
    const left = secondsTo(deadline);
    countdown.textContent = " · closes in " + left + " s";
    if (left === 0) { deadline = null; refresh(); }
  }, 1000);
  start();
  // Questions arrive without changing the results: look again every five seconds.
  setInterval(refresh, 5000);
  follow("/result/api", (answer) => {
    const state = [answer.round, answer.open, answer.hidden, answer.total, answer.closes_at].join(" ");
    if (seen !== null && state !== seen) refresh();
    seen = state;
  }, () => {});
})();
"#
);

/// A form's button posting to `action`.
fn button(action: &str, id: &str, text: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\"><button type=\"submit\" id=\"{id}\">{text}</button></form>"
    )
}

/// The current round, with its controls: close or open, reveal, more time, a reset, and the
/// deck's next question.
fn current_round(round: &RoundRecord, console: &Console) -> String {
    let (deck, next) = (&console.deck.questions, console.deck.next);
    let (state, toggle) = if round.open {
        (
            "Voting is open",
            button("/admin/close", "close", "Close voting"),
        )
    } else {
        (
            "Voting is closed",
            button("/admin/open", "open", "Open voting"),
        )
    };
    let rules = round.round();
    let (hidden, reveal) = if rules.counts_hidden(console.now_ms) {
        (
            " · results hidden",
            button("/admin/reveal", "reveal", "Reveal the results"),
        )
    } else {
        ("", String::new())
    };
    let deadline = match (rules.seconds_left(console.now_ms), round.closes_ms) {
        (Some(left), Some(closes)) if rules.open_at(console.now_ms) => format!(
            "<span id=\"countdown\" data-closes=\"{closes}\" data-now=\"{now}\"> · closes in \
             {left} s</span>",
            now = console.now_ms
        ),
        _ => String::new(),
    };
    let next_question = match deck.get(next - 1) {
        Some(question) => next_button(
            round.number,
            "",
            &format!(
                "Next question ({next} of {}): {}",
                deck.len(),
                escape(question.poll.question())
            ),
        ),
        None => String::new(),
    };
    let options: String = round
        .poll
        .options()
        .map(|(choice, label)| {
            format!(
                "<li>{} <strong id=\"count-{choice}\">{}</strong></li>",
                escape(label),
                round.counts.of(choice)
            )
        })
        .collect();
    format!(
        r#"<section class="panel current" aria-labelledby="current-heading" id="current" data-refresh>
<h2 id="current-heading">Round {number}: {question}</h2>
<p id="state" class="state">{state} · {total}{hidden}{deadline}</p>
<ul class="counts">{options}</ul>
<div class="actions">{toggle}{reveal}{more_time}
{reset}{next_question}</div>
<p><a href="/admin/present" id="present">Presenter view</a> · <a href="/result">Results page</a> · <a href="/">Voting page</a></p>
</section>"#,
        number = round.number,
        question = escape(round.poll.question()),
        total = round.counts.total_in_words(),
        more_time = button("/admin/time", "add-time", "+30 s"),
        reset = button("/admin/reset", "reset", "New round, same options"),
    )
}

/// The Next form: moves on from round `from_round` only, so that a second press (or a second
/// presenter, or a resent form) does not skip a question; `back` says where it returns to.
pub fn next_button(from_round: i64, back: &str, text: &str) -> String {
    let back = if back.is_empty() {
        String::new()
    } else {
        format!("<input type=\"hidden\" name=\"back\" value=\"{back}\">")
    };
    format!(
        "<form method=\"post\" action=\"/admin/next\">{back}<input type=\"hidden\" \
         name=\"from_round\" value=\"{from_round}\"><button type=\"submit\" id=\"next\" \
         data-key=\"next\">{text}</button></form>"
    )
}

/// The audience's questions: the mode, and every question with its state and the moderation's
/// buttons, most upvoted first.
fn questions_section(snapshot: &QaSnapshot) -> String {
    let modes: String = [Mode::Off, Mode::Open, Mode::Moderated]
        .iter()
        .map(|mode| {
            let selected = if *mode == snapshot.mode {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{0}\"{selected}>{0}</option>",
                mode.as_str()
            )
        })
        .collect();
    let questions = snapshot.by_upvotes();
    let rows: String = questions
        .iter()
        .map(|question| {
            let id = question.id;
            let highlighted = if snapshot.highlighted == Some(id) {
                " · on the screen"
            } else {
                ""
            };
            let answered = if question.answered { " · answered" } else { "" };
            let name = question
                .name
                .as_deref()
                .map(escape)
                .unwrap_or_else(|| "Anonymous".to_owned());
            let buttons: String = Moderation::ALL
                .iter()
                .map(|moderation| {
                    let action = moderation.as_str();
                    button(
                        &format!("/admin/questions/{id}/{action}"),
                        &format!("{action}-{id}"),
                        action,
                    )
                })
                .collect();
            format!(
                "<li class=\"deck-question\" id=\"question-{id}\"><p>{text}</p><p class=\"state\">{name} · \
                 &#9650; {upvotes} · {state}{answered}{highlighted}</p><div class=\"actions\">{buttons}</div></li>\n",
                text = escape(&question.text),
                upvotes = question.upvotes,
                state = escape(&question.state),
            )
        })
        .collect();
    let empty = if questions.is_empty() {
        "<p>No questions yet.</p>"
    } else {
        ""
    };
    format!(
        r#"<section class="panel" aria-labelledby="questions-heading" id="questions" data-refresh>
<h2 id="questions-heading">The audience's questions</h2>
<form method="post" action="/admin/questions/mode" class="actions">
<label for="qa-mode">Q&amp;A</label><select id="qa-mode" name="mode">{modes}</select>
<button type="submit" id="set-mode">Set</button></form>
<p><a href="/questions">The room's page</a> · <a href="/admin/present?qa">Q&amp;A screen</a> · <a href="/admin/questions.csv" download>Download questions.csv</a></p>
<ol class="deck">{rows}</ol>{empty}
</section>"#
    )
}

/// The deck's version, in every form that edits it: an edit of a deck changed since is refused.
fn version_field(deck: &Deck) -> String {
    format!(
        "<input type=\"hidden\" name=\"deck_version\" value=\"{}\">",
        deck.version
    )
}

/// A button of a deck edit, posting to `action`.
fn deck_button(deck: &Deck, action: &str, id: &str, text: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\">{}<button type=\"submit\" id=\"{id}\">{text}</button></form>",
        version_field(deck)
    )
}

/// The deck: each question with its own form (save, move, delete), a form to add one, and
/// the whole deck as JSON to export or import.
fn deck_section(whole: &Deck) -> String {
    let (deck, next) = (whole.questions.as_slice(), whole.next);
    let version = version_field(whole);
    let rows: String = deck
        .iter()
        .enumerate()
        .map(|(index, question)| {
            let position = index + 1;
            let marker = if position == next { " (next)" } else { "" };
            let fields = question_fields(&format!("q{position}"), Some(question));
            format!(
                r#"<li class="deck-question"><form method="post" action="/admin/deck/{position}/save">
<h3>Question {position}{marker}</h3>
{version}{fields}<button type="submit">Save</button></form>
<div class="actions">{up}{down}{delete}</div></li>
"#,
                up = deck_button(whole, &format!("/admin/deck/{position}/up"), &format!("up-{position}"), "Move up"),
                down = deck_button(
                    whole,
                    &format!("/admin/deck/{position}/down"),
                    &format!("down-{position}"),
                    "Move down"
                ),
                delete = deck_button(
                    whole,
                    &format!("/admin/deck/{position}/delete"),
                    &format!("delete-{position}"),
                    "Delete"
                ),
            )
        })
        .collect();
    let questions = match deck.len() {
        1 => "1 question".to_owned(),
        count => format!("{count} questions"),
    };
    let summary = match deck.len() {
        0 => "No questions yet: add them here, or import a deck.".to_owned(),
        count if next > count => format!("{questions}, all asked."),
        _ => format!("{questions}; the next is question {next}."),
    };
    let json = serde_json::to_string_pretty(&deck_json(deck, next)).unwrap_or_default();
    let add = question_fields("add", None);
    format!(
        r#"<section class="panel" aria-labelledby="deck-heading" id="deck" data-refresh>
<h2 id="deck-heading">The talk's deck</h2>
<p id="deck-summary">{summary}</p>
<ol class="deck">{rows}</ol>
<details><summary>Add a question</summary>
<form method="post" action="/admin/deck/add">
{version}{add}<button type="submit" id="add-question">Add to the deck</button></form></details>
<details><summary>Import or export the deck (JSON)</summary>
<p><a href="/admin/deck.json" id="export-deck" download>Download deck.json</a></p>
<form method="post" action="/admin/deck">{version}
<label for="deck-json">The whole deck: importing replaces it and starts again at question 1</label>
<textarea id="deck-json" name="deck" rows="10">{json}</textarea>
<button type="submit" id="import-deck">Replace the deck</button></form></details>
</section>"#,
        json = escape(&json),
    )
}

/// A question's fields: question, options one per line, who sees the results, time limit;
/// ids start with `prefix`.
fn question_fields(prefix: &str, question: Option<&Question>) -> String {
    let text = question.map(|q| q.poll.question()).unwrap_or_default();
    let options: Vec<&str> = question
        .map(|q| q.poll.options().map(|(_, label)| label).collect())
        .unwrap_or_default();
    let seconds = question
        .and_then(|q| q.seconds)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let chosen = question.map(|q| q.results).unwrap_or_default();
    let results: String = Visibility::ALL
        .iter()
        .map(|visibility| {
            format!(
                "<option value=\"{}\"{}>{}</option>",
                visibility.as_str(),
                if *visibility == chosen {
                    " selected"
                } else {
                    ""
                },
                visibility.description()
            )
        })
        .collect();
    format!(
        r#"<label for="{prefix}-question">Question</label>
<input id="{prefix}-question" name="question" maxlength="200" placeholder="Which one do you pick?" value="{text}">
<label for="{prefix}-options">Options, one per line (2 to 8)</label>
<textarea id="{prefix}-options" name="options" rows="4" required>{options}</textarea>
<label for="{prefix}-results">Results</label>
<select id="{prefix}-results" name="results">{results}</select>
<label for="{prefix}-seconds">Time to vote, in seconds ({MIN_SECONDS} to {MAX_SECONDS}; empty: until you close it)</label>
<input id="{prefix}-seconds" name="seconds" type="number" min="{MIN_SECONDS}" max="{MAX_SECONDS}" value="{seconds}">
"#,
        text = escape(text),
        options = escape(&options.join("\n")),
    )
}

/// The question a form of [`question_fields`] sends; the error says what to change.
pub fn question_from_form(field: impl Fn(&str) -> String) -> Result<Question, String> {
    let poll = poll_from_form(&field("question"), &field("options"))
        .map_err(|problem| problem.to_string())?;
    let results = Visibility::parse(&field("results")).unwrap_or_default();
    let seconds = match field("seconds").trim() {
        "" => None,
        text => Some(time_limit(text.parse().ok())?),
    };
    Ok(Question {
        poll,
        results,
        seconds,
    })
}

fn history_row(round: &RoundRecord) -> String {
    let n = round.number;
    format!(
        "<tr><td>{n}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td><a href=\"/admin/rounds/{n}/results.csv\">CSV</a> · \
         <a href=\"/admin/rounds/{n}/results.json\">JSON</a></td></tr>\n",
        escape(round.poll.question()),
        round.counts.total(),
        utc(round.opened_ms),
        round.closed_ms.map(utc).unwrap_or_else(|| "—".to_owned()),
    )
}

/// The poll the new-round form asks for: its question (empty: which one) and one option per
/// line, blank lines left out.
pub fn poll_from_form(question: &str, options: &str) -> Result<Poll, PollProblem> {
    let labels: Vec<&str> = options
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    Poll::with_question(question, &labels)
}

const FOOTER: &str = "<a href=\"/result\">Results</a> · Served by a Spin WebAssembly component";

const STYLE: &str = "\
main { width: min(100% - 1.5rem, 56rem); text-align: left; }
.panel { background: var(--card); border-radius: 14px; padding: 1rem 1.25rem; margin: 1rem 0; }
label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
input, textarea { width: 100%; box-sizing: border-box; font: inherit; padding: .5rem; border-radius: 8px;
  border: 2px solid var(--muted); background: var(--bg); color: var(--text); }
button { font: inherit; font-weight: 700; margin: .75rem .5rem 0 0; padding: .6rem 1.2rem; min-height: 44px;
  border-radius: 10px; border: 0; background: var(--a); color: #fff; cursor: pointer; }
button.quiet { background: transparent; color: var(--text); border: 2px solid var(--muted); }
.actions { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; }
.actions form { display: inline; }
.state { font-weight: 700; }
.counts { padding-left: 1.2rem; }
select { font: inherit; padding: .4rem; border-radius: 8px; }
.deck { padding-left: 0; list-style: none; }
.deck-question { border-top: 1px solid var(--muted); padding: .5rem 0; }
.deck-question h3 { margin: .25rem 0; }
details { margin: .75rem 0; }
summary { cursor: pointer; font-weight: 700; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .4rem; border-bottom: 1px solid var(--muted); overflow-wrap: anywhere; }
";

#[cfg(test)]
mod tests {
    use super::*;
    use voting_shared::counts::Counts;

    fn round(number: i64, open: bool) -> RoundRecord {
        RoundRecord {
            number,
            poll: Poll::with_question("Lunch <now>?", &["Pizza", "Soup"]).unwrap(),
            open,
            current: true,
            opened_ms: 0,
            closed_ms: None,
            counts: Counts::new(&[2, 1]),
            results: Visibility::Live,
            closes_ms: None,
            revealed: false,
            deck_position: None,
        }
    }

    fn deck(questions: &[Question]) -> Deck {
        Deck {
            questions: questions.to_vec(),
            next: 1,
            version: 7,
        }
    }

    fn console<'a>(limit: i64, deck: &'a Deck, notice: Option<&'a str>) -> Console<'a> {
        Console {
            new_voter_limit: limit,
            deck,
            questions: None,
            notice,
            now_ms: 0,
        }
    }

    #[test]
    fn the_new_round_form_takes_one_option_per_line() {
        let poll = poll_from_form(" Lunch? ", "Pizza\r\n\r\n Soup, hot \n").unwrap();
        assert_eq!(poll.question(), "Lunch?");
        assert_eq!(poll.option_count(), 2);
        assert_eq!(poll_from_form("", "Pizza"), Err(PollProblem::Count(1)));
    }

    #[test]
    fn shows_the_current_round_with_the_control_it_needs() {
        let page = render(&[round(2, true)], &console(0, &deck(&[]), None));
        assert!(page.contains("Round 2: Lunch &lt;now&gt;?"));
        assert!(page.contains("Voting is open · 3 votes"));
        assert!(page.contains(r#"action="/admin/close""#));
        assert!(!page.contains(r#"action="/admin/open""#));
        assert!(page.contains(r#"href="/admin/rounds/2/results.csv""#));
        let page = render(&[round(2, false)], &console(5, &deck(&[]), Some("<oops>")));
        assert!(page.contains(r#"action="/admin/open""#));
        assert!(page.contains(r#"value="5""#));
        assert!(page.contains("&lt;oops&gt;"));
    }

    #[test]
    fn the_deck_lists_each_question_with_its_controls_and_the_next_one() {
        let deck = deck(&[question_from_form(|name: &str| match name {
            "question" => "Tabs?".into(),
            "options" => "Yes\nNo".into(),
            "results" => "on-reveal".into(),
            "seconds" => "30".into(),
            _ => String::new(),
        })
        .unwrap()]);
        let page = render(&[round(1, true)], &console(0, &deck, None));
        assert!(page.contains("Question 1 (next)"));
        assert!(page.contains(r#"action="/admin/deck/1/save""#));
        assert!(page.contains(
            r#"<form method="post" action="/admin/next"><input type="hidden" name="from_round" value="1">"#
        ));
        assert_eq!(
            page.matches(r#"<input type="hidden" name="deck_version" value="7">"#)
                .count(),
            6,
            "save, up, down and delete of the one question, add, and import"
        );
        assert!(page.contains(r#"<option value="on-reveal" selected>"#));
        assert!(page.contains(r#"value="30""#));
        assert!(page.contains("1 question; the next is question 1."));
        let hidden = RoundRecord {
            results: Visibility::OnReveal,
            ..round(2, true)
        };
        let page = render(&[hidden], &console(0, &deck, None));
        assert!(page.contains(r#"action="/admin/reveal""#));
        assert!(page.contains("results hidden"));
    }

    #[test]
    fn a_questions_form_is_checked_as_the_api_checks_a_question() {
        let field = |seconds: &'static str| {
            move |name: &str| match name {
                "options" => "A\nB".to_owned(),
                "seconds" => seconds.to_owned(),
                _ => String::new(),
            }
        };
        assert_eq!(question_from_form(field("")).unwrap().seconds, None);
        assert_eq!(
            question_from_form(field("3600")).unwrap().seconds,
            Some(3600)
        );
        assert!(
            question_from_form(field("4"))
                .unwrap_err()
                .contains("from 5 to 3600")
        );
    }

    #[test]
    fn the_sign_in_page_asks_for_the_token() {
        let page = sign_in(Some("That is not the admin token."));
        assert!(page.contains(r#"type="password""#));
        assert!(page.contains(r#"action="/admin/sign-in""#));
        assert!(page.contains("That is not the admin token."));
    }
}
