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

/// One service's resource use now: the sum over its running containers, with the figures as
/// the Services table prints them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, ts_rs::TS)]
pub struct ServiceUsage {
    pub service: String,
    pub cpu_percent: f64,
    pub mem_used: u64,
    /// "3.2 %".
    pub cpu_text: String,
    /// "41 MiB".
    pub mem_text: String,
}

/// Sums the latest sample of each container per service.
pub fn usage_of<'a>(latest: impl IntoIterator<Item = &'a StatsSample>) -> Vec<ServiceUsage> {
    let mut by: std::collections::BTreeMap<String, (f64, u64)> = Default::default();
    for s in latest {
        let Some(service) = &s.service else { continue };
        let e = by.entry(service.clone()).or_default();
        e.0 += s.cpu_percent;
        e.1 += s.mem_used;
    }
    by.into_iter()
        .map(|(service, (cpu, mem))| ServiceUsage {
            cpu_text: format!("{cpu:.1} %"),
            mem_text: mib(mem),
            cpu_percent: cpu,
            mem_used: mem,
            service,
        })
        .collect()
}

fn mib(bytes: u64) -> String {
    let m = bytes as f64 / (1024.0 * 1024.0);
    if m >= 1024.0 {
        format!("{:.1} GiB", m / 1024.0)
    } else if m >= 10.0 {
        format!("{m:.0} MiB")
    } else {
        format!("{m:.1} MiB")
    }
}

impl<C: Connector> OpenStack<C> {
    /// Every service's CPU and memory, summed over its running containers, at most once a
    /// second while samples arrive, until `stop` resolves.
    pub async fn watch_usage<F, S>(&self, mut on_update: F, stop: S) -> Result<(), ApiError>
    where
        F: FnMut(Vec<ServiceUsage>),
        S: Future<Output = ()>,
    {
        let latest = std::sync::Mutex::new(std::collections::HashMap::<String, StatsSample>::new());
        let dirty = tokio::sync::Notify::new();
        tokio::pin!(stop);
        let collect = self.watch_stats(
            &[],
            |s| {
                if let Ok(mut m) = latest.lock() {
                    m.insert(s.container.clone(), s);
                }
                dirty.notify_one();
            },
            std::future::pending(),
        );
        let running = self.subscribe();
        let emit = async {
            loop {
                dirty.notified().await;
                tokio::time::sleep(Duration::from_secs(1)).await;
                // Containers that stopped since are dropped: their last sample is not "now".
                // Samples name their container by name.
                let alive: BTreeSet<String> = running
                    .borrow()
                    .containers
                    .iter()
                    .filter(|c| c.state == RunState::Running)
                    .map(|c| c.name.clone())
                    .collect();
                let rows = {
                    let Ok(mut m) = latest.lock() else { continue };
                    m.retain(|id, _| alive.contains(id));
                    usage_of(m.values())
                };
                on_update(rows);
            }
        };
        tokio::select! {
            _ = &mut stop => Ok(()),
            r = collect => r,
            () = emit => Ok(()),
        }
    }
}

#[cfg(test)]
mod usage_tests {
    use super::*;

    fn sample(container: &str, service: &str, cpu: f64, mem: u64) -> StatsSample {
        StatsSample {
            container: container.into(),
            service: Some(service.into()),
            cpu_percent: cpu,
            mem_used: mem,
            mem_limit: 0,
            net_rx: 0,
            net_tx: 0,
            blk_read: 0,
            blk_write: 0,
        }
    }

    #[test]
    fn replicas_add_up_per_service_and_read_as_the_table_prints_them() {
        let samples = [
            sample("a1", "api", 1.2, 30 << 20),
            sample("a2", "api", 2.0, 12 << 20),
            sample("d1", "db", 0.04, 3 << 29),
        ];
        let rows = usage_of(samples.iter());
        assert_eq!(rows.len(), 2, "one row per service: {rows:?}");
        assert_eq!(rows[0].service, "api");
        assert_eq!(rows[0].cpu_text, "3.2 %", "the replicas' CPU adds up");
        assert_eq!(rows[0].mem_text, "42 MiB", "and their memory");
        assert_eq!(rows[1].mem_text, "1.5 GiB", "GiB from 1024 MiB on");
    }
}
