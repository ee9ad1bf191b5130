//! The open stacks of one process (the app's window, or a CLI command), by session id. One
//! session per stack: opening a folder that is already open returns the same session.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::connect::{Connector, DockerConnector};
use crate::error::{ApiError, ErrorCode};
use crate::inspect::StackRequest;
use crate::session::OpenStack;

/// What the UI holds for an open stack.
pub type SessionId = u64;

/// One open stack and what identifies it.
type Entry<C> = (StackKey, Arc<OpenStack<C>>);

pub struct Sessions<C: Connector = DockerConnector> {
    next: Mutex<SessionId>,
    open: Mutex<HashMap<SessionId, Entry<C>>>,
}

/// What makes two requests the same stack.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StackKey {
    dir: Option<PathBuf>,
    files: Vec<PathBuf>,
    project_name: Option<String>,
    profiles: Vec<String>,
    env_files: Vec<PathBuf>,
}

impl From<&StackRequest> for StackKey {
    fn from(r: &StackRequest) -> Self {
        StackKey {
            dir: r
                .dir
                .as_ref()
                .map(|d| d.canonicalize().unwrap_or_else(|_| d.clone())),
            files: r.files.clone(),
            project_name: r.project_name.clone(),
            profiles: r.profiles.clone(),
            env_files: r.env_files.clone(),
        }
    }
}

impl<C: Connector> Default for Sessions<C> {
    fn default() -> Self {
        Sessions {
            next: Mutex::new(1),
            open: Mutex::new(HashMap::new()),
        }
    }
}

impl<C: Connector> Sessions<C> {
    /// The session of this stack: the open one, or a new one from `open`.
    pub fn open(
        &self,
        req: &StackRequest,
        open: impl FnOnce() -> Result<OpenStack<C>, ApiError>,
    ) -> Result<(SessionId, Arc<OpenStack<C>>), ApiError> {
        let key = StackKey::from(req);
        let mut map = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((id, (_, s))) = map.iter().find(|(_, (k, _))| *k == key) {
            return Ok((*id, s.clone()));
        }
        let stack = Arc::new(open()?);
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let id = *next;
        *next += 1;
        map.insert(id, (key, stack.clone()));
        Ok((id, stack))
    }

    pub fn get(&self, id: SessionId) -> Result<Arc<OpenStack<C>>, ApiError> {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .map(|(_, s)| s.clone())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::UnknownSession,
                    "that stack is no longer open; open it again",
                )
            })
    }

    /// Ends a session: its watch, reloads and streams stop once the last handle is gone.
    pub fn close(&self, id: SessionId) -> bool {
        let removed = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        if let Some((_, s)) = &removed {
            s.cancel_action();
        }
        removed.is_some()
    }

    /// Ends the session of this stack, if one is open (the stack was removed from the list).
    pub fn close_stack(&self, req: &StackRequest) -> bool {
        let key = StackKey::from(req);
        let id = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(_, (k, _))| *k == key)
            .map(|(id, _)| *id);
        id.is_some_and(|id| self.close(id))
    }

    /// The other open stacks that publish host ports this one publishes too, as sentences:
    /// "luminai and primehub both publish 80, 443 and 6379: only one of them can run at a time,
    /// unless one moves (Ports)". Said when a stack opens, before anything runs.
    pub fn shared_ports(&self, id: SessionId) -> Vec<String> {
        use berth_compose::port_plan::{planned_ports, shared_host_ports};
        let map = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let Some((_, this)) = map.get(&id) else {
            return Vec::new();
        };
        let (mine, name) = (planned_ports(&this.loaded().project), this.project_name());
        let mut others: Vec<(String, Vec<u16>)> = map
            .iter()
            .filter(|(other, _)| **other != id)
            .map(|(_, (_, s))| {
                let theirs = planned_ports(&s.loaded().project);
                (s.project_name(), shared_host_ports(&mine, &theirs))
            })
            .filter(|(_, ports)| !ports.is_empty())
            .collect();
        others.sort();
        others
            .into_iter()
            .map(|(other, ports)| {
                let list: Vec<String> = ports.iter().map(u16::to_string).collect();
                let list = match list.split_last() {
                    Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                    _ => list.join(""),
                };
                format!("{name} and {other} both publish {list}: only one of them can run at a time, unless one moves to free ports (Ports)")
            })
            .collect()
    }

    pub fn ids(&self) -> Vec<SessionId> {
        let mut v: Vec<SessionId> = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .copied()
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::FakeConnector;
    use berth_engine::fake::FakeEngine;

    fn stack(root: &std::path::Path, name: &str, ports: &str) -> StackRequest {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(
            dir.join("compose.yaml"),
            format!("services:\n  web:\n    image: x\n    ports: [{ports}]\n"),
        )
        .expect("write");
        StackRequest {
            dir: Some(dir),
            ..Default::default()
        }
    }

    #[test]
    fn opening_a_stack_says_which_open_stacks_want_its_host_ports() {
        let tmp = tempfile::tempdir().expect("tmp");
        let sessions: Sessions<FakeConnector> = Sessions::default();
        let engine = FakeEngine::default();
        let open = |req: StackRequest| {
            let e = engine.clone();
            sessions
                .open(&req, || {
                    OpenStack::open_with(&req, HashMap::new(), FakeConnector { engine: e })
                })
                .expect("opens")
                .0
        };
        let luminai = open(stack(
            tmp.path(),
            "luminai",
            "\"80:80\", \"6379:6379\", \"127.0.0.1:8000:8000\"",
        ));
        let primehub = open(stack(
            tmp.path(),
            "primehub",
            "\"80:80\", \"6379:6379\", \"127.0.0.2:8000:8000\", \"3306:3306\"",
        ));
        let other = open(stack(tmp.path(), "other", "\"9000:9000\""));
        assert_eq!(
            sessions.shared_ports(primehub),
            ["primehub and luminai both publish 80 and 6379: only one of them can run at a time, unless one moves to free ports (Ports)"],
            "127.0.0.1:8000 and 127.0.0.2:8000 do not collide"
        );
        assert_eq!(sessions.shared_ports(luminai).len(), 1);
        assert!(sessions.shared_ports(other).is_empty());
    }
}
