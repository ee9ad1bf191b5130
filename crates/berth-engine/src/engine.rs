//! The seam between Berth and a container engine. The bollard implementation talks to a real
//! daemon; tests of the logic above it use a small in-memory fake.

use std::future::Future;
use std::pin::Pin;

use futures_util::Stream;

use crate::error::EngineError;
use crate::model::{
    ContainerInfo, EngineEvent, EngineInfo, LogChunk, LogRequest, StatsSample, VolumeInfo,
};

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

/// A command running in a container without a terminal: stdout and stderr apart, as they come.
/// The exit code is [`Engine::exec_exit_code`] once the output ended.
pub struct ExecStream {
    pub id: String,
    pub output: BoxStream<LogChunk>,
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

    /// Starts `cmd` (an argument vector) in a running container without a terminal, as `user`
    /// when given, with `env` (`KEY=value`, never on the command line where `ps` shows it).
    fn exec_stream(
        &self,
        id: &str,
        cmd: &[&str],
        env: &[&str],
        user: Option<&str>,
    ) -> impl Future<Output = Result<ExecStream, EngineError>> + Send;

    /// A tar archive of `path` in a container (running or only created), as it streams.
    fn download(&self, container: &str, path: &str) -> BoxStream<Vec<u8>>;

    /// Extracts the tar archive `tar` into the folder `path` of a container, keeping the
    /// archive's owners and modes.
    fn upload(
        &self,
        container: &str,
        path: &str,
        tar: BoxStream<Vec<u8>>,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Creates (never starts) a container from the local `image` with each `(volume, target)`
    /// mounted, without network, labelled [`crate::model::LABEL_BERTH_ROLE`]=`role`: a handle
    /// for the archive API on a volume.
    fn create_holder(
        &self,
        image: &str,
        mounts: &[(&str, &str)],
        role: &str,
    ) -> impl Future<Output = Result<String, EngineError>> + Send;

    /// Removes a container (forced); one already gone is fine.
    fn remove_container(&self, id: &str) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// `Ok(None)` when there is no such volume.
    fn volume(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<VolumeInfo>, EngineError>> + Send;

    fn create_volume(
        &self,
        volume: &VolumeInfo,
    ) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Removes a volume; one already gone is fine, one in use is refused by the engine.
    fn remove_volume(&self, name: &str) -> impl Future<Output = Result<(), EngineError>> + Send;

    /// Ids of the containers (any state) that carry `label` (`key` or `key=value`).
    fn containers_labelled(
        &self,
        label: &str,
    ) -> impl Future<Output = Result<Vec<String>, EngineError>> + Send;

    /// Names of the volumes that carry `label` (`key` or `key=value`).
    fn volumes_labelled(
        &self,
        label: &str,
    ) -> impl Future<Output = Result<Vec<String>, EngineError>> + Send;

    /// Ids of the containers (any state) that mount the volume `name`.
    fn volume_users(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<String>, EngineError>> + Send;
}
