//! From a folder (or an explicit `-f` list) to a [`Project`]: discovery, `.env`, interpolation,
//! `extends`, override merging, profiles and validation, in the order the Compose specification
//! applies them.

mod nginx;
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use crate::dotenv;
use crate::error::LoadError;
use crate::interpolate::{interpolate, InterpolationError};
use crate::merge::{merge_service, merge_top_level, normalize_service};
use crate::model::*;
use crate::yaml::{self, MergeTag, Node, Pos, Value};

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

const CANDIDATES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
const OVERRIDES: [&str; 4] = [
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// Finds the compose files for `dir`: the first candidate name found in `dir` or its nearest
/// parent that has one, plus the override file beside it.
pub fn discover(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut current = Some(dir);
    while let Some(d) = current {
        if let Some(base) = CANDIDATES.iter().map(|n| d.join(n)).find(|p| p.is_file()) {
            let mut files = vec![base];
            if let Some(ov) = OVERRIDES.iter().map(|n| d.join(n)).find(|p| p.is_file()) {
                files.push(ov);
            }
            return Ok(files);
        }
        current = d.parent();
    }
    Err(LoadError::NoComposeFile {
        dir: dir.to_path_buf(),
    })
}

/// Lowercase, keep `[a-z0-9_-]`, and drop leading `_`/`-`: Compose's project-name rule.
pub fn normalize_project_name(name: &str) -> String {
    let lowered: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    lowered.trim_start_matches(['_', '-']).to_owned()
}

/// Makes `p` absolute against `base` and removes `.` and `..` without touching the disk.
pub(crate) fn absolutize(base: &Path, p: &str, home: Option<&str>) -> PathBuf {
    let expanded: PathBuf = if let (Some(rest), Some(home)) = (p.strip_prefix('~'), home) {
        PathBuf::from(format!("{home}{rest}"))
    } else {
        PathBuf::from(p)
    };
    let joined = if expanded.is_absolute() || is_windows_absolute(p) {
        expanded
    } else {
        base.join(expanded)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

pub(crate) fn is_windows_absolute(p: &str) -> bool {
    let b = p.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/')
}

/// The variables interpolation sees: the shell first, then the env files.
struct Environment {
    shell: HashMap<String, String>,
    dotenv: HashMap<String, String>,
}

impl Environment {
    fn get(&self, k: &str) -> Option<String> {
        self.shell.get(k).or_else(|| self.dotenv.get(k)).cloned()
    }
}

struct Loader {
    env: Environment,
    working_dir: PathBuf,
    warnings: Vec<String>,
    /// Parsed, interpolated and normalised files, so `extends` reads each file once.
    cache: HashMap<(PathBuf, PathBuf), Arc<Node>>,
    /// Every file read or looked for, in order: what a session watches.
    read: Vec<PathBuf>,
}

pub fn load(opts: &LoadOptions) -> Result<Project, LoadError> {
    let cwd = opts.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let cwd = absolutize(
        &std::env::current_dir().unwrap_or_default(),
        &cwd.to_string_lossy(),
        None,
    );

    // `.env` is read before discovery because it may set COMPOSE_FILE and COMPOSE_PROJECT_NAME.
    let mut dotenv_vars = HashMap::new();
    let env_files: Vec<PathBuf> = if opts.env_files.is_empty() {
        let default = cwd.join(".env");
        if default.is_file() {
            vec![default]
        } else {
            vec![]
        }
    } else {
        opts.env_files
            .iter()
            .map(|p| absolutize(&cwd, &p.to_string_lossy(), None))
            .collect()
    };
    for f in &env_files {
        let text = std::fs::read_to_string(f).map_err(|source| LoadError::Read {
            path: f.clone(),
            source,
        })?;
        let shell = &opts.env;
        let snapshot = dotenv_vars.clone();
        let entries = dotenv::parse(&text, &|k| {
            shell.get(k).or_else(|| snapshot.get(k)).cloned()
        })
        .map_err(|e| LoadError::EnvFile {
            file: f.clone(),
            line: e.line,
            message: e.message,
        })?;
        for e in entries {
            if let Some(v) = e.value {
                dotenv_vars.insert(e.key, v);
            }
        }
    }
    let env = Environment {
        shell: opts.env.clone(),
        dotenv: dotenv_vars,
    };

    let files: Vec<PathBuf> = if !opts.files.is_empty() {
        opts.files
            .iter()
            .map(|p| absolutize(&cwd, &p.to_string_lossy(), None))
            .collect()
    } else if let Some(list) = env.get("COMPOSE_FILE").filter(|s| !s.is_empty()) {
        let sep = env
            .get("COMPOSE_PATH_SEPARATOR")
            .unwrap_or_else(|| if cfg!(windows) { ";" } else { ":" }.into());
        let listed: Vec<PathBuf> = list
            .split(sep.as_str())
            .filter(|s| !s.is_empty())
            .map(|p| absolutize(&cwd, p, None))
            .collect();
        // `COMPOSE_FILE=:` names no file at all: discover, as if it were unset.
        if listed.is_empty() {
            discover(&cwd)?
        } else {
            listed
        }
    } else {
        discover(&cwd)?
    };
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
    };

    let mut merged: Option<Node> = None;
    for f in &files {
        let node = loader.load_file(f, &working_dir)?;
        let node = loader.resolve_extends(&node, f, &mut Vec::new())?;
        merged = Some(match merged {
            None => node,
            Some(base) => merge_top_level(&base, &node),
        });
    }
    let root = merged.unwrap_or_else(|| {
        Node::new(
            Value::Null,
            Pos {
                file: Arc::from(""),
                line: 1,
                col: 1,
            },
        )
    });

    let name = opts
        .project_name
        .clone()
        .or_else(|| {
            loader
                .env
                .get("COMPOSE_PROJECT_NAME")
                .filter(|s| !s.is_empty())
        })
        .or_else(|| {
            root.get("name")
                .and_then(|n| n.as_scalar())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| {
            working_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    let name = normalize_project_name(&name);

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
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let shown = self.display_path(path);
        let mut root = yaml::parse(&text, &shown).map_err(|e| LoadError::Yaml {
            pos: e.pos,
            message: e.message,
        })?;
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
        self.check_top_level(&root);
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
        let root = Arc::new(root);
        self.cache.insert(cache_key, root.clone());
        Ok(root)
    }

    fn check_top_level(&mut self, root: &Node) {
        let Some(map) = root.as_map() else { return };
        for (k, _) in map {
            let key = k.as_scalar().unwrap_or_default();
            match key {
                "version" | "name" | "services" | "networks" | "volumes" | "secrets"
                | "configs" => {}
                "include" => self.warnings.push(format!(
                    "{}: `include` is not supported yet; the included files are not shown",
                    k.pos
                )),
                k2 if k2.starts_with("x-") => {}
                other => self.warnings.push(format!(
                    "{}: unknown top-level key `{other}` ignored",
                    k.pos
                )),
            }
        }
    }

    fn interpolate_tree(&mut self, node: &mut Node, path: &str) -> Result<(), LoadError> {
        match &mut node.value {
            Value::Scalar { text, .. } => {
                if !text.contains('$') {
                    return Ok(());
                }
                let env = &self.env;
                match interpolate(text, &|k| env.get(k)) {
                    Ok(r) => {
                        for var in r.unset {
                            let w = format!(
                                "{}: the {var} variable is not set; defaulting to a blank string",
                                node.pos
                            );
                            if !self.warnings.contains(&w) {
                                self.warnings.push(w);
                            }
                        }
                        *text = r.value;
                    }
                    Err(InterpolationError::Required { variable, message }) => {
                        return Err(LoadError::MissingVariable {
                            pos: node.pos.clone(),
                            variable,
                            message,
                        })
                    }
                    Err(InterpolationError::Invalid { template }) => {
                        return Err(LoadError::InvalidInterpolation {
                            pos: node.pos.clone(),
                            template: masked_template(path, &template),
                        })
                    }
                }
            }
            Value::Seq(items) => {
                for item in items {
                    self.interpolate_tree(item, path)?;
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    let key = k.as_scalar().unwrap_or_default();
                    // Extension fields are free-form; Compose does not interpolate them at the top.
                    if path.is_empty() && key.starts_with("x-") {
                        continue;
                    }
                    let child = if path.is_empty() {
                        key.to_owned()
                    } else {
                        format!("{path}.{key}")
                    };
                    self.interpolate_tree(v, &child)?;
                }
            }
            Value::Null => {}
        }
        Ok(())
    }

    /// Returns `file_root` with every service's `extends` applied.
    fn resolve_extends(
        &mut self,
        file_root: &Node,
        file: &Path,
        chain: &mut Vec<String>,
    ) -> Result<Node, LoadError> {
        let mut root = file_root.clone();
        let names: Vec<String> = root
            .get("services")
            .and_then(Node::as_map)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, _)| k.as_scalar().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for name in names {
            let resolved = self.extended_service(file_root, file, &name, chain)?;
            if let Some(Value::Map(services)) = root_services_mut(&mut root) {
                if let Some((_, v)) = services
                    .iter_mut()
                    .find(|(k, _)| k.as_scalar() == Some(name.as_str()))
                {
                    *v = resolved;
                }
            }
        }
        Ok(root)
    }

    fn extended_service(
        &mut self,
        file_root: &Node,
        file: &Path,
        name: &str,
        chain: &mut Vec<String>,
    ) -> Result<Node, LoadError> {
        let Some(service) = file_root.get("services").and_then(|s| s.get(name)) else {
            return Err(LoadError::ExtendsServiceMissing {
                pos: file_root.pos.clone(),
                service: chain.last().cloned().unwrap_or_default(),
                base: name.to_owned(),
                file: self.display_path(file),
            });
        };
        let Some(ext) = service.get("extends") else {
            return Ok(service.clone());
        };
        let key = format!("{}#{name}", file.display());
        if chain.contains(&key) {
            let mut names: Vec<String> = chain
                .iter()
                .map(|k| k.rsplit('#').next().unwrap_or(k).to_owned())
                .collect();
            names.push(name.to_owned());
            return Err(LoadError::ExtendsCycle {
                pos: ext.pos.clone(),
                chain: names,
            });
        }
        let (base_name, base_file) = match &ext.value {
            Value::Scalar { text, .. } => (text.clone(), None),
            Value::Map(_) => {
                let svc = ext
                    .get("service")
                    .and_then(Node::as_scalar)
                    .ok_or_else(|| {
                        LoadError::ty(
                            &ext.pos,
                            &format!("services.{name}.extends"),
                            "needs a `service` name",
                        )
                    })?;
                (
                    svc.to_owned(),
                    ext.get("file").and_then(Node::as_scalar).map(str::to_owned),
                )
            }
            _ => {
                return Err(LoadError::ty(
                    &ext.pos,
                    &format!("services.{name}.extends"),
                    "expected a service name or a mapping",
                ))
            }
        };
        chain.push(key);
        let base = match base_file {
            None => {
                if file_root
                    .get("services")
                    .and_then(|s| s.get(&base_name))
                    .is_none()
                {
                    return Err(LoadError::ExtendsServiceMissing {
                        pos: ext.pos.clone(),
                        service: name.to_owned(),
                        base: base_name,
                        file: self.display_path(file),
                    });
                }
                self.extended_service(file_root, file, &base_name, chain)?
            }
            Some(rel) => {
                let dir = file.parent().unwrap_or(Path::new("."));
                let other = absolutize(dir, &rel, None);
                if !other.is_file() {
                    return Err(LoadError::ExtendsFileMissing {
                        pos: ext.pos.clone(),
                        service: name.to_owned(),
                        file: other,
                    });
                }
                // Paths inside an extended file are relative to that file.
                let other_dir = other.parent().map(Path::to_path_buf).unwrap_or_default();
                let other_root = self.load_file(&other, &other_dir)?;
                if other_root
                    .get("services")
                    .and_then(|s| s.get(&base_name))
                    .is_none()
                {
                    return Err(LoadError::ExtendsServiceMissing {
                        pos: ext.pos.clone(),
                        service: name.to_owned(),
                        base: base_name,
                        file: self.display_path(&other),
                    });
                }
                self.extended_service(&other_root, &other, &base_name, chain)?
            }
        };
        chain.pop();
        let mut local = service.clone();
        if let Value::Map(entries) = &mut local.value {
            entries.retain(|(k, _)| k.as_scalar() != Some("extends"));
        }
        let mut base = base;
        // `depends_on`, `links`, `volumes_from` and `network_mode: service:` are never inherited.
        if let Value::Map(entries) = &mut base.value {
            entries.retain(|(k, _)| {
                !matches!(
                    k.as_scalar(),
                    Some("depends_on" | "links" | "volumes_from" | "network_mode")
                )
            });
        }
        Ok(merge_service(&base, &local))
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
        let mut inactive = Vec::new();
        for (n, s) in all {
            if active(&s) {
                services.insert(n, s);
            } else {
                inactive.push(n);
            }
        }

        for (sname, svc) in &services {
            for (dep, d) in &svc.depends_on {
                if services.contains_key(dep) {
                    continue;
                }
                if inactive.contains(dep) {
                    self.warnings.push(format!(
                        "{}: service {sname:?} depends on {dep:?}, which no active profile enables; compose will refuse to start it until the profile is enabled",
                        d.pos
                    ));
                } else if d.required {
                    return Err(LoadError::UndefinedDependency {
                        pos: d.pos.clone(),
                        service: sname.clone(),
                        dependency: dep.clone(),
                    });
                }
            }
        }
        if let Some(cycle) = find_cycle(&services) {
            return Err(LoadError::DependencyCycle { services: cycle });
        }

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
        for (sname, svc) in &services {
            for net in svc.networks.keys() {
                if !networks.contains_key(net) {
                    self.warnings.push(format!(
                        "{}: service {sname:?} uses network {net:?}, which is not declared under top-level `networks`",
                        svc.pos
                    ));
                }
            }
            for m in &svc.volumes {
                if m.kind == MountKind::Volume {
                    let src = m.source.as_deref().unwrap_or_default();
                    if !volumes.contains_key(src) {
                        self.warnings.push(format!(
                            "{}: service {sname:?} mounts volume {src:?}, which is not declared under top-level `volumes`",
                            m.pos
                        ));
                    }
                }
            }
        }

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

    fn convert_networks(&mut self, root: &Node) -> Result<IndexMap<String, Network>, LoadError> {
        let mut out = IndexMap::new();
        let Some(nets) = root.get("networks") else {
            return Ok(out);
        };
        if nets.is_null() {
            return Ok(out);
        }
        let Some(map) = nets.as_map() else {
            return Err(LoadError::ty(&nets.pos, "networks", "expected a mapping"));
        };
        for (k, v) in map {
            let name = k.as_scalar().unwrap_or_default().to_owned();
            let mut n = Network::default();
            if let Some(m) = v.as_map() {
                for (kk, vv) in m {
                    match kk.as_scalar().unwrap_or_default() {
                        "driver" => n.driver = vv.as_scalar().map(str::to_owned),
                        "internal" => {
                            n.internal = bool_of(vv, &format!("networks.{name}.internal"))?
                        }
                        "external" => {
                            n.external = match &vv.value {
                                Value::Map(_) => true,
                                _ => bool_of(vv, &format!("networks.{name}.external"))?,
                            }
                        }
                        "name" => n.name = vv.as_scalar().map(str::to_owned),
                        "driver_opts" | "ipam" | "attachable" | "enable_ipv6" | "labels"
                        | "enable_ipv4" => {}
                        other if other.starts_with("x-") => {}
                        other => self.warnings.push(format!(
                            "{}: unknown key `{other}` in network {name:?} ignored",
                            kk.pos
                        )),
                    }
                }
            } else if !v.is_null() {
                return Err(LoadError::ty(
                    &v.pos,
                    &format!("networks.{name}"),
                    "expected a mapping",
                ));
            }
            out.insert(name, n);
        }
        Ok(out)
    }

    fn convert_volumes(&mut self, root: &Node) -> Result<IndexMap<String, NamedVolume>, LoadError> {
        let mut out = IndexMap::new();
        let Some(vols) = root.get("volumes") else {
            return Ok(out);
        };
        if vols.is_null() {
            return Ok(out);
        }
        let Some(map) = vols.as_map() else {
            return Err(LoadError::ty(&vols.pos, "volumes", "expected a mapping"));
        };
        for (k, v) in map {
            let name = k.as_scalar().unwrap_or_default().to_owned();
            let mut vol = NamedVolume::default();
            if let Some(m) = v.as_map() {
                for (kk, vv) in m {
                    match kk.as_scalar().unwrap_or_default() {
                        "driver" => vol.driver = vv.as_scalar().map(str::to_owned),
                        "external" => {
                            vol.external = match &vv.value {
                                Value::Map(_) => true,
                                _ => bool_of(vv, &format!("volumes.{name}.external"))?,
                            }
                        }
                        "name" => vol.name = vv.as_scalar().map(str::to_owned),
                        "driver_opts" | "labels" => {}
                        other if other.starts_with("x-") => {}
                        other => self.warnings.push(format!(
                            "{}: unknown key `{other}` in volume {name:?} ignored",
                            kk.pos
                        )),
                    }
                }
            } else if !v.is_null() {
                return Err(LoadError::ty(
                    &v.pos,
                    &format!("volumes.{name}"),
                    "expected a mapping",
                ));
            }
            out.insert(name, vol);
        }
        Ok(out)
    }

    fn convert_service(&mut self, name: &str, node: &Node) -> Result<Service, LoadError> {
        let path = |k: &str| format!("services.{name}.{k}");
        let mut svc = Service {
            name: name.to_owned(),
            pos: node.pos.clone(),
            image: None,
            build: None,
            command: None,
            entrypoint: None,
            container_name: None,
            ports: Vec::new(),
            volumes: Vec::new(),
            networks: IndexMap::new(),
            network_mode: None,
            depends_on: IndexMap::new(),
            links: Vec::new(),
            volumes_from: Vec::new(),
            environment: IndexMap::new(),
            healthcheck: None,
            profiles: Vec::new(),
            restart: None,
            labels: IndexMap::new(),
            init: false,
            replicas: 1,
        };
        let mut env_files: Vec<(PathBuf, bool, Pos)> = Vec::new();
        let mut declared_env: Vec<(String, Option<String>, Pos)> = Vec::new();
        let mut has_networks_key = false;
        for (k, v) in node.as_map().unwrap_or_default() {
            let key = k.as_scalar().unwrap_or_default();
            if v.tag == MergeTag::Reset {
                continue;
            }
            match key {
                "image" => svc.image = Some(scalar_of(v, &path(key))?),
                "container_name" => svc.container_name = Some(scalar_of(v, &path(key))?),
                "restart" => svc.restart = Some(scalar_of(v, &path(key))?),
                "init" => svc.init = bool_of(v, &path(key))?,
                "command" => svc.command = command_of(v, &path(key))?,
                "entrypoint" => svc.entrypoint = command_of(v, &path(key))?,
                "build" => svc.build = Some(build_of(v, &path(key))?),
                "ports" => {
                    for item in seq_of(v, &path(key))? {
                        svc.ports
                            .extend(crate::ports::parse_port(item, &path(key))?);
                    }
                }
                "volumes" => {
                    for item in seq_of(v, &path(key))? {
                        svc.volumes.push(mount_of(item, &path(key))?);
                    }
                }
                "networks" => {
                    has_networks_key = true;
                    for (nk, nv) in map_of(v, &path(key))? {
                        let net = nk.as_scalar().unwrap_or_default().to_owned();
                        let mut sn = ServiceNetwork::default();
                        if let Some(m) = nv.as_map() {
                            for (ak, av) in m {
                                match ak.as_scalar().unwrap_or_default() {
                                    "aliases" => {
                                        for a in seq_of(av, &path("networks.aliases"))? {
                                            sn.aliases
                                                .push(scalar_of(a, &path("networks.aliases"))?);
                                        }
                                    }
                                    "ipv4_address" => {
                                        sn.ipv4_address = av.as_scalar().map(str::to_owned)
                                    }
                                    _ => {}
                                }
                            }
                        }
                        svc.networks.insert(net, sn);
                    }
                }
                "network_mode" => {
                    svc.network_mode = Some(Located {
                        value: scalar_of(v, &path(key))?,
                        pos: v.pos.clone(),
                    })
                }
                "depends_on" => {
                    for (dk, dv) in map_of(v, &path(key))? {
                        let dep = dk.as_scalar().unwrap_or_default().to_owned();
                        let mut condition = DependencyCondition::Started;
                        let mut required = true;
                        if let Some(m) = dv.as_map() {
                            for (ck, cv) in m {
                                match ck.as_scalar().unwrap_or_default() {
                                    "condition" => {
                                        condition = match cv.as_scalar().unwrap_or_default() {
                                            "service_started" => DependencyCondition::Started,
                                            "service_healthy" => DependencyCondition::Healthy,
                                            "service_completed_successfully" => {
                                                DependencyCondition::CompletedSuccessfully
                                            }
                                            other => {
                                                return Err(LoadError::ty(
                                                    &cv.pos,
                                                    &path("depends_on.condition"),
                                                    format!("unknown condition {other:?}; expected service_started, service_healthy or service_completed_successfully"),
                                                ))
                                            }
                                        }
                                    }
                                    "required" => required = bool_of(cv, &path("depends_on.required"))?,
                                    _ => {}
                                }
                            }
                        }
                        svc.depends_on.insert(
                            dep,
                            Dependency {
                                condition,
                                required,
                                pos: dk.pos.clone(),
                            },
                        );
                    }
                }
                "links" => {
                    for item in seq_of(v, &path(key))? {
                        let text = scalar_of(item, &path(key))?;
                        let target = text.split(':').next().unwrap_or_default().to_owned();
                        svc.links.push(Located {
                            value: target,
                            pos: item.pos.clone(),
                        });
                    }
                }
                "volumes_from" => {
                    for item in seq_of(v, &path(key))? {
                        let text = scalar_of(item, &path(key))?;
                        svc.volumes_from.push(Located {
                            value: text,
                            pos: item.pos.clone(),
                        });
                    }
                }
                "environment" => {
                    for (ek, ev) in map_of(v, &path(key))? {
                        let name = ek.as_scalar().unwrap_or_default().to_owned();
                        let value = match &ev.value {
                            Value::Null => None,
                            Value::Scalar { text, .. } => Some(text.clone()),
                            _ => {
                                return Err(LoadError::ty(
                                    &ev.pos,
                                    &path("environment"),
                                    format!("{name} must be a string, number, boolean or null"),
                                ))
                            }
                        };
                        declared_env.push((name, value, ek.pos.clone()));
                    }
                }
                "env_file" => {
                    for item in seq_of(v, &path(key))? {
                        let p = item.get("path").and_then(Node::as_scalar).ok_or_else(|| {
                            LoadError::ty(&item.pos, &path(key), "expected a path")
                        })?;
                        let required = match item.get("required") {
                            Some(r) => bool_of(r, &path("env_file.required"))?,
                            None => true,
                        };
                        env_files.push((PathBuf::from(p), required, item.pos.clone()));
                    }
                }
                "healthcheck" => svc.healthcheck = Some(healthcheck_of(v, &path(key))?),
                "scale" => svc.replicas = replicas_of(v, &path(key))?,
                "deploy" => {
                    if let Some(r) = v.get("replicas") {
                        svc.replicas = replicas_of(r, &path("deploy.replicas"))?;
                    }
                }
                "profiles" => {
                    for item in seq_of(v, &path(key))? {
                        svc.profiles.push(scalar_of(item, &path(key))?);
                    }
                }
                "labels" => {
                    for (lk, lv) in map_of(v, &path(key))? {
                        svc.labels.insert(
                            lk.as_scalar().unwrap_or_default().to_owned(),
                            lv.as_scalar().unwrap_or_default().to_owned(),
                        );
                    }
                }
                k2 if KNOWN_SERVICE_KEYS.contains(&k2) || k2.starts_with("x-") => {}
                other => self.warnings.push(format!(
                    "{}: unknown key `{other}` in service {name:?} ignored",
                    k.pos
                )),
            }
        }
        if svc.image.is_none() && svc.build.is_none() {
            return Err(LoadError::NoImage {
                pos: node.pos.clone(),
                service: name.to_owned(),
            });
        }
        if !has_networks_key && svc.network_mode.is_none() {
            svc.networks
                .insert("default".into(), ServiceNetwork::default());
        }

        for (file, required, pos) in env_files {
            self.read.push(file.clone());
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if required {
                        return Err(LoadError::EnvFileMissing { file, pos });
                    }
                    continue;
                }
                Err(source) => return Err(LoadError::Read { path: file, source }),
            };
            let env = &self.env;
            let entries =
                dotenv::parse(&text, &|k| env.get(k)).map_err(|e| LoadError::EnvFile {
                    file: file.clone(),
                    line: e.line,
                    message: e.message,
                })?;
            let shown: Arc<str> = Arc::from(self.display_path(&file));
            for e in entries {
                let value = match e.value {
                    Some(v) => Some(v),
                    None => self.env.shell.get(&e.key).cloned(),
                };
                if let Some(value) = value {
                    svc.environment.insert(
                        e.key,
                        EnvVar {
                            value,
                            pos: Pos {
                                file: shown.clone(),
                                line: e.line,
                                col: 1,
                            },
                        },
                    );
                }
            }
        }
        for (k, v, pos) in declared_env {
            // `KEY` alone (or `KEY:` with no value) takes the value from the shell, or is unset.
            let value = v.or_else(|| self.env.get(&k));
            match value {
                Some(value) => {
                    svc.environment.insert(k, EnvVar { value, pos });
                }
                None => {
                    svc.environment.shift_remove(&k);
                }
            }
        }
        Ok(svc)
    }
}

/// An error message must not print a password: mask the value when its key (or its `KEY=` prefix
/// in list syntax) names a secret, and any URL password in it.
fn masked_template(path: &str, template: &str) -> String {
    let key = path.rsplit('.').next().unwrap_or_default();
    if crate::mask::is_secret_name(key) {
        return crate::mask::MASK.to_owned();
    }
    if let Some((k, _)) = template.split_once('=') {
        if crate::mask::is_secret_name(k) {
            return format!("{k}={}", crate::mask::MASK);
        }
    }
    crate::mask::mask_url_passwords(template)
}

/// Every key of a service in the Compose specification that Berth does not model itself.
const KNOWN_SERVICE_KEYS: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "configs",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "driver_opts",
    "expose",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "hostname",
    "ipc",
    "isolation",
    "label_file",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "post_start",
    "pre_stop",
    "privileged",
    "provider",
    "pull_policy",
    "read_only",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volume_driver",
    "working_dir",
    "extends",
    "mem_swappiness",
];

fn root_services_mut(root: &mut Node) -> Option<&mut Value> {
    match &mut root.value {
        Value::Map(entries) => entries
            .iter_mut()
            .find(|(k, _)| k.as_scalar() == Some("services"))
            .map(|(_, v)| &mut v.value),
        _ => None,
    }
}

pub(crate) fn display_path(working_dir: &Path, p: &Path) -> String {
    match p.strip_prefix(working_dir) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
        _ => p.to_string_lossy().into_owned(),
    }
}

pub(crate) fn scalar_of(n: &Node, path: &str) -> Result<String, LoadError> {
    n.as_scalar().map(str::to_owned).ok_or_else(|| {
        LoadError::ty(
            &n.pos,
            path,
            format!("expected a string, found {}", n.kind_name()),
        )
    })
}

pub(crate) fn bool_of(n: &Node, path: &str) -> Result<bool, LoadError> {
    match n.as_scalar() {
        Some("true" | "True" | "TRUE" | "yes" | "on") => Ok(true),
        Some("false" | "False" | "FALSE" | "no" | "off") => Ok(false),
        _ => Err(LoadError::ty(
            &n.pos,
            path,
            format!("expected true or false, found {}", describe(n)),
        )),
    }
}

fn replicas_of(n: &Node, path: &str) -> Result<u32, LoadError> {
    let s = scalar_of(n, path)?;
    s.parse().map_err(|_| {
        LoadError::ty(
            &n.pos,
            path,
            format!("expected a whole number of replicas, found {s:?}"),
        )
    })
}

fn describe(n: &Node) -> String {
    match n.as_scalar() {
        Some(s) => format!("{s:?}"),
        None => n.kind_name().to_owned(),
    }
}

pub(crate) fn seq_of<'a>(n: &'a Node, path: &str) -> Result<&'a [Node], LoadError> {
    match &n.value {
        Value::Seq(items) => Ok(items),
        Value::Null => Ok(&[]),
        _ => Err(LoadError::ty(
            &n.pos,
            path,
            format!("expected a list, found {}", n.kind_name()),
        )),
    }
}

fn map_of<'a>(n: &'a Node, path: &str) -> Result<&'a [(Node, Node)], LoadError> {
    match &n.value {
        Value::Map(m) => Ok(m),
        Value::Null => Ok(&[]),
        _ => Err(LoadError::ty(
            &n.pos,
            path,
            format!("expected a mapping, found {}", n.kind_name()),
        )),
    }
}

fn command_of(n: &Node, path: &str) -> Result<Option<String>, LoadError> {
    match &n.value {
        Value::Null => Ok(None),
        Value::Scalar { text, .. } => Ok(Some(text.clone())),
        Value::Seq(items) => {
            let parts: Result<Vec<String>, _> = items.iter().map(|i| scalar_of(i, path)).collect();
            Ok(Some(parts?.join(" ")))
        }
        Value::Map(_) => Err(LoadError::ty(&n.pos, path, "expected a string or a list")),
    }
}

fn build_of(n: &Node, path: &str) -> Result<Build, LoadError> {
    let mut b = Build {
        context: ".".into(),
        dockerfile: None,
        target: None,
        args: IndexMap::new(),
    };
    let Some(m) = n.as_map() else {
        return Err(LoadError::ty(&n.pos, path, "expected a path or a mapping"));
    };
    for (k, v) in m {
        match k.as_scalar().unwrap_or_default() {
            "context" => b.context = scalar_of(v, path)?,
            "dockerfile" => b.dockerfile = Some(scalar_of(v, path)?),
            "target" => b.target = Some(scalar_of(v, path)?),
            "args" => {
                if let Some(am) = v.as_map() {
                    for (ak, av) in am {
                        b.args.insert(
                            ak.as_scalar().unwrap_or_default().to_owned(),
                            av.as_scalar().unwrap_or_default().to_owned(),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    Ok(b)
}

fn mount_of(n: &Node, path: &str) -> Result<Mount, LoadError> {
    // `normalize_service` has already turned short syntax into the long form.
    let kind = match n.get("type").and_then(Node::as_scalar) {
        Some("bind") => MountKind::Bind,
        Some("volume") => MountKind::Volume,
        Some("tmpfs") => MountKind::Tmpfs,
        Some("anonymous") => MountKind::Anonymous,
        Some("npipe" | "cluster" | "image") => MountKind::Bind,
        Some(other) => {
            return Err(LoadError::ty(
                &n.pos,
                path,
                format!("unknown volume type {other:?}"),
            ))
        }
        None => return Err(LoadError::ty(&n.pos, path, "a volume needs a `type`")),
    };
    let target = n
        .get("target")
        .and_then(Node::as_scalar)
        .ok_or_else(|| LoadError::ty(&n.pos, path, "a volume needs a `target`"))?
        .to_owned();
    let read_only = match n.get("read_only") {
        Some(r) => bool_of(r, path)?,
        None => false,
    };
    let kind = if kind == MountKind::Volume && n.get("source").is_none() {
        MountKind::Anonymous
    } else {
        kind
    };
    Ok(Mount {
        kind,
        source: n.get("source").and_then(Node::as_scalar).map(str::to_owned),
        target,
        read_only,
        pos: n.pos.clone(),
    })
}

fn healthcheck_of(n: &Node, path: &str) -> Result<Healthcheck, LoadError> {
    let mut h = Healthcheck {
        test: Vec::new(),
        interval: None,
        timeout: None,
        retries: None,
        start_period: None,
        disabled: false,
    };
    let Some(m) = n.as_map() else {
        return Err(LoadError::ty(&n.pos, path, "expected a mapping"));
    };
    for (k, v) in m {
        match k.as_scalar().unwrap_or_default() {
            "test" => {
                h.test = match &v.value {
                    Value::Scalar { text, .. } => vec!["CMD-SHELL".into(), text.clone()],
                    Value::Seq(items) => items
                        .iter()
                        .map(|i| scalar_of(i, path))
                        .collect::<Result<_, _>>()?,
                    _ => {
                        return Err(LoadError::ty(
                            &v.pos,
                            path,
                            "test must be a string or a list",
                        ))
                    }
                }
            }
            "interval" => h.interval = v.as_scalar().map(str::to_owned),
            "timeout" => h.timeout = v.as_scalar().map(str::to_owned),
            "start_period" => h.start_period = v.as_scalar().map(str::to_owned),
            "retries" => {
                let s = scalar_of(v, path)?;
                h.retries = Some(s.parse().map_err(|_| {
                    LoadError::ty(
                        &v.pos,
                        path,
                        format!("retries must be a whole number, found {s:?}"),
                    )
                })?)
            }
            "disable" => h.disabled = bool_of(v, path)?,
            _ => {}
        }
    }
    if h.test.first().map(String::as_str) == Some("NONE") {
        h.disabled = true;
    }
    Ok(h)
}

/// Finds one `depends_on` cycle, listed as the services along it with the first repeated last.
fn find_cycle(services: &IndexMap<String, Service>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit(
        name: &str,
        services: &IndexMap<String, Service>,
        marks: &mut HashMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(name) {
            Some(Mark::Done) => return None,
            Some(Mark::Visiting) => {
                let start = stack.iter().position(|s| s == name).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(name.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(name.to_owned(), Mark::Visiting);
        stack.push(name.to_owned());
        if let Some(s) = services.get(name) {
            for dep in s.depends_on.keys() {
                if services.contains_key(dep) {
                    if let Some(c) = visit(dep, services, marks, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        marks.insert(name.to_owned(), Mark::Done);
        None
    }
    let mut marks = HashMap::new();
    let mut seen = HashSet::new();
    for name in services.keys() {
        if seen.insert(name.clone()) {
            if let Some(c) = visit(name, services, &mut marks, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}
