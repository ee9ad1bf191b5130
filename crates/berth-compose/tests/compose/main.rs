//! Integration tests of the compose domain: each module writes real files into its own temporary
//! folder and loads them the way the app does.

mod diagram_model;
mod errors;
mod extends_anchors;
mod graph;
mod hardening;
mod include;
mod interpolation;
mod merging;
mod profiles;
mod sources;
mod tls_plan;
mod v2_rules;
mod volumes_ports;

use std::collections::HashMap;
use std::path::PathBuf;

use berth_compose::{load, LoadError, LoadOptions, Project};

/// A project folder in a fresh temp dir.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub env: HashMap<String, String>,
    pub opts: LoadOptions,
}

impl Fixture {
    pub fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("berth-compose-test")
            .tempdir()
            .expect("temp dir");
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write fixture");
        }
        let opts = LoadOptions {
            dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        Fixture {
            dir,
            env: HashMap::new(),
            opts,
        }
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.insert(k.into(), v.into());
        self
    }

    pub fn files(mut self, files: &[&str]) -> Self {
        self.opts.files = files.iter().map(PathBuf::from).collect();
        self
    }

    pub fn profiles(mut self, p: &[&str]) -> Self {
        self.opts.profiles = p.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn load(&self) -> Result<Project, LoadError> {
        let mut opts = self.opts.clone();
        opts.env = self.env.clone();
        // `-f` paths are relative to the project folder in these tests.
        opts.files = opts.files.iter().map(|f| self.dir.path().join(f)).collect();
        load(&opts)
    }

    pub fn ok(&self) -> Project {
        match self.load() {
            Ok(p) => p,
            Err(e) => panic!("fixture should load, got: {e}"),
        }
    }

    pub fn err(&self) -> String {
        match self.load() {
            Ok(_) => panic!("fixture should fail to load"),
            Err(e) => e.to_string(),
        }
    }
}

pub fn env_of(p: &Project, service: &str, key: &str) -> Option<String> {
    p.services[service]
        .environment
        .get(key)
        .map(|v| v.value.clone())
}
