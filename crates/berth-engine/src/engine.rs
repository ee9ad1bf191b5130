//! The seam between Berth and a container engine. The bollard implementation talks to a real
//! daemon; tests of the logic above it use a small in-memory fake.

use std::future::Future;
use std::pin::Pin;

use futures_util::Stream;

use crate::error::EngineError;
use crate::model::{ContainerInfo, EngineEvent, EngineInfo, LogChunk, LogRequest, StatsSample};

pub type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, EngineError>> + Send>>;

/// A command running in a container with a terminal: what it prints (raw bytes, as a terminal
/// gets them) and what it reads. Dropping both ends the attachment.
pub struct ExecTty {
    /// The engine's id of the exec instance, for [`Engine::resize_exec`] and
    /// [`Engine::exec_exit_code`].
    pub id: String,
    pub output: BoxStream<Vec<u8>>,
    pub input: Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
}

pub trait Engine: Send + Sync + 'static {
    fn info(&self) -> impl Future<Output = Result<EngineInfo, EngineError>> + Send;

    /// A cheap request that proves the daemon still answers; a frozen one yields
    /// [`EngineError::NotResponding`] within seconds.
    fn ping(&self) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Containers of one compose project (or of every project when `None`), by label.
    fn project_containers(
        &self,
        project: Option<&str>,
    ) -> impl Future<Output = Result<Vec<ContainerInfo>, EngineError>> + Send;

    /// `Ok(None)` when the container no longer exists.
    fn inspect(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<ContainerInfo>, EngineError>> + Send;

    /// The engine's whole inspect document of a container, as `docker inspect` prints it
    /// (unmasked: the facade masks it). `Ok(None)` when the container no longer exists.
    fn inspect_raw(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<serde_json::Value>, EngineError>> + Send;

    /// Container events from `since_unix` on (events that happened while the subscription was
    /// being set up are replayed, so subscribe-then-list never misses one).
    fn events(&self, project: Option<&str>, since_unix: i64) -> BoxStream<EngineEvent>;

    fn logs(&self, id: &str, request: &LogRequest) -> BoxStream<LogChunk>;

    /// Resource samples of one container, about one a second, until the stream is dropped.
    fn stats(&self, container: &ContainerInfo) -> BoxStream<StatsSample>;

    /// The id of the local image `name` (`sha256:…`), `None` when there is none.
    fn image_id(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, EngineError>> + Send;

    /// Whether the daemon runs rootless (`docker info` lists `name=rootless` among its security
    /// options): it then cannot publish host ports below the kernel's unprivileged start.
    fn rootless(&self) -> impl Future<Output = Result<bool, EngineError>> + Send;

    /// Runs `cmd` (an argument vector, never a shell string) in a running container without a
    /// terminal, discards what it prints, and gives its exit code (126/127 when the program is
    /// not in the image).
    fn exec_status(
        &self,
        id: &str,
        cmd: &[&str],
    ) -> impl Future<Output = Result<Option<i64>, EngineError>> + Send;

    /// Starts `cmd` in a running container with a terminal of `cols` x `rows`, attached.
    fn exec_tty(
        &self,
        id: &str,
        cmd: &[&str],
        env: &[&str],
        cols: u16,
        rows: u16,
    ) -> impl Future<Output = Result<ExecTty, EngineError>> + Send;

    /// Tells a terminal's program its new size (it gets SIGWINCH).
    fn resize_exec(
        &self,
        exec: &str,
        cols: u16,
        rows: u16,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// The exit code of an exec instance, `None` while it runs.
    fn exec_exit_code(
        &self,
        exec: &str,
    ) -> impl Future<Output = Result<Option<i64>, EngineError>> + Send;
}
