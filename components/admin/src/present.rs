//! The presenter view, `/admin/present`: the current question full screen for a projector —
//! the question, the bars (or, while the round hides them, the labels and how many have
//! voted), the countdown, and the vote page's QR code, large — with the controls as buttons
//! and keys: → or Space the next question, C close or open voting, R reveal, T thirty seconds
//! more, Q the audience's questions. A held or repeated key, or a second press while the first is on its way, does nothing,
//! and the Next form names the round it moves on from, so a press moves on once. It fits a
//! 1280×720 screen with eight long labels without scrolling, and follows every change within a
//! second, polling `/result/api` as the results page does.

use voting_glue::reply::Reply;
use voting_glue::variable;
use voting_shared::deck::Question;
use voting_shared::html::{self, escape};
use voting_shared::poll::Poll;
use voting_shared::qr;

use crate::Asked;
use crate::actions::{clock, list_rounds, read_deck};
use crate::pages::next_button;
use crate::rounds::RoundRecord;

/// The presenter view, or what stops it when the rounds cannot be read.
pub fn page(asked: &Asked, configured: &Poll) -> Reply {
    let shown =
        clock().and_then(|now_ms| Ok((list_rounds(configured, now_ms)?, read_deck()?, now_ms)));
    let (rounds, deck, now_ms) = match shown {
        Ok(shown) => shown,
        Err(refusal) => {
            return Reply::text(refusal.status, &format!("{}\n", refusal.message));
        }
    };
    let Some(round) = rounds.last() else {
        return Reply::text(503, "There is no round yet: try again in a moment.\n");
    };
    let rules = round.round();
    let view = View {
        round,
        deck: &deck.questions,
        next: deck.next,
        vote_url: vote_url(asked),
        seconds_left: rules.seconds_left(now_ms).filter(|_| rules.open_at(now_ms)),
        now_ms,
        hidden: rules.counts_hidden(now_ms),
        notice: asked.notice.as_deref(),
    };
    Reply::html(200, render(&view)).script(SCRIPT)
}

/// The vote page's address for the QR code: `public_url`, or the address this page was
/// reached at.
pub(crate) fn vote_url(asked: &Asked) -> Option<String> {
    let public_url = variable("public_url").unwrap_or_default();
    let proto = asked.https.then_some("https");
    qr::vote_url(&public_url, asked.host.as_deref(), proto)
        .or_else(|_| qr::vote_url("", asked.host.as_deref(), proto))
        .ok()
        .flatten()
}

/// What the view shows.
pub struct View<'a> {
    pub round: &'a RoundRecord,
    pub deck: &'a [Question],
    /// The deck's next question's position, from 1.
    pub next: usize,
    pub vote_url: Option<String>,
    pub seconds_left: Option<i64>,
    /// Redis's clock when read (ms), for the countdown.
    pub now_ms: i64,
    /// Whether the round hides its counts from the room now.
    pub hidden: bool,
    pub notice: Option<&'a str>,
}

pub fn render(view: &View) -> String {
    let round = view.round;
    let hidden = view.hidden;
    let percentages = round.counts.percentages(&round.poll);
    let options: String = round
        .poll
        .options()
        .zip(percentages)
        .map(|((choice, label), percent)| {
            let label = escape(label);
            let figures = if hidden {
                String::new()
            } else {
                format!(
                    "<span class=\"figures\"><span id=\"percent-{choice}\">{percent}</span>% · \
                     <span id=\"count-{choice}\">{count}</span></span>",
                    count = round.counts.of(choice)
                )
            };
            let width = if hidden { 0 } else { percent };
            format!(
                "<li class=\"option\" id=\"option-{choice}\"><span class=\"label\">{label}</span>\
                 {figures}<span class=\"meter\"><span class=\"bar choice-{choice}\" \
                 id=\"bar-{choice}\" style=\"width:{width}%\"></span></span></li>\n"
            )
        })
        .collect();
    let state = if round.open {
        "Voting is open"
    } else {
        "Voting is closed"
    };
    let countdown = view
        .seconds_left
        .map(|seconds| format!(" · closes in {seconds} s"))
        .unwrap_or_default();
    let hidden_note = if hidden {
        "<p class=\"hidden-note\" id=\"hidden-note\">Results hidden</p>"
    } else {
        ""
    };
    let position = round
        .deck_position
        .map(|position| format!("Question {position} of {}", view.deck.len()))
        .unwrap_or_else(|| format!("Round {}", round.number));
    let join = match &view.vote_url {
        Some(url) => format!(
            "<aside class=\"join\"><div class=\"qr\">{code}</div><p>{url}</p></aside>",
            code = qr::svg(url, &format!("QR code of {}", escape(url))).unwrap_or_default(),
            url = escape(url),
        ),
        None => String::new(),
    };
    let notice = view
        .notice
        .map(|text| format!("<p class=\"notice\" role=\"alert\">{}</p>", escape(text)))
        .unwrap_or_default();
    let controls = controls(view, hidden);
    let main = format!(
        r#"<div class="stage" id="stage" data-round="{number}" data-hidden="{hidden}" data-open="{open}">
<header><p class="position">{position}</p><h1 id="question">{question}</h1>
<p class="status"><span id="voting">{state}</span><span id="countdown" data-closes="{closes}" data-now="{now}">{countdown}</span> · <span id="total">{total}</span></p></header>
<ol class="options{hidden_class}">{options}</ol>{hidden_note}
{join}
<nav class="controls" aria-label="Controls">{controls}</nav>{notice}
</div>"#,
        number = round.number,
        open = round.open,
        question = escape(round.poll.question()),
        closes = match view.seconds_left {
            Some(_) => round.closes_ms.unwrap_or_default().to_string(),
            None => String::new(),
        },
        now = view.now_ms,
        total = round.counts.total_in_words(),
        hidden_class = if hidden { " hidden-counts" } else { "" },
    );
    html::page(
        &format!("{} — presenter", escape(round.poll.question())),
        STYLE,
        &main,
        "",
        SCRIPT,
    )
}

/// The controls, each a form that comes back here, with its key.
fn controls(view: &View, hidden: bool) -> String {
    let button = |action: &str, id: &str, key: &str, text: &str| {
        format!(
            "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"back\" \
             value=\"present\"><button type=\"submit\" id=\"{id}\" data-key=\"{key}\">{text}</button></form>"
        )
    };
    let next = if view.next <= view.deck.len() {
        next_button(view.round.number, "present", "Next question (→)")
    } else {
        "<span class=\"muted\">End of the deck</span>".to_owned()
    };
    let toggle = if view.round.open {
        button("/admin/close", "toggle", "c", "Close (C)")
    } else {
        button("/admin/open", "toggle", "c", "Open (C)")
    };
    let reveal = if hidden {
        button("/admin/reveal", "reveal", "r", "Reveal (R)")
    } else {
        String::new()
    };
    format!(
        "{next}{toggle}{reveal}{time}<a href=\"/admin/present?qa\" id=\"to-questions\">Questions (Q)</a>\
         <a href=\"/admin\">Console</a>",
        time = button("/admin/time", "add-time", "t", "+30 s (T)"),
    )
}

const STYLE: &str = "\
html, body { height: 100%; margin: 0; overflow: hidden; }
body > footer { display: none; }
main { width: 100%; height: 100vh; max-width: none; margin: 0; padding: 0; box-sizing: border-box; }
.stage { height: 100vh; box-sizing: border-box; padding: 2.5vh 3vw; display: grid; gap: 1.5vh 3vw;
  grid-template-columns: 1fr auto; grid-template-rows: auto 1fr auto;
  grid-template-areas: 'head join' 'options join' 'controls controls'; text-align: left; }
header { grid-area: head; min-width: 0; }
.position { margin: 0; color: var(--muted); font-size: 2.2vh; font-weight: 700; }
h1 { margin: .3vh 0; font-size: clamp(1.5rem, 5.2vh, 4.5rem); line-height: 1.1; overflow-wrap: anywhere; }
.status { margin: 0; font-size: 2.8vh; font-weight: 700; color: var(--muted); }
.options { grid-area: options; list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column;
  justify-content: center; gap: 1vh; min-height: 0; overflow: hidden; }
.option { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: .4vh 1.5vw; align-items: baseline;
  font-size: clamp(.9rem, 3vh, 2.6rem); }
.label { font-weight: 700; overflow-wrap: anywhere; line-height: 1.15; }
.figures { font-weight: 800; white-space: nowrap; }
.meter { grid-column: 1 / -1; height: 1.3vh; border-radius: 99px; background: #8883; overflow: hidden; }
.bar { display: block; height: 100%; transition: width .4s; }
.hidden-counts .meter { display: none; }
.hidden-note { grid-area: options; align-self: end; justify-self: start; margin: 0; font-size: 2.6vh; font-weight: 700; color: var(--muted); }
.join { grid-area: join; display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 1vh; }
.qr svg { display: block; width: min(52vh, 32vw); height: auto; border-radius: 8px; }
.join p { margin: 0; font-size: 2.4vh; font-weight: 700; max-width: min(52vh, 32vw); overflow-wrap: anywhere; text-align: center; }
.controls { grid-area: controls; display: flex; flex-wrap: wrap; gap: 1vw; align-items: center; font-size: 1.8vh; }
.controls form { display: inline; margin: 0; }
.controls button { font: inherit; font-weight: 700; padding: .5vh 1vw; border-radius: 8px; border: 0;
  background: var(--a); color: #fff; cursor: pointer; }
.muted { color: var(--muted); }
.notice { grid-area: controls; justify-self: end; margin: 0; }
";

/// The keys, and following the round (see [`voting_shared::follow_results_js`]): updates the
/// bars, the total and the countdown, and reloads when the round, its voting or its hiding
/// changes. A key held down (`event.repeat`) or pressed again while a form is on its way does
/// nothing.
pub const SCRIPT: &str = concat!(
    "(() => {",
    voting_shared::follow_results_js!(),
    r#"
  const $ = (id) => document.getElementById(id);
  const stage = $("stage");
  const keys = { ArrowRight: "next", " ": "next", c: "c", C: "c", r: "r", R: "r", t: "t", T: "t" };
  let sending = false;
  document.addEventListener("submit", (event) => {
    if (sending) { event.preventDefault(); return; }
    sending = true;
    document.querySelectorAll(".controls button").forEach((button) => { button.disabled = true; });
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = keys[event.key];
    const button = key && document.querySelector('button[data-key="' + key + '"]');
    if ((event.key === "q" || event.key === "Q") && !event.repeat) {
      event.preventDefault();
      location.href = "/admin/present?qa";
      return;
    }
    if (!button) return;
    event.preventDefault();
    if (event.repeat || sending) return;
    button.form.requestSubmit();
  });
  const countdown = $("countdown");
  let deadline = countdown.dataset.closes ? Date.now() + (Number(countdown.dataset.closes) - Number(countdown.dataset.now)) : null;
  const tick = () => {
    if (deadline === null) { countdown.textContent = ""; return; }
    const left = secondsTo(deadline);
    countdown.textContent = left > 0 ? " · closes in " + left + " s" : "";
    if (left === 0) { deadline = null; location.reload(); }
  };
  setInterval(tick, 1000);
  follow("/result/api", (tally) => {
    if (String(tally.round) !== stage.dataset.round || String(tally.hidden) !== stage.dataset.hidden ||
        String(tally.open) !== stage.dataset.open) {
      location.reload();
      return;
    }
    deadline = tally.open ? deadlineOf(tally) : null;
    tick();
    $("total").textContent = tally.total === 0 ? "No votes yet" : tally.total + (tally.total === 1 ? " vote" : " votes");
    if (!tally.hidden) {
      for (const option of tally.options) {
        const share = tally.total ? Math.round((100 * option.count) / tally.total) : 0;
        $("percent-" + option.choice).textContent = share;
        $("count-" + option.choice).textContent = option.count;
        $("bar-" + option.choice).style.width = share + "%";
      }
    }
  }, () => {});
})();
"#
);
