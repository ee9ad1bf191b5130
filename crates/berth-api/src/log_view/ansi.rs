//! ANSI escape sequences in a line: SGR sequences set the style of the text after them, every
//! other sequence is dropped. One pass over the line, whatever it holds.

/// How a run of text looks, as SGR sequences left it.
#[derive(Clone, Default, PartialEq, Eq)]
pub(super) struct Style {
    pub fg: Option<Colour>,
    pub bg: Option<Colour>,
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
    pub underline: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Colour {
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

/// Text in one style: `plain[previous run's end..end]`.
pub(super) struct Run {
    pub style: Style,
    pub end: usize,
}

/// A line without its escape sequences, and the styled runs that cover it in order. A line with
/// no text has one empty run.
pub(super) struct Parsed {
    pub plain: String,
    pub runs: Vec<Run>,
}

pub(super) fn parse(text: &str) -> Parsed {
    let mut plain = String::with_capacity(text.len());
    let mut runs: Vec<Run> = Vec::new();
    let mut style = Style::default();
    let mut codes = Vec::new();
    walk(text, &mut plain, |params, at| {
        let next = apply_sgr(&style, params, &mut codes);
        if next != style {
            if at > runs.last().map_or(0, |r| r.end) {
                runs.push(Run {
                    style: style.clone(),
                    end: at,
                });
            }
            style = next;
        }
    });
    if plain.len() > runs.last().map_or(0, |r| r.end) || runs.is_empty() {
        runs.push(Run {
            style,
            end: plain.len(),
        });
    }
    Parsed { plain, runs }
}

/// Text without escape sequences.
pub fn strip_ansi(text: &str) -> String {
    if !text.contains('\x1b') {
        return text.to_owned();
    }
    let mut plain = String::with_capacity(text.len());
    strip_into(text, &mut plain);
    plain
}

/// Appends `text` without escape sequences to `plain`, so a caller going through many lines can
/// reuse one buffer.
pub(super) fn strip_into(text: &str, plain: &mut String) {
    walk(text, plain, |_, _| {});
}

/// Appends the text of `text` to `plain` and calls `sgr` with each SGR sequence's parameters and
/// the length of `plain` where it stands. Copies whole stretches between escapes, and every
/// sequence is scanned once: linear in the line, however many sequences it holds.
fn walk(text: &str, plain: &mut String, mut sgr: impl FnMut(&str, usize)) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(k) = text[i..].find('\x1b') {
        plain.push_str(&text[i..i + k]);
        i += k + 1;
        match bytes.get(i) {
            Some(b'[') => {
                // CSI: parameters up to a final byte in 0x40..=0x7e; unterminated, it takes the
                // rest of the line. Every byte of a multi-byte character is outside that range.
                let params = i + 1;
                match bytes[params..]
                    .iter()
                    .position(|b| (0x40..=0x7e).contains(b))
                {
                    Some(n) => {
                        if bytes[params + n] == b'm' {
                            sgr(&text[params..params + n], plain.len());
                        }
                        i = params + n + 1;
                    }
                    None => i = bytes.len(),
                }
            }
            Some(b']') => {
                // OSC (titles, hyperlinks): up to BEL or ESC \.
                let body = i + 1;
                match bytes[body..].iter().position(|b| *b == 0x07 || *b == 0x1b) {
                    Some(n) => {
                        i = body + n + 1;
                        if bytes[body + n] == 0x1b && bytes.get(i) == Some(&b'\\') {
                            i += 1;
                        }
                    }
                    None => i = bytes.len(),
                }
            }
            // Any other escape: it and the character after it go.
            Some(_) => i += text[i..].chars().next().map_or(1, char::len_utf8),
            None => {}
        }
    }
    plain.push_str(&text[i..]);
}

/// The style after an SGR sequence with `params`; `codes` is scratch space.
fn apply_sgr(style: &Style, params: &str, codes: &mut Vec<u16>) -> Style {
    let mut s = style.clone();
    codes.clear();
    if params.is_empty() {
        codes.push(0);
    } else {
        codes.extend(params.split([';', ':']).map(|p| p.parse().unwrap_or(0)));
    }
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
    use std::time::{Duration, Instant};

    /// The runs as (text, bold, basic foreground).
    fn runs(text: &str) -> Vec<(String, bool, Option<u8>)> {
        let p = parse(text);
        let mut start = 0;
        p.runs
            .iter()
            .map(|r| {
                let fg = match r.style.fg {
                    Some(Colour::Basic(n)) => Some(n),
                    _ => None,
                };
                let t = p.plain[start..r.end].to_owned();
                start = r.end;
                (t, r.style.bold, fg)
            })
            .collect()
    }

    #[test]
    fn escapes_are_dropped_and_sgr_splits_runs() {
        assert_eq!(runs(""), vec![(String::new(), false, None)]);
        assert_eq!(
            runs("a\x1b[31mb\x1b[1mc\x1b[mé\x1b"),
            vec![
                ("a".into(), false, None),
                ("b".into(), false, Some(1)),
                ("c".into(), true, Some(1)),
                ("é".into(), false, None),
            ]
        );
        // Unterminated CSI and OSC take the rest; ESC before any other character drops both,
        // whole characters included; a CSI that is not SGR leaves the style alone.
        assert_eq!(strip_ansi("a\x1b[12;3"), "a");
        assert_eq!(strip_ansi("a\x1b]0;title"), "a");
        assert_eq!(strip_ansi("a\x1bébc\x1b\x1bd"), "abcd");
        assert_eq!(strip_ansi("a\x1b[é2Kb"), "ab");
        assert_eq!(strip_ansi("\x1b]0;t\x1b\\x\x1b]0;u\x07y"), "xy");
        assert_eq!(runs("\x1b[1m\x1b[2Kx"), vec![("x".into(), true, None)]);
    }

    #[test]
    fn a_line_full_of_escape_codes_parses_in_one_pass() {
        // ~2.6 MB: 100k style changes, unterminated-looking OSC bodies closed by ESC \, and one
        // SGR with half a million parameters.
        let mut text = "\x1b[31mx\x1b[1;38;5;208my\x1b[0m\x1b[K\x1b]8;;u\x1b\\".repeat(100_000);
        text.push_str(&format!("\x1b[{}1mz", "1;".repeat(500_000)));
        let t = Instant::now();
        let p = parse(&text);
        let stripped = strip_ansi(&text);
        let took = t.elapsed();
        assert_eq!(p.plain.len(), 200_001);
        assert_eq!(p.plain, stripped);
        assert_eq!(p.runs.len(), 200_001);
        assert!(p.runs.last().is_some_and(|r| r.style.bold));
        assert!(
            took < Duration::from_secs(5),
            "parsing is linear and takes milliseconds; {took:?} means it rescans the line"
        );
    }
}
