//! How a session reaches its engine: resolved once, then shared by every view of the stack and
//! handed unchanged to every compose child.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use berth_engine::fake::FakeEngine;
use berth_engine::{DockerEngine, Endpoint, Engine, EngineError};

/// Makes engine connections for one session.
pub trait Connector: Send + Sync + 'static {
    type Engine: Engine + Clone;

    /// The session's connection: the one made before if it is still held, else a new one.
    fn connect(&self) -> impl Future<Output = Result<Self::Engine, EngineError>> + Send;

    /// A new connection to the same endpoint, replacing the held one (after the old one broke).
    fn reconnect(&self) -> impl Future<Output = Result<Self::Engine, EngineError>> + Send;

    /// Drops the held connection, so the next [`Connector::connect`] makes a new one.
    fn forget(&self);

    /// The endpoint compose children must use; `None` until the first connection resolved it
    /// (and always for the fake, which runs no compose).
    fn endpoint(&self) -> Option<Endpoint>;
}

/// The real engine. The first connection that answers fixes the endpoint for the session's
/// life: a restarted daemon is found again at the same place, and a second engine that starts
/// elsewhere never takes over a stack the user is looking at.
pub struct DockerConnector {
    env: HashMap<String, String>,
    endpoint: Mutex<Option<Endpoint>>,
    held: Mutex<Option<DockerEngine>>,
}

impl DockerConnector {
    pub fn new(env: HashMap<String, String>) -> Self {
        DockerConnector {
            env,
            endpoint: Mutex::new(None),
            held: Mutex::new(None),
        }
    }

    /// A connector already fixed on `endpoint` (when known).
    pub fn pinned(env: HashMap<String, String>, endpoint: Option<Endpoint>) -> Self {
        DockerConnector {
            env,
            endpoint: Mutex::new(endpoint),
            held: Mutex::new(None),
        }
    }

    async fn fresh(&self) -> Result<DockerEngine, EngineError> {
        let fixed = self.endpoint.lock().ok().and_then(|e| e.clone());
        let engine = match fixed {
            Some(endpoint) => DockerEngine::connect_to(&endpoint).await?,
            None => DockerEngine::connect(&self.env).await?,
        };
        if let Ok(mut e) = self.endpoint.lock() {
            e.get_or_insert_with(|| engine.endpoint().clone());
        }
        if let Ok(mut h) = self.held.lock() {
            *h = Some(engine.clone());
        }
        Ok(engine)
    }
}

impl Connector for DockerConnector {
    type Engine = DockerEngine;

    async fn connect(&self) -> Result<DockerEngine, EngineError> {
        if let Some(e) = self.held.lock().ok().and_then(|h| h.clone()) {
            return Ok(e);
        }
        self.fresh().await
    }

    async fn reconnect(&self) -> Result<DockerEngine, EngineError> {
        self.forget();
        self.fresh().await
    }

    fn forget(&self) {
        if let Ok(mut h) = self.held.lock() {
            *h = None;
        }
    }

    fn endpoint(&self) -> Option<Endpoint> {
        self.endpoint.lock().ok().and_then(|e| e.clone())
    }
}

/// The in-memory engine, for unit tests of the facade.
#[derive(Clone, Default)]
pub struct FakeConnector {
    pub engine: FakeEngine,
}

impl Connector for FakeConnector {
    type Engine = FakeEngine;

    async fn connect(&self) -> Result<FakeEngine, EngineError> {
        self.engine.ping().await?;
        Ok(self.engine.clone())
    }

    async fn reconnect(&self) -> Result<FakeEngine, EngineError> {
        self.connect().await
    }

    fn forget(&self) {}

    fn endpoint(&self) -> Option<Endpoint> {
        None
    }
}
