//! Resource samples of the services a panel shows, re-attached when their containers change
//! (a restart, a recreate, the engine coming back).

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use berth_engine::model::{ContainerInfo, RunState, StatsSample};
use berth_engine::watch::{Connection, Snapshot};
use berth_engine::Engine;
use futures_util::StreamExt;

use super::OpenStack;
use crate::connect::Connector;
use crate::error::ApiError;

impl<C: Connector> OpenStack<C> {
    /// Streams resource samples of the selected services' running containers (all when empty)
    /// until `stop` resolves; then every stream is closed. Nothing is sampled for services
    /// nobody asked about. The set of streams follows the shared status watch: a container that
    /// restarts or is recreated is sampled again without anyone asking.
    pub async fn watch_stats<F, S>(
        &self,
        services: &[String],
        mut on_sample: F,
        stop: S,
    ) -> Result<(), ApiError>
    where
        F: FnMut(StatsSample),
        S: Future<Output = ()>,
    {
        self.check_services(services)?;
        tokio::pin!(stop);
        let mut updates = self.subscribe();
        let wanted = |snap: &Snapshot| -> Vec<ContainerInfo> {
            if !matches!(snap.connection, Connection::Connected(_)) {
                return Vec::new();
            }
            snap.containers
                .iter()
                .filter(|c| !c.oneoff && c.state == RunState::Running)
                .filter(|c| {
                    services.is_empty() || c.service.as_ref().is_some_and(|s| services.contains(s))
                })
                .cloned()
                .collect()
        };
        loop {
            let containers = wanted(&updates.borrow_and_update());
            let ids: BTreeSet<String> = containers.iter().map(|c| c.id.clone()).collect();
            let (tx, mut rx) = tokio::sync::mpsc::channel(64);
            let mut tasks = StreamTasks(Vec::new());
            if !containers.is_empty() {
                match self.engine().await {
                    Ok(engine) => {
                        let engine = Arc::new(engine);
                        for c in containers {
                            let (engine, tx) = (engine.clone(), tx.clone());
                            tasks.0.push(tokio::spawn(async move {
                                let mut s = engine.stats(&c);
                                while let Some(sample) = s.next().await {
                                    if tx.send(sample).await.is_err() {
                                        return;
                                    }
                                }
                            }));
                        }
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
                }
            }
            drop(tx);
            // Sample until the set of running containers changes, a stream fails, or the
            // caller stops.
            loop {
                tokio::select! {
                    _ = &mut stop => return Ok(()),
                    s = rx.recv() => match s {
                        Some(Ok(sample)) => on_sample(sample),
                        // A stream failed or ended: wait for the watch to say what changed.
                        Some(Err(_)) | None => {
                            tokio::select! {
                                _ = &mut stop => return Ok(()),
                                r = updates.changed() => if r.is_err() { return Ok(()) },
                            }
                            break;
                        }
                    },
                    r = updates.changed() => {
                        if r.is_err() { return Ok(()) }
                        let now: BTreeSet<String> = wanted(&updates.borrow()).iter().map(|c| c.id.clone()).collect();
                        if now != ids { break }
                    }
                }
            }
            drop(tasks);
        }
    }
}

/// Aborts its tasks when dropped, so a stream stops the moment nobody watches it.
struct StreamTasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for StreamTasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}
