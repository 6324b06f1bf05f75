//! The audience's questions page, complete without JavaScript: the form to ask (while Q&A is
//! on), then the published questions, most upvoted first (or the newest first), each with its
//! upvotes, whether it is answered or on the projector, the asker's name if given, and a button
//! to upvote it or take the upvote back; the phone's own questions and upvotes marked. A small
//! script keeps the list current, polling `/api/questions` as the results pages poll theirs.

use voting_shared::html::{self, escape};
use voting_shared::questions::{Listed, ListedQuestion, MAX_NAME_CHARS, MAX_TEXT_CHARS, Mode};

use crate::list::Marks;

/// How the list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    MostUpvoted,
    Newest,
}

impl Order {
    /// The order a `sort` value asks for: `new`, or anything else for the most upvoted.
    pub fn parse(text: &str) -> Order {
        if text == "new" {
            Order::Newest
        } else {
            Order::MostUpvoted
        }
    }

    /// The page's address in this order.
    pub fn path(self) -> &'static str {
        match self {
            Order::MostUpvoted => "/questions",
            Order::Newest => "/questions?sort=new",
        }
    }

    fn value(self) -> &'static str {
        match self {
            Order::MostUpvoted => "top",
            Order::Newest => "new",
        }
    }
}

/// What the page says above the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    Idle,
    /// The phone's question was sent, and appears at once.
    Sent,
    /// … and waits for the presenter's approval.
    Pending,
    /// Refused, with the reason and what the phone had typed.
    Error(&'a str, Draft<'a>),
}

/// What a phone had typed, put back in the form when its question is refused, so that nothing
/// typed is lost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Draft<'a> {
    pub text: &'a str,
    pub name: &'a str,
}

/// The page for `listed`, in `order`, with the phone's `marks`.
pub fn render(listed: &Listed, order: Order, marks: &Marks, message: Message) -> String {
    let notice = match message {
        Message::Idle => String::new(),
        Message::Sent => "<p class=\"sent\" role=\"status\">Your question was sent.</p>".to_owned(),
        Message::Pending => "<p class=\"sent\" role=\"status\">Your question was sent: it will \
                             appear once the presenter approves it.</p>"
            .to_owned(),
        Message::Error(error, _) => {
            format!("<p class=\"notice\" role=\"alert\">{}</p>", escape(error))
        }
    };
    let draft = match message {
        Message::Error(_, draft) => draft,
        _ => Draft::default(),
    };
    let ask = if listed.mode == Mode::Off {
        "<p id=\"closed\" class=\"closed\">Q&amp;A is closed for now: questions open when the \
         presenter asks for them.</p>"
            .to_owned()
    } else {
        format!(
            r#"<form method="post" action="/questions" class="ask" id="ask">
<input type="hidden" name="sort" value="{sort}">
<label for="text">Your question</label>
<textarea id="text" name="text" maxlength="{MAX_TEXT_CHARS}" rows="3" required>{text}</textarea>
<label for="name">Your name (optional)</label>
<input id="name" name="name" maxlength="{MAX_NAME_CHARS}" autocomplete="nickname" value="{name}">
<button type="submit">Ask</button>
</form>"#,
            sort = order.value(),
            text = escape(draft.text),
            name = escape(draft.name),
        )
    };
    let mut questions: Vec<&ListedQuestion> = listed.questions.iter().collect();
    if order == Order::Newest {
        questions.sort_by_key(|question| std::cmp::Reverse(question.asked_at));
    }
    let items: String = questions
        .iter()
        .map(|question| item(question, order, marks))
        .collect();
    let empty = if questions.is_empty() {
        "<p id=\"none\">No questions yet.</p>"
    } else {
        ""
    };
    let (top, new) = match order {
        Order::MostUpvoted => ("aria-current=\"page\"", ""),
        Order::Newest => ("", "aria-current=\"page\""),
    };
    let main = format!(
        r#"<h1>Questions</h1>
{notice}{ask}
<nav class="order" aria-label="Order"><a href="/questions" {top}>Most upvoted</a> · <a href="/questions?sort=new" {new}>Newest</a></nav>
<ol id="questions" class="questions" data-order="{order}" data-upvoted="{upvoted}" data-asked="{asked}">
{items}</ol>{empty}
<noscript><p class="hint">Reload this page to see new questions and upvotes.</p></noscript>
"#,
        order = order.value(),
        upvoted = escape(&marks.upvoted.join(",")),
        asked = escape(&marks.asked.join(",")),
    );
    let footer = "<a href=\"/\">Vote</a> · <a href=\"/result\">Results</a> · Served by a Spin \
                  WebAssembly component";
    html::page("Questions", STYLE, &main, footer, SCRIPT)
}

/// One question of the list, with its upvote button.
fn item(question: &ListedQuestion, order: Order, marks: &Marks) -> String {
    let upvoted = marks.upvoted.contains(&question.id);
    let asked = if marks.asked.contains(&question.id) {
        " <span class=\"badge\">You asked this</span>"
    } else {
        ""
    };
    let answered = if question.answered {
        " <span class=\"badge\">Answered</span>"
    } else {
        ""
    };
    let highlighted = if question.highlighted {
        " <span class=\"badge on\">On the screen</span>"
    } else {
        ""
    };
    let name = question
        .name
        .as_deref()
        .map(|name| format!("<span class=\"name\">{}</span>", escape(name)))
        .unwrap_or_else(|| "<span class=\"name\">Anonymous</span>".to_owned());
    format!(
        r#"<li class="question" id="q-{id}"><p class="text">{text}</p>
<p class="meta">{name}{answered}{highlighted}{asked}</p>
<form method="post" action="/questions/{id}/upvote"><input type="hidden" name="sort" value="{sort}"><button type="submit" name="up" value="{press}" aria-pressed="{upvoted}" aria-label="Upvote: {upvotes}"><span aria-hidden="true">&#9650;</span> <span class="count">{upvotes}</span></button></form></li>
"#,
        id = escape(&question.id),
        text = escape(&question.text),
        upvotes = question.upvotes,
        sort = order.value(),
        press = if upvoted { "0" } else { "1" },
    )
}

const STYLE: &str = "\
main { text-align: left; }
.ask label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
.ask textarea, .ask input { width: 100%; font: inherit; padding: .5rem; border-radius: 8px;
  border: 2px solid var(--muted); background: var(--bg); color: var(--text); }
button { font: inherit; font-weight: 700; padding: .5rem 1rem; min-height: 44px; border-radius: 10px;
  border: 0; background: var(--a); color: #fff; cursor: pointer; }
.ask button { margin-top: .75rem; }
.order { margin: 1rem 0; }
.order a[aria-current] { font-weight: 700; text-decoration: none; }
.questions { list-style: none; padding: 0; margin: 0; }
.question { display: grid; grid-template-columns: 1fr auto; gap: .25rem 1rem; align-items: center;
  border-top: 1px solid var(--muted); padding: .75rem 0; }
.question .text { margin: 0; overflow-wrap: anywhere; font-size: 1.05em; }
.question .meta { margin: 0; color: var(--muted); font-size: .85em; grid-column: 1; }
.question form { grid-column: 2; grid-row: 1 / span 2; }
.question button[aria-pressed=true] { background: var(--c); }
.badge { border: 1px solid var(--muted); border-radius: 99px; padding: 0 .5em; margin-left: .4em; }
.badge.on { border-color: var(--c); color: var(--text); font-weight: 700; }
.sent { font-weight: 600; }
.closed, .hint { color: var(--muted); }
";

/// Follows `/api/questions` (see [`voting_shared::follow_results_js`]) and renders the list
/// anew in the page's order, keeping the phone's own marks.
pub const SCRIPT: &str = concat!(
    "(() => {",
    voting_shared::follow_results_js!(),
    r#"
  const list = document.getElementById("questions");
  const marks = (name) => new Set((list.dataset[name] || "").split(",").filter(Boolean));
  const upvoted = marks("upvoted"), asked = marks("asked");
  const order = list.dataset.order;
  const badge = (text, on) => {
    const span = document.createElement("span");
    span.className = on ? "badge on" : "badge";
    span.textContent = text;
    return span;
  };
  function item(question) {
    const li = document.createElement("li");
    li.className = "question";
    li.id = "q-" + question.id;
    const text = document.createElement("p");
    text.className = "text";
    text.textContent = question.text;
    const meta = document.createElement("p");
    meta.className = "meta";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = question.name || "Anonymous";
    meta.append(name);
    if (question.answered) meta.append(" ", badge("Answered"));
    if (question.highlighted) meta.append(" ", badge("On the screen", true));
    if (asked.has(question.id)) meta.append(" ", badge("You asked this"));
    const form = document.createElement("form");
    form.method = "post";
    form.action = "/questions/" + question.id + "/upvote";
    const sort = document.createElement("input");
    sort.type = "hidden";
    sort.name = "sort";
    sort.value = order;
    const button = document.createElement("button");
    button.type = "submit";
    // What a press asks for, not a toggle: a double press or a resent form does it once.
    button.name = "up";
    button.value = upvoted.has(question.id) ? "0" : "1";
    button.setAttribute("aria-pressed", String(upvoted.has(question.id)));
    button.setAttribute("aria-label", "Upvote: " + question.upvotes);
    const arrow = document.createElement("span");
    arrow.setAttribute("aria-hidden", "true");
    arrow.textContent = "\u25B2";
    const count = document.createElement("span");
    count.className = "count";
    count.textContent = question.upvotes;
    button.append(arrow, " ", count);
    form.append(sort, button);
    li.append(text, meta, form);
    return li;
  }
  // A question is one line: Enter asks it, and a line break typed or pasted becomes a space.
  const text = document.getElementById("text");
  if (text) {
    text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.isComposing) { event.preventDefault(); text.form.requestSubmit(); }
    });
    text.addEventListener("input", () => {
      if (/[\r\n\t]/.test(text.value)) text.value = text.value.replace(/\s*[\r\n\t]+\s*/g, " ");
    });
  }
  follow("/api/questions", (answer) => {
    const questions = answer.questions.slice();
    if (order === "new") questions.sort((a, b) => b.asked_at - a.asked_at);
    list.replaceChildren(...questions.map(item));
    const none = document.getElementById("none");
    if (none) none.hidden = questions.length > 0;
  }, () => {});
})();
"#
);

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(mode: Mode) -> Listed {
        Listed::parse(&format!(
            r#"{{"mode":"{}","questions":[
              {{"id":"2","text":"Why <Wasm>?","name":"Ada","upvotes":5,"answered":true,"highlighted":true,"asked_at":1}},
              {{"id":"3","text":"And Rust?","name":null,"upvotes":1,"answered":false,"highlighted":false,"asked_at":2}}]}}"#,
            mode.as_str()
        ))
        .unwrap()
    }

    #[test]
    fn lists_the_questions_escaped_with_their_upvotes_and_the_phones_marks() {
        let marks = Marks {
            upvoted: vec!["2".into()],
            asked: vec!["3".into()],
        };
        let page = render(
            &listed(Mode::Open),
            Order::MostUpvoted,
            &marks,
            Message::Idle,
        );
        assert!(page.contains("Why &lt;Wasm&gt;?"));
        assert!(!page.contains("<Wasm>"));
        assert!(page.find("Why &lt;Wasm&gt;?").unwrap() < page.find("And Rust?").unwrap());
        assert!(page.contains(r#"action="/questions/2/upvote""#));
        assert!(page.contains(r#"value="0" aria-pressed="true" aria-label="Upvote: 5""#));
        assert!(page.contains(r#"value="1" aria-pressed="false" aria-label="Upvote: 1""#));
        assert!(page.contains("Answered") && page.contains("On the screen"));
        assert!(page.contains("You asked this"));
        assert!(page.contains(r#"<form method="post" action="/questions" class="ask""#));
        assert!(page.contains(r#"follow("/api/questions""#));
    }

    #[test]
    fn newest_first_on_asking_and_no_form_while_closed() {
        let page = render(
            &listed(Mode::Off),
            Order::Newest,
            &Marks::default(),
            Message::Idle,
        );
        assert!(page.find("And Rust?").unwrap() < page.find("Why &lt;Wasm&gt;?").unwrap());
        assert!(page.contains("Q&amp;A is closed"));
        assert!(!page.contains(r#"action="/questions" class="ask""#));
        let sent = render(
            &listed(Mode::Moderated),
            Order::MostUpvoted,
            &Marks::default(),
            Message::Pending,
        );
        assert!(sent.contains("once the presenter approves it"));
    }

    #[test]
    fn a_refused_question_is_put_back_in_the_form_escaped() {
        let draft = Draft {
            text: "Why </textarea><b>?",
            name: "\"Ada\"",
        };
        let page = render(
            &listed(Mode::Open),
            Order::MostUpvoted,
            &Marks::default(),
            Message::Error("you asked three questions this minute", draft),
        );
        assert!(page.contains("required>Why &lt;/textarea&gt;&lt;b&gt;?</textarea>"));
        assert!(page.contains(r#"value="&quot;Ada&quot;""#), "{page}");
        assert!(page.contains("you asked three questions this minute"));
    }
}
