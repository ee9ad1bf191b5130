//! The filter: a smart-case query, plain text or a regular expression, matched against a line's
//! text without its escape sequences, and where it matches, for highlighting.

use std::ops::Range;

use regex::{Regex, RegexBuilder};

use super::ansi;
use crate::error::{ApiError, ErrorCode};

/// Compiled size allowed for a filter's regular expression; a bigger one is refused.
const SIZE_LIMIT: usize = 1 << 20;

pub(super) struct Filter {
    query: String,
    regex: Regex,
}

impl Filter {
    /// Lowercase queries ignore case (smart case); `regex` takes the query as a regular
    /// expression, otherwise as plain text.
    pub(super) fn new(query: &str, regex: bool) -> Result<Filter, ApiError> {
        let pattern = if regex {
            query.to_owned()
        } else {
            regex::escape(query)
        };
        let re = RegexBuilder::new(&pattern)
            .case_insensitive(!query.chars().any(char::is_uppercase))
            .size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidInput,
                    format!("The filter is not a valid regular expression: {e}"),
                )
            })?;
        Ok(Filter {
            query: query.to_owned(),
            regex: re,
        })
    }

    pub(super) fn query(&self) -> &str {
        &self.query
    }

    /// Whether the line, escape sequences aside, matches. `scratch` holds the stripped text of a
    /// coloured line, so a scan over many lines allocates once.
    pub(super) fn matches(&self, text: &str, scratch: &mut String) -> bool {
        if text.contains('\x1b') {
            scratch.clear();
            ansi::strip_into(text, scratch);
            self.regex.is_match(scratch)
        } else {
            self.regex.is_match(text)
        }
    }

    /// The non-empty matches in `plain` (a line already stripped), in order and not overlapping.
    /// Each search is linear, and for plain text the iteration is too; a regex whose early branch
    /// scans to the end before a later one matches (`.*[^A-Z]|[A-Z]`) makes the iteration
    /// quadratic, as the regex crate documents for `find_iter`.
    pub(super) fn marks<'a>(&'a self, plain: &'a str) -> impl Iterator<Item = Range<usize>> + 'a {
        self.regex
            .find_iter(plain)
            .filter(|m| !m.is_empty())
            .map(|m| m.range())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn hits(f: &Filter, text: &str) -> bool {
        f.matches(text, &mut String::new())
    }

    #[test]
    fn smart_case_plain_text_and_regex() {
        let lower = Filter::new("a.b", false).unwrap();
        assert!(
            hits(&lower, "xA.By") && !hits(&lower, "axb"),
            "plain text, any case"
        );
        let upper = Filter::new("A.b", false).unwrap();
        assert!(
            hits(&upper, "A.b") && !hits(&upper, "a.b"),
            "an uppercase letter: exact"
        );
        let re = Filter::new("a.b", true).unwrap();
        assert!(hits(&re, "AxB"));
        assert!(
            hits(&lower, "\x1b[31ma.\x1b[0mb"),
            "escape sequences are not part of the text matched"
        );
        let marks: Vec<_> = Filter::new("ab|", true).unwrap().marks("abxab").collect();
        assert_eq!(marks, vec![0..2, 3..5], "empty matches are not marks");
    }

    #[test]
    fn a_regex_too_big_to_compile_is_refused_quickly() {
        let t = Instant::now();
        let err = Filter::new(r"\w{1000}{1000}", true).err();
        assert!(err.is_some_and(|e| e.message.contains("not a valid regular expression")));
        assert!(
            Filter::new(&"(".repeat(10_000), true).is_err(),
            "nesting is limited"
        );
        let took = t.elapsed();
        assert!(
            took < Duration::from_secs(5),
            "the size limit stops compilation early; {took:?} means it built the regex anyway"
        );
    }
}
