//! A line as the UI renders it: its ANSI runs, cut where the filter's matches begin and end, as
//! spans with CSS classes and colours.

use std::fmt::Write;

use super::ansi::{self, Colour, Style};
use super::filter::Filter;
use super::Span;

/// Splits a line into styled runs: SGR sequences set the style, every other escape sequence is
/// dropped, and the filter's matches are marked.
///
/// Runs and matches are both in order, so one pass over each cuts the line: linear in its
/// length, however many runs and matches it has.
pub(super) fn styled(text: &str, mark: Option<&Filter>) -> Vec<Span> {
    let ansi::Parsed { plain, runs } = ansi::parse(text);
    let marks: Vec<(usize, usize)> = match mark {
        Some(f) => f.marks(&plain).map(|r| (r.start, r.end)).collect(),
        None => Vec::new(),
    };
    let mut spans = Vec::with_capacity(runs.len() + 2 * marks.len());
    // The first mark that ends after `pos`.
    let mut m = 0;
    let mut pos = 0;
    for run in &runs {
        while pos < run.end {
            while marks.get(m).is_some_and(|&(_, b)| b <= pos) {
                m += 1;
            }
            let (cut, marked) = match marks.get(m) {
                Some(&(a, b)) if a <= pos => (b.min(run.end), true),
                Some(&(a, _)) => (a.min(run.end), false),
                None => (run.end, false),
            };
            spans.push(span(&run.style, &plain[pos..cut], marked));
            pos = cut;
        }
    }
    spans
}

fn span(style: &Style, text: &str, marked: bool) -> Span {
    let mut class = String::new();
    let mut add = |name: std::fmt::Arguments| {
        if !class.is_empty() {
            class.push(' ');
        }
        // Writing to a String cannot fail.
        let _ = class.write_fmt(name);
    };
    if let Some(Colour::Basic(n)) = style.fg {
        add(format_args!("fg{n}"));
    }
    if let Some(Colour::Basic(n)) = style.bg {
        add(format_args!("bg{n}"));
    }
    for (on, name) in [
        (style.bold, "bold"),
        (style.dim, "dim"),
        (style.italic, "italic"),
        (style.underline, "underline"),
        (marked, "mark"),
    ] {
        if on {
            add(format_args!("{name}"));
        }
    }
    let hex = |c: Option<Colour>| match c {
        Some(Colour::Rgb(r, g, b)) => Some(format!("#{r:02x}{g:02x}{b:02x}")),
        _ => None,
    };
    Span {
        text: text.to_owned(),
        class,
        color: hex(style.fg),
        background: hex(style.bg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// The cut as it was first written: every run scans every mark for cut points, and every
    /// piece scans every mark again to know if it is marked. Right, but quadratic.
    fn styled_reference(text: &str, mark: Option<&Filter>) -> Vec<Span> {
        let ansi::Parsed { plain, runs } = ansi::parse(text);
        let marks: Vec<(usize, usize)> = mark
            .map(|f| f.marks(&plain).map(|r| (r.start, r.end)).collect())
            .unwrap_or_default();
        let mut spans = Vec::new();
        let mut offset = 0;
        for run in runs {
            let end = run.end;
            let mut cuts = vec![offset, end];
            for (a, b) in &marks {
                for p in [*a, *b] {
                    if p > offset && p < end {
                        cuts.push(p);
                    }
                }
            }
            cuts.sort_unstable();
            cuts.dedup();
            for w in cuts.windows(2) {
                let (a, b) = (w[0], w[1]);
                let marked = marks.iter().any(|(ma, mb)| *ma <= a && b <= *mb);
                spans.push(span(&run.style, &plain[a..b], marked));
            }
            offset = end;
        }
        spans
    }

    #[test]
    fn cuts_match_the_reference_at_every_kind_of_boundary() {
        let lines = [
            "",
            "plain",
            "abab ab",
            "\x1b[31mab\x1b[0mab",
            "a\x1b[1mb\x1b[32mab\x1b[0mb a",
            "xx\x1b[4mxabx\x1b[24mabxx",
            "ééabé\x1b[35mébaé\x1b[0m",
            "\x1b[1m\x1b[0m\x1b[1mab",
            "ab\x1b[31m\x1b[0mab",
        ];
        for query in ["ab", "b", "AB", "a|b", "é", "x+", "", "ab|"] {
            let f = (!query.is_empty()).then(|| Filter::new(query, true).unwrap());
            for line in lines {
                assert_eq!(
                    styled(line, f.as_ref()),
                    styled_reference(line, f.as_ref()),
                    "query {query:?} on {line:?}"
                );
            }
        }
    }

    #[test]
    fn highlighting_a_megabyte_line_is_linear() {
        let f = Filter::new("abc", false).unwrap();
        // 1 MB in one style with 100k matches, then 100k coloured runs with a match in each.
        let plain = "abcdefghi ".repeat(100_000);
        let coloured = "\x1b[31mab\x1b[0mcdefgh ".repeat(100_000);
        let t = Instant::now();
        let one_style = styled(&plain, Some(&f));
        let many_runs = styled(&coloured, Some(&f));
        let took = t.elapsed();
        let marked = |s: &[Span]| s.iter().filter(|s| s.class == "mark").count();
        assert_eq!((one_style.len(), marked(&one_style)), (200_000, 100_000));
        assert_eq!(many_runs.len(), 300_000);
        assert_eq!(
            many_runs[..3]
                .iter()
                .map(|s| (s.text.as_str(), s.class.as_str()))
                .collect::<Vec<_>>(),
            vec![("ab", "fg1 mark"), ("c", "mark"), ("defgh ", "")]
        );
        assert!(
            took < Duration::from_secs(5),
            "one pass over runs and matches takes milliseconds; {took:?} means each run or piece \
             rescans the matches"
        );
    }
}
