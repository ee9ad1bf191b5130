//! "Needs recreate": which services' containers no longer match the compose files (their
//! config hash) or their image (rebuilt or pulled under the same name), as `up` would see it.

use std::collections::{BTreeMap, HashMap};

use berth_engine::status::Drift;
use berth_engine::{ComposeCli, Engine};

use super::OpenStack;
use crate::connect::Connector;
use crate::error::ApiError;
use crate::StatusView;

impl<C: Connector> OpenStack<C> {
    /// The drift of every service that has one. The expected hashes come from the compose CLI
    /// itself (`config --hash '*'`), so they are computed exactly as the labels were.
    pub async fn drift(&self) -> Result<BTreeMap<String, Drift>, ApiError> {
        let engine = self.engine().await?;
        let loaded = self.loaded();
        let target = loaded.target.clone();
        let endpoint = self.endpoint();
        let (hashes, v1) = tokio::task::spawn_blocking(move || {
            let cli = ComposeCli::detect()?;
            cli.config_hashes(&target, endpoint.as_ref())
                .map(|h| (h, cli.is_v1()))
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
        let containers = engine
            .project_containers(Some(&loaded.project.name))
            .await
            .map_err(|e| self.broken(e))?;
        let mut local: HashMap<String, Option<String>> = HashMap::new();
        let mut out = BTreeMap::new();
        for c in containers.iter().filter(|c| !c.oneoff) {
            let Some(svc) = &c.service else { continue };
            // A container the files no longer declare is told apart elsewhere (`declared`).
            if !loaded.project.services.contains_key(svc) || out.contains_key(svc) {
                continue;
            }
            let config = matches!(
                (&c.config_hash, hashes.get(svc)),
                (Some(have), Some(want)) if have != want
            );
            let want = match local.get(&c.image) {
                Some(id) => id.clone(),
                None => {
                    let id = engine
                        .image_id(&c.image)
                        .await
                        .map_err(|e| self.broken(e))?;
                    local.insert(c.image.clone(), id.clone());
                    id
                }
            };
            let image = matches!((&c.image_id, want), (Some(have), Some(want)) if *have != want);
            // v2's hash leaves the image out, so a config mismatch is the files. v1's hash
            // covers the image id too: a new image changes it, and "image" is the truth then.
            let drift = match (config, image) {
                (true, true) if v1 => Some(Drift::Image),
                (true, _) => Some(Drift::Config),
                (false, true) => Some(Drift::Image),
                (false, false) => None,
            };
            if let Some(d) = drift {
                out.insert(svc.clone(), d);
            }
        }
        Ok(out)
    }

    /// [`OpenStack::status`] with each service's drift filled in. A drift check that cannot
    /// run (no compose CLI) leaves the drift unknown rather than failing the status.
    pub async fn status_with_drift(&self) -> Result<StatusView, ApiError> {
        let mut v = self.status().await?;
        if let Ok(drift) = self.drift().await {
            for s in &mut v.services {
                s.drift = drift.get(&s.name).copied();
            }
        }
        Ok(v)
    }
}
