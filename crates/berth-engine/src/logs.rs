//! Container logs as lines: per container, merged across services by timestamp, and followed
//! with containers that start later joining by themselves. (The bounded, searchable view of them
//! lives in `berth_api::log_view`.)

use std::sync::Arc;

use futures_util::{FutureExt, StreamExt};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::model::{ContainerInfo, LogRequest, LogStream};
use crate::status::parse_rfc3339;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct LogLine {
    pub service: String,
    pub container: String,
    pub stream: LogStream,
    /// RFC 3339 with nanoseconds, as Docker stamped the line.
    pub timestamp: String,
    /// For ordering: seconds * 1e9 + nanoseconds.
    #[serde(skip)]
    #[ts(skip)]
    pub ts_nano: i128,
    /// The line without its newline; ANSI colour codes kept.
    pub text: String,
}

fn ts_nano(ts: &str) -> i128 {
    let secs = parse_rfc3339(ts).unwrap_or(0) as i128;
    let frac = ts
        .split_once('.')
        .map(|(_, f)| {
            f.chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
        })
        .unwrap_or_default();
    let nanos: i128 = format!("{frac:0<9}")[..9].parse().unwrap_or(0);
    secs * 1_000_000_000 + nanos
}

/// The longest log line kept whole. A longer one (a 64 MB JSON blob on one line, or a progress
/// bar redrawn with `\r` for an hour) is cut here and its rest dropped up to the next newline,
/// so memory stays bounded and the work stays linear in the bytes.
pub const MAX_LOG_LINE: usize = 256 * 1024;

/// Turns the engine's byte chunks into lines, carrying a partial line (at most
/// [`MAX_LOG_LINE`] bytes) to the next chunk. Each byte is looked at once.
#[derive(Default)]
pub struct LineSplitter {
    partial: [Vec<u8>; 2],
    /// The partial line of each stream went over the limit: skip to its next newline.
    cut: [bool; 2],
    /// Whether the engine was asked to stamp lines (then each starts with an RFC 3339 time).
    stamped: bool,
}

impl LineSplitter {
    pub fn new(stamped: bool) -> Self {
        LineSplitter {
            stamped,
            ..Default::default()
        }
    }

    pub fn push(
        &mut self,
        container: &ContainerInfo,
        stream: LogStream,
        bytes: &[u8],
        out: &mut Vec<LogLine>,
    ) {
        let idx = match stream {
            LogStream::Stdout => 0,
            LogStream::Stderr => 1,
        };
        let mut rest = bytes;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            let (line, after) = (&rest[..pos], &rest[pos + 1..]);
            rest = after;
            if self.partial[idx].is_empty() && !self.cut[idx] {
                out.push(make_line(container, stream, clip(line), self.stamped));
                continue;
            }
            self.append(idx, line);
            let whole = std::mem::take(&mut self.partial[idx]);
            self.cut[idx] = false;
            out.push(make_line(container, stream, &whole, self.stamped));
        }
        self.append(idx, rest);
    }

    fn append(&mut self, idx: usize, bytes: &[u8]) {
        if self.cut[idx] {
            return;
        }
        let buf = &mut self.partial[idx];
        let room = MAX_LOG_LINE - buf.len();
        if bytes.len() > room {
            buf.extend_from_slice(&bytes[..room]);
            self.cut[idx] = true;
        } else {
            buf.extend_from_slice(bytes);
        }
    }

    pub fn finish(&mut self, container: &ContainerInfo, out: &mut Vec<LogLine>) {
        for (idx, stream) in [(0, LogStream::Stdout), (1, LogStream::Stderr)] {
            self.cut[idx] = false;
            if !self.partial[idx].is_empty() {
                let line = std::mem::take(&mut self.partial[idx]);
                out.push(make_line(container, stream, &line, self.stamped));
            }
        }
    }
}

fn clip(line: &[u8]) -> &[u8] {
    &line[..line.len().min(MAX_LOG_LINE)]
}

fn make_line(container: &ContainerInfo, stream: LogStream, raw: &[u8], stamped: bool) -> LogLine {
    let text = String::from_utf8_lossy(raw);
    let text = text.strip_suffix('\r').unwrap_or(&text);
    let (timestamp, body) = match text.split_once(' ') {
        Some((ts, rest)) if stamped => (ts.to_owned(), rest),
        _ => (String::new(), text),
    };
    LogLine {
        service: container.service.clone().unwrap_or_default(),
        container: container.name.clone(),
        stream,
        ts_nano: ts_nano(&timestamp),
        timestamp,
        text: body.to_owned(),
    }
}

/// Reads the logs of `containers` (no follow) and merges them by timestamp. Lines of one container
/// keep their order.
pub async fn read_merged<E: Engine>(
    engine: &E,
    containers: &[ContainerInfo],
    request: &LogRequest,
) -> Result<Vec<LogLine>, EngineError> {
    let mut req = request.clone();
    req.follow = false;
    // Ordering lines of several containers needs the engine's timestamps.
    req.timestamps |= containers.len() > 1;
    let reads = containers.iter().map(|c| {
        let req = req.clone();
        async move {
            let mut lines = Vec::new();
            let mut split = LineSplitter::new(req.timestamps);
            let mut stream = engine.logs(&c.id, &req);
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                split.push(c, chunk.stream, &chunk.bytes, &mut lines);
            }
            split.finish(c, &mut lines);
            Ok::<_, EngineError>(lines)
        }
    });
    let mut per_container = Vec::new();
    for r in futures_util::future::join_all(reads).await {
        per_container.push(r?);
    }
    if per_container.len() == 1 {
        return Ok(per_container.pop().unwrap_or_default());
    }
    let mut all: Vec<LogLine> = per_container.into_iter().flatten().collect();
    // Stable: lines of one container with equal stamps keep their order.
    all.sort_by_key(|l| l.ts_nano);
    Ok(all)
}

/// Follows the logs of a project's services: every current container, and every container of
/// those services that starts later (restart, scale, recreate). Lines arrive on the returned
/// channel as they are written, in batches of one container's lines: a burst of a million lines
/// crosses the channel in a few hundred sends, not a million. Dropping the receiver stops
/// everything.
pub fn follow<E: Engine>(
    engine: Arc<E>,
    project: String,
    services: Vec<String>,
    initial: Vec<ContainerInfo>,
    request: LogRequest,
) -> mpsc::Receiver<Result<Vec<LogLine>, EngineError>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let wanted = |c: &ContainerInfo| {
            !c.oneoff
                && (services.is_empty() || c.service.as_ref().is_some_and(|s| services.contains(s)))
        };
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let mut events = engine.events(Some(&project), since);
        for c in initial.into_iter().filter(|c| wanted(c)) {
            spawn_follower(engine.clone(), c, request.clone(), tx.clone());
        }
        while let Some(ev) = events.next().await {
            if tx.is_closed() {
                return;
            }
            let ev = match ev {
                Ok(ev) => ev,
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            if ev.action != "start" {
                continue;
            }
            let Ok(Some(c)) = engine.inspect(&ev.id).await else {
                continue;
            };
            if !wanted(&c) {
                continue;
            }
            // A restarted container keeps its id: its old follower ended with the process, so
            // attach again from the moment it started.
            let req = LogRequest {
                follow: true,
                tail: None,
                since: Some(ev.time_nano / 1_000_000_000),
                timestamps: request.timestamps,
            };
            spawn_follower(engine.clone(), c, req, tx.clone());
        }
    });
    rx
}

/// The most lines one batch carries, so a reader sees a steady flow during a long burst.
const BATCH_LINES: usize = 4096;

fn spawn_follower<E: Engine>(
    engine: Arc<E>,
    c: ContainerInfo,
    mut request: LogRequest,
    tx: mpsc::Sender<Result<Vec<LogLine>, EngineError>>,
) {
    request.follow = true;
    tokio::spawn(async move {
        let mut split = LineSplitter::new(request.timestamps);
        let mut stream = engine.logs(&c.id, &request);
        let mut ended = false;
        while !ended {
            let Some(first) = stream.next().await else {
                break;
            };
            let mut out = Vec::new();
            let mut chunk = Some(first);
            // Every chunk already waiting joins this batch.
            while let Some(next) = chunk.take() {
                match next {
                    Ok(next) => split.push(&c, next.stream, &next.bytes, &mut out),
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
                if out.len() >= BATCH_LINES {
                    break;
                }
                match stream.next().now_or_never() {
                    Some(Some(next)) => chunk = Some(next),
                    Some(None) => ended = true,
                    None => {}
                }
            }
            if !out.is_empty() && tx.send(Ok(out)).await.is_err() {
                return;
            }
        }
        let mut out = Vec::new();
        split.finish(&c, &mut out);
        if !out.is_empty() {
            let _ = tx.send(Ok(out)).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RunState;

    fn container() -> ContainerInfo {
        ContainerInfo::for_test("abc", "web", 1, RunState::Running)
    }

    #[test]
    fn chunks_split_into_lines_with_timestamps_and_partials() {
        let c = container();
        let mut s = LineSplitter::new(true);
        let mut out = Vec::new();
        s.push(
            &c,
            LogStream::Stdout,
            b"2026-11-23T10:00:00.000000001Z hello\n2026-11-23T10:00:00.5Z wor",
            &mut out,
        );
        s.push(
            &c,
            LogStream::Stdout,
            b"ld \x1b[32mgreen\x1b[0m\r\n",
            &mut out,
        );
        s.push(
            &c,
            LogStream::Stderr,
            b"2026-11-23T10:00:01Z oops",
            &mut out,
        );
        s.finish(&c, &mut out);
        let texts: Vec<(&str, LogStream)> =
            out.iter().map(|l| (l.text.as_str(), l.stream)).collect();
        assert_eq!(
            texts,
            vec![
                ("hello", LogStream::Stdout),
                ("world \x1b[32mgreen\x1b[0m", LogStream::Stdout),
                ("oops", LogStream::Stderr)
            ],
            "ANSI codes kept, CR dropped, streams apart"
        );
        assert!(out[0].ts_nano < out[1].ts_nano && out[1].ts_nano < out[2].ts_nano);
        assert_eq!(out[1].ts_nano - out[0].ts_nano, 499_999_999);
    }

    #[test]
    fn unstamped_lines_are_taken_whole() {
        let c = container();
        let mut s = LineSplitter::new(false);
        let mut out = Vec::new();
        s.push(
            &c,
            LogStream::Stdout,
            b"2026-11-23T10:00:00Z looks stamped but is text\n",
            &mut out,
        );
        assert_eq!(
            out[0].text,
            "2026-11-23T10:00:00Z looks stamped but is text"
        );
        assert_eq!(out[0].timestamp, "");
    }

    #[test]
    fn a_huge_line_is_bounded_and_split_in_linear_time() {
        let c = container();
        let mut s = LineSplitter::new(false);
        let mut out = Vec::new();
        let chunk = vec![b'x'; 64 * 1024];
        // 64 MiB of one line, in 64 KiB chunks as the engine sends them.
        for _ in 0..1024 {
            s.push(&c, LogStream::Stdout, &chunk, &mut out);
        }
        assert!(out.is_empty(), "no newline yet");
        s.push(&c, LogStream::Stdout, b"\nnext\n", &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].text.len(),
            MAX_LOG_LINE,
            "the giant line is cut at the limit"
        );
        assert_eq!(out[1].text, "next", "and the stream carries on");
        // Many lines in one chunk: one pass.
        let many = "line\n".repeat(200_000);
        out.clear();
        s.push(&c, LogStream::Stdout, many.as_bytes(), &mut out);
        assert_eq!(out.len(), 200_000);
    }
}
