//! Spin's HTTP route matching: exact routes, `:name` segments and a trailing `/...` wildcard.
//!
//! As in Spin (`crates/routes/src/lib.rs`, routefinder), a trailing slash on the request path
//! is ignored (`/counter` also answers `/counter/`), an empty segment is a segment
//! (`/api//vote` is not `/api/vote`), a wildcard route also matches its own prefix
//! (`/result/...` answers `/result`), and when several routes match the most specific one
//! wins: an exact route before a wildcard, a longer prefix before a shorter one.

use anyhow::ensure;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    text: String,
    segments: Vec<Segment>,
    wildcard: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Parameter,
}

/// How well a route matched; larger is more specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Specificity {
    exact: bool,
    literals: usize,
    segments: usize,
}

impl Route {
    pub fn parse(text: &str) -> anyhow::Result<Route> {
        ensure!(text.starts_with('/'), "route {text:?} must begin with /");
        let (prefix, wildcard) = match text.strip_suffix("/...") {
            Some(prefix) => (prefix, true),
            None => (text, false),
        };
        let segments = split(prefix)
            .map(|segment| {
                if segment.starts_with(':') {
                    Segment::Parameter
                } else {
                    Segment::Literal(segment.to_owned())
                }
            })
            .collect();
        Ok(Route {
            text: text.to_owned(),
            segments,
            wildcard,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The route without its wildcard: `/result` for `/result/...` (Spin's component route).
    pub fn prefix(&self) -> &str {
        if self.wildcard {
            &self.text[..self.text.len() - "/...".len()]
        } else {
            &self.text
        }
    }

    /// The part of a matched `path` that the wildcard covers (Spin's path info).
    pub fn path_info<'p>(&self, path: &'p str) -> &'p str {
        if self.wildcard {
            path.get(self.prefix().len()..).unwrap_or_default()
        } else {
            ""
        }
    }

    /// Whether `path` (without query string) is served by this route, and how specifically.
    pub fn matches(&self, path: &str) -> Option<Specificity> {
        let path: Vec<&str> = split(path).collect();
        if path.len() < self.segments.len() || (!self.wildcard && path.len() != self.segments.len())
        {
            return None;
        }
        let mut literals = 0;
        for (segment, part) in self.segments.iter().zip(&path) {
            match segment {
                Segment::Literal(literal) if literal == part => literals += 1,
                Segment::Literal(_) => return None,
                Segment::Parameter => {}
            }
        }
        Some(Specificity {
            exact: !self.wildcard,
            literals,
            segments: self.segments.len(),
        })
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The path's segments, ignoring the leading slash and one trailing slash; `/` has none.
fn split(path: &str) -> impl Iterator<Item = &str> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    trimmed.split('/').filter(move |_| !trimmed.is_empty())
}

/// The route among `routes` that serves `path`, if any.
pub fn best_match<'a, T>(routes: &'a [(T, Route)], path: &str) -> Option<&'a (T, Route)> {
    routes
        .iter()
        .filter_map(|entry| {
            entry
                .1
                .matches(path)
                .map(|specificity| (specificity, entry))
        })
        .max_by_key(|(specificity, _)| *specificity)
        .map(|(_, entry)| entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(route: &str, path: &str) -> bool {
        Route::parse(route).unwrap().matches(path).is_some()
    }

    #[test]
    fn root_route_matches_only_the_root() {
        assert!(matches("/", "/"));
        assert!(!matches("/", "/counter"));
        assert!(!matches("/", "/anything/else"));
    }

    #[test]
    fn exact_route_tolerates_a_trailing_slash() {
        assert!(matches("/counter", "/counter"));
        assert!(matches("/counter", "/counter/"));
        assert!(!matches("/counter", "/counter/x"));
        assert!(!matches("/counter", "/counterx"));
    }

    #[test]
    fn wildcard_route_matches_its_prefix_and_below_it() {
        assert!(matches("/result/...", "/result"));
        assert!(matches("/result/...", "/result/"));
        assert!(matches("/result/...", "/result/api"));
        assert!(!matches("/result/...", "/resultx"));
        assert!(matches("/...", "/"));
        assert!(matches("/...", "/any/path"));
    }

    #[test]
    fn an_empty_segment_is_a_segment() {
        assert!(!matches("/api/vote", "/api//vote"));
        assert!(!matches("/counter", "//counter"));
        assert!(matches("/result/...", "/result//x"));
    }

    #[test]
    fn path_info_is_what_the_wildcard_covers() {
        let route = Route::parse("/result/...").unwrap();
        assert_eq!(route.prefix(), "/result");
        assert_eq!(route.path_info("/result/api"), "/api");
        assert_eq!(route.path_info("/result"), "");
        assert_eq!(Route::parse("/counter").unwrap().path_info("/counter"), "");
    }

    #[test]
    fn parameter_segments_match_one_segment() {
        assert!(matches("/user/:name", "/user/ann"));
        assert!(!matches("/user/:name", "/user"));
        assert!(!matches("/user/:name", "/user/ann/x"));
    }

    #[test]
    fn the_most_specific_route_wins() {
        let routes: Vec<(&str, Route)> = ["/...", "/api/...", "/api/vote", "/"]
            .into_iter()
            .map(|text| (text, Route::parse(text).unwrap()))
            .collect();
        let winner = |path| best_match(&routes, path).unwrap().0;
        assert_eq!(winner("/api/vote"), "/api/vote");
        assert_eq!(winner("/api/other"), "/api/...");
        assert_eq!(winner("/"), "/");
        assert_eq!(winner("/elsewhere"), "/...");
    }
}
