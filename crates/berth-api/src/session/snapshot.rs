//! Snapshot, restore and reset of an opened stack: each one action on the stack (never beside
//! Up or another restore), cancellable between steps, and recorded in the catalog so a crash
//! never leaves half a snapshot listed as complete.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_compose::snapshot_plan::{self, DataKind, Database};
use berth_engine::model::{ContainerInfo, RunState, VolumeInfo, LABEL_BERTH_ROLE};
use berth_engine::{ComposeArgs, Engine, OutputLine};
use berth_store::{NewSnapshot, SnapshotItem, SnapshotStatus, Store};
use tokio::sync::watch;

use super::OpenStack;
use crate::connect::Connector;
use crate::error::{ApiError, ErrorCode};
use crate::snapshot::dump::Server;
use crate::snapshot::stream::{one_file_tar, snap_err, tar_counts, Sink};
use crate::snapshot::volume::{self, Holder};
use crate::snapshot::{
    refused, snapshots_root, stack_key, store_err, sweep, Origin, Refusal, ResetView, RestoreView,
    SnapshotProgress, SnapshotView,
};
use crate::Action;

/// How often progress is reported while bytes flow.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Reports progress of one step at most every [`PROGRESS_EVERY`].
struct Meter<'a> {
    on: &'a mut (dyn FnMut(SnapshotProgress) + Send),
    step: String,
    service: Option<String>,
    rate: berth_snapshot::Meter,
    last: Instant,
}

impl<'a> Meter<'a> {
    fn new(
        on: &'a mut (dyn FnMut(SnapshotProgress) + Send),
        step: String,
        service: Option<&str>,
        total: Option<u64>,
    ) -> Self {
        let now = Instant::now();
        let mut m = Meter {
            on,
            step,
            service: service.map(str::to_owned),
            rate: berth_snapshot::Meter::new(now, total),
            last: now,
        };
        m.report(0);
        m
    }

    fn report(&mut self, bytes: u64) {
        let now = Instant::now();
        let p = self.rate.at(bytes, now);
        (self.on)(SnapshotProgress {
            step: self.step.clone(),
            service: self.service.clone(),
            bytes: p.bytes,
            total: p.total,
            rate: p.rate_bytes_per_s,
        });
        self.last = now;
    }

    fn tick(&mut self, bytes: u64) {
        if self.last.elapsed() >= PROGRESS_EVERY {
            self.report(bytes);
        }
    }
}

/// Refuses to go on once the user cancelled (checked between steps, so no step is left half
/// done).
fn go_on(cancelled: &watch::Receiver<bool>) -> Result<(), ApiError> {
    if *cancelled.borrow() {
        return Err(ApiError::new(
            ErrorCode::Cancelled,
            "cancelled; nothing was left half done",
        ));
    }
    Ok(())
}

impl<C: Connector> OpenStack<C> {
    /// The stack's complete snapshots, newest first (what a crash left is swept first).
    pub async fn snapshots(&self, store: &Store) -> Result<Vec<SnapshotView>, ApiError> {
        let loaded = self.loaded();
        let stack = stack_key(&loaded.project);
        if self.running_action().is_none() {
            sweep(store, &snapshots_root(&self.env, &loaded.project), &stack).await?;
        }
        Ok(store
            .snapshots(&stack)
            .await
            .map_err(store_err)?
            .iter()
            .map(SnapshotView::of)
            .collect())
    }

    /// Saves the data of `services` (all when empty): each database dumped through its own
    /// tools, each other named volume archived with its writers stopped meanwhile.
    pub async fn take_snapshot<F, X>(
        &self,
        store: &Store,
        services: &[String],
        label: Option<String>,
        mut on_progress: F,
        cancel: X,
    ) -> Result<SnapshotView, ApiError>
    where
        F: FnMut(SnapshotProgress) + Send,
        X: Future<Output = ()> + Send,
    {
        self.check_services(services)?;
        let claim = self.claim(Action::Snapshot)?;
        let (tx, cancelled) = watch::channel(false);
        let op = self.take(
            store,
            services,
            label,
            Origin::Manual,
            &mut on_progress,
            &cancelled,
        );
        let result = cancellable(op, claim.cancelled.clone(), cancel, tx).await;
        drop(claim);
        result
    }

    async fn take(
        &self,
        store: &Store,
        services: &[String],
        label: Option<String>,
        origin: Origin,
        on_progress: &mut (dyn FnMut(SnapshotProgress) + Send),
        cancelled: &watch::Receiver<bool>,
    ) -> Result<SnapshotView, ApiError> {
        let loaded = self.loaded();
        let project = &loaded.project;
        let engine = self.engine().await?;
        let info = engine.info().await.map_err(|e| self.broken(e))?;
        let root = snapshots_root(&self.env, project);
        let stack = stack_key(project);
        sweep(store, &root, &stack).await?;
        volume::sweep_engine(&engine).await;
        let plan = snapshot_plan::plan(project, services);
        if plan.databases.is_empty() && plan.volumes.is_empty() {
            return Err(snap_err(format!(
                "nothing to save in {}: no database and no named volume{}",
                project.name,
                if services.is_empty() {
                    String::new()
                } else {
                    format!(" in {}", services.join(", "))
                }
            )));
        }
        let now = crate::session::now_unix();
        let id = berth_snapshot::new_snapshot_id(now);
        let dir = root.join(&id);
        // Held until the catalog says complete (or the files are gone): no sweep by another
        // process removes the folder meanwhile.
        let _writing = berth_snapshot::WriterLock::hold(&dir)
            .map_err(|e| crate::snapshot::snap_err_io("cannot create the snapshot's folder", e))?;
        store
            .begin_snapshot(&NewSnapshot {
                id: id.clone(),
                stack: stack.clone(),
                project: project.name.clone(),
                label,
                origin: origin.as_str().to_owned(),
                created: now,
                engine: info.version.clone(),
            })
            .await
            .map_err(store_err)?;
        let items = self
            .save_items(&engine, &plan, &dir, on_progress, cancelled)
            .await;
        let done = match items {
            Ok(items) if items.is_empty() => Err(snap_err(format!(
                "nothing to save in {}: its databases are not running and its volumes do not exist yet",
                project.name
            ))),
            Ok(items) => store
                .complete_snapshot(&id, &items, crate::session::now_unix())
                .await
                .map_err(store_err),
            Err(e) => Err(e),
        };
        if let Err(e) = done {
            let _ = berth_snapshot::remove_snapshot_dir(&root, &id);
            let _ = store.forget_pending(&id).await;
            return Err(e);
        }
        let row = store
            .snapshot(&id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| ApiError::internal("the snapshot vanished from the catalog"))?;
        Ok(SnapshotView::of(&row))
    }

    async fn save_items(
        &self,
        engine: &C::Engine,
        plan: &snapshot_plan::DataPlan,
        dir: &Path,
        on_progress: &mut (dyn FnMut(SnapshotProgress) + Send),
        cancelled: &watch::Receiver<bool>,
    ) -> Result<Vec<SnapshotItem>, ApiError> {
        let containers = self.selected_containers(engine, &[]).await?;
        let mut items = Vec::new();
        let mut seq = 0usize;
        let mut file_name = |service: &str, ext: &str| {
            seq += 1;
            format!("{seq:02}-{service}.{ext}")
        };
        for sd in &plan.databases {
            let Some(db) = &sd.database else { continue };
            go_on(cancelled)?;
            let Some(c) = running_container(&containers, &sd.service) else {
                // A stopped server's files are consistent: its data volume is archived instead
                // (below, with the other volumes).
                continue;
            };
            let server = Server::open(engine, &sd.service, &c.id, db).await?;
            let targets: Vec<Option<String>> = match server.kind {
                DataKind::Postgres => std::iter::once(None)
                    .chain(server.databases().await?.into_iter().map(Some))
                    .collect(),
                DataKind::Redis => vec![None],
                _ => server.databases().await?.into_iter().map(Some).collect(),
            };
            for target in targets {
                go_on(cancelled)?;
                let ext = match (server.kind, &target) {
                    (DataKind::Postgres, None) => "roles.sql",
                    (DataKind::Postgres, Some(_)) => "pgdump",
                    (DataKind::Redis, _) => "rdb",
                    _ => "sql",
                };
                let file = file_name(&sd.service, ext);
                let what = match &target {
                    Some(d) => format!("dump {} of {} ({})", d, sd.service, server.kind.as_str()),
                    None if server.kind == DataKind::Redis => {
                        format!("dump {} (redis)", sd.service)
                    }
                    None => format!("dump the roles of {} (postgres)", sd.service),
                };
                // Counts first: a dump is one consistent moment, and a write between the two
                // shows up as a mismatch on restore rather than silently.
                let counts = match (&target, server.kind) {
                    (Some(d), _) => server.counts(d).await?,
                    (None, DataKind::Redis) => server.counts("").await?,
                    _ => BTreeMap::new(),
                };
                let mut meter = Meter::new(on_progress, what, Some(&sd.service), None);
                let mut sink = Sink::create(dir, &file)?;
                server
                    .dump(target.as_deref(), &mut sink, &mut |b| meter.tick(b))
                    .await?;
                let art = sink.finish().await?;
                meter.report(art.raw_bytes);
                items.push(SnapshotItem {
                    service: sd.service.clone(),
                    kind: server.kind.as_str().to_owned(),
                    volume: None,
                    database: target.clone(),
                    version: Some(server.version.clone()),
                    file: art.file,
                    bytes: art.bytes as i64,
                    raw_bytes: art.raw_bytes as i64,
                    sha256: art.sha256,
                    counts,
                });
            }
        }
        let stopped_data = plan
            .covered
            .iter()
            .filter(|c| running_container(&containers, &c.service).is_none())
            .map(|c| &c.volume);
        for v in plan.volumes.iter().chain(stopped_data) {
            go_on(cancelled)?;
            if engine.volume(&v.name).await?.is_none() {
                continue;
            }
            let image = self.holder_image(engine, &containers, &v.users).await?;
            let writers: Vec<String> = v
                .writers
                .iter()
                .filter(|w| running_container(&containers, w).is_some())
                .cloned()
                .collect();
            let file = file_name(&v.key, "tar");
            let mut meter = Meter::new(
                on_progress,
                format!("archive volume {}", v.name),
                v.users.first().map(String::as_str),
                None,
            );
            if !writers.is_empty() {
                self.compose_quiet(ComposeArgs::new("stop").services(&writers))
                    .await?;
            }
            let archived: Result<_, ApiError> = async {
                let holder = Holder::new(engine, &image, &v.name).await?;
                let mut sink = Sink::create(dir, &file)?;
                let r = volume::archive(&holder, &mut sink, &mut |b| meter.tick(b)).await;
                holder.remove().await;
                r?;
                sink.finish().await
            }
            .await;
            // The writers run again whatever happened.
            if !writers.is_empty() {
                self.compose_quiet(ComposeArgs::new("start").services(&writers))
                    .await?;
            }
            let art = archived?;
            meter.report(art.raw_bytes);
            let (files, bytes) = tar_counts(dir.join(&art.file)).await?;
            items.push(SnapshotItem {
                service: v.users.first().cloned().unwrap_or_default(),
                kind: DataKind::Volume.as_str().to_owned(),
                volume: Some(v.name.clone()),
                database: None,
                version: None,
                file: art.file,
                bytes: art.bytes as i64,
                raw_bytes: art.raw_bytes as i64,
                sha256: art.sha256,
                counts: BTreeMap::from([("files".to_owned(), files), ("bytes".to_owned(), bytes)]),
            });
        }
        Ok(items)
    }

    /// An image already on the machine to make a holder container from: the one a user of
    /// the volume runs, else the service's image if it is local.
    async fn holder_image(
        &self,
        engine: &C::Engine,
        containers: &[ContainerInfo],
        users: &[String],
    ) -> Result<String, ApiError> {
        for u in users {
            if let Some(c) = containers
                .iter()
                .find(|c| c.service.as_deref() == Some(u.as_str()))
            {
                if let Some(id) = &c.image_id {
                    return Ok(id.clone());
                }
            }
        }
        let loaded = self.loaded();
        for u in users {
            if let Some(image) = loaded.project.services.get(u).and_then(|s| s.image.clone()) {
                if let Some(id) = engine.image_id(&image).await? {
                    return Ok(id);
                }
            }
        }
        Err(snap_err(format!(
            "no image of {} is on this machine to read its volume with; run Up once first",
            users.join(", ")
        )))
    }

    /// One compose command of Berth's own (stop/start around a volume), output dropped.
    async fn compose_quiet(&self, args: ComposeArgs) -> Result<(), ApiError> {
        let never = std::future::pending::<()>();
        let mut never = std::pin::pin!(never);
        self.run_compose(
            &args,
            Some(Duration::from_secs(600)),
            &mut |_: OutputLine| {},
            &mut never,
        )
        .await
    }

    /// Puts a snapshot's data back into `services` (all of it when empty). Every file's
    /// checksum and every server's engine and version are checked before anything is touched;
    /// databases are restored beside the old ones and swapped in once their counts match,
    /// volumes are extracted into a new volume and checked before the old one is replaced.
    pub async fn restore_snapshot<F, X>(
        &self,
        store: &Store,
        id: &str,
        services: &[String],
        allow_upgrade: bool,
        mut on_progress: F,
        cancel: X,
    ) -> Result<RestoreView, ApiError>
    where
        F: FnMut(SnapshotProgress) + Send,
        X: Future<Output = ()> + Send,
    {
        self.check_services(services)?;
        let claim = self.claim(Action::Restore)?;
        let (tx, cancelled) = watch::channel(false);
        let op = self.restore(
            store,
            id,
            services,
            allow_upgrade,
            &mut on_progress,
            &cancelled,
        );
        let result = cancellable(op, claim.cancelled.clone(), cancel, tx).await;
        drop(claim);
        result
    }

    async fn restore(
        &self,
        store: &Store,
        id: &str,
        services: &[String],
        allow_upgrade: bool,
        on_progress: &mut (dyn FnMut(SnapshotProgress) + Send),
        cancelled: &watch::Receiver<bool>,
    ) -> Result<RestoreView, ApiError> {
        let loaded = self.loaded();
        let project = &loaded.project;
        let stack = stack_key(project);
        let root = snapshots_root(&self.env, project);
        let snap = store.snapshot(id).await.map_err(store_err)?;
        let snap = match snap {
            Some(s) if s.status == SnapshotStatus::Complete && s.stack == stack => s,
            Some(s) if s.stack != stack => {
                return Err(refused(
                    Refusal::NotRestorable,
                    format!(
                        "snapshot {id} belongs to {} ({}), not to this stack",
                        s.project, s.stack
                    ),
                ))
            }
            Some(_) => {
                return Err(refused(
                    Refusal::NotRestorable,
                    format!("snapshot {id} was never completed; it cannot be restored"),
                ))
            }
            None => {
                return Err(refused(
                    Refusal::NotRestorable,
                    format!(
                        "no snapshot {id} in this stack's catalog (`berth snapshots` lists them)"
                    ),
                ))
            }
        };
        let dir = root.join(id);
        let items: Vec<&SnapshotItem> = snap
            .items
            .iter()
            .filter(|i| services.is_empty() || services.contains(&i.service))
            .collect();
        if items.is_empty() {
            return Err(refused(
                Refusal::NotRestorable,
                format!("snapshot {id} holds no data of {}", services.join(", ")),
            ));
        }
        // Every file first: one damaged file refuses the whole restore, before anything moves.
        for i in &items {
            let path = dir.join(&i.file);
            let mut meter = Meter::new(
                on_progress,
                format!("verify {}", i.file),
                Some(&i.service),
                Some(i.bytes.max(0) as u64),
            );
            berth_snapshot::verify_artifact(&path, i.bytes.max(0) as u64, &i.sha256).map_err(
                |e| {
                    refused(
                        Refusal::Checksum,
                        format!("restore refused, nothing was changed: {e}"),
                    )
                },
            )?;
            meter.report(i.bytes.max(0) as u64);
        }
        let engine = self.engine().await?;
        let containers = self.selected_containers(&engine, &[]).await?;
        // Then every server: the engine and version it runs must take the dump.
        let mut servers: HashMap<String, Server<'_, C::Engine>> = HashMap::new();
        for i in items.iter().filter(|i| i.kind != "volume") {
            if servers.contains_key(&i.service) {
                continue;
            }
            let Some(db) = self.database_of(&i.service)? else {
                return Err(refused(
                    Refusal::Version,
                    format!(
                        "{} holds no database any more ({} saved there); restore refused",
                        i.service, i.kind
                    ),
                ));
            };
            let Some(c) = running_container(&containers, &i.service) else {
                return Err(snap_err(format!(
                    "{} is not running: start it (Up) and restore again; nothing was changed",
                    i.service
                )));
            };
            let server = Server::open(&engine, &i.service, &c.id, &db).await?;
            check_version(i, &server, allow_upgrade)?;
            servers.insert(i.service.clone(), server);
        }
        let mut restored = Vec::new();
        let mut restarted = Vec::new();
        for i in &items {
            go_on(cancelled)?;
            let path = dir.join(&i.file);
            let mut meter = Meter::new(
                on_progress,
                match (&i.database, i.volume.as_ref()) {
                    (_, Some(v)) => format!("restore volume {v}"),
                    (Some(d), _) => format!("restore {d} of {} ({})", i.service, i.kind),
                    (None, _) if i.kind == "redis" => format!("restore {} (redis)", i.service),
                    (None, _) => format!("restore the roles of {}", i.service),
                },
                Some(&i.service),
                Some(i.raw_bytes.max(0) as u64),
            );
            if i.kind == "volume" {
                let users = self
                    .restore_volume(&engine, &containers, i, &path, cancelled)
                    .await?;
                for u in users {
                    if !restarted.contains(&u) {
                        restarted.push(u);
                    }
                }
            } else if let Some(server) = servers.get(&i.service) {
                if i.kind == "redis" {
                    self.restore_redis(server, i, &path).await?;
                    if !restarted.contains(&i.service) {
                        restarted.push(i.service.clone());
                    }
                } else {
                    let name = format!("berth-restore-{id}-{}", i.file);
                    // A restore cut off earlier (the engine went away) left its upload behind.
                    let _ = server
                        .engine()
                        .exec_status(
                            &server.container,
                            &[
                                "find",
                                "/tmp",
                                "-maxdepth",
                                "1",
                                "-name",
                                "berth-restore-*",
                                "-delete",
                            ],
                        )
                        .await;
                    put_file(server, &path, &name, i.raw_bytes.max(0) as u64).await?;
                    let inside = format!("/tmp/{name}");
                    let r = server
                        .restore(i.database.as_deref(), &inside, &i.counts)
                        .await;
                    let _ = server
                        .engine()
                        .exec_status(&server.container, &["rm", "-f", "--", &inside])
                        .await;
                    r?;
                }
            }
            meter.report(i.raw_bytes.max(0) as u64);
            restored.push(crate::snapshot::item_view(i));
        }
        Ok(RestoreView {
            id: id.to_owned(),
            restored,
            restarted,
        })
    }

    fn database_of(&self, service: &str) -> Result<Option<Database>, ApiError> {
        let loaded = self.loaded();
        let svc = loaded.project.services.get(service).ok_or_else(|| {
            ApiError::new(
                ErrorCode::UnknownService,
                format!("the snapshot holds {service}, which this stack no longer has"),
            )
        })?;
        Ok(snapshot_plan::database_of(svc))
    }

    /// Redis reads its dataset only when it starts: stopped, the file put in its folder,
    /// started, and its keys counted once it answers.
    async fn restore_redis(
        &self,
        server: &Server<'_, C::Engine>,
        item: &SnapshotItem,
        path: &Path,
    ) -> Result<(), ApiError> {
        let aof = server.redis(&["CONFIG", "GET", "appendonly"]).await?;
        if aof.lines().nth(1).map(str::trim) == Some("yes") {
            return Err(refused(
                Refusal::NotRestorable,
                format!(
                    "{} keeps its data in an append-only file, which Redis reads before a dump; restore refused, nothing was changed",
                    item.service
                ),
            ));
        }
        let dir = server.redis(&["CONFIG", "GET", "dir"]).await?;
        let dir = dir.lines().nth(1).unwrap_or("/data").trim().to_owned();
        let file = server.redis(&["CONFIG", "GET", "dbfilename"]).await?;
        let file = file.lines().nth(1).unwrap_or("dump.rdb").trim().to_owned();
        let services = [item.service.clone()];
        self.compose_quiet(ComposeArgs::new("stop").services(&services))
            .await?;
        let put = server
            .engine()
            .upload(
                &server.container,
                &dir,
                one_file_tar(path.to_path_buf(), file, item.raw_bytes.max(0) as u64),
            )
            .await;
        self.compose_quiet(ComposeArgs::new("start").services(&services))
            .await?;
        put?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match server.counts("").await {
                Ok(found) if found == item.counts => return Ok(()),
                Ok(found) if Instant::now() > deadline => {
                    return Err(snap_err(format!(
                        "{} holds other keys than the snapshot after the restore: {}",
                        item.service,
                        crate::snapshot::dump::count_difference(&item.counts, &found)
                    )))
                }
                Err(e) if Instant::now() > deadline => return Err(e),
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// The volume's archive extracted into a new volume and counted; only then are its users'
    /// containers removed, the volume made again (same name, driver and labels) from the same
    /// checked archive and counted, and the users brought back as they were.
    async fn restore_volume(
        &self,
        engine: &C::Engine,
        containers: &[ContainerInfo],
        item: &SnapshotItem,
        path: &Path,
        cancelled: &watch::Receiver<bool>,
    ) -> Result<Vec<String>, ApiError> {
        let name = item.volume.clone().unwrap_or_default();
        let users = engine.volume_users(&name).await?;
        let image = {
            let mut services: Vec<String> = containers
                .iter()
                .filter(|c| users.contains(&c.id))
                .filter_map(|c| c.service.clone())
                .collect();
            services.push(item.service.clone());
            self.holder_image(engine, containers, &services).await?
        };
        let temp = VolumeInfo {
            name: format!(
                "berth-restore-{}",
                &item.sha256[..12.min(item.sha256.len())]
            ),
            driver: String::new(),
            labels: BTreeMap::from([
                (LABEL_BERTH_ROLE.to_owned(), volume::RESTORE_ROLE.to_owned()),
                ("dev.berth.restore.for".to_owned(), name.clone()),
            ]),
        };
        let _ = engine.remove_volume(&temp.name).await;
        engine.create_volume(&temp).await?;
        let checked: Result<(), ApiError> = async {
            let holder = Holder::new(engine, &image, &temp.name).await?;
            let r = volume::extract(&holder, path).await;
            holder.remove().await;
            volume::check(&format!("the new volume for {name}"), r?, &item.counts)
        }
        .await;
        if let Err(e) = checked {
            let _ = engine.remove_volume(&temp.name).await;
            return Err(e);
        }
        if let Err(e) = go_on(cancelled) {
            let _ = engine.remove_volume(&temp.name).await;
            return Err(e);
        }
        // Who uses the volume now, and whether each ran: they are removed (a volume in use
        // cannot be replaced) and brought back in the same state.
        let mut running = Vec::new();
        let mut stopped = Vec::new();
        for c in containers.iter().filter(|c| users.contains(&c.id)) {
            let Some(s) = c.service.clone() else { continue };
            let list = if c.state == RunState::Running {
                &mut running
            } else {
                &mut stopped
            };
            if !list.contains(&s) {
                list.push(s);
            }
        }
        let outside = users
            .iter()
            .filter(|u| !containers.iter().any(|c| &c.id == *u))
            .count();
        if outside > 0 {
            let _ = engine.remove_volume(&temp.name).await;
            return Err(snap_err(format!(
                "{name} is also used by {outside} container(s) outside this stack; stop and remove them, then restore again; nothing was changed"
            )));
        }
        let all: Vec<String> = running.iter().chain(&stopped).cloned().collect();
        let original = engine.volume(&name).await?.unwrap_or(VolumeInfo {
            name: name.clone(),
            ..Default::default()
        });
        if !all.is_empty() {
            self.compose_quiet(ComposeArgs::new("rm").flag("-s").flag("-f").services(&all))
                .await?;
        }
        engine.remove_volume(&name).await?;
        engine.create_volume(&original).await?;
        let holder = Holder::new(engine, &image, &name).await?;
        let r = volume::extract(&holder, path).await;
        holder.remove().await;
        match r.and_then(|counts| volume::check(&name, counts, &item.counts)) {
            // The checked copy is kept when the swap fails: the data is never only in the air.
            Err(e) => {
                return Err(snap_err(format!(
                    "{e}; the snapshot's data is kept in volume {}",
                    temp.name
                )))
            }
            Ok(()) => {
                let _ = engine.remove_volume(&temp.name).await;
            }
        }
        if !running.is_empty() {
            self.compose_quiet(
                ComposeArgs::new("up")
                    .flag("-d")
                    .flag("--no-deps")
                    .services(&running),
            )
            .await?;
        }
        if !stopped.is_empty() {
            self.compose_quiet(
                ComposeArgs::new("up")
                    .flag("--no-start")
                    .flag("--no-deps")
                    .services(&stopped),
            )
            .await?;
        }
        Ok(all)
    }

    /// A reset that can always be undone: a safety snapshot first (when it fails, nothing
    /// else happens), then `down -v`, a rebuild without cache when asked, `up`, and the wait
    /// until every service is ready. The result names the safety snapshot.
    pub async fn reset_stack<F, L, X>(
        &self,
        store: &Store,
        rebuild: bool,
        up_timeout: Duration,
        mut on_progress: F,
        mut on_line: L,
        cancel: X,
    ) -> Result<ResetView, ApiError>
    where
        F: FnMut(SnapshotProgress) + Send,
        L: FnMut(OutputLine) + Send,
        X: Future<Output = ()> + Send,
    {
        let claim = self.claim(Action::Reset)?;
        let (tx, cancelled) = watch::channel(false);
        let op = async {
            let safety = self
                .take(
                    store,
                    &[],
                    Some("safety snapshot before reset".into()),
                    Origin::Reset,
                    &mut on_progress,
                    &cancelled,
                )
                .await
                .map_err(|e| ApiError {
                    message: format!(
                        "reset did not start: the safety snapshot failed: {}",
                        e.message
                    ),
                    ..e
                })?;
            let mut step = |s: &str| {
                on_progress(SnapshotProgress {
                    step: s.to_owned(),
                    service: None,
                    bytes: 0,
                    total: None,
                    rate: 0.0,
                })
            };
            let mut stop = std::pin::pin!(wait_true(cancelled.clone()));
            go_on(&cancelled)?;
            step("down -v");
            self.run_compose(
                &ComposeArgs::new("down").flag("--volumes"),
                Some(Duration::from_secs(600)),
                &mut on_line,
                &mut stop,
            )
            .await?;
            if rebuild
                && self
                    .loaded()
                    .project
                    .services
                    .values()
                    .any(|s| s.build.is_some())
            {
                go_on(&cancelled)?;
                step("build --no-cache");
                self.run_compose(
                    &ComposeArgs::new("build").flag("--no-cache"),
                    Some(Duration::from_secs(45 * 60)),
                    &mut on_line,
                    &mut stop,
                )
                .await?;
            }
            go_on(&cancelled)?;
            step("up");
            self.refuse_port_conflicts(&[]).await?;
            self.run_compose(
                &ComposeArgs::new("up").flag("-d"),
                Some(Duration::from_secs(45 * 60)),
                &mut on_line,
                &mut stop,
            )
            .await?;
            step("waiting for health checks");
            let status = self.wait_ready(&[], up_timeout, &mut stop).await?;
            Ok(ResetView {
                safety,
                rebuilt: rebuild,
                status,
            })
        };
        let result = cancellable(op, claim.cancelled.clone(), cancel, tx).await;
        drop(claim);
        result
    }

    /// Gives a snapshot a label (or takes it away).
    pub async fn label_snapshot(
        &self,
        store: &Store,
        id: &str,
        label: Option<&str>,
    ) -> Result<SnapshotView, ApiError> {
        self.own_snapshot(store, id).await?;
        store.label_snapshot(id, label).await.map_err(store_err)?;
        self.own_snapshot(store, id).await
    }

    /// Deletes a snapshot: its catalog row and its files.
    pub async fn delete_snapshot(&self, store: &Store, id: &str) -> Result<(), ApiError> {
        self.own_snapshot(store, id).await?;
        store.delete_snapshot(id).await.map_err(store_err)?;
        let root = snapshots_root(&self.env, &self.loaded().project);
        berth_snapshot::remove_snapshot_dir(&root, id)
            .map_err(|e| crate::snapshot::snap_err_io("cannot remove the snapshot's files", e))
    }

    /// Writes one snapshot as a single file (its catalog entry and its files) to hand to a
    /// teammate; gives the file's size.
    pub async fn export_snapshot(
        &self,
        store: &Store,
        id: &str,
        out: &Path,
    ) -> Result<u64, ApiError> {
        let snap = self.own_row(store, id).await?;
        let root = snapshots_root(&self.env, &self.loaded().project);
        let dir = root.join(id);
        for i in &snap.items {
            berth_snapshot::verify_artifact(&dir.join(&i.file), i.bytes.max(0) as u64, &i.sha256)
                .map_err(|e| refused(Refusal::Checksum, format!("export refused: {e}")))?;
        }
        let manifest =
            serde_json::to_vec_pretty(&snap).map_err(|e| ApiError::internal(e.to_string()))?;
        let names: Vec<String> = snap.items.iter().map(|i| i.file.clone()).collect();
        let out = out.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let files: Vec<&str> = names.iter().map(String::as_str).collect();
            berth_snapshot::export_bundle(&dir, &files, &manifest, &out)
        })
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| crate::snapshot::snap_err_io("cannot write the export", e))
    }

    /// Brings in a snapshot exported by [`OpenStack::export_snapshot`] as a new snapshot of
    /// this stack (a new id; every file's checksum checked).
    pub async fn import_snapshot(
        &self,
        store: &Store,
        bundle: &Path,
    ) -> Result<SnapshotView, ApiError> {
        let loaded = self.loaded();
        let root = snapshots_root(&self.env, &loaded.project);
        let now = crate::session::now_unix();
        let id = berth_snapshot::new_snapshot_id(now);
        let into = root.join(&id);
        let bundle = bundle.to_path_buf();
        let into2 = into.clone();
        let manifest =
            tokio::task::spawn_blocking(move || berth_snapshot::import_bundle(&bundle, &into2))
                .await
                .map_err(|e| ApiError::internal(e.to_string()))?
                .map_err(|e| snap_err(format!("cannot import: {e}")))?;
        let cleanup = |e: ApiError| {
            let _ = berth_snapshot::remove_snapshot_dir(&root, &id);
            e
        };
        let theirs: berth_store::Snapshot = serde_json::from_slice(&manifest).map_err(|e| {
            cleanup(snap_err(format!(
                "cannot import: the file's catalog entry is not valid: {e}"
            )))
        })?;
        for i in &theirs.items {
            berth_snapshot::verify_artifact(&into.join(&i.file), i.bytes.max(0) as u64, &i.sha256)
                .map_err(|e| cleanup(refused(Refusal::Checksum, format!("import refused: {e}"))))?;
        }
        let stack = stack_key(&loaded.project);
        store
            .begin_snapshot(&NewSnapshot {
                id: id.clone(),
                stack,
                project: loaded.project.name.clone(),
                label: theirs
                    .label
                    .clone()
                    .or_else(|| Some(format!("imported {}", theirs.id))),
                origin: Origin::Import.as_str().to_owned(),
                created: now,
                engine: theirs.engine.clone(),
            })
            .await
            .map_err(|e| cleanup(store_err(e)))?;
        store
            .complete_snapshot(&id, &theirs.items, now)
            .await
            .map_err(|e| cleanup(store_err(e)))?;
        self.own_snapshot(store, &id).await
    }

    async fn own_row(&self, store: &Store, id: &str) -> Result<berth_store::Snapshot, ApiError> {
        let stack = stack_key(&self.loaded().project);
        match store.snapshot(id).await.map_err(store_err)? {
            Some(s) if s.stack == stack => Ok(s),
            _ => Err(ApiError::new(
                ErrorCode::Snapshot,
                format!("no snapshot {id} in this stack's catalog (`berth snapshots` lists them)"),
            )),
        }
    }

    async fn own_snapshot(&self, store: &Store, id: &str) -> Result<SnapshotView, ApiError> {
        Ok(SnapshotView::of(&self.own_row(store, id).await?))
    }
}

fn running_container<'c>(
    containers: &'c [ContainerInfo],
    service: &str,
) -> Option<&'c ContainerInfo> {
    containers
        .iter()
        .find(|c| c.service.as_deref() == Some(service) && c.state == RunState::Running)
}

/// Runs `op` while watching for a cancel (the claim's or the caller's): `tx` turns true and
/// `op`, which checks it between steps, stops at the next one. `op` is never dropped midway.
async fn cancellable<T>(
    op: impl Future<Output = T>,
    mut claim: watch::Receiver<bool>,
    cancel: impl Future<Output = ()>,
    tx: watch::Sender<bool>,
) -> T {
    use futures_util::future::{select, Either};
    let forward = async move {
        tokio::select! {
            _ = claim.wait_for(|c| *c) => {}
            _ = cancel => {}
        }
        let _ = tx.send(true);
    };
    match select(std::pin::pin!(op), std::pin::pin!(forward)).await {
        Either::Left((r, _)) => r,
        Either::Right(((), op)) => op.await,
    }
}

async fn wait_true(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|c| *c).await;
}

/// The major version a dump belongs to: PostgreSQL's first number, MariaDB/MySQL's first two,
/// Redis' first.
fn major(kind: DataKind, version: &str) -> String {
    let parts: Vec<&str> = version.split('.').collect();
    match kind {
        DataKind::Mysql | DataKind::Mariadb => {
            parts.iter().take(2).cloned().collect::<Vec<_>>().join(".")
        }
        _ => parts.first().copied().unwrap_or("").to_owned(),
    }
}

/// Whether a dump saved from one server can go into `server`: the same engine family, and the
/// same major version (a newer one only when the user chose a logical restore across it).
fn check_version<E: Engine>(
    item: &SnapshotItem,
    server: &Server<'_, E>,
    allow_upgrade: bool,
) -> Result<(), ApiError> {
    let saved_kind = DataKind::parse(&item.kind).unwrap_or(DataKind::Volume);
    if !saved_kind.same_family(server.kind) {
        return Err(refused(
            Refusal::Version,
            format!(
                "restore refused, nothing was changed: the snapshot holds a {} dump of {} and {} now runs {}",
                saved_kind.as_str(),
                item.service,
                item.service,
                server.kind.as_str()
            ),
        ));
    }
    let saved = item.version.clone().unwrap_or_default();
    let (from, to) = (
        major(saved_kind, &saved),
        major(server.kind, &server.version),
    );
    if from == to {
        return Ok(());
    }
    let newer_server = version_lt(&from, &to);
    if newer_server && allow_upgrade {
        return Ok(());
    }
    let how = if newer_server {
        format!(
            "a logical restore into {to} is possible: run the restore again with --allow-upgrade"
        )
    } else {
        format!("a dump of {from} cannot go into the older {to}")
    };
    Err(refused(
        Refusal::Version,
        format!(
            "restore refused, nothing was changed: {} was saved from {} {saved} and {} now runs {}; {how}",
            item.service,
            saved_kind.as_str(),
            item.service,
            server.version
        ),
    ))
}

fn version_lt(a: &str, b: &str) -> bool {
    let parse = |s: &str| -> Vec<u64> { s.split('.').filter_map(|p| p.parse().ok()).collect() };
    parse(a) < parse(b)
}

/// Puts a snapshot file, decompressed, at `/tmp/name` in the server's container.
async fn put_file<E: Engine>(
    server: &Server<'_, E>,
    path: &Path,
    name: &str,
    size: u64,
) -> Result<(), ApiError> {
    server
        .engine()
        .upload(
            &server.container,
            "/tmp",
            one_file_tar(PathBuf::from(path), name.to_owned(), size),
        )
        .await
        .map_err(ApiError::from)
}
