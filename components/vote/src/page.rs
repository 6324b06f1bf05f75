//! The voting page, complete without JavaScript: a form with one button per option.

use voting_shared::choice::{Choice, Labels};
use voting_shared::html::{self, escape};

/// Renders the page; `chosen` is the visitor's current vote, `notice` a message to show.
pub fn render(labels: &Labels, chosen: Option<Choice>, notice: Option<&str>) -> String {
    let a = escape(&labels.a);
    let b = escape(&labels.b);
    let buttons: String = Choice::ALL
        .into_iter()
        .map(|choice| {
            let label = escape(labels.of(choice));
            let (class, mark) = if chosen == Some(choice) {
                (" class=\"chosen\" aria-pressed=\"true\"", " &#10003;")
            } else {
                ("", "")
            };
            format!(
                "<button id=\"{value}\" name=\"vote\" value=\"{value}\" type=\"submit\"{class}>{label}{mark}</button>\n",
                value = choice.as_str()
            )
        })
        .collect();
    let status = match (notice, chosen) {
        (Some(notice), _) => format!("<p class=\"notice\" role=\"alert\">{}</p>", escape(notice)),
        (None, Some(choice)) => format!(
            "<p class=\"cast\">Your vote: <strong>{}</strong>. (Tip: you can change your vote.)</p>",
            escape(labels.of(choice))
        ),
        (None, None) => "<p>(Tip: you can change your vote.)</p>".to_owned(),
    };
    let main = format!(
        r#"<h1>{a} vs {b}!</h1>
<form method="post" action="/">
{buttons}</form>
{status}
<footer><a href="/result">See the results</a> · Processed by a Spin WebAssembly component</footer>
"#
    );
    html::page(&format!("{a} vs {b}!"), STYLE, &main, "")
}

const STYLE: &str = "\
form { display: flex; gap: 1rem; justify-content: center; margin: 2rem 0 1rem; }
button { flex: 1; font-size: 1.4rem; padding: 1.2rem; border: 3px solid transparent; border-radius: 10px; color: #fff; cursor: pointer; }
#a { background: #1f77b4; } #b { background: #ff7f0e; }
button.chosen { border-color: #222; }
";

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        Labels::new("Cats", "Dogs")
    }

    #[test]
    fn shows_both_options_as_buttons_of_one_form() {
        let page = render(&labels(), None, None);
        assert!(page.contains("<title>Cats vs Dogs!</title>"));
        assert!(page.contains(r#"name="vote" value="a" type="submit">Cats</button>"#));
        assert!(page.contains(r#"name="vote" value="b" type="submit">Dogs</button>"#));
        assert!(!page.contains("chosen\""));
    }

    #[test]
    fn highlights_the_current_choice() {
        let page = render(&labels(), Some(Choice::B), None);
        assert!(page.contains(
            r#"value="b" type="submit" class="chosen" aria-pressed="true">Dogs &#10003;"#
        ));
        assert!(page.contains("Your vote: <strong>Dogs</strong>"));
    }

    #[test]
    fn escapes_labels_and_notices() {
        let hostile = Labels::new("<script>x</script>", "\"&");
        let page = render(&hostile, Some(Choice::A), Some("<b>oops</b>"));
        assert!(!page.contains("<script>x"));
        assert!(page.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(page.contains("&quot;&amp;"));
        assert!(page.contains("&lt;b&gt;oops&lt;/b&gt;"));
    }
}
