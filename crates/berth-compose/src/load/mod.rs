//! From a folder (or an explicit `-f` list) to a [`Project`]: discovery, `.env`, interpolation,
//! `extends`, override merging, profiles and validation, in the order the Compose specification
//! applies them.
//!
//! This module holds that order, the per-file pipeline and the final assembly; the steps live
//! beside it: `discover` (which files), `env` (variables and interpolation), `extends`,
//! `convert` (nodes to the typed model), `validate` (warnings and refusals) and `nginx`
//! (mounted nginx configs).

mod convert;
mod discover;
mod env;
mod extends;
mod include;
mod nginx;
mod validate;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

pub use discover::{discover, normalize_project_name};
use env::Environment;

use crate::error::LoadError;
use crate::merge::{merge_top_level, normalize_service};
use crate::model::{Network, Project, Service};
use crate::paths::{absolutize, display_path};
use crate::yaml::{self, Node, Pos, Value};

/// What the user chose when opening a stack: the same knobs as the compose CLI.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Project directory (or the folder to start discovery from).
    pub dir: Option<PathBuf>,
    /// Explicit `-f` files, merged in order.
    pub files: Vec<PathBuf>,
    /// `-p`.
    pub project_name: Option<String>,
    /// `--profile`.
    pub profiles: Vec<String>,
    /// `--env-file`; replaces the project's `.env` when given.
    pub env_files: Vec<PathBuf>,
    /// The shell environment. Injected so tests and the app control it; it wins over `.env`.
    pub env: HashMap<String, String>,
}

struct Loader {
    env: Environment,
    working_dir: PathBuf,
    warnings: Vec<String>,
    /// Parsed, interpolated and normalised files, so `extends` reads each file once.
    cache: HashMap<(PathBuf, PathBuf), Arc<Node>>,
    /// Every file read or looked for, in order: what a session watches.
    read: Vec<PathBuf>,
    /// The files whose `include` is being applied, outermost first: a cycle check.
    including: Vec<PathBuf>,
}

pub fn load(opts: &LoadOptions) -> Result<Project, LoadError> {
    let cwd = opts.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let cwd = absolutize(
        &std::env::current_dir().unwrap_or_default(),
        &cwd.to_string_lossy(),
        None,
    );

    // `.env` is read before discovery because it may set COMPOSE_FILE and COMPOSE_PROJECT_NAME.
    let env_files = env::env_files(&cwd, &opts.env_files);
    let env = Environment::read(&opts.env, &env_files)?;

    let files = discover::compose_files(&cwd, &opts.files, &env)?;
    let working_dir = if opts.dir.is_some() {
        cwd.clone()
    } else {
        files[0]
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or(cwd.clone())
    };

    let mut loader = Loader {
        env,
        working_dir: working_dir.clone(),
        warnings: Vec::new(),
        cache: HashMap::new(),
        read: if opts.env_files.is_empty() {
            vec![cwd.join(".env")]
        } else {
            env_files.clone()
        },
        including: Vec::new(),
    };

    let root = loader
        .merge_files(&files, &working_dir)?
        .unwrap_or_else(|| {
            Node::new(
                Value::Null,
                Pos {
                    file: Arc::from(""),
                    line: 1,
                    col: 1,
                },
            )
        });
    // Compose refuses a project with nothing in it (`version` alone counts as nothing).
    let has_content = root
        .as_map()
        .is_some_and(|m| m.iter().any(|(k, _)| k.as_scalar() != Some("version")));
    if !has_content {
        return Err(LoadError::Empty {
            file: files
                .first()
                .map(|f| display_path(&working_dir, f))
                .unwrap_or_default(),
        });
    }

    // A name the user set (`-p`, COMPOSE_PROJECT_NAME) must already be valid; one taken from
    // the file's `name:` or the folder is normalised (compose-go `projectName`).
    let chosen = opts.project_name.clone().or_else(|| {
        loader
            .env
            .get("COMPOSE_PROJECT_NAME")
            .filter(|s| !s.is_empty())
    });
    let name = match chosen {
        Some(n) => {
            if normalize_project_name(&n) != n {
                return Err(LoadError::InvalidProjectName { name: n });
            }
            n
        }
        None => {
            let raw = root
                .get("name")
                .and_then(|n| n.as_scalar())
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    working_dir
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                });
            normalize_project_name(&raw)
        }
    };
    if name.is_empty() {
        return Err(LoadError::InvalidProjectName { name });
    }

    let mut profiles: Vec<String> = opts.profiles.clone();
    if profiles.is_empty() {
        if let Some(p) = loader.env.get("COMPOSE_PROFILES") {
            profiles = p
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
    }

    loader.build_project(root, name, files, &profiles)
}

impl Loader {
    fn display_path(&self, p: &Path) -> String {
        display_path(&self.working_dir, p)
    }

    /// Reads, parses, interpolates and normalises one compose file. Relative paths in it resolve
    /// against `base_dir`.
    fn load_file(&mut self, path: &Path, base_dir: &Path) -> Result<Arc<Node>, LoadError> {
        let cache_key = (path.to_path_buf(), base_dir.to_path_buf());
        if let Some(n) = self.cache.get(&cache_key) {
            return Ok(n.clone());
        }
        self.read.push(path.to_path_buf());
        let text = crate::paths::read_text(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let shown = self.display_path(path);
        let docs = yaml::parse_documents(&text, &shown).map_err(|e| LoadError::Yaml {
            pos: e.pos,
            message: e.message,
        })?;
        // Several documents in one file merge in order, as override files do.
        let mut root: Option<Node> = None;
        for doc in docs {
            let doc = self.prepare_document(doc, path, base_dir)?;
            root = Some(match root {
                None => doc,
                Some(base) => merge_top_level(&base, &doc),
            });
        }
        let root = root.unwrap_or_else(|| {
            Node::new(
                Value::Null,
                Pos {
                    file: shown.as_str().into(),
                    line: 1,
                    col: 1,
                },
            )
        });
        let root = Arc::new(root);
        self.cache.insert(cache_key, root.clone());
        Ok(root)
    }

    /// A `-f` list (or an include's paths): each file loaded, its `extends` applied, then merged
    /// over the ones before it. `None` for an empty list.
    fn merge_files(
        &mut self,
        files: &[PathBuf],
        base_dir: &Path,
    ) -> Result<Option<Node>, LoadError> {
        let mut merged: Option<Node> = None;
        for f in files {
            let node = self.load_file(f, base_dir)?;
            let node = self.resolve_extends(&node, f, &mut Vec::new())?;
            merged = Some(match merged {
                None => node,
                Some(base) => merge_top_level(&base, &node),
            });
        }
        Ok(merged)
    }

    /// One YAML document of a compose file: checked to be a mapping, interpolated, validated
    /// against the compose-spec schema, its services normalised and its `include`s applied.
    fn prepare_document(
        &mut self,
        mut root: Node,
        path: &Path,
        base_dir: &Path,
    ) -> Result<Node, LoadError> {
        if !root.is_null() && root.as_map().is_none() {
            return Err(LoadError::ty(
                &root.pos,
                "(root)",
                format!(
                    "a compose file must be a mapping, found {}",
                    root.kind_name()
                ),
            ));
        }
        self.interpolate_tree(&mut root, "")?;
        crate::schema::validate(&root).map_err(|e| LoadError::Schema {
            pos: e.pos,
            path: e.path,
            message: e.message,
        })?;
        if let Some(Value::Map(services)) = root_services_mut(&mut root) {
            let home = self.env.get("HOME").or_else(|| self.env.get("USERPROFILE"));
            for (k, v) in services.iter_mut() {
                let name = k.as_scalar().unwrap_or_default().to_owned();
                if v.is_null() {
                    v.value = Value::Map(Vec::new());
                }
                if v.as_map().is_none() {
                    return Err(LoadError::ty(
                        &v.pos,
                        &format!("services.{name}"),
                        format!("a service must be a mapping, found {}", v.kind_name()),
                    ));
                }
                normalize_service(v, &name, base_dir, home.as_deref(), &mut self.warnings)?;
            }
        } else if let Some(s) = root.get("services") {
            if !s.is_null() {
                return Err(LoadError::ty(
                    &s.pos,
                    "services",
                    format!("expected a mapping, found {}", s.kind_name()),
                ));
            }
        }
        self.apply_include(&mut root, path, base_dir)?;
        Ok(root)
    }

    fn build_project(
        mut self,
        root: Node,
        name: String,
        files: Vec<PathBuf>,
        profiles: &[String],
    ) -> Result<Project, LoadError> {
        let mut all: IndexMap<String, Service> = IndexMap::new();
        if let Some(services) = root.get("services").and_then(Node::as_map) {
            for (k, v) in services {
                let sname = k.as_scalar().unwrap_or_default().to_owned();
                let svc = self.convert_service(&sname, v)?;
                all.insert(sname, svc);
            }
        }

        let active = |s: &Service| {
            s.profiles.is_empty()
                || profiles
                    .iter()
                    .any(|p| p == "*" || s.profiles.iter().any(|sp| sp == p))
        };
        let mut services = IndexMap::new();
        let mut inactive: IndexMap<String, Vec<String>> = IndexMap::new();
        for (n, s) in all {
            if active(&s) {
                services.insert(n, s);
            } else {
                inactive.insert(n, s.profiles);
            }
        }

        self.check_dependencies(&services, &inactive)?;
        let inactive: Vec<String> = inactive.into_keys().collect();

        let networks = self.convert_networks(&root)?;
        let volumes = self.convert_volumes(&root)?;
        let mut networks = networks;
        // Every service without explicit networks joins `default`, which Compose creates.
        let uses_default = services
            .values()
            .any(|s| s.networks.contains_key("default"));
        if uses_default && !networks.contains_key("default") {
            networks.insert("default".into(), Network::default());
        }
        self.check_references(&services, &networks, &volumes)?;

        let mut configs = IndexMap::new();
        let mut watch_dirs: Vec<PathBuf> = Vec::new();
        for (sname, svc) in &services {
            let found = nginx::nginx_configs(&self.working_dir, svc, &mut self.warnings);
            for c in &found {
                self.read.push(c.path.clone());
                if let Some(d) = c.path.parent() {
                    watch_dirs.push(d.to_path_buf());
                }
            }
            if !found.is_empty() {
                configs.insert(sname.clone(), found);
            }
        }
        let mut sources: Vec<PathBuf> = Vec::new();
        for p in std::mem::take(&mut self.read) {
            if !sources.contains(&p) {
                sources.push(p);
            }
        }
        // New override files appear next to the compose files; edited files are often replaced
        // by a rename, which only their folder sees.
        watch_dirs.push(self.working_dir.clone());
        for p in &sources {
            if let Some(d) = p.parent() {
                watch_dirs.push(d.to_path_buf());
            }
        }
        watch_dirs.sort();
        watch_dirs.dedup();
        Ok(Project {
            name,
            working_dir: self.working_dir,
            files,
            services,
            inactive_services: inactive,
            networks,
            volumes,
            warnings: self.warnings,
            configs,
            sources,
            watch_dirs,
        })
    }
}

fn root_services_mut(root: &mut Node) -> Option<&mut Value> {
    match &mut root.value {
        Value::Map(entries) => entries
            .iter_mut()
            .find(|(k, _)| k.as_scalar() == Some("services"))
            .map(|(_, v)| &mut v.value),
        _ => None,
    }
}
