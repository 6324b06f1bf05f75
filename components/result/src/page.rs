//! The results page: numbers rendered on the server, then kept current by a small script
//! that polls `/result/api` every second with `If-None-Match` (a 304 costs no update).
//!
//! Polling rather than Server-Sent Events: Spin gives every request a fresh instance, so a
//! stream would pin an instance (and a database poll loop) per open page; a conditional GET
//! per second is cheap for the server, works through any proxy, and needs no state.

use voting_shared::choice::Labels;
use voting_shared::diagnosis::PostgresProblem;
use voting_shared::html::{self, escape};

use crate::tally::Tally;

/// Renders the page, or, when the database could not be read, says why.
pub fn render(labels: &Labels, tally: Result<Tally, PostgresProblem>) -> String {
    let a = escape(&labels.a);
    let b = escape(&labels.b);
    let (percent_a, percent_b, total, notice) = match tally {
        Ok(tally) => {
            let (percent_a, percent_b) = tally.percentages();
            (percent_a, percent_b, tally.total_in_words(), String::new())
        }
        Err(problem) => (
            50,
            50,
            "Results unavailable".to_owned(),
            format!(
                "Results are unavailable right now: {}. This page retries by itself.",
                escape(problem.advice())
            ),
        ),
    };
    let main = format!(
        r#"<h1>{a} vs {b}</h1>
<div class="options">
<div class="option" id="option-a"><div class="label">{a}</div><div class="percent"><span id="percent-a">{percent_a}</span>%</div></div>
<div class="option" id="option-b"><div class="label">{b}</div><div class="percent"><span id="percent-b">{percent_b}</span>%</div></div>
</div>
<div class="bar"><div id="bar-a" style="width:{percent_a}%"></div><div id="bar-b" style="width:{percent_b}%"></div></div>
<p id="total">{total}</p>
<p id="notice" class="notice" role="status">{notice}</p>
<footer><a href="/">Vote</a> · Updated live · Processed by a Spin WebAssembly component</footer>
"#
    );
    html::page(&format!("{a} vs {b} — results"), STYLE, &main, SCRIPT)
}

const STYLE: &str = "\
.options { display: flex; gap: 1rem; }
.option { flex: 1; padding: 1rem; border-radius: 10px; color: #fff; }
#option-a { background: #1f77b4; } #option-b { background: #ff7f0e; }
.percent { font-size: 3rem; font-weight: bold; }
.bar { display: flex; height: 12px; border-radius: 6px; overflow: hidden; margin: 1.5rem 0 .5rem; }
#bar-a { background: #1f77b4; } #bar-b { background: #ff7f0e; }
";

/// Polls the API once a second; a 304 leaves the page as it is.
const SCRIPT: &str = r#"<script>
(() => {
  let etag = null;
  const set = (id, text) => { document.getElementById(id).textContent = text; };
  async function poll() {
    try {
      const response = await fetch("/result/api", { headers: etag ? { "If-None-Match": etag } : {} });
      if (response.status === 200) {
        etag = response.headers.get("ETag");
        const tally = await response.json();
        const a = tally.total ? Math.round(100 * tally.a / tally.total) : 50;
        set("percent-a", a); set("percent-b", 100 - a);
        document.getElementById("bar-a").style.width = a + "%";
        document.getElementById("bar-b").style.width = (100 - a) + "%";
        set("total", tally.total === 0 ? "No votes yet" : tally.total === 1 ? "1 vote" : tally.total + " votes");
        set("notice", "");
      } else if (response.status !== 304) {
        set("notice", "Results are unavailable right now; retrying…");
      }
    } catch (error) {
      set("notice", "Cannot reach the server; retrying…");
    }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
</script>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        Labels::new("Cats", "Dogs")
    }

    #[test]
    fn renders_numbers_on_the_server() {
        let page = render(&labels(), Ok(Tally { a: 2000, b: 1000 }));
        assert!(page.contains(r#"<span id="percent-a">67</span>%"#));
        assert!(page.contains(r#"<span id="percent-b">33</span>%"#));
        assert!(page.contains(r#"<p id="total">3000 votes</p>"#));
        assert!(page.contains(r#"<p id="notice" class="notice" role="status"></p>"#));
        assert!(page.contains(r#"fetch("/result/api""#));
    }

    #[test]
    fn says_when_results_are_unavailable() {
        let page = render(&labels(), Err(PostgresProblem::NotAnswering));
        assert!(page.contains("Results are unavailable right now: PostgreSQL is not answering"));
        let page = render(&labels(), Err(PostgresProblem::UntrustedCertificate));
        assert!(page.contains("set the variable postgres_sslmode to disable"));
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
