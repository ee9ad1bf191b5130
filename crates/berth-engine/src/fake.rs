//! A small in-memory engine for tests of the logic above the [`Engine`] trait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio_stream_shim::BroadcastStream;

use crate::engine::{BoxStream, Engine, ExecStream, ExecTty};
use crate::error::EngineError;
use crate::model::{
    ContainerInfo, EngineEvent, EngineInfo, LogChunk, LogRequest, StatsSample, VolumeInfo,
};

#[derive(Clone)]
pub struct FakeEngine {
    containers: Arc<Mutex<HashMap<String, ContainerInfo>>>,
    events: broadcast::Sender<EngineEvent>,
    /// A frozen fake keeps its event stream open but answers no ping, like `kill -STOP dockerd`.
    frozen: Arc<std::sync::atomic::AtomicBool>,
    logs: Arc<Mutex<HashMap<String, Vec<LogChunk>>>>,
    /// Programs the fake's containers have; a terminal echoes what it is sent.
    programs: Arc<Mutex<Vec<String>>>,
    resizes: Arc<Mutex<Vec<(String, u16, u16)>>>,
    images: Arc<Mutex<HashMap<String, String>>>,
}

impl Default for FakeEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeEngine {
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(256);
        FakeEngine {
            containers: Arc::new(Mutex::new(HashMap::new())),
            events,
            frozen: Default::default(),
            logs: Default::default(),
            programs: Arc::new(Mutex::new(vec!["sh".into()])),
            resizes: Default::default(),
            images: Default::default(),
        }
    }

    /// Sets the local image `name` to `id`.
    pub fn set_image(&self, name: &str, id: &str) {
        if let Ok(mut m) = self.images.lock() {
            m.insert(name.to_owned(), id.to_owned());
        }
    }

    /// The programs every container of the fake has (`sh` unless set).
    pub fn set_programs(&self, programs: &[&str]) {
        if let Ok(mut p) = self.programs.lock() {
            *p = programs.iter().map(|s| (*s).to_owned()).collect();
        }
    }

    /// Every terminal resize asked for, as (exec id, cols, rows).
    pub fn resizes(&self) -> Vec<(String, u16, u16)> {
        self.resizes.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Sets a container and emits `action` for it, as the daemon would.
    pub fn upsert(&self, c: ContainerInfo, action: &str) {
        let ev = EngineEvent {
            action: action.to_owned(),
            id: c.id.clone(),
            project: c.project.clone(),
            service: c.service.clone(),
            time_nano: 1,
            exit_code: None,
        };
        if let Ok(mut m) = self.containers.lock() {
            m.insert(c.id.clone(), c);
        }
        let _ = self.events.send(ev);
    }

    pub fn set_frozen(&self, frozen: bool) {
        self.frozen
            .store(frozen, std::sync::atomic::Ordering::SeqCst);
    }

    /// What `logs` of container `id` returns (the whole history; no follow).
    pub fn set_logs(&self, id: &str, chunks: Vec<LogChunk>) {
        if let Ok(mut m) = self.logs.lock() {
            m.insert(id.to_owned(), chunks);
        }
    }

    pub fn remove(&self, id: &str) {
        let removed = self.containers.lock().ok().and_then(|mut m| m.remove(id));
        if let Some(c) = removed {
            let _ = self.events.send(EngineEvent {
                action: "destroy".into(),
                id: c.id,
                project: c.project,
                service: c.service,
                time_nano: 2,
                exit_code: None,
            });
        }
    }
}

impl Engine for FakeEngine {
    async fn info(&self) -> Result<EngineInfo, EngineError> {
        Ok(EngineInfo {
            host: "fake://".into(),
            version: "0".into(),
            api_version: "1.41".into(),
        })
    }

    async fn ping(&self) -> Result<(), EngineError> {
        if self.frozen.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(EngineError::NotResponding {
                host: "fake://".into(),
            });
        }
        Ok(())
    }

    async fn project_containers(
        &self,
        project: Option<&str>,
    ) -> Result<Vec<ContainerInfo>, EngineError> {
        let m = self.containers.lock().map_err(|_| EngineError::Cancelled)?;
        Ok(m.values()
            .filter(|c| project.is_none() || c.project.as_deref() == project)
            .cloned()
            .collect())
    }

    async fn inspect_raw(&self, id: &str) -> Result<Option<serde_json::Value>, EngineError> {
        let m = self.containers.lock().map_err(|_| EngineError::Cancelled)?;
        Ok(m.get(id).and_then(|c| serde_json::to_value(c).ok()))
    }

    async fn inspect(&self, id: &str) -> Result<Option<ContainerInfo>, EngineError> {
        let m = self.containers.lock().map_err(|_| EngineError::Cancelled)?;
        Ok(m.get(id).cloned())
    }

    fn events(&self, project: Option<&str>, _since_unix: i64) -> BoxStream<EngineEvent> {
        let project = project.map(str::to_owned);
        let stream = BroadcastStream::new(self.events.subscribe()).filter_map(move |ev| {
            let keep = ev
                .as_ref()
                .map(|e| project.is_none() || e.project == project)
                .unwrap_or(false);
            async move {
                if keep {
                    ev.ok().map(Ok)
                } else {
                    None
                }
            }
        });
        Box::pin(stream)
    }

    fn logs(&self, id: &str, _request: &LogRequest) -> BoxStream<LogChunk> {
        let chunks = self
            .logs
            .lock()
            .ok()
            .and_then(|m| m.get(id).cloned())
            .unwrap_or_default();
        Box::pin(futures_util::stream::iter(chunks.into_iter().map(Ok)))
    }

    fn stats(&self, _container: &ContainerInfo) -> BoxStream<StatsSample> {
        Box::pin(futures_util::stream::empty())
    }

    async fn image_id(&self, name: &str) -> Result<Option<String>, EngineError> {
        Ok(self.images.lock().ok().and_then(|m| m.get(name).cloned()))
    }

    async fn rootless(&self) -> Result<bool, EngineError> {
        Ok(false)
    }

    async fn exec_status(&self, id: &str, cmd: &[&str]) -> Result<Option<i64>, EngineError> {
        self.running(id)?;
        let has = |p: &str| self.programs.lock().is_ok_and(|l| l.iter().any(|x| x == p));
        Ok(Some(match cmd.first() {
            Some(p) if has(p) => 0,
            _ => 127,
        }))
    }

    async fn exec_tty(
        &self,
        id: &str,
        cmd: &[&str],
        _env: &[&str],
        cols: u16,
        rows: u16,
    ) -> Result<ExecTty, EngineError> {
        self.running(id)?;
        let exec = format!("exec-{id}-{}", cmd.first().copied().unwrap_or_default());
        let _ = self.resize_exec(&exec, cols, rows).await;
        // A loopback: what the terminal is sent comes back, as a tty in echo mode shows it.
        let (sent, echoed) = tokio::io::duplex(4096);
        let output = futures_util::stream::unfold(echoed, |mut r| async move {
            use tokio::io::AsyncReadExt;
            let mut buf = vec![0u8; 4096];
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(buf), r))
                }
            }
        });
        Ok(ExecTty {
            id: exec,
            output: Box::pin(output),
            input: Box::pin(sent),
        })
    }

    async fn resize_exec(&self, exec: &str, cols: u16, rows: u16) -> Result<(), EngineError> {
        if let Ok(mut r) = self.resizes.lock() {
            r.push((exec.to_owned(), cols, rows));
        }
        Ok(())
    }

    async fn exec_exit_code(&self, _exec: &str) -> Result<Option<i64>, EngineError> {
        Ok(None)
    }

    // The fake keeps no data: what needs volumes and dumps is tested on the real engine.
    async fn exec_stream(
        &self,
        id: &str,
        _cmd: &[&str],
        _env: &[&str],
        _user: Option<&str>,
    ) -> Result<ExecStream, EngineError> {
        self.running(id)?;
        Err(no_data())
    }

    fn download(&self, _container: &str, _path: &str) -> BoxStream<Vec<u8>> {
        Box::pin(futures_util::stream::once(async { Err(no_data()) }))
    }

    async fn upload(
        &self,
        _container: &str,
        _path: &str,
        _tar: BoxStream<Vec<u8>>,
    ) -> Result<(), EngineError> {
        Err(no_data())
    }

    async fn create_holder(
        &self,
        _image: &str,
        _mounts: &[(&str, &str)],
        _role: &str,
    ) -> Result<String, EngineError> {
        Err(no_data())
    }

    async fn remove_container(&self, _id: &str) -> Result<(), EngineError> {
        Ok(())
    }

    async fn volume(&self, _name: &str) -> Result<Option<VolumeInfo>, EngineError> {
        Ok(None)
    }

    async fn create_volume(&self, _volume: &VolumeInfo) -> Result<(), EngineError> {
        Err(no_data())
    }

    async fn remove_volume(&self, _name: &str) -> Result<(), EngineError> {
        Ok(())
    }

    async fn containers_labelled(&self, _label: &str) -> Result<Vec<String>, EngineError> {
        Ok(Vec::new())
    }

    async fn volumes_labelled(&self, _label: &str) -> Result<Vec<String>, EngineError> {
        Ok(Vec::new())
    }

    async fn volume_users(&self, _name: &str) -> Result<Vec<String>, EngineError> {
        Ok(Vec::new())
    }
}

fn no_data() -> EngineError {
    EngineError::Api {
        status: 501,
        message: "the in-memory test engine keeps no volumes or data".into(),
    }
}

impl FakeEngine {
    fn running(&self, id: &str) -> Result<(), EngineError> {
        let m = self.containers.lock().map_err(|_| EngineError::Cancelled)?;
        match m.get(id) {
            Some(c) if c.state == crate::model::RunState::Running => Ok(()),
            Some(_) => Err(EngineError::Api {
                status: 409,
                message: format!("container {id} is not running"),
            }),
            None => Err(EngineError::Api {
                status: 404,
                message: format!("no such container: {id}"),
            }),
        }
    }
}

/// `tokio-stream`'s BroadcastStream, reduced to what the fake needs.
mod tokio_stream_shim {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use futures_util::Stream;
    use tokio::sync::broadcast;

    type Recv<T> = Pin<
        Box<
            dyn std::future::Future<
                    Output = (
                        Result<T, broadcast::error::RecvError>,
                        broadcast::Receiver<T>,
                    ),
                > + Send,
        >,
    >;

    pub struct BroadcastStream<T> {
        inner: Recv<T>,
    }

    async fn next<T: Clone>(
        mut rx: broadcast::Receiver<T>,
    ) -> (
        Result<T, broadcast::error::RecvError>,
        broadcast::Receiver<T>,
    ) {
        let r = rx.recv().await;
        (r, rx)
    }

    impl<T: Clone + Send + 'static> BroadcastStream<T> {
        pub fn new(rx: broadcast::Receiver<T>) -> Self {
            BroadcastStream {
                inner: Box::pin(next(rx)),
            }
        }
    }

    impl<T: Clone + Send + 'static> Stream for BroadcastStream<T> {
        type Item = Result<T, broadcast::error::RecvError>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            match self.inner.as_mut().poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready((r, rx)) => {
                    self.inner = Box::pin(next(rx));
                    match r {
                        Err(broadcast::error::RecvError::Closed) => Poll::Ready(None),
                        other => Poll::Ready(Some(other)),
                    }
                }
            }
        }
    }
}
