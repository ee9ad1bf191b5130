//! Compose projects on the engine, found from container labels alone.

use std::collections::HashMap;

use berth_engine::{DockerEngine, Engine};
use serde::Serialize;

use crate::error::ApiError;

/// A compose project found running (or stopped) on the engine, from container labels alone.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct DiscoveredProject {
    pub name: String,
    /// The folder compose ran from, when its label says so: opening it opens the stack.
    pub working_dir: Option<String>,
    pub running: usize,
    pub containers: usize,
}

/// Every compose project that has containers on the engine, grouped by the
/// `com.docker.compose.project` label (never by container names).
pub async fn discover_projects(
    env: &HashMap<String, String>,
) -> Result<Vec<DiscoveredProject>, ApiError> {
    let engine = DockerEngine::connect(env).await?;
    discover_projects_on(&engine).await
}

/// [`discover_projects`] on a given engine.
pub async fn discover_projects_on<E: Engine>(
    engine: &E,
) -> Result<Vec<DiscoveredProject>, ApiError> {
    let containers = engine.project_containers(None).await?;
    let mut out: Vec<DiscoveredProject> = Vec::new();
    for c in containers.iter().filter(|c| !c.oneoff) {
        let Some(name) = &c.project else { continue };
        let i = match out.iter().position(|p| &p.name == name) {
            Some(i) => i,
            None => {
                out.push(DiscoveredProject {
                    name: name.clone(),
                    working_dir: c
                        .labels
                        .get("com.docker.compose.project.working_dir")
                        .cloned(),
                    running: 0,
                    containers: 0,
                });
                out.len() - 1
            }
        };
        out[i].containers += 1;
        if c.state == berth_engine::model::RunState::Running {
            out[i].running += 1;
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::fake::FakeEngine;
    use berth_engine::model::{ContainerInfo, RunState};

    fn c(id: &str, project: &str, service: &str, state: RunState) -> ContainerInfo {
        let mut c = ContainerInfo::for_test(id, service, 1, state);
        c.project = Some(project.into());
        c.labels.insert(
            "com.docker.compose.project.working_dir".into(),
            format!("/src/{project}"),
        );
        c
    }

    #[tokio::test]
    async fn projects_are_grouped_by_label_with_counts() {
        let e = FakeEngine::new();
        e.upsert(c("1", "shop", "web", RunState::Running), "start");
        e.upsert(c("2", "shop", "db", RunState::Exited), "die");
        e.upsert(c("3", "blog", "web", RunState::Running), "start");
        let mut oneoff = c("4", "blog", "migrate", RunState::Running);
        oneoff.oneoff = true;
        e.upsert(oneoff, "start");
        let found = discover_projects_on(&e).await.expect("listed");
        assert_eq!(
            found,
            vec![
                DiscoveredProject {
                    name: "blog".into(),
                    working_dir: Some("/src/blog".into()),
                    running: 1,
                    containers: 1,
                },
                DiscoveredProject {
                    name: "shop".into(),
                    working_dir: Some("/src/shop".into()),
                    running: 1,
                    containers: 2,
                },
            ],
            "same service names in two projects stay apart; one-off run containers are not counted"
        );
    }
}

/// One thing Berth needs from the machine, checked.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, ts_rs::TS)]
pub struct MachineItem {
    /// "engine", "compose".
    pub id: &'static str,
    pub ok: bool,
    /// "Docker 20.10.24 at unix:///var/run/docker.sock".
    pub title: String,
    /// What to do when it is not ok (or a remark when it is, such as v1 being end-of-life).
    pub detail: Option<String>,
}

/// What the first-run screen says before any stack is open: is there an engine, and a compose.
pub async fn machine_check(env: &HashMap<String, String>) -> Vec<MachineItem> {
    let engine = match DockerEngine::connect(env).await {
        Ok(e) => {
            let info = e.info().await.ok();
            MachineItem {
                id: "engine",
                ok: true,
                title: format!(
                    "Docker {} at {}",
                    info.map(|i| i.version).unwrap_or_default(),
                    e.endpoint().host
                ),
                detail: None,
            }
        }
        Err(e) => MachineItem {
            id: "engine",
            ok: false,
            title: "No Docker engine answers".into(),
            detail: Some(e.to_string()),
        },
    };
    let compose = tokio::task::spawn_blocking(berth_engine::ComposeCli::detect)
        .await
        .map_err(|e| berth_engine::EngineError::Spawn {
            program: "docker compose".into(),
            source: std::io::Error::other(e.to_string()),
        })
        .and_then(|r| r);
    let compose = match compose {
        Ok(cli) => match &cli.flavor {
            berth_engine::ComposeFlavor::V2 { version, .. } => MachineItem {
                id: "compose",
                ok: true,
                title: format!("Docker Compose v2 ({version})"),
                detail: None,
            },
            berth_engine::ComposeFlavor::V1 { version, .. } => MachineItem {
                id: "compose",
                ok: true,
                title: format!("docker-compose v1 ({version})"),
                detail: Some(
                    "v1 is end-of-life; Berth uses it, and prefers the Compose v2 plugin \
                     (`docker compose`) once it is installed"
                        .into(),
                ),
            },
        },
        Err(e) => MachineItem {
            id: "compose",
            ok: false,
            title: "Docker Compose is not installed".into(),
            detail: Some(e.to_string()),
        },
    };
    vec![engine, compose]
}
