//! A terminal into a running service: the shell found in its image, a TTY through the engine's
//! exec API, input, resize and the exit code. The window and the CLI drive the bytes; this
//! module only picks the container and the shell and keeps the engine calls in one place.

use std::pin::Pin;

use berth_engine::model::RunState;
use berth_engine::{BoxStream, Engine, ExecTty};
use serde::Serialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::OpenStack;
use crate::connect::Connector;
use crate::error::{ApiError, ErrorCode, ErrorDetail};

/// The shells tried, in order: bash for line editing and history, then the POSIX sh that
/// almost every image (alpine, busybox, debian-slim) has.
pub const SHELLS: [&str; 2] = ["bash", "sh"];

/// What the terminal is connected to, for its tab title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct TerminalInfo {
    pub service: String,
    pub container: String,
    pub shell: String,
}

/// An open terminal: what it prints, and the handle that types into it.
pub struct Terminal<E: Engine> {
    pub info: TerminalInfo,
    pub output: BoxStream<Vec<u8>>,
    pub control: TerminalControl<E>,
}

/// Typing, resizing and the exit code of an open terminal.
pub struct TerminalControl<E: Engine> {
    engine: E,
    exec: String,
    input: Pin<Box<dyn AsyncWrite + Send>>,
}

impl<E: Engine> TerminalControl<E> {
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), ApiError> {
        self.input.write_all(bytes).await.map_err(|e| {
            ApiError::new(
                ErrorCode::EngineFailed,
                format!("the terminal is closed: {e}"),
            )
        })?;
        self.input
            .flush()
            .await
            .map_err(|e| ApiError::new(ErrorCode::EngineFailed, e.to_string()))
    }

    pub async fn resize(&mut self, cols: u16, rows: u16) -> Result<(), ApiError> {
        self.engine
            .resize_exec(&self.exec, cols, rows)
            .await
            .map_err(ApiError::from)
    }

    /// The shell's exit code once it ended; `None` while it runs. (`&mut`: the input half is
    /// not `Sync`, and a terminal is driven from one task.)
    pub async fn exit_code(&mut self) -> Result<Option<i64>, ApiError> {
        self.engine
            .exec_exit_code(&self.exec)
            .await
            .map_err(ApiError::from)
    }

    /// Ends the shell the way closing a terminal window does. The engine has no call that ends
    /// an exec, and closing the attachment leaves the shell running, so the shell is asked:
    /// Ctrl-C (ends a foreground program), then Ctrl-D (a shell at its prompt exits), then
    /// `exit` for a shell that ignores EOF. Sent apart: the tty discards typed-ahead input when
    /// it delivers Ctrl-C.
    pub async fn close(mut self) {
        for keys in [&b"\x03"[..], b"\x04", b"\x15exit\r"] {
            if self.input.write_all(keys).await.is_err() || self.input.flush().await.is_err() {
                break;
            }
            for _ in 0..5 {
                tokio::time::sleep(std::time::Duration::from_millis(60)).await;
                if !matches!(self.exit_code().await, Ok(None)) {
                    let _ = self.input.shutdown().await;
                    return;
                }
            }
        }
        let _ = self.input.shutdown().await;
    }
}

impl<C: Connector> OpenStack<C> {
    /// Opens a terminal in `service`'s first running container (or replica `replica`), with
    /// the first shell of [`SHELLS`] its image has.
    pub async fn open_terminal(
        &self,
        service: &str,
        replica: Option<u32>,
        cols: u16,
        rows: u16,
    ) -> Result<Terminal<C::Engine>, ApiError> {
        let services = [service.to_owned()];
        let engine = self.engine().await?;
        let containers = self.selected_containers(&engine, &services).await?;
        let container = containers
            .into_iter()
            .filter(|c| c.state == RunState::Running)
            .find(|c| replica.is_none_or(|r| c.number == Some(r)))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidInput,
                    format!("{service} is not running; start it to open a terminal in it"),
                )
                .with_detail(ErrorDetail::NotRunning {
                    service: service.to_owned(),
                })
            })?;
        let mut shell = None;
        for candidate in SHELLS {
            // An argument vector, not a shell string: `-c` gets a fixed word, never user text.
            let code = engine
                .exec_status(&container.id, &[candidate, "-c", "exit 0"])
                .await
                .map_err(|e| self.broken(e))?;
            if code == Some(0) {
                shell = Some(candidate);
                break;
            }
        }
        let Some(shell) = shell else {
            return Err(ApiError::new(
                ErrorCode::EngineFailed,
                format!(
                    "the image of {service} has no shell (neither bash nor sh), so there is no \
                     terminal to open; its logs and Inspect tab still show what it does"
                ),
            )
            .with_detail(ErrorDetail::NoShell {
                service: service.to_owned(),
                tried: SHELLS.iter().map(|s| (*s).to_owned()).collect(),
            }));
        };
        let ExecTty { id, output, input } = engine
            .exec_tty(
                &container.id,
                &[shell],
                &["TERM=xterm-256color", "COLORTERM=truecolor"],
                cols,
                rows,
            )
            .await
            .map_err(|e| self.broken(e))?;
        Ok(Terminal {
            info: TerminalInfo {
                service: service.to_owned(),
                container: container.name.clone(),
                shell: shell.to_owned(),
            },
            output,
            control: TerminalControl {
                engine,
                exec: id,
                input,
            },
        })
    }
}
