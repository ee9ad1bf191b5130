//! The log view's model: every followed line kept compactly in Rust, bounded by lines and bytes,
//! filtered by a smart-case query, and handed to the UI one window of rows at a time with ANSI
//! colours, highlights and times already worked out. The webview holds only what is on screen,
//! so a million lines cost the UI nothing.
//!
//! Storage, counts, windows and export live here; `ansi` reads escape sequences, `filter`
//! matches the query, `spans` cuts a line into what the UI renders and `time` formats times.

mod ansi;
mod filter;
mod spans;
mod time;

use std::collections::VecDeque;
use std::io::Write;

use serde::Serialize;

use crate::error::ApiError;
use berth_engine::logs::LogLine;
use berth_engine::model::LogStream;
use filter::Filter;
use spans::styled;
use time::{clock_time, rfc3339};

pub use ansi::strip_ansi;

/// Lines per storage chunk. Whole chunks are dropped when the view is full, so a line is found
/// by arithmetic and eviction frees memory in large pieces.
const CHUNK_LINES: usize = 4096;
/// The longest line the view keeps whole. Chunks are fixed at [`CHUNK_LINES`] lines (so a row is
/// found by division), and the byte cap drops whole chunks: with this cap one chunk holds at
/// most 64 MiB, under the view's byte cap, and regex highlighting of a row stays cheap.
pub const MAX_VIEW_LINE: usize = 16 * 1024;

pub const DEFAULT_MAX_LINES: usize = 1_000_000;
pub const DEFAULT_MAX_BYTES: usize = 96 * 1024 * 1024;

#[derive(Clone, Copy)]
struct Meta {
    start: u32,
    len: u32,
    service: u16,
    stderr: bool,
    /// Nanoseconds since the epoch, as Docker stamped the line; 0 when unknown.
    ts_nano: i64,
}

#[derive(Default)]
struct Chunk {
    text: String,
    lines: Vec<Meta>,
}

/// What the UI asked to see: times or not, and in which offset from UTC.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize, ts_rs::TS)]
pub struct RowOptions {
    pub timestamps: bool,
    /// Minutes east of UTC (JavaScript's `-getTimezoneOffset()`).
    #[serde(default)]
    pub utc_offset_min: i32,
}

/// A run of text with one style, ready to render as a `<span>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Span {
    pub text: String,
    /// CSS classes: `fg0`..`fg15`, `bg0`..`bg15`, `bold`, `dim`, `italic`, `underline`, `mark`.
    pub class: String,
    /// `#rrggbb` for 256-colour and true-colour foregrounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct LogRow {
    /// The line's number since the view opened; stable while it is kept.
    pub seq: u64,
    pub service: String,
    pub stderr: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    pub spans: Vec<Span>,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct LogWindow {
    /// Rows the view shows now (after the filter).
    pub total: u64,
    /// Lines ever dropped from the front because the view was full.
    pub evicted: u64,
    pub start: u64,
    pub rows: Vec<LogRow>,
}

/// Counts pushed to the UI as lines arrive, so it knows when to ask for a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct LogCounts {
    pub total: u64,
    pub evicted: u64,
    /// Every line kept, filter or not.
    pub kept: u64,
}

pub struct LogView {
    max_lines: usize,
    max_bytes: usize,
    chunks: VecDeque<Chunk>,
    /// Sequence number of the first line of `chunks[0]`.
    first_seq: u64,
    next_seq: u64,
    bytes: usize,
    services: Vec<String>,
    filter: Option<Filter>,
    /// With a filter: the sequence numbers of matching lines, oldest first.
    matches: VecDeque<u64>,
}

impl Default for LogView {
    fn default() -> Self {
        LogView::new(DEFAULT_MAX_LINES, DEFAULT_MAX_BYTES)
    }
}

impl LogView {
    pub fn new(max_lines: usize, max_bytes: usize) -> Self {
        LogView {
            max_lines: max_lines.max(CHUNK_LINES),
            max_bytes: max_bytes.max(1),
            chunks: VecDeque::new(),
            first_seq: 0,
            next_seq: 0,
            bytes: 0,
            services: Vec::new(),
            filter: None,
            matches: VecDeque::new(),
        }
    }

    pub fn push(&mut self, line: &LogLine) {
        let text = clip_line(&line.text);
        let service = match self.services.iter().position(|s| *s == line.service) {
            Some(i) => i,
            None => {
                self.services.push(line.service.clone());
                self.services.len() - 1
            }
        };
        if self
            .chunks
            .back()
            .is_none_or(|c| c.lines.len() == CHUNK_LINES)
        {
            self.chunks.push_back(Chunk {
                text: String::new(),
                lines: Vec::with_capacity(CHUNK_LINES),
            });
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let matched = self
            .filter
            .as_ref()
            .map(|f| f.matches(&text, &mut String::new()));
        if let Some(chunk) = self.chunks.back_mut() {
            chunk.lines.push(Meta {
                start: chunk.text.len() as u32,
                len: text.len() as u32,
                service: service.min(u16::MAX as usize) as u16,
                stderr: line.stream == LogStream::Stderr,
                ts_nano: line.ts_nano.clamp(0, i64::MAX as i128) as i64,
            });
            chunk.text.push_str(&text);
        }
        self.bytes += text.len();
        if matched == Some(true) {
            self.matches.push_back(seq);
        }
        self.evict();
    }

    fn evict(&mut self) {
        while self.chunks.len() > 1
            && (self.kept() as usize > self.max_lines || self.bytes > self.max_bytes)
        {
            if let Some(c) = self.chunks.pop_front() {
                self.bytes -= c.text.len();
                self.first_seq += c.lines.len() as u64;
            }
        }
        while self.matches.front().is_some_and(|s| *s < self.first_seq) {
            self.matches.pop_front();
        }
    }

    pub fn kept(&self) -> u64 {
        self.next_seq - self.first_seq
    }

    pub fn counts(&self) -> LogCounts {
        LogCounts {
            total: self.total(),
            evicted: self.first_seq,
            kept: self.kept(),
        }
    }

    /// Rows shown: matching lines with a filter, every kept line without.
    pub fn total(&self) -> u64 {
        match self.filter {
            Some(_) => self.matches.len() as u64,
            None => self.kept(),
        }
    }

    /// Sets the filter; empty clears it. Lowercase queries ignore case (smart case); `regex`
    /// takes the query as a regular expression, otherwise as plain text.
    pub fn set_filter(&mut self, query: &str, regex: bool) -> Result<LogCounts, ApiError> {
        if query.is_empty() {
            self.filter = None;
            self.matches.clear();
            return Ok(self.counts());
        }
        let filter = Filter::new(query, regex)?;
        // One pass over the kept lines, one buffer for the stripped text of coloured ones.
        let mut scratch = String::new();
        self.matches = (self.first_seq..self.next_seq)
            .filter(|seq| {
                self.line(*seq)
                    .is_some_and(|(t, _)| filter.matches(t, &mut scratch))
            })
            .collect();
        self.filter = Some(filter);
        Ok(self.counts())
    }

    fn line(&self, seq: u64) -> Option<(&str, Meta)> {
        let i = seq.checked_sub(self.first_seq)? as usize;
        let chunk = self.chunks.get(i / CHUNK_LINES)?;
        let m = *chunk.lines.get(i % CHUNK_LINES)?;
        let text = chunk
            .text
            .get(m.start as usize..(m.start + m.len) as usize)?;
        Some((text, m))
    }

    /// The sequence number of the row at `position` in the shown rows.
    fn seq_at(&self, position: u64) -> Option<u64> {
        match self.filter {
            Some(_) => self.matches.get(position as usize).copied(),
            None => (position < self.kept()).then_some(self.first_seq + position),
        }
    }

    /// Rows `start..start + count` of what is shown, styled for the screen.
    pub fn window(&self, start: u64, count: usize, opts: RowOptions) -> LogWindow {
        let total = self.total();
        let start = start.min(total);
        let rows = (start..(start + count as u64).min(total))
            .filter_map(|p| self.seq_at(p))
            .filter_map(|seq| {
                let (text, m) = self.line(seq)?;
                Some(LogRow {
                    seq,
                    service: self.services.get(m.service as usize)?.clone(),
                    stderr: m.stderr,
                    time: opts
                        .timestamps
                        .then(|| clock_time(m.ts_nano, opts.utc_offset_min)),
                    spans: styled(text, self.filter.as_ref()),
                })
            })
            .collect();
        LogWindow {
            total,
            evicted: self.first_seq,
            start,
            rows,
        }
    }

    /// Writes the shown rows as plain text (no ANSI), one per line, `service | [time ]text`.
    /// Lines are already masked when they enter the view.
    pub fn write_text(&self, out: &mut impl Write, timestamps: bool) -> std::io::Result<u64> {
        let mut n = 0;
        let mut plain = String::new();
        for p in 0..self.total() {
            let Some((text, m)) = self.seq_at(p).and_then(|s| self.line(s)) else {
                continue;
            };
            let service = self.services.get(m.service as usize).map_or("", |s| s);
            plain.clear();
            ansi::strip_into(text, &mut plain);
            if timestamps {
                writeln!(out, "{service} | {} {plain}", rfc3339(m.ts_nano))?;
            } else {
                writeln!(out, "{service} | {plain}")?;
            }
            n += 1;
        }
        Ok(n)
    }

    pub fn filter_query(&self) -> Option<&str> {
        self.filter.as_ref().map(|f| f.query())
    }
}

/// A line cut at [`MAX_VIEW_LINE`] bytes (on a character boundary), saying how much was left
/// out; the full line is still in the container's log.
fn clip_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_VIEW_LINE {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut end = MAX_VIEW_LINE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!(
        "{} … ({} more bytes)",
        &text[..end],
        text.len() - end
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(service: &str, text: &str, ts: i128) -> LogLine {
        LogLine {
            service: service.into(),
            container: format!("p-{service}-1"),
            stream: LogStream::Stdout,
            timestamp: String::new(),
            ts_nano: ts,
            text: text.into(),
        }
    }

    fn texts(w: &LogWindow) -> Vec<String> {
        w.rows
            .iter()
            .map(|r| r.spans.iter().map(|s| s.text.as_str()).collect())
            .collect()
    }

    #[test]
    fn ansi_colours_become_classes_and_hex() {
        let spans = styled(
            "a \x1b[1;31mred\x1b[0m \x1b[38;5;208mor\x1b[38;2;1;2;3mrgb\x1b[K",
            None,
        );
        let got: Vec<(&str, &str, Option<&str>)> = spans
            .iter()
            .map(|s| (s.text.as_str(), s.class.as_str(), s.color.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a ", "", None),
                ("red", "fg1 bold", None),
                (" ", "", None),
                ("or", "", Some("#ff8700")),
                ("rgb", "", Some("#010203")),
            ],
            "SGR sets styles; 256 and true colours become hex; other CSI sequences vanish"
        );
        assert_eq!(
            strip_ansi("\x1b]8;;http://x\x07link\x1b]8;;\x1b\\ ok"),
            "link ok"
        );
    }

    #[test]
    fn filter_is_smart_case_marks_matches_across_colours_and_follows_new_lines() {
        let mut v = LogView::default();
        v.push(&line("web", "GET / \x1b[32mresp\x1b[0monse:200", 1));
        v.push(&line("db", "checkpoint", 2));
        v.push(&line("web", "RESPONSE:500", 3));
        assert_eq!(
            v.set_filter("response:", false).map(|c| c.total).ok(),
            Some(2)
        );
        assert_eq!(
            v.set_filter("RESPONSE", false).map(|c| c.total).ok(),
            Some(1)
        );
        v.set_filter("response:2", false).ok();
        let w = v.window(0, 10, RowOptions::default());
        assert_eq!(texts(&w), vec!["GET / response:200"]);
        let marked: String = w.rows[0]
            .spans
            .iter()
            .filter(|s| s.class.contains("mark"))
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(marked, "response:2", "the mark spans the colour change");
        v.push(&line("web", "later response:201", 4));
        assert_eq!(v.total(), 2, "new lines are filtered as they arrive");
        assert!(v.set_filter("(", true).is_err(), "a bad regex is an error");
        assert_eq!(v.set_filter("", false).map(|c| c.total).ok(), Some(4));
    }

    #[test]
    fn memory_is_bounded_by_dropping_the_oldest_chunks() {
        let mut v = LogView::new(CHUNK_LINES * 2, usize::MAX);
        for i in 0..CHUNK_LINES * 5 + 7 {
            v.push(&line("web", &format!("line {i}"), i as i128));
        }
        assert!(v.kept() as usize <= CHUNK_LINES * 2 && v.kept() as usize > CHUNK_LINES);
        let last = v.window(v.total() - 1, 5, RowOptions::default());
        assert_eq!(texts(&last), vec![format!("line {}", CHUNK_LINES * 5 + 6)]);
        let first = v.window(0, 1, RowOptions::default());
        assert_eq!(
            first.rows[0].seq, first.evicted,
            "row 0 is the oldest line kept"
        );

        let mut by_bytes = LogView::new(usize::MAX, 100_000);
        for i in 0..50_000 {
            by_bytes.push(&line("web", &format!("{i:020}"), 0));
        }
        assert!(
            by_bytes.bytes <= 100_000 + CHUNK_LINES * 20,
            "bytes stay near the cap"
        );
    }

    #[test]
    fn times_and_text_export() {
        let mut v = LogView::default();
        // 2026-11-23T10:00:01.5Z
        let ts = 1_795_428_001_500_000_000_i128;
        v.push(&line("web", "\x1b[31mhello\x1b[0m", ts));
        let w = v.window(
            0,
            1,
            RowOptions {
                timestamps: true,
                utc_offset_min: 60,
            },
        );
        assert_eq!(w.rows[0].time.as_deref(), Some("11:00:01.500"));
        let mut out = Vec::new();
        v.write_text(&mut out, true).ok();
        assert_eq!(
            String::from_utf8_lossy(&out),
            "web | 2026-11-23T10:00:01.500000000Z hello\n"
        );
    }

    #[test]
    fn setting_a_filter_scans_the_kept_lines_once() {
        let mut v = LogView::default();
        for i in 0..200_000 {
            let text = if i % 2 == 0 {
                format!("\x1b[32mGET\x1b[0m /item/{i} 200")
            } else {
                format!("POST /item/{i} 500")
            };
            v.push(&line("web", &text, 0));
        }
        let t = std::time::Instant::now();
        let plain = v.set_filter("get /item/1", false).map(|c| c.total).ok();
        let regex = v
            .set_filter(r"^post /item/\d*5 ", true)
            .map(|c| c.total)
            .ok();
        let took = t.elapsed();
        assert_eq!(plain, Some(55_555), "coloured lines match on their text");
        assert_eq!(regex, Some(20_000));
        assert_eq!(v.window(0, 1, RowOptions::default()).rows[0].seq, 5);
        assert!(
            took < std::time::Duration::from_secs(5),
            "two scans of 200k lines take well under a second; {took:?} means a scan does more \
             than one pass and one match per line"
        );
    }

    #[test]
    fn a_huge_line_is_kept_cut_so_a_chunk_stays_under_the_byte_cap() {
        let mut v = LogView::default();
        let huge = "é".repeat(200_000);
        v.push(&LogLine {
            service: "web".into(),
            container: "web-1".into(),
            stream: LogStream::Stdout,
            timestamp: String::new(),
            ts_nano: 0,
            text: huge,
        });
        let kept = v.line(0).map(|(t, _)| t.to_owned()).unwrap_or_default();
        assert!(kept.len() < MAX_VIEW_LINE + 64, "{}", kept.len());
        assert!(kept.ends_with("more bytes)"), "the cut is said");
        assert!(v.bytes <= MAX_VIEW_LINE + 64);
    }
}
