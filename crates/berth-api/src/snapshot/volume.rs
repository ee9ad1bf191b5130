//! A named volume's files through the engine's archive API, on a container created (never
//! started) from an image already on the machine: no shell, no tool inside any image.

use std::path::Path;

use berth_engine::model::LABEL_BERTH_ROLE;
use berth_engine::Engine;
use futures_util::StreamExt;

use super::stream::{live_tar_counts, read_artifact, snap_err, Sink};
use crate::error::ApiError;

/// Where a holder container mounts the volume it gives access to.
pub(crate) const MOUNT: &str = "/berth-volume";
/// The role label of holder containers and of restore volumes: swept after a crash.
pub(crate) const HOLDER_ROLE: &str = "snapshot-holder";
pub(crate) const RESTORE_ROLE: &str = "snapshot-restore";

/// A created container mounting one volume, removed when done with.
pub(crate) struct Holder<'a, E: Engine> {
    engine: &'a E,
    pub id: String,
}

impl<'a, E: Engine> Holder<'a, E> {
    pub(crate) async fn new(engine: &'a E, image: &str, volume: &str) -> Result<Self, ApiError> {
        let id = engine
            .create_holder(image, &[(volume, MOUNT)], HOLDER_ROLE)
            .await?;
        Ok(Holder { engine, id })
    }

    pub(crate) async fn remove(self) {
        let _ = self.engine.remove_container(&self.id).await;
    }
}

/// Streams the volume's files (a tar of [`MOUNT`]) into `sink`.
pub(crate) async fn archive<E: Engine>(
    holder: &Holder<'_, E>,
    sink: &mut Sink,
    on_bytes: &mut (dyn FnMut(u64) + Send),
) -> Result<(), ApiError> {
    let mut stream = holder.engine.download(&holder.id, MOUNT);
    while let Some(chunk) = stream.next().await {
        sink.write(chunk?).await?;
        on_bytes(sink.written);
    }
    Ok(())
}

/// Extracts a volume snapshot into the volume behind `holder` and counts what is there after.
pub(crate) async fn extract<E: Engine>(
    holder: &Holder<'_, E>,
    file: &Path,
) -> Result<(i64, i64), ApiError> {
    // The archive's entries are `berth-volume/...`: extracted at `/` they land in the mount.
    holder
        .engine
        .upload(&holder.id, "/", read_artifact(file.to_path_buf()))
        .await?;
    live_tar_counts(holder.engine, &holder.id, MOUNT).await
}

/// Removes Berth's holder containers and restore volumes a crash left behind.
pub(crate) async fn sweep_engine<E: Engine>(engine: &E) {
    for role in [HOLDER_ROLE] {
        if let Ok(ids) = engine
            .containers_labelled(&format!("{LABEL_BERTH_ROLE}={role}"))
            .await
        {
            for id in ids {
                let _ = engine.remove_container(&id).await;
            }
        }
    }
}

/// The sentence when counts after an extract differ from those recorded.
pub(crate) fn check(
    what: &str,
    (files, bytes): (i64, i64),
    expected: &std::collections::BTreeMap<String, i64>,
) -> Result<(), ApiError> {
    let want = (
        expected.get("files").copied().unwrap_or(-1),
        expected.get("bytes").copied().unwrap_or(-1),
    );
    if (files, bytes) == want {
        return Ok(());
    }
    Err(snap_err(format!(
        "{what} holds {files} files ({bytes} bytes) after the restore, the snapshot recorded {} files ({} bytes)",
        want.0, want.1
    )))
}
