//! Logs of an opened stack: read, or followed through engine restarts without losing a line.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use berth_engine::logs::{self, LogLine};
use berth_engine::model::{ContainerInfo, LogRequest};
use berth_engine::Engine;

use super::{now_unix, OpenStack};
use crate::connect::Connector;
use crate::error::{ApiError, ErrorCode};

const RETRY_START: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);

impl<C: Connector> OpenStack<C> {
    /// Logs of the selected services (all when empty), merged by time, secrets masked.
    pub async fn logs(
        &self,
        services: &[String],
        request: &LogRequest,
    ) -> Result<Vec<LogLine>, ApiError> {
        let engine = self.engine().await?;
        let containers = self.selected_containers(&engine, services).await?;
        let mut lines = logs::read_merged(&engine, &containers, request)
            .await
            .map_err(|e| self.broken(e))?;
        let loaded = self.loaded();
        for l in &mut lines {
            l.text = loaded.secrets.mask(&l.text);
        }
        Ok(lines)
    }

    pub(crate) async fn selected_containers(
        &self,
        engine: &C::Engine,
        services: &[String],
    ) -> Result<Vec<ContainerInfo>, ApiError> {
        self.check_services(services)?;
        let name = self.project_name();
        Ok(engine
            .project_containers(Some(&name))
            .await
            .map_err(|e| self.broken(e))?
            .into_iter()
            .filter(|c| {
                !c.oneoff
                    && (services.is_empty()
                        || c.service.as_ref().is_some_and(|s| services.contains(s)))
            })
            .collect())
    }

    /// Follows logs: `on_line` gets each masked line as it is written, including from
    /// containers that start later, until `stop` resolves. When the engine goes away, following
    /// resumes by itself when it returns, from the last line it showed of each container: no
    /// line written during the outage is lost, and none is shown twice.
    pub async fn follow_logs<F, S>(
        &self,
        services: &[String],
        request: &LogRequest,
        mut on_line: F,
        stop: S,
    ) -> Result<(), ApiError>
    where
        F: FnMut(LogLine),
        S: Future<Output = ()>,
    {
        self.check_services(services)?;
        tokio::pin!(stop);
        // Resuming needs the engine's stamps to know what was already shown.
        let mut req = request.clone();
        req.follow = true;
        req.timestamps = true;
        let mut shown: HashMap<String, i128> = HashMap::new();
        let mut backoff = RETRY_START;
        let mut first = true;
        loop {
            let round_started = now_unix();
            let round = self.follow_round(services, &req, first, &mut shown, &mut on_line);
            let result = tokio::select! {
                _ = &mut stop => return Ok(()),
                r = round => r,
            };
            match result {
                Err(e) if e.code != ErrorCode::EngineUnavailable => return Err(e),
                _ => {}
            }
            // The engine went away (or closed every stream): wait, then resume from the oldest
            // line each container last showed.
            self.connector.forget();
            tokio::select! {
                _ = &mut stop => return Ok(()),
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(RETRY_MAX);
            req.tail = None;
            // Nothing shown yet: from when this round began, so no line of the outage is lost.
            req.since = Some(oldest_second(&shown).unwrap_or(round_started));
            first = false;
        }
    }

    /// One connection's worth of following. Returns when the engine's streams end.
    async fn follow_round<F>(
        &self,
        services: &[String],
        request: &LogRequest,
        first: bool,
        shown: &mut HashMap<String, i128>,
        on_line: &mut F,
    ) -> Result<(), ApiError>
    where
        F: FnMut(LogLine),
    {
        let engine = Arc::new(self.engine().await?);
        let containers = self.selected_containers(&engine, services).await?;
        let loaded = self.loaded();
        let mut follow_request = request.clone();
        // Several containers' history is read first and merged by time; following then starts
        // from the oldest last-line second, and lines a container already showed are skipped.
        if first && containers.len() > 1 && request.tail != Some(0) {
            let history = logs::read_merged(&*engine, &containers, request)
                .await
                .map_err(|e| self.broken(e))?;
            for mut l in history {
                shown.insert(l.container.clone(), l.ts_nano);
                l.text = loaded.secrets.mask(&l.text);
                on_line(l);
            }
            follow_request.tail = None;
            follow_request.since = oldest_second(shown).or(Some(now_unix()));
        }
        let mut rx = logs::follow(
            engine,
            loaded.project.name.clone(),
            services.to_vec(),
            containers,
            follow_request,
        );
        while let Some(batch) = rx.recv().await {
            let lines = batch.map_err(|e| self.broken(e))?;
            for mut l in lines {
                // An unstamped line (ts 0) cannot be placed, so it is always shown.
                if l.ts_nano > 0 && shown.get(&l.container).is_some_and(|t| l.ts_nano <= *t) {
                    continue;
                }
                shown.insert(l.container.clone(), l.ts_nano);
                l.text = loaded.secrets.mask(&l.text);
                on_line(l)
            }
        }
        Ok(())
    }
}

/// The second of the oldest last-shown line across containers: following again from there, with
/// every line at or before a container's own last one skipped, repeats nothing and loses nothing.
fn oldest_second(shown: &HashMap<String, i128>) -> Option<i64> {
    shown.values().min().map(|t| (t / 1_000_000_000) as i64)
}
