//! What a snapshot of a stack saves, read from the compose model alone: which services hold a
//! database (and how to log in to it), and which named volumes are plain files.
//!
//! A database's own data volume is saved by its logical dump, never as files: a copy of a live
//! PostgreSQL or MariaDB folder is not consistent, and a dump restores across minor versions.

use indexmap::IndexMap;
use serde::Serialize;

use crate::model::{MountKind, Project, Service};

/// How a piece of a stack's data is saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataKind {
    Postgres,
    Mysql,
    Mariadb,
    Redis,
    /// A named volume as a tar archive.
    Volume,
}

impl DataKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DataKind::Postgres => "postgres",
            DataKind::Mysql => "mysql",
            DataKind::Mariadb => "mariadb",
            DataKind::Redis => "redis",
            DataKind::Volume => "volume",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "postgres" => DataKind::Postgres,
            "mysql" => DataKind::Mysql,
            "mariadb" => DataKind::Mariadb,
            "redis" => DataKind::Redis,
            "volume" => DataKind::Volume,
            _ => return None,
        })
    }

    /// The same server family: a MySQL dump loads into MariaDB and back.
    pub fn same_family(self, other: DataKind) -> bool {
        use DataKind::*;
        self == other || matches!((self, other), (Mysql, Mariadb) | (Mariadb, Mysql))
    }
}

/// A database server in a service, with the login its environment gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub kind: DataKind,
    pub user: String,
    /// The password, from the service's environment (never printed; given to the dump tool in
    /// its environment, not on its command line).
    pub password: Option<String>,
    /// The folder the server keeps its data in, inside the container.
    pub data_dir: &'static str,
}

/// A named volume as the engine calls it, and who mounts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataVolume {
    /// The key in the compose file (`db-data`).
    pub key: String,
    /// The engine's name (`shop_db-data`, or the `name:` set).
    pub name: String,
    /// Services that mount it writable: stopped while it is archived.
    pub writers: Vec<String>,
    /// Services that mount it at all, in file order.
    pub users: Vec<String>,
    /// Where the first user mounts it (for the sentence only).
    pub target: String,
    pub external: bool,
}

/// One service's part of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceData {
    pub service: String,
    pub database: Option<Database>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataPlan {
    /// Services with a database, in file order.
    pub databases: Vec<ServiceData>,
    /// Named volumes that are not a database's data folder, in first-use order.
    pub volumes: Vec<DataVolume>,
    /// Database data volumes, saved by the dump while the server runs and archived as files
    /// only when it is stopped (a stopped server's files are consistent).
    pub covered: Vec<Covered>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Covered {
    pub volume: DataVolume,
    /// The database service whose data it is.
    pub service: String,
}

/// The database `service` runs, from its image name (the role the graph gives it too) and, for
/// an image whose name says nothing, the official images' variables in its environment.
pub fn database_of(service: &Service) -> Option<Database> {
    let image = service.image.as_deref().unwrap_or("").to_ascii_lowercase();
    // The repository's last part without tag: `bitnami/postgresql:16` → `postgresql`.
    let repo = image
        .rsplit('/')
        .next()
        .unwrap_or("")
        .split([':', '@'])
        .next()
        .unwrap_or("");
    let env = |k: &str| {
        service
            .environment
            .get(k)
            .map(|v| v.value.clone())
            .filter(|v| !v.is_empty())
    };
    let has = |k: &str| service.environment.contains_key(k);
    let kind = if [
        "postgres",
        "postgresql",
        "postgis",
        "timescaledb",
        "pgvector",
    ]
    .iter()
    .any(|n| repo.starts_with(n))
    {
        DataKind::Postgres
    } else if repo.starts_with("mariadb") {
        DataKind::Mariadb
    } else if repo.starts_with("mysql") || repo.starts_with("percona") {
        DataKind::Mysql
    } else if ["redis", "valkey", "keydb"]
        .iter()
        .any(|n| repo.starts_with(n))
    {
        DataKind::Redis
    } else if has("POSTGRES_PASSWORD") || has("POSTGRES_USER") {
        DataKind::Postgres
    } else if has("MARIADB_ROOT_PASSWORD") || has("MARIADB_DATABASE") {
        DataKind::Mariadb
    } else if has("MYSQL_ROOT_PASSWORD") || has("MYSQL_DATABASE") {
        DataKind::Mysql
    } else {
        return None;
    };
    if !runs_server(service, kind) {
        return None;
    }
    Some(match kind {
        DataKind::Postgres => Database {
            kind,
            user: env("POSTGRES_USER").unwrap_or_else(|| "postgres".into()),
            password: env("POSTGRES_PASSWORD"),
            data_dir: "/var/lib/postgresql/data",
        },
        DataKind::Mysql | DataKind::Mariadb => {
            // root sees every database; without its password the app's user is the best login.
            let root = env("MARIADB_ROOT_PASSWORD").or_else(|| env("MYSQL_ROOT_PASSWORD"));
            let (user, password) = match root {
                Some(p) => ("root".to_owned(), Some(p)),
                None => match env("MARIADB_USER").or_else(|| env("MYSQL_USER")) {
                    Some(u) => (u, env("MARIADB_PASSWORD").or_else(|| env("MYSQL_PASSWORD"))),
                    None => ("root".to_owned(), None),
                },
            };
            Database {
                kind,
                user,
                password,
                data_dir: "/var/lib/mysql",
            }
        }
        _ => Database {
            kind,
            user: String::new(),
            password: env("REDIS_PASSWORD").or_else(|| requirepass(service)),
            data_dir: "/data",
        },
    })
}

/// Whether the service runs the image's server, not a client of it from the same image (a
/// `psql` loop, a migration job): its entrypoint is the image's own and its command, if any, is
/// the server or options for it.
fn runs_server(service: &Service, kind: DataKind) -> bool {
    if service.entrypoint.is_some() {
        return false;
    }
    let Some(cmd) = service.command.as_deref() else {
        return true;
    };
    let first = cmd.split_whitespace().next().unwrap_or("");
    let servers: &[&str] = match kind {
        DataKind::Postgres => &["postgres"],
        DataKind::Mysql | DataKind::Mariadb => &["mysqld", "mariadbd", "mysqld_safe"],
        _ => &["redis-server", "valkey-server", "keydb-server"],
    };
    first.starts_with('-')
        || servers
            .iter()
            .any(|s| first == *s || first.ends_with(&format!("/{s}")))
}

/// `redis-server --requirepass X` in the command.
fn requirepass(service: &Service) -> Option<String> {
    let cmd = service.command.as_deref()?;
    let mut words = cmd.split_whitespace();
    while let Some(w) = words.next() {
        if w == "--requirepass" {
            return words.next().map(|p| p.trim_matches(['"', '\'']).to_owned());
        }
    }
    None
}

/// The engine's name of the named volume `key` of `project`, as compose names it.
pub fn volume_name(project: &Project, key: &str) -> String {
    match project.volumes.get(key) {
        Some(v) if v.name.is_some() => v.name.clone().unwrap_or_default(),
        Some(v) if v.external => key.to_owned(),
        _ => format!("{}_{key}", project.name),
    }
}

/// What a snapshot of `services` (every service when empty) saves.
pub fn plan(project: &Project, services: &[String]) -> DataPlan {
    let wanted = |s: &str| services.is_empty() || services.iter().any(|x| x == s);
    let mut out = DataPlan::default();
    let mut volumes: IndexMap<String, DataVolume> = IndexMap::new();
    // Every named volume with all its users, so a volume shared with an unselected service
    // still stops that writer too.
    for (name, svc) in &project.services {
        for m in &svc.volumes {
            let (MountKind::Volume, Some(key)) = (m.kind, m.source.as_ref()) else {
                continue;
            };
            let v = volumes.entry(key.clone()).or_insert_with(|| DataVolume {
                key: key.clone(),
                name: volume_name(project, key),
                writers: Vec::new(),
                users: Vec::new(),
                target: m.target.clone(),
                external: project.volumes.get(key).is_some_and(|v| v.external),
            });
            if !v.users.contains(name) {
                v.users.push(name.clone());
            }
            if !m.read_only && !v.writers.contains(name) {
                v.writers.push(name.clone());
            }
        }
    }
    let mut covered: IndexMap<String, String> = IndexMap::new();
    for (name, svc) in &project.services {
        let Some(db) = database_of(svc) else {
            continue;
        };
        for m in &svc.volumes {
            if let (MountKind::Volume, Some(key)) = (m.kind, m.source.as_ref()) {
                if is_under(&m.target, db.data_dir) {
                    covered.insert(key.clone(), name.clone());
                }
            }
        }
        if wanted(name) {
            out.databases.push(ServiceData {
                service: name.clone(),
                database: Some(db),
            });
        }
    }
    for (key, v) in volumes {
        if let Some(service) = covered.get(&key) {
            if wanted(service) {
                out.covered.push(Covered {
                    volume: v,
                    service: service.clone(),
                });
            }
            continue;
        }
        if v.users.iter().any(|u| wanted(u)) {
            out.volumes.push(v);
        }
    }
    out
}

/// Whether the mount target `target` is `dir` or holds it (a mount of `/var/lib/postgresql`
/// carries `/var/lib/postgresql/data`).
fn is_under(target: &str, dir: &str) -> bool {
    let t = target.trim_end_matches('/');
    dir == t || dir.starts_with(&format!("{t}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(yaml: &str) -> Project {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("compose.yaml"), yaml).expect("write");
        let opts = crate::LoadOptions {
            dir: Some(dir.path().to_path_buf()),
            ..Default::default()
        };
        crate::load(&opts).expect("load")
    }

    #[test]
    fn databases_are_dumped_and_their_data_volumes_left_to_the_dump() {
        let p = project(
            "name: shop\nservices:\n  db:\n    image: postgres:16-alpine\n    environment:\n      POSTGRES_USER: app\n      POSTGRES_PASSWORD: s3cret\n    volumes: [pg:/var/lib/postgresql/data]\n  maria:\n    image: docker.io/library/mysql:8.0\n    environment:\n      MYSQL_ROOT_PASSWORD: rootpw\n    volumes: [my:/var/lib/mysql]\n  cache:\n    image: redis:7-alpine\n    command: redis-server --requirepass hunter2\n  web:\n    image: nginx\n    volumes: [uploads:/srv/uploads, 'pg:/backup:ro']\nvolumes:\n  pg: {}\n  my: {}\n  uploads:\n    name: shared-uploads\n",
        );
        let plan = plan(&p, &[]);
        let dbs: Vec<(&str, DataKind, &str, Option<&str>)> = plan
            .databases
            .iter()
            .map(|s| {
                let d = s.database.as_ref().expect("db");
                (
                    s.service.as_str(),
                    d.kind,
                    d.user.as_str(),
                    d.password.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            dbs,
            vec![
                ("db", DataKind::Postgres, "app", Some("s3cret")),
                ("maria", DataKind::Mysql, "root", Some("rootpw")),
                ("cache", DataKind::Redis, "", Some("hunter2")),
            ],
            "each database found from its image with the login its environment gives"
        );
        let vols: Vec<(&str, &str, Vec<String>)> = plan
            .volumes
            .iter()
            .map(|v| (v.key.as_str(), v.name.as_str(), v.writers.clone()))
            .collect();
        assert_eq!(
            vols,
            vec![("uploads", "shared-uploads", vec!["web".to_owned()])],
            "only the plain volume is archived, under its engine name; the data folders are dumped"
        );
        assert_eq!(
            plan.covered
                .iter()
                .map(|c| (c.volume.key.as_str(), c.service.as_str()))
                .collect::<Vec<_>>(),
            vec![("pg", "db"), ("my", "maria")]
        );
    }

    #[test]
    fn a_selection_keeps_only_its_services_and_an_unknown_image_is_no_database() {
        let p = project(
            "name: s\nservices:\n  app:\n    image: example/app\n    volumes: [files:/data]\n  db:\n    image: example/custom-db\n    environment: {MARIADB_ROOT_PASSWORD: x}\nvolumes:\n  files: {}\n",
        );
        let only_app = plan(&p, &["app".into()]);
        assert!(only_app.databases.is_empty());
        assert_eq!(only_app.volumes.len(), 1);
        assert_eq!(only_app.volumes[0].name, "s_files");
        let client = project(
            "name: c\nservices:\n  psql:\n    image: postgres:16\n    entrypoint: [sh, -c, 'psql -h db']\n  cache:\n    image: redis:7\n    command: redis-server --appendonly yes\n  tool:\n    image: redis:7\n    command: redis-cli -h cache monitor\n",
        );
        let servers: Vec<String> = plan(&client, &[])
            .databases
            .into_iter()
            .map(|d| d.service)
            .collect();
        assert_eq!(
            servers,
            vec!["cache"],
            "a client run from a server's image is not a database"
        );
        let only_db = plan(&p, &["db".into()]);
        assert_eq!(
            only_db.databases[0].database.as_ref().map(|d| d.kind),
            Some(DataKind::Mariadb),
            "an image whose name says nothing is known by the official image's variables"
        );
        assert!(only_db.volumes.is_empty());
    }
}
