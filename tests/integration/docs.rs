//! The documentation: README.md is a landing page that links every page under docs/, and
//! every relative link and image in README.md, docs/ and tests/README.md points at a file
//! that exists and, with a `#fragment`, at a heading of that file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use voting_tests::repository_root;

/// The Markdown files a reader is sent to.
fn documents() -> Vec<PathBuf> {
    let root = repository_root();
    let mut files = vec![root.join("README.md"), root.join("tests/README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "md") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The targets of `[text](target)` links and `<img src="target">` images in `text`.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for (marker, end) in [("](", ')'), ("src=\"", '"')] {
        let mut rest = text;
        while let Some(start) = rest.find(marker) {
            rest = &rest[start + marker.len()..];
            if let Some(stop) = rest.find(end) {
                targets.push(rest[..stop].to_owned());
            }
        }
    }
    targets
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn anchor_of(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| line.starts_with('#'))
        .map(|line| anchor_of(line.trim_start_matches('#')))
        .collect()
}

#[test]
fn every_relative_link_points_at_a_file_and_heading_that_exist() {
    let mut checked = 0;
    for document in documents() {
        let text = std::fs::read_to_string(&document).unwrap();
        let dir = document.parent().unwrap();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = match target.split_once('#') {
                Some((file, fragment)) => (file, Some(fragment)),
                None => (target.as_str(), None),
            };
            let linked = if file.is_empty() {
                document.clone()
            } else {
                dir.join(file)
            };
            assert!(
                linked.exists(),
                "{}: {target} does not exist",
                document.display()
            );
            if let Some(fragment) = fragment {
                assert!(
                    anchors(&linked).contains(fragment),
                    "{}: {target}: no such heading in {}",
                    document.display(),
                    linked.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "links were found: {checked}");
}

#[test]
fn the_readme_is_a_landing_page_that_links_every_page_under_docs() {
    let root = repository_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.lines().count() <= 150,
        "README.md is a page a newcomer reads in minutes: {} lines",
        readme.lines().count()
    );
    for command in ["scripts/up", "scripts/test"] {
        assert!(readme.contains(command), "README names {command}");
    }
    let linked: BTreeSet<String> = link_targets(&readme).into_iter().collect();
    for document in documents() {
        if document.parent() != Some(&root.join("docs")) {
            continue;
        }
        let name = format!("docs/{}", document.file_name().unwrap().to_str().unwrap());
        assert!(linked.contains(&name), "README links {name}");
        let text = std::fs::read_to_string(&document).unwrap();
        let opening = text
            .lines()
            .find(|line| !line.is_empty() && !line.starts_with('#'));
        assert!(
            opening.is_some_and(|line| line.starts_with("After reading this")),
            "{name} starts with what its reader will be able to do"
        );
    }
}

#[test]
fn anchors_are_made_as_github_makes_them() {
    assert_eq!(anchor_of(" Run a live poll"), "run-a-live-poll");
    assert_eq!(
        anchor_of("How a vote travels, and what it survives"),
        "how-a-vote-travels-and-what-it-survives"
    );
    assert_eq!(anchor_of("SpinKube (Kubernetes)"), "spinkube-kubernetes");
    assert_eq!(anchor_of("`/metrics`"), "metrics");
}
