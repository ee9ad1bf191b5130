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
