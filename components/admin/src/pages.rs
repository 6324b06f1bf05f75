//! The console's pages, complete without JavaScript: the sign-in form, and the console itself
//! (the current round with its controls, a new round, the new-voter limit, every round's
//! results to download). Its forms POST to the console and are answered with a redirect back.

use voting_shared::html::{self, escape};
use voting_shared::poll::{Poll, PollProblem};

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

/// The console: `rounds` in order (the last is the current one; none when they could not be
/// read), the new-voter limit (0: off), and `notice` if the last action failed.
pub fn render(rounds: &[RoundRecord], new_voter_limit: i64, notice: Option<&str>) -> String {
    let notice = notice
        .map(|text| format!("<p class=\"notice\" role=\"alert\">{}</p>", escape(text)))
        .unwrap_or_default();
    let current = rounds.last().map(current_round).unwrap_or_default();
    let history: String = rounds.iter().rev().map(history_row).collect();
    let main = format!(
        r#"<h1>Presenter's console</h1>
{notice}{current}
<section class="panel" aria-labelledby="new-round">
<h2 id="new-round">Start a new round</h2>
<form method="post" action="/admin/rounds">
<label for="question">Question</label>
<input id="question" name="question" maxlength="200" placeholder="Which one do you pick?">
<label for="options">Options, one per line (2 to 8)</label>
<textarea id="options" name="options" rows="5" required></textarea>
<button type="submit" id="start-round">Start the round</button>
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
<section aria-labelledby="rounds-heading">
<h2 id="rounds-heading">Rounds</h2>
<table><thead><tr><th>Round</th><th>Question</th><th>Votes</th><th>Opened</th><th>Closed</th><th>Results</th></tr></thead>
<tbody>
{history}</tbody></table>
</section>
<form method="post" action="/admin/sign-out"><button type="submit" class="quiet" id="sign-out">Sign out</button></form>
"#
    );
    html::page("Console", STYLE, &main, FOOTER, "")
}

/// The current round, with its controls.
fn current_round(round: &RoundRecord) -> String {
    let (state, toggle) = if round.open {
        (
            "Voting is open",
            r#"<form method="post" action="/admin/close"><button type="submit" id="close">Close voting</button></form>"#,
        )
    } else {
        (
            "Voting is closed",
            r#"<form method="post" action="/admin/open"><button type="submit" id="open">Open voting</button></form>"#,
        )
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
        r#"<section class="panel current" aria-labelledby="current-heading">
<h2 id="current-heading">Round {number}: {question}</h2>
<p id="state" class="state">{state} · {total}</p>
<ul class="counts">{options}</ul>
<div class="actions">{toggle}
<form method="post" action="/admin/reset"><button type="submit" id="reset">New round, same options</button></form></div>
<p><a href="/result">Results page</a> · <a href="/">Voting page</a></p>
</section>"#,
        number = round.number,
        question = escape(round.poll.question()),
        total = round.counts.total_in_words(),
    )
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
        let page = render(&[round(2, true)], 0, None);
        assert!(page.contains("Round 2: Lunch &lt;now&gt;?"));
        assert!(page.contains("Voting is open · 3 votes"));
        assert!(page.contains(r#"action="/admin/close""#));
        assert!(!page.contains(r#"action="/admin/open""#));
        assert!(page.contains(r#"href="/admin/rounds/2/results.csv""#));
        let page = render(&[round(2, false)], 5, Some("<oops>"));
        assert!(page.contains(r#"action="/admin/open""#));
        assert!(page.contains(r#"value="5""#));
        assert!(page.contains("&lt;oops&gt;"));
    }

    #[test]
    fn the_sign_in_page_asks_for_the_token() {
        let page = sign_in(Some("That is not the admin token."));
        assert!(page.contains(r#"type="password""#));
        assert!(page.contains(r#"action="/admin/sign-in""#));
        assert!(page.contains("That is not the admin token."));
    }
}
