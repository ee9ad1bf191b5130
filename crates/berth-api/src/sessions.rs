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
