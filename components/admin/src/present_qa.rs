//! The presenter view's Q&A screen, `/admin/present?qa` (Q switches between it and the poll):
//! the highlighted question large, the next five by upvotes under it, and the QR code of the
//! questions page, fitting a 1280×720 projector without scrolling with 280-character questions.
//! It follows the room's list within a second, polling `/api/questions` as the phones do.

use voting_glue::reply::Reply;
use voting_shared::html::{self, escape};
use voting_shared::qr;
use voting_shared::questions::{Mode, QaSnapshot, Question};

use crate::Asked;

/// How many questions wait under the highlighted one.
const NEXT: usize = 5;

/// The Q&A screen, or what stops it when the questions cannot be read.
pub fn page(asked: &Asked) -> Reply {
    let snapshot = match crate::qa::read() {
        Ok(snapshot) => snapshot,
        Err(refusal) => return Reply::text(refusal.status, &format!("{}\n", refusal.message)),
    };
    Reply::html(
        200,
        render(
            &snapshot,
            questions_url(asked).as_deref(),
            asked.notice.as_deref(),
        ),
    )
    .script(SCRIPT)
}

/// The questions page's address for the QR code.
fn questions_url(asked: &Asked) -> Option<String> {
    crate::present::vote_url(asked).map(|vote| format!("{}/questions", vote.trim_end_matches('/')))
}

/// The screen for `snapshot`.
pub fn render(snapshot: &QaSnapshot, url: Option<&str>, notice: Option<&str>) -> String {
    let published = snapshot.published();
    let highlighted = published
        .iter()
        .find(|question| snapshot.highlighted == Some(question.id));
    let spotlight = match highlighted {
        Some(question) => format!(
            "<p class=\"big\" id=\"highlighted\">{}</p><p class=\"who\" id=\"highlighted-who\">{}</p>",
            escape(&question.text),
            who(question)
        ),
        None => "<p class=\"big muted\" id=\"highlighted\">No question on the screen yet: \
                 highlight one in the console.</p><p class=\"who\" id=\"highlighted-who\"></p>"
            .to_owned(),
    };
    let next: String = published
        .iter()
        .filter(|question| snapshot.highlighted != Some(question.id) && !question.answered)
        .take(NEXT)
        .map(|question| {
            format!(
                "<li><span class=\"votes\">&#9650; {}</span> <span class=\"text\">{}</span></li>",
                question.upvotes,
                escape(&question.text)
            )
        })
        .collect();
    let closed = if snapshot.mode == Mode::Off {
        "<p class=\"muted\">Q&amp;A is off: open it in the console.</p>"
    } else {
        ""
    };
    let join = match url {
        Some(url) => format!(
            "<aside class=\"join\"><div class=\"qr\">{code}</div><p>Ask at {url}</p></aside>",
            code = qr::svg(url, &format!("QR code of {}", escape(url))).unwrap_or_default(),
            url = escape(url),
        ),
        None => String::new(),
    };
    let notice = notice
        .map(|text| format!("<p class=\"notice\" role=\"alert\">{}</p>", escape(text)))
        .unwrap_or_default();
    let main = format!(
        r#"<div class="stage" id="qa" data-highlighted="{highlighted_id}">
<section class="spot"><p class="label">Question</p>{spotlight}{closed}</section>
<section class="next"><p class="label">Next by upvotes</p><ol id="next">{next}</ol></section>
{join}
<nav class="controls"><a href="/admin/present" id="to-poll">Poll (Q)</a> <a href="/admin">Console</a></nav>{notice}
</div>"#,
        highlighted_id = highlighted
            .map(|question| question.id.to_string())
            .unwrap_or_default(),
    );
    html::page("Questions — presenter", STYLE, &main, "", SCRIPT)
}

/// The asker's name and the upvotes, under a question.
fn who(question: &Question) -> String {
    let name = question
        .name
        .as_deref()
        .map(escape)
        .unwrap_or_else(|| "Anonymous".to_owned());
    format!("{name} · &#9650; {}", question.upvotes)
}

const STYLE: &str = "\
html, body { height: 100%; margin: 0; overflow: hidden; }
body > footer { display: none; }
main { width: 100%; height: 100vh; max-width: none; margin: 0; padding: 0; box-sizing: border-box; }
.stage { height: 100vh; box-sizing: border-box; padding: 3vh 3vw; display: grid; gap: 2vh 3vw;
  grid-template-columns: minmax(0, 1fr) auto; grid-template-rows: auto minmax(0, 1fr) auto;
  grid-template-areas: 'spot join' 'next join' 'controls controls'; text-align: left; }
.spot { grid-area: spot; min-width: 0; }
.label { margin: 0; color: var(--muted); font-size: 2.2vh; font-weight: 700; text-transform: uppercase; }
.big { margin: .5vh 0; font-size: clamp(1.2rem, 4.4vh, 3.6rem); font-weight: 800; line-height: 1.2;
  overflow-wrap: anywhere; }
.who { margin: 0; font-size: 2.6vh; color: var(--muted); font-weight: 700; }
.muted { color: var(--muted); }
.next { grid-area: next; min-height: 0; overflow: hidden; }
.next ol { margin: 1vh 0 0; padding-left: 0; list-style: none; display: flex; flex-direction: column; gap: 1vh; }
.next li { font-size: clamp(.8rem, 2.3vh, 1.8rem); line-height: 1.25; overflow-wrap: anywhere;
  display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
.votes { font-weight: 800; margin-right: .5vw; }
.join { grid-area: join; display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 1vh; }
.qr svg { display: block; width: min(42vh, 26vw); height: auto; border-radius: 8px; }
.join p { margin: 0; font-size: 2.2vh; font-weight: 700; max-width: min(42vh, 26vw); overflow-wrap: anywhere; text-align: center; }
.controls { grid-area: controls; display: flex; gap: 1vw; font-size: 1.8vh; }
.notice { grid-area: controls; justify-self: end; margin: 0; }
";

/// Q goes back to the poll; the screen follows the room's list.
pub const SCRIPT: &str = concat!(
    "(() => {",
    voting_shared::follow_results_js!(),
    r#"
  const $ = (id) => document.getElementById(id);
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (event.key === "q" || event.key === "Q") { event.preventDefault(); location.href = "/admin/present"; }
  });
  follow("/api/questions", (answer) => {
    const highlighted = answer.questions.find((question) => question.highlighted);
    if ((highlighted ? highlighted.id : "") !== $("qa").dataset.highlighted) { location.reload(); return; }
    if (highlighted) {
      $("highlighted-who").textContent = (highlighted.name || "Anonymous") + " \u00b7 \u25B2 " + highlighted.upvotes;
    }
    const next = answer.questions.filter((question) => !question.highlighted && !question.answered).slice(0, 5);
    $("next").replaceChildren(...next.map((question) => {
      const li = document.createElement("li");
      const votes = document.createElement("span");
      votes.className = "votes";
      votes.textContent = "\u25B2 " + question.upvotes;
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = question.text;
      li.append(votes, " ", text);
      return li;
    }));
  }, () => {});
})();
"#
);

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(highlighted: Option<i64>) -> QaSnapshot {
        let long = "Q".repeat(280);
        QaSnapshot::parse(&format!(
            r#"{{"instance":"i","version":1,"mode":"open","highlighted":{},"questions":[
              {{"id":1,"text":"First <b>?","name":"Ada","state":"published","answered":false,"asked_ms":1,"upvotes":3}},
              {{"id":2,"text":"{long}","name":null,"state":"published","answered":false,"asked_ms":2,"upvotes":9}},
              {{"id":3,"text":"Hidden?","name":null,"state":"hidden","answered":false,"asked_ms":3,"upvotes":99}}]}}"#,
            highlighted.map_or("null".to_owned(), |id| id.to_string())
        ))
        .unwrap()
    }

    #[test]
    fn the_highlighted_question_is_large_and_the_next_ones_follow_by_upvotes() {
        let page = render(&snapshot(Some(1)), Some("http://x/questions"), None);
        assert!(page.contains(r#"id="highlighted">First &lt;b&gt;?</p>"#));
        assert!(page.contains("Ada · &#9650; 3"));
        assert!(page.contains(&"Q".repeat(280)), "the next one");
        assert!(!page.contains("Hidden?"), "a hidden question is not shown");
        assert!(page.contains("Ask at http://x/questions"));
        assert!(page.contains(r#"data-highlighted="1""#));
    }

    #[test]
    fn without_a_highlighted_question_the_screen_says_how_to_put_one() {
        let page = render(&snapshot(None), None, None);
        assert!(page.contains("highlight one in the console"));
        assert!(page.contains(r#"data-highlighted="""#));
    }
}
