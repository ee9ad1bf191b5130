//! The log view's model: every followed line kept compactly in Rust, bounded by lines and bytes,
//! filtered by a smart-case query, and handed to the UI one window of rows at a time with ANSI
//! colours, highlights and times already worked out. The webview holds only what is on screen,
//! so a million lines cost the UI nothing.

use std::collections::VecDeque;
use std::io::Write;

use regex::{Regex, RegexBuilder};
use serde::Serialize;

use crate::error::{ApiError, ErrorCode};
use berth_engine::logs::LogLine;
use berth_engine::model::LogStream;

/// Lines per storage chunk. Whole chunks are dropped when the view is full, so a line is found
/// by arithmetic and eviction frees memory in large pieces.
const CHUNK_LINES: usize = 4096;

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

struct Filter {
    query: String,
    regex: Regex,
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
        let matched = self.filter.as_ref().map(|f| matches(&f.regex, &line.text));
        if let Some(chunk) = self.chunks.back_mut() {
            chunk.lines.push(Meta {
                start: chunk.text.len() as u32,
                len: line.text.len() as u32,
                service: service.min(u16::MAX as usize) as u16,
                stderr: line.stream == LogStream::Stderr,
                ts_nano: line.ts_nano.clamp(0, i64::MAX as i128) as i64,
            });
            chunk.text.push_str(&line.text);
        }
        self.bytes += line.text.len();
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
        let pattern = if regex {
            query.to_owned()
        } else {
            regex::escape(query)
        };
        let re = RegexBuilder::new(&pattern)
            .case_insensitive(!query.chars().any(char::is_uppercase))
            .size_limit(1 << 20)
            .build()
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::InvalidInput,
                    format!("The filter is not a valid regular expression: {e}"),
                )
            })?;
        self.matches = (self.first_seq..self.next_seq)
            .filter(|seq| self.line(*seq).is_some_and(|(t, _)| matches(&re, t)))
            .collect();
        self.filter = Some(Filter {
            query: query.to_owned(),
            regex: re,
        });
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
                    spans: styled(text, self.filter.as_ref().map(|f| &f.regex)),
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
        for p in 0..self.total() {
            let Some((text, m)) = self.seq_at(p).and_then(|s| self.line(s)) else {
                continue;
            };
            let service = self.services.get(m.service as usize).map_or("", |s| s);
            if timestamps {
                writeln!(
                    out,
                    "{service} | {} {}",
                    rfc3339(m.ts_nano),
                    strip_ansi(text)
                )?;
            } else {
                writeln!(out, "{service} | {}", strip_ansi(text))?;
            }
            n += 1;
        }
        Ok(n)
    }

    pub fn filter_query(&self) -> Option<&str> {
        self.filter.as_ref().map(|f| f.query.as_str())
    }
}

fn matches(re: &Regex, text: &str) -> bool {
    if text.contains('\x1b') {
        re.is_match(&strip_ansi(text))
    } else {
        re.is_match(text)
    }
}

/// `HH:MM:SS.mmm` in the given offset.
fn clock_time(ts_nano: i64, offset_min: i32) -> String {
    let ms = ts_nano / 1_000_000 + offset_min as i64 * 60_000;
    let day_ms = ms.rem_euclid(86_400_000);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000
    )
}

/// RFC 3339 in UTC with nanoseconds, as `docker logs -t` prints it.
fn rfc3339(ts_nano: i64) -> String {
    let secs = ts_nano.div_euclid(1_000_000_000);
    let nanos = ts_nano.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[derive(Clone, Default, PartialEq, Eq)]
struct Style {
    fg: Option<Colour>,
    bg: Option<Colour>,
    bold: bool,
    dim: bool,
    italic: bool,
    underline: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Colour {
    Basic(u8),
    Rgb(u8, u8, u8),
}

impl Colour {
    fn from_256(n: u8) -> Colour {
        match n {
            0..=15 => Colour::Basic(n),
            16..=231 => {
                let i = n - 16;
                let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
                Colour::Rgb(level(i / 36), level(i / 6 % 6), level(i % 6))
            }
            _ => {
                let g = 8 + (n - 232) * 10;
                Colour::Rgb(g, g, g)
            }
        }
    }
}

/// Splits a line into styled runs: SGR sequences set the style, every other escape sequence is
/// dropped, and the filter's matches are marked.
fn styled(text: &str, mark: Option<&Regex>) -> Vec<Span> {
    let runs = ansi_runs(text);
    let plain: String = runs.iter().map(|(_, t)| t.as_str()).collect();
    let marks: Vec<(usize, usize)> = match mark {
        Some(re) => re
            .find_iter(&plain)
            .filter(|m| !m.is_empty())
            .map(|m| (m.start(), m.end()))
            .collect(),
        None => Vec::new(),
    };
    let mut spans = Vec::new();
    let mut offset = 0;
    for (style, t) in runs {
        let end = offset + t.len();
        // Cut points inside this run, from the marks.
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
            spans.push(span(&style, &plain[a..b], marked));
        }
        offset = end;
    }
    spans
}

fn span(style: &Style, text: &str, marked: bool) -> Span {
    let mut class = Vec::new();
    let hex = |c: Option<Colour>| match c {
        Some(Colour::Rgb(r, g, b)) => Some(format!("#{r:02x}{g:02x}{b:02x}")),
        _ => None,
    };
    if let Some(Colour::Basic(n)) = style.fg {
        class.push(format!("fg{n}"));
    }
    if let Some(Colour::Basic(n)) = style.bg {
        class.push(format!("bg{n}"));
    }
    for (on, name) in [
        (style.bold, "bold"),
        (style.dim, "dim"),
        (style.italic, "italic"),
        (style.underline, "underline"),
        (marked, "mark"),
    ] {
        if on {
            class.push(name.to_owned());
        }
    }
    Span {
        text: text.to_owned(),
        class: class.join(" "),
        color: hex(style.fg),
        background: hex(style.bg),
    }
}

/// Text without escape sequences.
pub fn strip_ansi(text: &str) -> String {
    if !text.contains('\x1b') {
        return text.to_owned();
    }
    ansi_runs(text).into_iter().map(|(_, t)| t).collect()
}

fn ansi_runs(text: &str) -> Vec<(Style, String)> {
    let mut runs: Vec<(Style, String)> = Vec::new();
    let mut style = Style::default();
    let mut cur = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '\x1b' {
            cur.push(c);
            continue;
        }
        match chars.peek().map(|(_, c)| *c) {
            Some('[') => {
                chars.next();
                let mut params = String::new();
                let mut fin = None;
                for (_, c) in chars.by_ref() {
                    if ('\x40'..='\x7e').contains(&c) {
                        fin = Some(c);
                        break;
                    }
                    params.push(c);
                }
                if fin == Some('m') {
                    let next = apply_sgr(&style, &params);
                    if next != style {
                        if !cur.is_empty() {
                            runs.push((style.clone(), std::mem::take(&mut cur)));
                        }
                        style = next;
                    }
                }
            }
            Some(']') => {
                // OSC (titles, hyperlinks): up to BEL or ESC \.
                chars.next();
                while let Some((_, c)) = chars.next() {
                    if c == '\x07' {
                        break;
                    }
                    if c == '\x1b' {
                        if chars.peek().is_some_and(|(_, c)| *c == '\\') {
                            chars.next();
                        }
                        break;
                    }
                }
            }
            Some(_) => {
                chars.next();
            }
            None => {}
        }
    }
    if !cur.is_empty() || runs.is_empty() {
        runs.push((style, cur));
    }
    runs
}

fn apply_sgr(style: &Style, params: &str) -> Style {
    let mut s = style.clone();
    let codes: Vec<u16> = if params.is_empty() {
        vec![0]
    } else {
        params
            .split([';', ':'])
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    let mut i = 0;
    while i < codes.len() {
        let c = codes[i];
        match c {
            0 => s = Style::default(),
            1 => s.bold = true,
            2 => s.dim = true,
            3 => s.italic = true,
            4 => s.underline = true,
            22 => {
                s.bold = false;
                s.dim = false;
            }
            23 => s.italic = false,
            24 => s.underline = false,
            30..=37 => s.fg = Some(Colour::Basic((c - 30) as u8)),
            39 => s.fg = None,
            40..=47 => s.bg = Some(Colour::Basic((c - 40) as u8)),
            49 => s.bg = None,
            90..=97 => s.fg = Some(Colour::Basic((c - 90 + 8) as u8)),
            100..=107 => s.bg = Some(Colour::Basic((c - 100 + 8) as u8)),
            38 | 48 => {
                let colour = match codes.get(i + 1) {
                    Some(5) => {
                        let n = codes.get(i + 2).copied().unwrap_or(0).min(255) as u8;
                        i += 2;
                        Some(Colour::from_256(n))
                    }
                    Some(2) => {
                        let v = |k: usize| codes.get(i + k).copied().unwrap_or(0).min(255) as u8;
                        let rgb = Colour::Rgb(v(2), v(3), v(4));
                        i += 4;
                        Some(rgb)
                    }
                    _ => None,
                };
                if c == 38 {
                    s.fg = colour;
                } else {
                    s.bg = colour;
                }
            }
            _ => {}
        }
        i += 1;
    }
    s
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
}
