//! Keeps a project's containers current from the engine's event stream: subscribe first, then
//! list, then apply each event by inspecting the one container it names. No polling loop. When the
//! engine goes away the snapshot says so, and reconnection is retried with backoff.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[cfg(test)]
use std::sync::Arc;

use crate::engine::Engine;
use crate::error::EngineError;
use crate::model::{ContainerInfo, EngineInfo};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// Not connected yet.
    Connecting,
    Connected(EngineInfo),
    /// The engine is not reachable; the sentence says what was tried and what to do.
    Disconnected(String),
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub connection: Connection,
    /// Containers of the project, sorted by service and number.
    pub containers: Vec<ContainerInfo>,
    /// Bumped on every change, so a consumer can tell updates apart.
    pub generation: u64,
    /// Unix nanoseconds of the last event applied (0 before any).
    pub last_event_nano: i64,
}

const BACKOFF_START: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long the event stream may stay silent before the watch asks the daemon whether it is
/// still there. A frozen dockerd keeps the stream open and sends nothing; without this check
/// the last colours would stay green for ever. One ping per quiet interval costs nothing.
pub const LIVENESS_INTERVAL: Duration = Duration::from_secs(10);

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn sorted(map: &HashMap<String, ContainerInfo>) -> Vec<ContainerInfo> {
    let mut v: Vec<ContainerInfo> = map.values().cloned().collect();
    v.sort_by(|a, b| (&a.service, a.number, &a.name).cmp(&(&b.service, b.number, &b.name)));
    v
}

/// Whether an event can change what the status shows. Health probes run as execs every
/// interval and change nothing until Docker reports `health_status`; `kill` only sends a signal
/// (the `die` that follows carries the change), and inspecting during it waits on the daemon's
/// container lock, which would delay the `die` behind it.
fn changes_state(action: &str) -> bool {
    !(action.starts_with("exec_")
        || matches!(
            action,
            "kill"
                | "attach"
                | "detach"
                | "resize"
                | "top"
                | "commit"
                | "copy"
                | "archive-path"
                | "extract-to-dir"
                | "export"
        ))
}

/// Applies what an event states by itself to a known container. Returns whether it changed.
/// Health events are left to the inspect that follows: the status must show the failing probe's
/// output together with "unhealthy", and only an inspect has it.
fn apply_event(c: &mut ContainerInfo, ev: &crate::model::EngineEvent) -> bool {
    use crate::model::RunState;
    let before = c.clone();
    match ev.action.as_str() {
        "die" => {
            c.state = RunState::Exited;
            c.exit_code = ev.exit_code;
        }
        "start" => {
            c.state = RunState::Running;
            c.exit_code = None;
            // Docker restarts the health check from scratch with the process.
            if let Some(h) = c.health.as_mut() {
                h.status = crate::model::HealthState::Starting;
                h.failing_streak = 0;
                h.last_output = None;
            }
        }
        "unpause" => c.state = RunState::Running,
        "pause" => c.state = RunState::Paused,
        _ => {}
    }
    *c != before
}

/// A running watch of one project. Dropping it stops the task.
pub struct ProjectWatch {
    pub updates: watch::Receiver<Snapshot>,
    task: JoinHandle<()>,
}

impl Drop for ProjectWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching `project`. `connect` makes a fresh engine connection; it is called again after
/// every drop.
pub fn watch_project<E, C, F>(project: String, connect: C) -> ProjectWatch
where
    E: Engine,
    C: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = Result<E, EngineError>> + Send,
{
    watch_project_with(project, connect, LIVENESS_INTERVAL)
}

/// [`watch_project`] with the liveness interval given (tests use a short one).
pub fn watch_project_with<E, C, F>(project: String, connect: C, liveness: Duration) -> ProjectWatch
where
    E: Engine,
    C: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = Result<E, EngineError>> + Send,
{
    let (tx, rx) = watch::channel(Snapshot {
        connection: Connection::Connecting,
        containers: Vec::new(),
        generation: 0,
        last_event_nano: 0,
    });
    let task = tokio::spawn(async move {
        let mut generation = 0u64;
        let mut backoff = BACKOFF_START;
        let publish = |tx: &watch::Sender<Snapshot>,
                       generation: &mut u64,
                       connection: Connection,
                       containers: Vec<ContainerInfo>,
                       last_event_nano: i64| {
            *generation += 1;
            tx.send_replace(Snapshot {
                connection,
                containers,
                generation: *generation,
                last_event_nano,
            });
        };
        loop {
            // Subscribe from a second ago, then list: anything that happens in between arrives
            // as an event and is applied on top of the list (applying twice is harmless).
            let setup = async {
                let engine = connect().await?;
                let info = engine.info().await?;
                let events = engine.events(Some(&project), now_unix() - 1);
                let listed = engine.project_containers(Some(&project)).await?;
                Ok::<_, EngineError>((engine, info, events, listed))
            };
            let (engine, info, mut events, listed) = match setup.await {
                Ok(s) => s,
                Err(e) => {
                    let message = e.to_string();
                    let repeated = matches!(&tx.borrow().connection, Connection::Disconnected(m) if *m == message);
                    if !repeated {
                        // Keep showing the last known containers, marked as disconnected.
                        let keep = tx.borrow().containers.clone();
                        publish(
                            &tx,
                            &mut generation,
                            Connection::Disconnected(message),
                            keep,
                            0,
                        );
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            };
            backoff = BACKOFF_START;
            let mut map: HashMap<String, ContainerInfo> =
                listed.into_iter().map(|c| (c.id.clone(), c)).collect();
            publish(
                &tx,
                &mut generation,
                Connection::Connected(info.clone()),
                sorted(&map),
                0,
            );
            let reason = loop {
                let next = tokio::select! {
                    ev = events.next() => ev,
                    _ = tokio::time::sleep(liveness) => {
                        match engine.ping().await {
                            Ok(()) => continue,
                            Err(e) => break e.to_string(),
                        }
                    }
                };
                let Some(ev) = next else {
                    break "the engine closed the event stream".to_owned();
                };
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(e) => break e.to_string(),
                };
                if !changes_state(&ev.action) {
                    continue;
                }
                // The event itself says what changed: show it at once. The daemon may hold the
                // container's lock for tens of milliseconds after `die` while it cleans up, and
                // the inspect below waits for that.
                if let Some(c) = map.get_mut(&ev.id) {
                    if apply_event(c, &ev) {
                        publish(
                            &tx,
                            &mut generation,
                            Connection::Connected(info.clone()),
                            sorted(&map),
                            ev.time_nano,
                        );
                    }
                }
                let changed = match engine.inspect(&ev.id).await {
                    Ok(Some(c)) => map.insert(c.id.clone(), c.clone()).as_ref() != Some(&c),
                    Ok(None) => map.remove(&ev.id).is_some(),
                    Err(e) if e.is_connection() => break e.to_string(),
                    Err(_) => continue,
                };
                // The inspect often only confirms what the event already showed.
                if !changed {
                    continue;
                }
                publish(
                    &tx,
                    &mut generation,
                    Connection::Connected(info.clone()),
                    sorted(&map),
                    ev.time_nano,
                );
            };
            publish(
                &tx,
                &mut generation,
                Connection::Disconnected(format!("lost the Docker engine: {reason}; reconnecting")),
                sorted(&map),
                0,
            );
            tokio::time::sleep(BACKOFF_START).await;
        }
    });
    ProjectWatch { updates: rx, task }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeEngine;
    use crate::model::RunState;

    fn c(id: &str, service: &str, state: RunState) -> ContainerInfo {
        ContainerInfo::for_test(id, service, 1, state)
    }

    async fn until(w: &mut ProjectWatch, pred: impl Fn(&Snapshot) -> bool) -> Snapshot {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                {
                    let s = w.updates.borrow_and_update();
                    if pred(&s) {
                        return s.clone();
                    }
                }
                w.updates.changed().await.expect("watch alive");
            }
        })
        .await
        .expect("condition reached")
    }

    #[tokio::test]
    async fn events_update_the_snapshot_without_polling() {
        let engine = FakeEngine::new();
        engine.upsert(c("a", "web", RunState::Running), "start");
        let e2 = engine.clone();
        let mut w = watch_project("p".into(), move || {
            let e = e2.clone();
            async move { Ok(e) }
        });
        let s = until(&mut w, |s| {
            matches!(s.connection, Connection::Connected(_)) && s.containers.len() == 1
        })
        .await;
        assert_eq!(s.containers[0].state, RunState::Running, "the initial list");
        // Give the subscription a moment to be polled before emitting.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut dead = c("a", "web", RunState::Exited);
        dead.exit_code = Some(3);
        engine.upsert(dead, "die");
        let s = until(&mut w, |s| {
            s.containers
                .first()
                .is_some_and(|c| c.state == RunState::Exited)
        })
        .await;
        assert_eq!(s.containers[0].exit_code, Some(3));
        engine.upsert(c("other", "web", RunState::Running), "exec_start: sh");
        engine.upsert(c("b", "db", RunState::Running), "start");
        let s = until(&mut w, |s| s.containers.iter().any(|c| c.id == "b")).await;
        assert!(
            !s.containers.iter().any(|c| c.id == "other"),
            "health-probe exec events are not worth an inspect"
        );
        engine.remove("a");
        until(&mut w, |s| !s.containers.iter().any(|c| c.id == "a")).await;
    }

    #[tokio::test]
    async fn unreachable_engine_is_reported_then_recovered() {
        let up = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let engine = FakeEngine::new();
        let (up2, e2) = (up.clone(), engine.clone());
        let mut w = watch_project("p".into(), move || {
            let (up, e) = (up2.clone(), e2.clone());
            async move {
                if up.load(std::sync::atomic::Ordering::SeqCst) {
                    Ok(e)
                } else {
                    Err(EngineError::Unreachable {
                        tried: vec!["unix:///var/run/docker.sock".into()],
                    })
                }
            }
        });
        let s = until(&mut w, |s| {
            matches!(s.connection, Connection::Disconnected(_))
        })
        .await;
        let Connection::Disconnected(msg) = s.connection else {
            unreachable!()
        };
        assert!(
            msg.contains("Docker is not running") && msg.contains("/var/run/docker.sock"),
            "{msg}"
        );
        up.store(true, std::sync::atomic::Ordering::SeqCst);
        until(&mut w, |s| matches!(s.connection, Connection::Connected(_))).await;
    }

    #[tokio::test]
    async fn a_frozen_engine_stops_showing_green() {
        let engine = FakeEngine::new();
        engine.upsert(c("a", "web", RunState::Running), "start");
        let e2 = engine.clone();
        let mut w = watch_project_with(
            "p".into(),
            move || {
                let e = e2.clone();
                async move {
                    // A frozen daemon also refuses new connections in time.
                    e.ping().await?;
                    Ok(e)
                }
            },
            Duration::from_millis(100),
        );
        until(&mut w, |s| matches!(s.connection, Connection::Connected(_))).await;
        engine.set_frozen(true);
        let s = until(&mut w, |s| {
            matches!(s.connection, Connection::Disconnected(_))
        })
        .await;
        let Connection::Disconnected(msg) = s.connection else {
            unreachable!()
        };
        assert!(
            msg.contains("not responding"),
            "the silent event stream is found out by the liveness ping: {msg}"
        );
        engine.set_frozen(false);
        until(&mut w, |s| matches!(s.connection, Connection::Connected(_))).await;
    }
}
