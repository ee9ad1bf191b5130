//! Moving bytes between the engine and snapshot files: compression and hashing run on a thread
//! of their own behind a bounded channel (the async side never blocks on zstd, and at most a
//! few chunks wait in memory), and a command's output is read with a bound.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use berth_engine::model::LogStream;
use berth_engine::{BoxStream, Engine, EngineError};
use berth_snapshot::{Artifact, ArtifactWriter};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::error::{ApiError, ErrorCode};

/// Chunks in flight between the engine and the compressing thread (each up to 256 KiB).
const CHANNEL_CHUNKS: usize = 16;
/// What is kept of a command's stderr, for the sentence when it fails.
const STDERR_TAIL: usize = 8 * 1024;
/// The most a captured command (a list of databases, row counts) may print.
const CAPTURE_LIMIT: usize = 4 * 1024 * 1024;
/// Bytes read from a snapshot file per chunk sent to the engine.
const READ_CHUNK: usize = 256 * 1024;

pub(crate) fn snap_err(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Snapshot, message)
}

fn io_err(what: &str, e: std::io::Error) -> ApiError {
    snap_err(format!("{what}: {e}"))
}

/// Writes into one snapshot file from async code: chunks go to a thread that compresses and
/// hashes them.
pub(crate) struct Sink {
    tx: Option<mpsc::Sender<Vec<u8>>>,
    done: tokio::task::JoinHandle<std::io::Result<Artifact>>,
    pub written: u64,
}

impl Sink {
    pub(crate) fn create(dir: &Path, file: &str) -> Result<Self, ApiError> {
        let mut writer =
            ArtifactWriter::create(dir, file).map_err(|e| io_err("cannot create the file", e))?;
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(CHANNEL_CHUNKS);
        let done = tokio::task::spawn_blocking(move || {
            while let Some(chunk) = rx.blocking_recv() {
                writer.write_all(&chunk)?;
            }
            writer.finish()
        });
        Ok(Sink {
            tx: Some(tx),
            done,
            written: 0,
        })
    }

    pub(crate) async fn write(&mut self, chunk: Vec<u8>) -> Result<(), ApiError> {
        self.written += chunk.len() as u64;
        let Some(tx) = &self.tx else {
            return Err(ApiError::internal("snapshot file already finished"));
        };
        if tx.send(chunk).await.is_err() {
            // The thread stopped: its error says why.
            self.tx = None;
            return match (&mut self.done).await {
                Ok(Err(e)) => Err(io_err("cannot write the snapshot file", e)),
                _ => Err(snap_err("the snapshot file's writer stopped")),
            };
        }
        Ok(())
    }

    pub(crate) async fn finish(mut self) -> Result<Artifact, ApiError> {
        self.tx = None;
        match self.done.await {
            Ok(r) => r.map_err(|e| io_err("cannot finish the snapshot file", e)),
            Err(e) => Err(ApiError::internal(format!("snapshot writer failed: {e}"))),
        }
    }
}

/// What a command printed when only its exit and a bounded tail matter.
pub(crate) struct Ran {
    pub exit: Option<i64>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` in container `id`, keeping at most [`CAPTURE_LIMIT`] of its stdout.
pub(crate) async fn capture<E: Engine>(
    engine: &E,
    id: &str,
    cmd: &[&str],
    env: &[&str],
) -> Result<Ran, ApiError> {
    let mut out = Vec::new();
    let mut tail = Tail::default();
    let mut exec = engine.exec_stream(id, cmd, env, None).await?;
    while let Some(chunk) = exec.output.next().await {
        let chunk = chunk?;
        match chunk.stream {
            LogStream::Stdout => {
                let room = CAPTURE_LIMIT.saturating_sub(out.len());
                out.extend_from_slice(&chunk.bytes[..chunk.bytes.len().min(room)]);
            }
            LogStream::Stderr => tail.push(&chunk.bytes),
        }
    }
    let exit = exit_code(engine, &exec.id).await?;
    Ok(Ran {
        exit,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: tail.text(),
    })
}

/// The exit code once the output ended (the engine may need a moment to record it).
pub(crate) async fn exit_code<E: Engine>(engine: &E, exec: &str) -> Result<Option<i64>, ApiError> {
    for _ in 0..50 {
        if let Some(code) = engine.exec_exit_code(exec).await? {
            return Ok(Some(code));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok(None)
}

/// The last bytes of a stream, for an error sentence.
#[derive(Default)]
pub(crate) struct Tail(Vec<u8>);

impl Tail {
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
        if self.0.len() > STDERR_TAIL {
            let cut = self.0.len() - STDERR_TAIL;
            self.0.drain(..cut);
        }
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0).trim().to_owned()
    }
}

/// A snapshot file, decompressed, as a stream for the engine.
pub(crate) fn read_artifact(path: PathBuf) -> BoxStream<Vec<u8>> {
    stream_from_thread(move |tx| {
        let mut r = berth_snapshot::open_artifact(&path)?;
        pump(&mut r, &tx)
    })
}

/// A tar archive holding one file `name` (mode 0644) whose content is the decompressed snapshot
/// file at `path`, `size` bytes long: how a dump is put into a container for its restore tool.
pub(crate) fn one_file_tar(path: PathBuf, name: String, size: u64) -> BoxStream<Vec<u8>> {
    stream_from_thread(move |tx| {
        let mut header = tar::Header::new_ustar();
        header.set_path(&name)?;
        header.set_size(size);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        send(&tx, header.as_bytes().to_vec())?;
        let r = berth_snapshot::open_artifact(&path)?;
        let mut limited = r.take(size);
        let sent = pump(&mut limited, &tx)?;
        if sent != size {
            return Err(std::io::Error::other(format!(
                "the snapshot file holds {sent} bytes, the catalog says {size}"
            )));
        }
        // Padding to the 512-byte block, then the two empty blocks that end an archive.
        let pad = (512 - (size % 512) as usize) % 512;
        send(&tx, vec![0u8; pad + 1024])?;
        Ok(sent)
    })
}

type Chunks = mpsc::Sender<Result<Vec<u8>, EngineError>>;

fn send(tx: &Chunks, chunk: Vec<u8>) -> std::io::Result<()> {
    tx.blocking_send(Ok(chunk))
        .map_err(|_| std::io::Error::other("the engine stopped reading"))
}

fn pump(r: &mut impl Read, tx: &Chunks) -> std::io::Result<u64> {
    let mut total = 0u64;
    loop {
        let mut buf = vec![0u8; READ_CHUNK];
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        buf.truncate(n);
        total += n as u64;
        send(tx, buf)?;
    }
}

/// Runs a blocking producer on its own thread; what it sends (or its error) is the stream.
fn stream_from_thread(
    f: impl FnOnce(Chunks) -> std::io::Result<u64> + Send + 'static,
) -> BoxStream<Vec<u8>> {
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let err_tx = tx.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = f(tx) {
            let _ = err_tx.blocking_send(Err(EngineError::Api {
                status: 500,
                message: format!("cannot read the snapshot file: {e}"),
            }));
        }
    });
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

/// Files and bytes in a tar archive (a volume's snapshot), read from its snapshot file.
pub(crate) async fn tar_counts(path: PathBuf) -> Result<(i64, i64), ApiError> {
    tokio::task::spawn_blocking(move || -> std::io::Result<(i64, i64)> {
        let r = berth_snapshot::open_artifact(&path)?;
        count_tar(r)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| io_err("cannot read the volume's archive", e))
}

/// Regular files and their bytes in a tar stream.
pub(crate) fn count_tar(r: impl Read) -> std::io::Result<(i64, i64)> {
    let mut archive = tar::Archive::new(r);
    let (mut files, mut bytes) = (0i64, 0i64);
    for entry in archive.entries()? {
        let entry = entry?;
        if entry.header().entry_type().is_file() {
            files += 1;
            bytes += entry.header().size().unwrap_or(0) as i64;
        }
    }
    Ok((files, bytes))
}

/// Files and bytes of a folder in a container, counted from its archive as the engine streams
/// it (nothing is kept).
pub(crate) async fn live_tar_counts<E: Engine>(
    engine: &E,
    container: &str,
    path: &str,
) -> Result<(i64, i64), ApiError> {
    let mut stream = engine.download(container, path);
    let (tx, rx) = mpsc::channel::<Vec<u8>>(CHANNEL_CHUNKS);
    let counter = tokio::task::spawn_blocking(move || count_tar(ChannelReader::new(rx)));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if tx.send(chunk).await.is_err() {
            break;
        }
    }
    drop(tx);
    counter
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| io_err("cannot read the volume's archive", e))
}

/// `Read` over chunks from a channel.
struct ChannelReader {
    rx: mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
    at: usize,
}

impl ChannelReader {
    fn new(rx: mpsc::Receiver<Vec<u8>>) -> Self {
        ChannelReader {
            rx,
            buf: Vec::new(),
            at: 0,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at >= self.buf.len() {
            match self.rx.blocking_recv() {
                Some(b) => {
                    self.buf = b;
                    self.at = 0;
                }
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
