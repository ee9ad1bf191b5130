//! Terminals into running services. Each one runs on a thread of its own (like a log stream),
//! lives until the window closes it (switching views or stacks leaves it running), and carries
//! bytes both ways: keys in through `terminal_input`, output out through the channel.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use berth_api::{ApiError, ErrorCode, SessionId, TerminalInfo};
use futures_util::StreamExt;
use serde::Serialize;
use tauri::async_runtime::JoinHandle;
use tauri::ipc::Channel;
use tauri::State;
use tokio::sync::{mpsc, oneshot};

use crate::sessions::{on_own_thread, AppSessions};

/// What the window sends a terminal.
enum Input {
    Keys(Vec<u8>),
    Resize(u16, u16),
}

/// What a terminal tells the window.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TerminalEvent {
    /// Output as text; a character split between two reads waits for its other bytes.
    Output { data: String },
    /// The shell ended (`exit`, Ctrl-D, or the container stopped).
    Exit { code: Option<i64> },
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct OpenedTerminal {
    pub id: u32,
    pub info: TerminalInfo,
}

struct Open {
    session: SessionId,
    input: mpsc::Sender<Input>,
    task: JoinHandle<()>,
}

/// The open terminals, by id.
#[derive(Default)]
pub struct Terminals {
    next: AtomicU32,
    open: Mutex<HashMap<u32, Open>>,
}

impl Terminals {
    fn sender(&self, id: u32) -> Result<mpsc::Sender<Input>, ApiError> {
        self.open
            .lock()
            .ok()
            .and_then(|m| m.get(&id).map(|o| o.input.clone()))
            .ok_or_else(|| closed(id))
    }

    fn remove(&self, id: u32) -> Option<Open> {
        self.open.lock().ok().and_then(|mut m| m.remove(&id))
    }

    /// Closes every terminal of a session (its stack was closed).
    pub fn close_session(&self, session: SessionId) {
        if let Ok(mut m) = self.open.lock() {
            m.retain(|_, o| {
                let keep = o.session != session;
                if !keep {
                    o.task.abort();
                }
                keep
            });
        }
    }
}

fn closed(id: u32) -> ApiError {
    ApiError::new(ErrorCode::InvalidInput, format!("terminal {id} is closed"))
}

/// Keeps the bytes of a UTF-8 character that a read split, for the next read.
#[derive(Default)]
struct Utf8Carry(Vec<u8>);

impl Utf8Carry {
    fn text(&mut self, bytes: &[u8]) -> String {
        self.0.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.0) {
            Ok(_) => self.0.len(),
            // An incomplete character at the end waits (at most 3 bytes); invalid bytes
            // elsewhere become U+FFFD, as a terminal shows them.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.0.len(),
        };
        let rest = self.0.split_off(valid);
        let text = String::from_utf8_lossy(&self.0).into_owned();
        self.0 = rest;
        text
    }
}

/// Opens a terminal in `service` of a stack, sized `cols` x `rows`.
#[tauri::command(async)]
#[tracing::instrument(skip(on_event, sessions, terminals), err(Debug))]
pub async fn terminal_open(
    session: SessionId,
    service: String,
    cols: u16,
    rows: u16,
    on_event: Channel<TerminalEvent>,
    sessions: State<'_, AppSessions>,
    terminals: State<'_, Terminals>,
) -> Result<OpenedTerminal, ApiError> {
    let stack = sessions.get(session)?.with_own_connection();
    let (opened_tx, opened_rx) = oneshot::channel();
    // Bounded: a paste arrives as one message, so 256 are far more than anyone types ahead.
    let (input_tx, mut input_rx) = mpsc::channel::<Input>(256);
    let work = async move {
        let terminal = match stack.open_terminal(&service, None, cols, rows).await {
            Ok(t) => t,
            Err(e) => {
                let _ = opened_tx.send(Err(e));
                return;
            }
        };
        let berth_api::Terminal {
            info,
            mut output,
            mut control,
        } = terminal;
        let _ = opened_tx.send(Ok(info));
        let mut carry = Utf8Carry::default();
        loop {
            tokio::select! {
                chunk = output.next() => match chunk {
                    Some(Ok(bytes)) => {
                        let data = carry.text(&bytes);
                        if !data.is_empty() && on_event.send(TerminalEvent::Output { data }).is_err() {
                            break;
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "terminal output ended");
                        break;
                    }
                    None => break,
                },
                input = input_rx.recv() => match input {
                    Some(Input::Keys(k)) => {
                        if control.send(&k).await.is_err() {
                            break;
                        }
                    }
                    Some(Input::Resize(c, r)) => {
                        let _ = control.resize(c, r).await;
                    }
                    None => {
                        control.close().await;
                        return;
                    }
                },
            }
        }
        let code = control.exit_code().await.ok().flatten();
        let _ = on_event.send(TerminalEvent::Exit { code });
    };
    let task = on_own_thread("berth-terminal", work)?;
    let info = match opened_rx.await {
        Ok(Ok(info)) => info,
        Ok(Err(e)) => {
            task.abort();
            return Err(e);
        }
        Err(_) => {
            task.abort();
            return Err(ApiError::internal(
                "the terminal thread ended while opening",
            ));
        }
    };
    let id = terminals.next.fetch_add(1, Ordering::Relaxed) + 1;
    if let Ok(mut m) = terminals.open.lock() {
        m.insert(
            id,
            Open {
                session,
                input: input_tx,
                task,
            },
        );
    }
    Ok(OpenedTerminal { id, info })
}

/// Keys (or a paste) typed into a terminal.
#[tauri::command(async)]
pub async fn terminal_input(
    id: u32,
    data: String,
    terminals: State<'_, Terminals>,
) -> Result<(), ApiError> {
    let tx = terminals.sender(id)?;
    tx.send(Input::Keys(data.into_bytes()))
        .await
        .map_err(|_| closed(id))
}

#[tauri::command(async)]
pub async fn terminal_resize(
    id: u32,
    cols: u16,
    rows: u16,
    terminals: State<'_, Terminals>,
) -> Result<(), ApiError> {
    let tx = terminals.sender(id)?;
    tx.send(Input::Resize(cols, rows))
        .await
        .map_err(|_| closed(id))
}

/// Ends a terminal: its shell is hung up and its thread ends.
#[tauri::command]
pub fn terminal_close(id: u32, terminals: State<'_, Terminals>) -> bool {
    match terminals.remove(id) {
        Some(open) => {
            // Dropping the sender lets the task hang the shell up before it ends; the abort
            // after a moment bounds a task stuck on a dead connection.
            drop(open.input);
            let task = open.task;
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                task.abort();
            });
            true
        }
        None => false,
    }
}

/// Copies a terminal's selection (Ctrl+Shift+C): the webview has no clipboard permission.
#[tauri::command]
pub fn terminal_copy(
    text: String,
    clipboard: State<'_, crate::commands::logs::Clipboard>,
) -> Result<(), ApiError> {
    clipboard.set_text(text)
}

/// Pastes the clipboard into a terminal (Ctrl+Shift+V), as typed keys.
#[tauri::command(async)]
pub async fn terminal_paste(
    id: u32,
    terminals: State<'_, Terminals>,
    clipboard: State<'_, crate::commands::logs::Clipboard>,
) -> Result<usize, ApiError> {
    let text = clipboard.get_text()?;
    let n = text.len();
    let tx = terminals.sender(id)?;
    tx.send(Input::Keys(text.into_bytes()))
        .await
        .map_err(|_| closed(id))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::Utf8Carry;

    #[test]
    fn a_character_split_between_reads_is_shown_whole() {
        let mut c = Utf8Carry::default();
        let bytes = "é→".as_bytes();
        assert_eq!(
            c.text(&bytes[..1]),
            "",
            "half of é waits for its second byte"
        );
        assert_eq!(
            c.text(&bytes[1..3]),
            "é",
            "é completes; the arrow's first byte waits"
        );
        assert_eq!(c.text(&bytes[3..]), "→");
        assert_eq!(
            c.text(b"\xffok"),
            "\u{fffd}ok",
            "an invalid byte shows as U+FFFD"
        );
    }
}
