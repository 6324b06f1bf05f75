//! The results page: numbers rendered on the server, then kept current by a small script
//! that polls `/result/api` every second with `If-None-Match` (a 304 costs no update).
//!
//! Polling rather than Server-Sent Events: Spin gives every request a fresh instance, so a
//! stream would pin an instance (and a database poll loop) per open page; a conditional GET
//! per second is cheap for the server, works through any proxy, and needs no state.

use voting_shared::counts::{Counts, votes_in_words};
use voting_shared::deck::Visibility;
use voting_shared::html::{self, escape};
use voting_shared::poll::Poll;
use voting_shared::qr;
use voting_shared::results::Served;

/// What the page shows of the current round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    /// The counts, or `None` while the round hides them.
    pub counts: Option<Counts>,
    /// How many have voted (shown even while the counts are hidden).
    pub total: i64,
    pub number: i64,
    /// Who sees the counts, and when.
    pub results: Visibility,
    /// Whether voting is open now (the presenter's switch and the deadline).
    pub open: bool,
    pub seconds_left: Option<i64>,
    /// The deadline and the server's clock when read (ms, Redis's clock), for the countdown.
    pub closes_at: Option<i64>,
    pub now: i64,
    /// Whether the results may be out of date (PostgreSQL could not be written).
    pub stale: bool,
}

impl Shown {
    /// What `/result/api`'s answer `served` says.
    pub fn of(served: &Served) -> Shown {
        Shown {
            counts: served.counts(),
            total: served.total,
            number: served.round,
            results: served.visibility(),
            open: served.open,
            seconds_left: served.seconds_left,
            closes_at: served.closes_at,
            now: served.now,
            stale: served.stale,
        }
    }
}

/// Renders the page of `poll`, the current round's, or, when the results could not be read,
/// says why; with the vote page's address and its QR code when it is known. While the round
/// hides its counts the page has the labels and the total, and no count, share or bar.
pub fn render(poll: &Poll, shown: Result<&Shown, &str>, vote_url: Option<&str>) -> String {
    let question = escape(poll.question());
    let round_line = match &shown {
        Ok(shown) => format!(
            "Round {} · <span id=\"voting\">{}</span><span id=\"countdown\">{}</span>",
            shown.number,
            if shown.open {
                "Voting is open"
            } else {
                "Voting is closed"
            },
            match shown.seconds_left {
                Some(seconds) if shown.open => format!(" · closes in {seconds} s"),
                _ => String::new(),
            },
        ),
        Err(_) => String::new(),
    };
    let round_number = shown.as_ref().map(|shown| shown.number).unwrap_or(0);
    let clock = match &shown {
        Ok(Shown {
            closes_at: Some(closes),
            now,
            open,
            ..
        }) => format!(" data-open=\"{open}\" data-closes=\"{closes}\" data-now=\"{now}\""),
        _ => String::new(),
    };
    let hidden = matches!(&shown, Ok(Shown { counts: None, .. }));
    let note = match &shown {
        Ok(shown) if hidden => hidden_note(shown.results),
        _ => "",
    };
    let (counts, total, notice, state) = match &shown {
        Ok(shown) => (
            shown.counts.unwrap_or_default(),
            votes_in_words(shown.total),
            String::new(),
            if shown.stale { "stale" } else { "live" },
        ),
        Err(problem) => (
            Counts::default(),
            "Results unavailable".to_owned(),
            format!(
                "Results are unavailable right now: {}. This page retries by itself.",
                escape(problem)
            ),
            "stale",
        ),
    };
    let percentages = counts.percentages(poll);
    let mut options = String::new();
    for ((choice, label), percent) in poll.options().zip(percentages) {
        let label = escape(label);
        if hidden {
            options.push_str(&format!(
                "<div class=\"option choice-{choice}\" id=\"option-{choice}\"><div class=\"label\" \
                 id=\"label-{choice}\">{label}</div></div>\n"
            ));
            continue;
        }
        let count = counts.of(choice);
        options.push_str(&format!(
            r#"<div class="option choice-{choice}" id="option-{choice}"><div class="label" id="label-{choice}">{label}</div>
<div class="percent"><span id="percent-{choice}">{percent}</span>%</div>
<div class="meter" role="img" id="meter-{choice}" aria-label="{label} {percent}%"><div id="bar-{choice}" style="width:{percent}%"></div></div>
<div class="count"><span id="count-{choice}">{count}</span> <span id="noun-{choice}">{noun}</span></div></div>
"#,
            noun = votes_noun(count)
        ));
    }
    let size = if poll.option_count() > ROOMY_OPTIONS {
        "compact"
    } else {
        "roomy"
    };
    let main = format!(
        r#"<h1 id="question">{question}</h1>
<p id="round" class="round" data-round="{round_number}" data-hidden="{hidden}"{clock}>{round_line}</p>
<div class="board">
<section class="results {state} {size}{hidden_class}" id="results" aria-labelledby="total" aria-live="polite">
<div class="options">
{options}</div>
<p id="total" class="total">{total}</p>
<p id="hidden-note" class="hidden-note">{note}</p>
<p id="freshness" class="freshness">{freshness}</p>
<p id="notice" class="notice" role="alert">{notice}</p>
</section>
{join}</div>
"#,
        join = vote_url.map(join).unwrap_or_default(),
        hidden_class = if hidden { " hidden-counts" } else { "" },
        freshness = if state == "live" {
            "Updated live"
        } else {
            STALE
        },
    );
    let footer = "<a href=\"/\">Vote</a> · <a href=\"/questions\">Questions</a> · Served by a Spin \
                  WebAssembly component";
    html::page(
        &format!("{question} — results"),
        STYLE,
        &main,
        footer,
        SCRIPT,
    )
}

/// What the page says while the results may be out of date.
const STALE: &str = "May be out of date: waiting for the database";

/// What the page says while the counts are hidden.
fn hidden_note(results: Visibility) -> &'static str {
    match results {
        Visibility::AfterClose => "The results are hidden until voting closes.",
        _ => "The results are hidden until the presenter reveals them.",
    }
}

/// How to join: the address in words and as a QR code.
fn join(url: &str) -> String {
    let code = qr::svg(url, &format!("QR code of {}", escape(url))).unwrap_or_default();
    let url = escape(url);
    format!(
        "<aside class=\"join\" aria-label=\"Join the poll\"><div class=\"qr\">{code}</div>\
         <p>Vote at <a id=\"vote-url\" href=\"{url}\">{url}</a></p></aside>\n"
    )
}

/// More options than this are shown as rows, so that eight still fit a phone and a projector.
const ROOMY_OPTIONS: usize = 4;

/// "vote" or "votes", for a count.
fn votes_noun(count: i64) -> &'static str {
    if count == 1 { "vote" } else { "votes" }
}

const STYLE: &str = "\
.options { display: flex; flex-wrap: wrap; gap: clamp(.75rem, 2vw, 1.5rem); margin-top: 1.5rem; }
.option { flex: 1 1 12rem; overflow-wrap: anywhere; padding: clamp(.75rem, 2vw, 1.5rem); border-radius: 14px; color: #fff; }
.label { font-size: 1.2em; font-weight: 700; }
.percent { font-size: clamp(2.5rem, 1.5rem + 5vw, 6rem); font-weight: 800; line-height: 1.1; white-space: nowrap; }
.meter { height: clamp(10px, 1.5vw, 18px); border-radius: 99px; overflow: hidden; margin: .5rem 0; background: #fff4; }
.meter div { height: 100%; background: #fff; transition: width .4s; }
.compact .options { flex-direction: column; gap: .5rem; }
.compact .option { flex: none; display: grid; grid-template-columns: minmax(5rem, 14rem) 1fr auto auto;
  align-items: center; column-gap: 1rem; padding: .5rem 1rem; text-align: left; }
.compact .percent { font-size: clamp(1.3rem, 1rem + 1.5vw, 2.4rem); order: 3; }
.compact .count { order: 4; font-size: .85em; white-space: nowrap; }
@media (max-width: 40rem) {
  .compact .option { grid-template-columns: 1fr auto; }
  .compact .label { grid-column: 1 / -1; }
  .compact .meter { grid-column: 1 / -1; order: 5; }
}
.round { color: var(--muted); margin: .25rem 0 0; font-weight: 600; }
.total { font-size: 1.3em; font-weight: 700; margin: 1rem 0 .25rem; }
.freshness { color: var(--muted); font-size: .85em; margin: 0; }
.freshness::before { content: '\\25CF\\00a0'; color: #1a8f3c; }
.stale .options { filter: grayscale(1); }
main { width: min(100% - 1.5rem, 84rem); }
.board { display: grid; gap: 1.5rem 2.5rem; align-items: center; }
@media (min-width: 64rem) { .board { grid-template-columns: 1fr minmax(14rem, 22rem); } }
.join { display: flex; flex-direction: column; align-items: center; gap: .75rem; }
.qr svg { display: block; width: clamp(10rem, 36vh, 22rem); height: auto; border-radius: 8px; }
.join p { margin: 0; font-size: 1.1em; font-weight: 600; overflow-wrap: anywhere; }
.stale .freshness::before { content: '\\25CB\\00a0'; color: var(--alert); }
.hidden-note { font-weight: 600; margin: .25rem 0 0; }
.hidden-note:empty { display: none; }
/* A projector (landscape, wide): eight options of long labels and the QR code on one screen,
   from 1280x720 up, every size following the screen's height. */
@media (min-width: 64rem) and (orientation: landscape) {
  main { margin: 1.5vh auto .5rem; padding: 2vh 2.5vw; width: min(100% - 2rem, 110rem); }
  main:has(.compact) h1 { font-size: clamp(1.4rem, 4.6vh, 3rem); line-height: 1.15; }
  .compact .options { margin-top: 1vh; gap: .7vh; }
  .compact .option { grid-template-columns: minmax(0, 1fr) auto auto; row-gap: .3vh; padding: .6vh 1rem; }
  .compact .label { font-size: clamp(.9rem, 2.5vh, 1.7rem); line-height: 1.25; }
  .compact .percent { font-size: clamp(1rem, 2.8vh, 2rem); order: 2; }
  .compact .count { order: 3; }
  .compact .meter { grid-column: 1 / -1; order: 4; height: .8vh; margin: 0; }
  .total { margin: 1vh 0 0; }
  footer { margin: 0 auto .5rem; }
}
";

/// Follows `/result/api` (see [`voting_shared::follow_results_js`]); a 304 leaves the page as
/// it is. While the API fails, or says the results may be out of date, the numbers are greyed
/// out and marked; they come back by themselves. Another round, other options, or counts hidden
/// or shown: the page loads anew.
pub const SCRIPT: &str = concat!(
    "(() => {",
    voting_shared::follow_results_js!(),
    r#"
  const $ = (id) => document.getElementById(id);
  const noun = (n) => (n === 1 ? "vote" : "votes");
  function freshness(stale, message) {
    $("results").classList.toggle("stale", stale);
    $("freshness").textContent = stale ? message : "Updated live";
    $("notice").textContent = stale && message.startsWith("Stale") ? "Results are unavailable right now; retrying…" : "";
  }
  // Whole percentages that add up to 100, as the server computes them (largest remainder).
  function percentages(counts) {
    const total = counts.reduce((sum, count) => sum + count, 0);
    const shares = counts.map((count) => (total ? Math.floor((100 * count) / total) : Math.floor(100 / counts.length)));
    const remainders = counts.map((count) => (total ? (100 * count) % total : 1));
    let left = 100 - shares.reduce((sum, share) => sum + share, 0);
    const order = counts.map((_, index) => index).sort((x, y) => remainders[y] - remainders[x] || x - y);
    for (const index of order) { if (left-- > 0) shares[index] += 1; }
    return shares;
  }
  const line = $("round");
  let open = line.dataset.open === "true";
  let deadline = line.dataset.closes ? Date.now() + (Number(line.dataset.closes) - Number(line.dataset.now)) : null;
  function countdown() {
    if (!$("countdown")) return;
    const left = open && deadline !== null ? secondsTo(deadline) : -1;
    $("countdown").textContent = left > 0 ? " · closes in " + left + " s" : "";
    if (left === 0) $("voting").textContent = "Voting is closed";
  }
  setInterval(countdown, 1000);
  function show(tally) {
    const shown = document.querySelectorAll(".option").length;
    if (String(tally.round) !== line.dataset.round || shown !== tally.options.length ||
        tally.options.some((option) => !$("option-" + option.choice)) ||
        String(tally.hidden) !== line.dataset.hidden) {
      location.reload();
      return;
    }
    open = tally.open;
    deadline = deadlineOf(tally);
    countdown();
    freshness(tally.stale, "May be out of date: waiting for the database");
    $("question").textContent = tally.question;
    $("voting").textContent = tally.open ? "Voting is open" : "Voting is closed";
    $("total").textContent = tally.total === 0 ? "No votes yet" : tally.total + " " + noun(tally.total);
    if (tally.hidden) return;
    const shares = percentages(tally.options.map((option) => option.count));
    tally.options.forEach((option, index) => {
      const id = option.choice;
      $("label-" + id).textContent = option.label;
      $("percent-" + id).textContent = shares[index];
      $("count-" + id).textContent = option.count; $("noun-" + id).textContent = noun(option.count);
      $("bar-" + id).style.width = shares[index] + "%";
      $("meter-" + id).setAttribute("aria-label", option.label + " " + shares[index] + "%");
    });
  }
  follow("/result/api", show, (status) => freshness(true, status ? "Stale: the results are not answering" : "Stale: cannot reach the server"));
})();
"#
);

#[cfg(test)]
mod tests {
    use super::*;

    fn cats_and_dogs() -> Poll {
        Poll::new(&["Cats", "Dogs"]).unwrap()
    }

    /// Round 1, open, live, without a deadline.
    const OPEN: Shown = Shown {
        counts: None,
        total: 0,
        number: 1,
        results: Visibility::Live,
        open: true,
        seconds_left: None,
        closes_at: None,
        now: 0,
        stale: false,
    };

    fn shown(counts: Counts, round: &Shown) -> Shown {
        Shown {
            counts: Some(counts),
            total: counts.total(),
            ..round.clone()
        }
    }

    #[test]
    fn renders_numbers_on_the_server() {
        let page = render(
            &cats_and_dogs(),
            Ok(&shown(Counts::new(&[2000, 1000]), &OPEN)),
            None,
        );
        assert!(page.contains(r#"<span id="percent-a">67</span>%"#));
        assert!(page.contains(r#"<span id="percent-b">33</span>%"#));
        assert!(page.contains(r#"<span id="count-a">2000</span> <span id="noun-a">votes</span>"#));
        assert!(page.contains(r#"<p id="total" class="total">3000 votes</p>"#));
        assert!(page.contains(r#"<p id="notice" class="notice" role="alert"></p>"#));
        assert!(page.contains(r#"class="results live roomy""#));
        assert!(page.contains(r#"follow("/result/api""#));
    }

    #[test]
    fn shows_every_option_in_ballot_order_with_its_share_of_the_bar() {
        let labels = [
            "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight",
        ];
        let poll = Poll::new(&labels).unwrap();
        let page = render(
            &poll,
            Ok(&shown(Counts::new(&[7, 1, 1, 1, 1, 1, 1, 0]), &OPEN)),
            None,
        );
        let positions: Vec<usize> = labels
            .iter()
            .map(|label| page.find(&format!(">{label}</div>")).unwrap())
            .collect();
        assert!(positions.is_sorted(), "{positions:?}");
        assert!(page.contains(r#"<span id="percent-a">54</span>%"#));
        assert!(page.contains(r#"<span id="percent-h">0</span>%"#));
        assert!(page.contains(r#"aria-label="Eight 0%"><div id="bar-h" style="width:0%"></div>"#));
        assert!(page.contains(r#"class="results live compact""#));
        assert!(page.contains(
            r#"<h1 id="question">One, Two, Three, Four, Five, Six, Seven or Eight?</h1>"#
        ));
        assert!(page.contains(r#"<p id="total" class="total">13 votes</p>"#));
    }

    #[test]
    fn shows_where_to_vote_as_words_and_a_qr_code_when_known() {
        let page = render(
            &cats_and_dogs(),
            Ok(&shown(Counts::default(), &OPEN)),
            Some("https://poll.example.org/"),
        );
        assert!(page.contains(
            r#"Vote at <a id="vote-url" href="https://poll.example.org/">https://poll.example.org/</a>"#
        ));
        assert!(page.contains(r#"<div class="qr"><svg "#));
        assert!(page.contains(r#"aria-label="QR code of https://poll.example.org/""#));
        let page = render(&cats_and_dogs(), Ok(&shown(Counts::default(), &OPEN)), None);
        assert!(!page.contains("class=\"join\""));
    }

    #[test]
    fn says_when_results_are_unavailable() {
        let page = render(&cats_and_dogs(), Err("Redis is not answering <yet>"), None);
        assert!(page.contains(
            "Results are unavailable right now: Redis is not answering &lt;yet&gt;. This page \
             retries by itself."
        ));
        assert!(page.contains(r#"class="results stale roomy""#));
    }

    #[test]
    fn says_which_round_it_is_and_whether_voting_is_open() {
        let page = render(&cats_and_dogs(), Ok(&shown(Counts::default(), &OPEN)), None);
        assert!(
            page.contains(
                r#"data-round="1" data-hidden="false">Round 1 · <span id="voting">Voting is open</span><span id="countdown"></span></p>"#
            )
        );
        let closed = Shown {
            number: 3,
            open: false,
            ..OPEN
        };
        let page = render(
            &cats_and_dogs(),
            Ok(&shown(Counts::default(), &closed)),
            None,
        );
        assert!(page.contains(
            r#"data-round="3" data-hidden="false">Round 3 · <span id="voting">Voting is closed"#
        ));
    }

    #[test]
    fn hidden_counts_show_the_labels_and_the_total_only() {
        let hidden = Shown {
            results: Visibility::OnReveal,
            ..OPEN
        };
        let state = Shown {
            counts: None,
            ..shown(Counts::new(&[7, 5]), &hidden)
        };
        let page = render(&cats_and_dogs(), Ok(&state), None);
        assert!(page.contains(r#"id="label-a">Cats</div>"#));
        assert!(page.contains(r#"<p id="total" class="total">12 votes</p>"#));
        assert!(page.contains("hidden until the presenter reveals them"));
        assert!(page.contains(r#"data-hidden="true""#));
        let shown = page.split("<script>").next().unwrap();
        for absent in ["percent-", "count-", "bar-", ">7<", ">5<", "58", "42"] {
            assert!(!shown.contains(absent), "{absent}");
        }
    }

    #[test]
    fn a_deadline_counts_down_in_the_round_line() {
        let state = Shown {
            seconds_left: Some(12),
            closes_at: Some(61_000),
            now: 49_000,
            ..shown(Counts::default(), &OPEN)
        };
        let page = render(&cats_and_dogs(), Ok(&state), None);
        assert!(page.contains(r#"<span id="countdown"> · closes in 12 s</span>"#));
        assert!(page.contains(r#"data-open="true" data-closes="61000" data-now="49000""#));
    }

    #[test]
    fn results_that_may_be_out_of_date_say_so() {
        let state = Shown {
            stale: true,
            ..shown(Counts::new(&[1, 0]), &OPEN)
        };
        let page = render(&cats_and_dogs(), Ok(&state), None);
        assert!(page.contains(r#"class="results stale roomy""#));
        assert!(page.contains("May be out of date: waiting for the database"));
        assert!(
            page.contains(r#"<span id="count-a">1</span>"#),
            "the last counts stay up"
        );
    }

    #[test]
    fn one_vote_is_singular() {
        let page = render(
            &cats_and_dogs(),
            Ok(&shown(Counts::new(&[1, 0]), &OPEN)),
            None,
        );
        assert!(page.contains(r#"<span id="count-a">1</span> <span id="noun-a">vote</span>"#));
        assert!(page.contains(r#"<p id="total" class="total">1 vote</p>"#));
    }

    #[test]
    fn escapes_labels() {
        let page = render(
            &Poll::new(&["<img src=x>", "B&B"]).unwrap(),
            Err("down"),
            Some("http://x/?a=1&b=<2>"),
        );
        assert!(!page.contains("<img src=x>"));
        assert!(!page.contains("<2>"));
        assert!(page.contains("href=\"http://x/?a=1&amp;b=&lt;2&gt;\""));
        assert!(page.contains("&lt;img src=x&gt;"));
        assert!(page.contains("B&amp;B"));
    }
}
