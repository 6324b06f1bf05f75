//! The results page: numbers rendered on the server, then kept current by a small script
//! that polls `/result/api` every second with `If-None-Match` (a 304 costs no update).
//!
//! Polling rather than Server-Sent Events: Spin gives every request a fresh instance, so a
//! stream would pin an instance (and a database poll loop) per open page; a conditional GET
//! per second is cheap for the server, works through any proxy, and needs no state.

use voting_shared::choice::Labels;
use voting_shared::diagnosis::PostgresProblem;
use voting_shared::html::{self, escape};

use voting_shared::counts::Counts;

/// Renders the page, or, when the database could not be read, says why.
pub fn render(labels: &Labels, tally: Result<Counts, PostgresProblem>) -> String {
    let a = escape(&labels.a);
    let b = escape(&labels.b);
    let (counts, total, notice, state) = match tally {
        Ok(tally) => (tally, tally.total_in_words(), String::new(), "live"),
        Err(problem) => (
            Counts::default(),
            "Results unavailable".to_owned(),
            format!(
                "Results are unavailable right now: {}. This page retries by itself.",
                escape(problem.advice())
            ),
            "stale",
        ),
    };
    let (percent_a, percent_b) = counts.percentages();
    let option = |id: &str, label: &str, count: i64, percent: i64| {
        format!(
            r#"<div class="option" id="option-{id}"><div class="label">{label}</div>
<div class="percent"><span id="percent-{id}">{percent}</span>%</div>
<div class="count"><span id="count-{id}">{count}</span> <span id="noun-{id}">{noun}</span></div></div>"#,
            noun = votes_noun(count)
        )
    };
    let main = format!(
        r#"<h1>{a} or {b}?</h1>
<section class="results {state}" id="results" aria-labelledby="total" aria-live="polite">
<div class="options">
{option_a}
{option_b}
</div>
<div class="bar" role="img" id="bar" aria-label="{a} {percent_a}%, {b} {percent_b}%"><div id="bar-a" style="width:{percent_a}%"></div><div id="bar-b" style="width:{percent_b}%"></div></div>
<p id="total" class="total">{total}</p>
<p id="freshness" class="freshness">{freshness}</p>
</section>
<p id="notice" class="notice" role="alert">{notice}</p>
"#,
        option_a = option("a", &a, counts.a, percent_a),
        option_b = option("b", &b, counts.b, percent_b),
        freshness = if state == "live" {
            "Updated live"
        } else {
            "Stale: waiting for the database"
        },
    );
    let footer = "<a href=\"/\">Vote</a> · Served by a Spin WebAssembly component";
    html::page(
        &format!("{a} or {b}? — results"),
        STYLE,
        &main,
        footer,
        SCRIPT,
    )
}

/// "vote" or "votes", for a count.
fn votes_noun(count: i64) -> &'static str {
    if count == 1 { "vote" } else { "votes" }
}

const STYLE: &str = "\
.options { display: flex; flex-wrap: wrap; gap: clamp(.75rem, 2vw, 1.5rem); margin-top: 1.5rem; }
.option { flex: 1 1 12rem; padding: clamp(.75rem, 2vw, 1.5rem); border-radius: 14px; color: #fff; }
#option-a { background: var(--a); } #option-b { background: var(--b); }
.label { font-size: 1.2em; font-weight: 700; }
.percent { font-size: clamp(2.5rem, 1.5rem + 5vw, 6rem); font-weight: 800; line-height: 1.1; }
.bar { display: flex; height: clamp(14px, 2vw, 28px); border-radius: 99px; overflow: hidden; margin: 1.5rem 0 .75rem;
  background: var(--bg); }
#bar-a { background: var(--a); transition: width .4s; } #bar-b { background: var(--b); transition: width .4s; }
.total { font-size: 1.3em; font-weight: 700; margin: .25rem 0; }
.freshness { color: var(--muted); font-size: .85em; margin: 0; }
.freshness::before { content: '\\25CF\\00a0'; color: #1a8f3c; }
.stale .options, .stale .bar { filter: grayscale(1); }
.stale .freshness::before { content: '\\25CB\\00a0'; color: var(--alert); }
";

/// Polls the API once a second; a 304 leaves the page as it is. While the API fails, the
/// numbers are greyed out and marked stale; they come back by themselves.
pub const SCRIPT: &str = r#"
(() => {
  let etag = null;
  const $ = (id) => document.getElementById(id);
  const noun = (n) => (n === 1 ? "vote" : "votes");
  function stale(message) {
    $("results").classList.add("stale");
    $("freshness").textContent = "Stale: " + message;
    $("notice").textContent = "Results are unavailable right now; retrying…";
  }
  function show(tally) {
    const a = tally.total ? Math.round(100 * tally.a / tally.total) : 50;
    $("percent-a").textContent = a; $("percent-b").textContent = 100 - a;
    $("count-a").textContent = tally.a; $("noun-a").textContent = noun(tally.a);
    $("count-b").textContent = tally.b; $("noun-b").textContent = noun(tally.b);
    $("bar-a").style.width = a + "%"; $("bar-b").style.width = (100 - a) + "%";
    $("bar").setAttribute("aria-label", tally.option_a + " " + a + "%, " + tally.option_b + " " + (100 - a) + "%");
    $("total").textContent = tally.total === 0 ? "No votes yet" : tally.total + " " + noun(tally.total);
  }
  async function poll() {
    try {
      const response = await fetch("/result/api", { headers: etag ? { "If-None-Match": etag } : {} });
      if (response.status === 200) {
        etag = response.headers.get("ETag");
        show(await response.json());
      }
      if (response.status === 200 || response.status === 304) {
        $("results").classList.remove("stale");
        $("freshness").textContent = "Updated live";
        $("notice").textContent = "";
      } else {
        etag = null;
        stale("the database is not answering");
      }
    } catch (error) {
      etag = null;
      stale("cannot reach the server");
    }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        Labels::new("Cats", "Dogs")
    }

    #[test]
    fn renders_numbers_on_the_server() {
        let page = render(&labels(), Ok(Counts { a: 2000, b: 1000 }));
        assert!(page.contains(r#"<span id="percent-a">67</span>%"#));
        assert!(page.contains(r#"<span id="percent-b">33</span>%"#));
        assert!(page.contains(r#"<span id="count-a">2000</span> <span id="noun-a">votes</span>"#));
        assert!(page.contains(r#"<p id="total" class="total">3000 votes</p>"#));
        assert!(page.contains(r#"<p id="notice" class="notice" role="alert"></p>"#));
        assert!(page.contains(r#"class="results live""#));
        assert!(page.contains(r#"fetch("/result/api""#));
    }

    #[test]
    fn says_when_results_are_unavailable() {
        let page = render(&labels(), Err(PostgresProblem::NotAnswering));
        assert!(page.contains("Results are unavailable right now: PostgreSQL is not answering"));
        assert!(page.contains(r#"class="results stale""#));
        let page = render(&labels(), Err(PostgresProblem::UntrustedCertificate));
        assert!(page.contains("set the variable postgres_sslmode to disable"));
    }

    #[test]
    fn one_vote_is_singular() {
        let page = render(&labels(), Ok(Counts { a: 1, b: 0 }));
        assert!(page.contains(r#"<span id="count-a">1</span> <span id="noun-a">vote</span>"#));
        assert!(page.contains(r#"<p id="total" class="total">1 vote</p>"#));
    }

    #[test]
    fn escapes_labels() {
        let page = render(
            &Labels::new("<img src=x>", "B&B"),
            Err(PostgresProblem::NotAnswering),
        );
        assert!(!page.contains("<img src=x>"));
        assert!(page.contains("&lt;img src=x&gt;"));
        assert!(page.contains("B&amp;B"));
    }
}
