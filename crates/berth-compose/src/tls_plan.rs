//! The TLS plan: which services of a stack terminate HTTPS, with which certificate files, where
//! those files live on the host, which host ports reach them, and which names a certificate
//! must cover for them. Pure: it reads only the configs the loader already brought in, so Berth
//! can offer trusted local HTTPS before anything runs.
//!
//! Only nginx is read. The loader collects nginx-looking files only (`*.conf`, `nginx.conf`,
//! files mounted under nginx's folders), so a Caddyfile or a Traefik dynamic config never
//! reaches `project.configs`; [`TerminatorKind`] already names them so the UI can match on them
//! when the loader learns to bring them.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::graph::nginx_statements;
use crate::model::{ConfFile, Mount, MountKind, Project, Service};
use crate::paths::{display_path, is_windows_absolute};

/// The program that terminates TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminatorKind {
    Nginx,
    /// Not produced yet: the loader does not collect Caddyfiles.
    Caddy,
    /// Not produced yet: the loader does not collect Traefik dynamic configs.
    Traefik,
}

impl TerminatorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TerminatorKind::Nginx => "nginx",
            TerminatorKind::Caddy => "caddy",
            TerminatorKind::Traefik => "traefik",
        }
    }
}

/// Where a certificate or key file the container reads lives on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Inside a bind mount: Berth can write the file at `path`. A read-only mount is fine,
    /// because it is read-only for the container only.
    Host { path: PathBuf, mount_readonly: bool },
    /// No bind mount holds the path (nothing, a named volume or a tmpfs does): the file is
    /// the image's or the volume's, out of Berth's reach until a mount is added.
    NotMounted {
        container_path: String,
        /// The container folder to bind-mount (the file's own folder, so a certificate
        /// replaced by a rename is seen too), e.g. `/etc/nginx/ssl`.
        suggested_mount_dir: String,
        /// The folder also holds files the image needs (`/etc/nginx` holds `nginx.conf`):
        /// mounting over it would hide them, so the file itself must be mounted instead.
        hides_image_files: bool,
    },
    /// No path Berth can follow: no directive in the files read (`None`; it may come from a
    /// file that is not mounted from the project), or one nginx works out at run time
    /// (`$ssl_server_name`, `data:`, `engine:`), as written.
    Unresolved { written: Option<String> },
}

/// One TLS listener of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminator {
    pub service: String,
    pub kind: TerminatorKind,
    /// `file:line` of the listen directive that makes it TLS (or of `ssl on;`), the file
    /// relative to the project when it lies inside it.
    pub evidence: String,
    /// The port the listener has inside the container.
    pub listen_port: u16,
    /// The host addresses and ports that reach `listen_port`, from the service's published
    /// ports (`""` as the address: every interface). Empty when nothing is published, or
    /// the listener binds the container's loopback only: it cannot be checked from the host.
    pub host_ports: Vec<(String, u16)>,
    /// The names as written, in order.
    pub server_names: Vec<String>,
    pub cert: Placement,
    pub key: Placement,
    /// The names the certificate must cover ([`cert_names`]).
    pub names: Vec<String>,
    /// The written names it cannot cover, with the reason ([`skipped_names`]).
    pub skipped_names: Vec<(String, String)>,
}

/// Where nginx reads relative paths from: the prefix of the official image (and of distro
/// packages).
const NGINX_PREFIX: &str = "/etc/nginx/";

/// How deep `include` is followed: real configs nest two or three levels.
const MAX_INCLUDE_DEPTH: usize = 8;

/// Container folders the common images fill with files of their own.
const IMAGE_DIRS: [&str; 12] = [
    "/",
    "/etc",
    "/etc/nginx",
    "/etc/ssl",
    "/etc/ssl/certs",
    "/etc/pki/tls/certs",
    "/usr",
    "/usr/local",
    "/usr/local/nginx",
    "/usr/local/openresty/nginx",
    "/usr/share/nginx",
    "/var",
];

/// Every TLS terminator of the active services, in service order, then file and line order.
pub fn terminators(project: &Project) -> Vec<Terminator> {
    let mut out = Vec::new();
    for (name, svc) in &project.services {
        let Some(files) = project.configs.get(name) else {
            continue;
        };
        let shown: Vec<String> = files
            .iter()
            .map(|f| display_path(&project.working_dir, &f.path))
            .collect();
        for server in nginx_servers(files, &shown, &svc.volumes) {
            let place = |written: &Option<String>| match written {
                Some(w) => placement(&svc.volumes, w),
                None => Placement::Unresolved { written: None },
            };
            let (names, skipped) = classify_names(&project.name, &server.server_names);
            out.push(Terminator {
                service: name.clone(),
                kind: TerminatorKind::Nginx,
                evidence: server.evidence,
                listen_port: server.listen.port,
                host_ports: host_ports(project, svc, &server.listen),
                server_names: server.server_names,
                cert: place(&server.cert),
                key: place(&server.key),
                names,
                skipped_names: skipped,
            });
        }
    }
    out
}

/// How a TLS listener is bound inside the container.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listen {
    port: u16,
    /// The address when every `listen` of this port names one, e.g. `127.0.0.1`.
    addr: Option<String>,
}

fn host_ports(project: &Project, svc: &Service, listen: &Listen) -> Vec<(String, u16)> {
    let mode = svc.network_mode.as_ref().map(|m| m.value.as_str());
    // With the host's network the listener is a host socket already.
    if mode == Some("host") {
        return vec![(listen.addr.clone().unwrap_or_default(), listen.port)];
    }
    // Docker forwards published ports to the container's own address, never to its loopback.
    if listen.addr.as_deref().is_some_and(is_loopback_name) {
        return Vec::new();
    }
    // In another service's network namespace, that service publishes the ports; with none,
    // or another container's, nothing of this stack does.
    let publisher = match mode {
        Some(m) if m.starts_with("service:") => project.services.get(&m["service:".len()..]),
        Some(m) if m == "none" || m.starts_with("container:") => None,
        _ => Some(svc),
    };
    let mut out: Vec<(String, u16)> = Vec::new();
    for p in publisher.map(|s| s.ports.as_slice()).unwrap_or_default() {
        let Some(host_port) = p.host_port else {
            continue;
        };
        if p.container_port != listen.port || !p.protocol.eq_ignore_ascii_case("tcp") {
            continue;
        }
        let hp = (p.host_ip.clone().unwrap_or_default(), host_port);
        if !out.contains(&hp) {
            out.push(hp);
        }
    }
    out
}

fn is_loopback_name(addr: &str) -> bool {
    addr.eq_ignore_ascii_case("localhost")
        || addr.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Where the container path `written` (as the directive has it) lives on the host.
fn placement(mounts: &[Mount], written: &str) -> Placement {
    if written.contains('$') || written.starts_with("data:") || written.starts_with("engine:") {
        return Placement::Unresolved {
            written: Some(written.to_owned()),
        };
    }
    let container_path = container_path(written);
    if let Some((m, rest)) = covering_mount(mounts, &container_path) {
        let source = m.source.as_deref().unwrap_or_default();
        let is_host_path = Path::new(source).is_absolute() || is_windows_absolute(source);
        if m.kind == MountKind::Bind && is_host_path {
            let mut path = PathBuf::from(source);
            for part in rest.split('/').filter(|p| !p.is_empty()) {
                path.push(part);
            }
            return Placement::Host {
                path,
                mount_readonly: m.read_only,
            };
        }
    }
    let dir = match container_path.rsplit_once('/') {
        Some(("", _)) | None => "/".to_owned(),
        Some((d, _)) => d.to_owned(),
    };
    Placement::NotMounted {
        hides_image_files: IMAGE_DIRS.contains(&dir.as_str()),
        container_path,
        suggested_mount_dir: dir,
    }
}

/// The mount the container sees at `path` (the longest target that is a whole-component
/// prefix of it: Docker stacks deeper mounts over shallower ones), and the rest of the path
/// below that target.
fn covering_mount<'a>(mounts: &'a [Mount], path: &str) -> Option<(&'a Mount, String)> {
    let mut best: Option<(&Mount, usize, String)> = None;
    for m in mounts {
        let target = container_path(&m.target);
        let target = target.trim_end_matches('/');
        let rest = if path == target {
            Some("")
        } else {
            path.strip_prefix(target).and_then(|r| r.strip_prefix('/'))
        };
        let Some(rest) = rest else {
            continue;
        };
        if best.as_ref().is_none_or(|(_, len, _)| target.len() > *len) {
            best = Some((m, target.len(), rest.to_owned()));
        }
    }
    best.map(|(m, _, rest)| (m, rest))
}

/// `written` as an absolute container path without `.`, `..` or doubled slashes; relative
/// paths are relative to nginx's prefix.
fn container_path(written: &str) -> String {
    let joined = if written.starts_with('/') {
        written.to_owned()
    } else {
        format!("{NGINX_PREFIX}{written}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// One statement of an nginx config, with its block when it opens one.
#[derive(Debug)]
struct Stmt {
    words: Vec<String>,
    /// Index of the file it was read from.
    file: usize,
    line: u32,
    block: Option<Vec<Stmt>>,
}

impl Stmt {
    fn is(&self, directive: &str) -> bool {
        self.words.first().map(String::as_str) == Some(directive)
    }

    fn arg(&self) -> Option<&String> {
        self.words.get(1)
    }
}

/// A service's config files as nginx would read them: each file's statements as a tree, with
/// `include` replaced by the files it names when those are among the configs.
struct ConfTree<'a> {
    files: &'a [ConfFile],
    mounts: &'a [Mount],
    reached: Vec<bool>,
}

impl ConfTree<'_> {
    fn tree(&mut self, idx: usize, chain: &mut Vec<usize>) -> Vec<Stmt> {
        let Some(file) = self.files.get(idx) else {
            return Vec::new();
        };
        if let Some(r) = self.reached.get_mut(idx) {
            *r = true;
        }
        chain.push(idx);
        let mut flat = nginx_statements(&file.text).into_iter().peekable();
        let mut out = Vec::new();
        // A stray `}` ends a block early; the rest of the file is still read.
        while flat.peek().is_some() {
            out.extend(self.block(&mut flat, idx, chain));
        }
        chain.pop();
        out
    }

    fn block(
        &mut self,
        flat: &mut impl Iterator<Item = (Vec<String>, u32, char)>,
        idx: usize,
        chain: &mut Vec<usize>,
    ) -> Vec<Stmt> {
        let mut out = Vec::new();
        while let Some((words, line, term)) = flat.next() {
            match term {
                '}' => break,
                '{' => {
                    let block = self.block(flat, idx, chain);
                    out.push(Stmt {
                        words,
                        file: idx,
                        line,
                        block: Some(block),
                    });
                }
                _ if words.first().map(String::as_str) == Some("include") => {
                    for j in words.get(1).map(|p| self.included(p)).unwrap_or_default() {
                        if !chain.contains(&j) && chain.len() < MAX_INCLUDE_DEPTH {
                            out.extend(self.tree(j, chain));
                        }
                    }
                }
                _ if words.is_empty() => {}
                _ => out.push(Stmt {
                    words,
                    file: idx,
                    line,
                    block: None,
                }),
            }
        }
        out
    }

    /// The configs an `include` names: its container path (a glob in the last part, as
    /// `conf.d/*.conf`) mapped to the host through the service's bind mounts.
    fn included(&self, pattern: &str) -> Vec<usize> {
        let path = container_path(pattern);
        let Some((dir, name)) = path.rsplit_once('/') else {
            return Vec::new();
        };
        if dir.contains(['*', '?', '[']) {
            return Vec::new();
        }
        let Placement::Host { path: host_dir, .. } = placement(self.mounts, dir) else {
            // The folder itself may be the mount's target (`/etc/nginx/conf.d`).
            return Vec::new();
        };
        let mut found: Vec<usize> = self
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                f.path.parent() == Some(host_dir.as_path())
                    && f.path
                        .file_name()
                        .is_some_and(|n| glob_match(name, &n.to_string_lossy()))
            })
            .map(|(i, _)| i)
            .collect();
        // nginx includes the matches of a glob in name order.
        found.sort_by(|a, b| self.files[*a].path.cmp(&self.files[*b].path));
        found
    }
}

/// `*` and `?` as glob(3) has them, which is what nginx's `include` uses.
fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

/// One TLS listener of one `server` block, as the configs say it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TlsServer {
    evidence: String,
    listen: Listen,
    server_names: Vec<String>,
    cert: Option<String>,
    key: Option<String>,
}

/// What a block passes down to the blocks inside it. `ssl_certificate` and
/// `ssl_certificate_key` are array directives, each inherited on its own: a level that sets
/// any certificate replaces all of its parent's, and keeps the parent's keys unless it sets
/// keys too.
#[derive(Debug, Clone, Default)]
struct Inherited {
    cert: Option<String>,
    key: Option<String>,
    /// `ssl on;` and the line that says it.
    ssl_on: Option<(usize, u32)>,
}

fn nginx_servers(files: &[ConfFile], shown: &[String], mounts: &[Mount]) -> Vec<TlsServer> {
    let mut confs = ConfTree {
        files,
        mounts,
        reached: vec![false; files.len()],
    };
    // A file another one includes is read there, in its context, not again on its own.
    let mut included_by_other = vec![false; files.len()];
    for (i, f) in files.iter().enumerate() {
        for (words, _, _) in nginx_statements(&f.text) {
            if words.first().map(String::as_str) == Some("include") {
                for j in words.get(1).map(|p| confs.included(p)).unwrap_or_default() {
                    if j != i {
                        included_by_other[j] = true;
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let roots = (0..files.len())
        .filter(|i| !included_by_other[*i])
        .collect::<Vec<_>>();
    for i in roots {
        let tree = confs.tree(i, &mut Vec::new());
        walk(&tree, &Inherited::default(), shown, &mut out);
    }
    // Files that only include each other in a cycle: read each on its own.
    for i in 0..files.len() {
        if !confs.reached[i] {
            let tree = confs.tree(i, &mut Vec::new());
            walk(&tree, &Inherited::default(), shown, &mut out);
        }
    }
    out
}

fn at(shown: &[String], file: usize, line: u32) -> String {
    format!(
        "{}:{line}",
        shown.get(file).map(String::as_str).unwrap_or("?")
    )
}

/// The settings `stmts` (one block's statements) leave for the blocks inside it.
fn settings(stmts: &[Stmt], parent: &Inherited) -> Inherited {
    let mut here = parent.clone();
    let first = |d: &str| stmts.iter().find(|s| s.block.is_none() && s.is(d));
    if let Some(s) = first("ssl_certificate") {
        here.cert = s.arg().cloned();
    }
    if let Some(s) = first("ssl_certificate_key") {
        here.key = s.arg().cloned();
    }
    if let Some(s) = first("ssl") {
        here.ssl_on = (s.arg().map(String::as_str) == Some("on")).then_some((s.file, s.line));
    }
    here
}

fn walk(stmts: &[Stmt], parent: &Inherited, shown: &[String], out: &mut Vec<TlsServer>) {
    let here = settings(stmts, parent);
    for s in stmts {
        let Some(block) = &s.block else {
            continue;
        };
        if s.is("server") {
            server(block, &here, shown, out);
        } else if s.is("http") || s.is("stream") || s.is("mail") {
            walk(block, &here, shown, out);
        }
        // Other blocks (`map`, `types`, `upstream`…) hold no servers, and words in them that
        // look like directives are not.
    }
}

fn server(block: &[Stmt], parent: &Inherited, shown: &[String], out: &mut Vec<TlsServer>) {
    let here = settings(block, parent);
    let server_names: Vec<String> = block
        .iter()
        .filter(|s| s.block.is_none() && s.is("server_name"))
        .flat_map(|s| s.words[1..].iter().cloned())
        .collect();
    // (port, address or None for "any", evidence) of every TLS listen, in order.
    let mut listens: Vec<(u16, Option<String>, String)> = Vec::new();
    let mut any_listen = false;
    for s in block.iter().filter(|s| s.block.is_none() && s.is("listen")) {
        any_listen = true;
        let Some((addr, port)) = s.arg().and_then(|a| listen_address(a)) else {
            continue;
        };
        let params = &s.words[2..];
        // QUIC is TLS over UDP: no TCP port to check or publish.
        if params.iter().any(|p| p == "quic") {
            continue;
        }
        if params.iter().any(|p| p == "ssl") {
            listens.push((port, addr, at(shown, s.file, s.line)));
        } else if let Some((f, l)) = here.ssl_on {
            listens.push((port, addr, at(shown, f, l)));
        }
    }
    // No `listen` at all is `listen *:80` (as root, which the images run nginx as).
    if !any_listen {
        if let Some((f, l)) = here.ssl_on {
            listens.push((80, None, at(shown, f, l)));
        }
    }
    let mut ports: Vec<u16> = Vec::new();
    for (port, _, _) in &listens {
        if !ports.contains(port) {
            ports.push(*port);
        }
    }
    for port in ports {
        let of_port: Vec<&(u16, Option<String>, String)> =
            listens.iter().filter(|(p, _, _)| *p == port).collect();
        // One address for the port only if every listen of it names the same one.
        let addr = match of_port.first().map(|(_, a, _)| a.clone()) {
            Some(Some(a)) if of_port.iter().all(|(_, b, _)| b.as_ref() == Some(&a)) => Some(a),
            _ => None,
        };
        out.push(TlsServer {
            evidence: of_port
                .first()
                .map(|(_, _, e)| e.clone())
                .unwrap_or_default(),
            listen: Listen { port, addr },
            server_names: server_names.clone(),
            cert: here.cert.clone(),
            key: here.key.clone(),
        });
    }
}

/// The address (`None`: any) and port of a `listen` argument: `443`, `*:443`, `[::]:443`,
/// `127.0.0.1:8443`, `localhost:443`, `127.0.0.1` (port 80). `None` for a unix socket.
fn listen_address(arg: &str) -> Option<(Option<String>, u16)> {
    if arg.starts_with("unix:") {
        return None;
    }
    let (host, port) = if let Some(rest) = arg.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        (h, after.strip_prefix(':'))
    } else if let Some((h, p)) = arg.rsplit_once(':') {
        (h, Some(p))
    } else if arg.chars().all(|c| c.is_ascii_digit()) {
        ("*", Some(arg))
    } else {
        (arg, None)
    };
    let port = match port {
        Some(p) => p.parse::<u16>().ok()?,
        None => 80,
    };
    let any = host == "*" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified());
    Some(((!any).then(|| host.to_owned()), port))
}

/// The names every local certificate carries, whatever the configs say: what a browser on this
/// machine uses to reach a published port.
const ALWAYS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The names a certificate for `server_names` must cover, in order, each once: the loopback
/// names first, then every local server name (see [`skipped_names`] for the others).
pub fn cert_names(project_name: &str, server_names: &[String]) -> Vec<String> {
    classify_names(project_name, server_names).0
}

/// The server names [`cert_names`] leaves out, each with the reason, in order, so the UI can
/// say why a name will not be trusted.
pub fn skipped_names(project_name: &str, server_names: &[String]) -> Vec<(String, String)> {
    classify_names(project_name, server_names).1
}

/// What one `server_name` entry means for a certificate.
enum NameUse {
    Keep(Vec<String>),
    Skip(&'static str),
}

fn classify_names(
    project_name: &str,
    server_names: &[String],
) -> (Vec<String>, Vec<(String, String)>) {
    let mut names: Vec<String> = ALWAYS.iter().map(|s| s.to_string()).collect();
    let mut skipped: Vec<(String, String)> = Vec::new();
    let label = project_label(project_name);
    for raw in server_names {
        match name_use(&label, raw) {
            NameUse::Keep(list) => {
                for n in list {
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
            }
            NameUse::Skip(why) => {
                if !skipped.iter().any(|(n, _)| n == raw) {
                    skipped.push((raw.clone(), why.to_owned()));
                }
            }
        }
    }
    (names, skipped)
}

fn name_use(project_label: &str, raw: &str) -> NameUse {
    // nginx compares names without regard to case; certificates hold them in lower case.
    let name = raw.to_ascii_lowercase();
    if name.is_empty() {
        return NameUse::Skip("the empty name only matches requests without a Host header");
    }
    if name == "_" {
        return NameUse::Skip("`_` is a catch-all that matches any host, not a host name");
    }
    // Before the variable check: a regex ends in `$` more often than not.
    if name.starts_with('~') {
        return NameUse::Skip("a regular expression, not a host name");
    }
    if name.contains('$') {
        return NameUse::Skip("holds an nginx variable, known only at run time");
    }
    // `.example.test` is nginx's short form for `example.test` and `*.example.test`.
    if let Some(base) = name.strip_prefix('.') {
        let mut out = Vec::new();
        for n in [base.to_owned(), format!("*.{base}")] {
            match name_use(project_label, &n) {
                NameUse::Keep(list) => out.extend(list),
                NameUse::Skip(why) => return NameUse::Skip(why),
            }
        }
        return NameUse::Keep(out);
    }
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(&name);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return if ip.is_loopback() && ALWAYS.contains(&ip.to_string().as_str()) {
            NameUse::Keep(vec![ip.to_string()])
        } else {
            NameUse::Skip(
                "an address other than 127.0.0.1 and ::1, which the local CA does not sign",
            )
        };
    }
    let (wildcard, base) = match name.strip_prefix("*.") {
        Some(base) => (true, base),
        None => (false, name.as_str()),
    };
    if base.contains('*') {
        return NameUse::Skip("a wildcard is only valid as the whole first label");
    }
    if !is_dns_name(base) {
        return NameUse::Skip("not a valid DNS name");
    }
    if !(is_local(base) || (wildcard && base == "test")) {
        return NameUse::Skip(
            "not a local name: the local CA only signs localhost, *.localhost and *.test names",
        );
    }
    // A wildcard right under `localhost` or `test` covers a whole top-level domain, which
    // browsers refuse to match; the project's own subdomain is what the stack can use instead.
    if wildcard && !base.contains('.') {
        return NameUse::Keep(vec![
            format!("{project_label}.{base}"),
            format!("*.{project_label}.{base}"),
        ]);
    }
    NameUse::Keep(vec![name])
}

fn is_local(name: &str) -> bool {
    name == "localhost" || name.ends_with(".localhost") || name.ends_with(".test")
}

/// A host name of letter-digit-hyphen labels, as a certificate's DNS name must be.
fn is_dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

/// The project name as one DNS label: Compose allows `_` and a leading digit run up to any
/// length, a host name label allows neither `_` nor more than 63 characters.
fn project_label(project_name: &str) -> String {
    let mapped: String = project_name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = mapped.trim_matches('-');
    let cut: String = trimmed.chars().take(63).collect();
    let label = cut.trim_end_matches('-');
    if label.is_empty() {
        "berth".to_owned()
    } else {
        label.to_owned()
    }
}

/// A compose fragment that bind-mounts `host_dir` at `container_dir` read-only for `service`:
/// what Berth adds to the override it manages when a certificate's folder is not mounted.
/// Read-only because the container only reads certificates; Berth writes them on the host.
/// A file path works for both arguments too (Docker binds single files). Every value is
/// double-quoted, so names like `on` or `1e3` and Windows paths stay strings.
pub fn mount_override(service: &str, container_dir: &str, host_dir: &str) -> String {
    let mut out = String::from("services:\n");
    let _ = writeln!(out, "  {}:", quoted(service));
    out.push_str("    volumes:\n      - type: bind\n");
    let _ = writeln!(out, "        source: {}", quoted(host_dir));
    let _ = writeln!(out, "        target: {}", quoted(container_dir));
    out.push_str("        read_only: true\n");
    out
}

/// A YAML double-quoted scalar: backslashes, quotes and control characters escaped.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Arc;

    use crate::yaml::Pos;

    fn mount(kind: MountKind, source: &str, target: &str, read_only: bool) -> Mount {
        Mount {
            kind,
            source: Some(source.to_owned()),
            target: target.to_owned(),
            read_only,
            pos: Pos {
                file: Arc::from("compose.yaml"),
                line: 1,
                col: 1,
            },
        }
    }

    fn one_file(text: &str) -> Vec<TlsServer> {
        let files = [ConfFile {
            path: PathBuf::from("/p/default.conf"),
            text: text.to_owned(),
        }];
        nginx_servers(&files, &["default.conf".to_owned()], &[])
    }

    /// (port, address, evidence) of each TLS listener.
    fn listeners(servers: &[TlsServer]) -> Vec<(u16, Option<&str>, &str)> {
        servers
            .iter()
            .map(|s| (s.listen.port, s.listen.addr.as_deref(), s.evidence.as_str()))
            .collect()
    }

    #[test]
    fn every_form_of_a_tls_listen_is_found_and_plain_ones_are_not() {
        let conf = "\
server {
    listen 80;
    server_name plain.localhost;
}
server {
    listen 443 ssl http2;
    listen [::]:443 ssl;
    server_name a.localhost;
    ssl_certificate /etc/nginx/ssl/a.crt;
    ssl_certificate_key /etc/nginx/ssl/a.key;
}
server { listen 127.0.0.1:8443 ssl; }
server { listen *:9443 ssl default_server; listen [::1]:9444 ssl; }
server { listen 443 quic reuseport; listen unix:/run/tls.sock ssl; }
server { listen localhost:7443 ssl; listen 7443 ssl; }
";
        let servers = one_file(conf);
        assert_eq!(
            listeners(&servers),
            vec![
                (443, None, "default.conf:6"),
                (8443, Some("127.0.0.1"), "default.conf:12"),
                (9443, None, "default.conf:13"),
                (9444, Some("::1"), "default.conf:13"),
                (7443, None, "default.conf:15"),
            ],
            "one listener per port; QUIC and unix sockets left out"
        );
        assert_eq!(servers[0].server_names, vec!["a.localhost".to_owned()]);
        assert_eq!(servers[0].cert.as_deref(), Some("/etc/nginx/ssl/a.crt"));
        assert_eq!(servers[0].key.as_deref(), Some("/etc/nginx/ssl/a.key"));
        assert_eq!(
            servers[1].cert, None,
            "no certificate named in the files read"
        );
    }

    #[test]
    fn ssl_on_makes_every_listen_of_its_server_tls() {
        let conf = "\
server {
    listen 8443;
    listen 8444;
    ssl on;
    ssl_certificate cert.pem;
}
server { ssl on; }
server { listen 8445; ssl off; }
";
        assert_eq!(
            listeners(&one_file(conf)),
            vec![
                (8443, None, "default.conf:4"),
                (8444, None, "default.conf:4"),
                (80, None, "default.conf:7"),
            ],
            "no listen at all is port 80"
        );
    }

    #[test]
    fn certificates_set_outside_a_server_are_inherited_each_on_its_own() {
        let conf = "\
ssl_certificate_key /k/outer.key;
http {
    ssl_certificate /c/http.crt;
    server { listen 443 ssl; }
    server {
        listen 444 ssl;
        ssl_certificate /c/own.crt;
    }
    server {
        listen 445 ssl;
        ssl_certificate_key /k/own.key;
    }
}
";
        let got: Vec<(u16, Option<String>, Option<String>)> = one_file(conf)
            .into_iter()
            .map(|s| (s.listen.port, s.cert, s.key))
            .collect();
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            got,
            vec![
                (443, some("/c/http.crt"), some("/k/outer.key")),
                (444, some("/c/own.crt"), some("/k/outer.key")),
                (445, some("/c/http.crt"), some("/k/own.key")),
            ]
        );
    }

    #[test]
    fn container_paths_are_absolute_under_the_nginx_prefix() {
        assert_eq!(container_path("cert.pem"), "/etc/nginx/cert.pem");
        assert_eq!(
            container_path("ssl/../certs/./a.crt"),
            "/etc/nginx/certs/a.crt"
        );
        assert_eq!(container_path("/etc//ssl/a.crt"), "/etc/ssl/a.crt");
        assert_eq!(container_path("/etc/nginx/ssl/"), "/etc/nginx/ssl");
    }

    #[test]
    fn the_longest_mount_holding_a_path_places_it() {
        let mounts = [
            mount(MountKind::Bind, "/h/nginx", "/etc/nginx", true),
            mount(MountKind::Bind, "/h/ssl/", "/etc/nginx/ssl/", false),
            mount(MountKind::Bind, "/h/ssl2", "/etc/nginx/ssl2", true),
            mount(MountKind::Volume, "certs", "/etc/nginx/ssl/vol", false),
            mount(MountKind::Bind, "/h/one.crt", "/srv/one.crt", true),
            mount(MountKind::Bind, "nginx:alpine", "/from-image", true),
        ];
        let host = |p: &str, ro: bool| Placement::Host {
            path: PathBuf::from(p),
            mount_readonly: ro,
        };
        assert_eq!(
            placement(&mounts, "/etc/nginx/ssl/a.crt"),
            host("/h/ssl/a.crt", false),
            "the deeper mount wins, trailing slashes or not"
        );
        assert_eq!(
            placement(&mounts, "/etc/nginx/ssl2/sub/b.crt"),
            host("/h/ssl2/sub/b.crt", true)
        );
        assert_eq!(
            placement(&mounts, "/etc/nginx/sslx/c.crt"),
            host("/h/nginx/sslx/c.crt", true),
            "`/etc/nginx/ssl` is not a prefix of `/etc/nginx/sslx`"
        );
        assert_eq!(
            placement(&mounts, "ssl/../ssl/d.crt"),
            host("/h/ssl/d.crt", false),
            "relative to the nginx prefix"
        );
        assert_eq!(placement(&mounts, "/srv/one.crt"), host("/h/one.crt", true));
        assert_eq!(
            placement(&mounts, "/etc/nginx/ssl/vol/e.crt"),
            Placement::NotMounted {
                container_path: "/etc/nginx/ssl/vol/e.crt".to_owned(),
                suggested_mount_dir: "/etc/nginx/ssl/vol".to_owned(),
                hides_image_files: false,
            },
            "a named volume over the bind hides it"
        );
        assert!(
            matches!(
                placement(&mounts, "/from-image/f.crt"),
                Placement::NotMounted { .. }
            ),
            "an image mount's source is no host path"
        );
    }

    #[test]
    fn a_path_outside_every_bind_is_not_mounted() {
        assert_eq!(
            placement(&[], "/etc/ssl/private/site.key"),
            Placement::NotMounted {
                container_path: "/etc/ssl/private/site.key".to_owned(),
                suggested_mount_dir: "/etc/ssl/private".to_owned(),
                hides_image_files: false,
            }
        );
        assert_eq!(
            placement(&[], "cert.pem"),
            Placement::NotMounted {
                container_path: "/etc/nginx/cert.pem".to_owned(),
                suggested_mount_dir: "/etc/nginx".to_owned(),
                hides_image_files: true,
            },
            "mounting over /etc/nginx would hide nginx.conf"
        );
        assert_eq!(
            placement(&[], "/cert.pem"),
            Placement::NotMounted {
                container_path: "/cert.pem".to_owned(),
                suggested_mount_dir: "/".to_owned(),
                hides_image_files: true,
            }
        );
        for dynamic in [
            "/etc/ssl/$ssl_server_name.crt",
            "data:$cert_pem",
            "engine:pkcs11:k",
        ] {
            assert_eq!(
                placement(&[], dynamic),
                Placement::Unresolved {
                    written: Some(dynamic.to_owned())
                }
            );
        }
    }

    #[test]
    fn includes_among_the_configs_are_read_in_place_once() {
        let file = |p: &str, text: &str| ConfFile {
            path: PathBuf::from(p),
            text: text.to_owned(),
        };
        let files = [
            file(
                "/p/nginx/nginx.conf",
                "http {\n  ssl_certificate_key /etc/nginx/ssl/k.key;\n  include /etc/nginx/conf.d/*.conf;\n}\n",
            ),
            file(
                "/p/nginx/conf.d/b.conf",
                "server {\n  listen 8443 ssl;\n  include snippets/tls.conf;\n}\n",
            ),
            file("/p/nginx/conf.d/a.conf", "server {\n  listen 443 ssl;\n}\n"),
            file("/p/nginx/conf.d/a.conf.bak", "server { listen 1 ssl; }\n"),
            file(
                "/p/nginx/snippets/tls.conf",
                "ssl_certificate /etc/nginx/ssl/c.crt;\n",
            ),
        ];
        let shown: Vec<String> = files
            .iter()
            .map(|f| {
                f.path
                    .to_string_lossy()
                    .trim_start_matches("/p/")
                    .to_owned()
            })
            .collect();
        let mounts = [
            mount(
                MountKind::Bind,
                "/p/nginx/nginx.conf",
                "/etc/nginx/nginx.conf",
                true,
            ),
            mount(
                MountKind::Bind,
                "/p/nginx/conf.d",
                "/etc/nginx/conf.d",
                true,
            ),
            mount(
                MountKind::Bind,
                "/p/nginx/snippets",
                "/etc/nginx/snippets",
                true,
            ),
        ];
        let got: Vec<(String, Option<String>, Option<String>)> =
            nginx_servers(&files, &shown, &mounts)
                .into_iter()
                .map(|s| (s.evidence, s.cert, s.key))
                .collect();
        let some = |s: &str| Some(s.to_owned());
        assert_eq!(
            got,
            vec![
                (
                    "nginx/conf.d/a.conf:2".to_owned(),
                    None,
                    some("/etc/nginx/ssl/k.key")
                ),
                (
                    "nginx/conf.d/b.conf:2".to_owned(),
                    some("/etc/nginx/ssl/c.crt"),
                    some("/etc/nginx/ssl/k.key")
                ),
                ("nginx/conf.d/a.conf.bak:1".to_owned(), None, None),
            ],
            "conf.d in name order inside http; a file no glob matches read on its own"
        );
    }

    #[test]
    fn files_that_include_each_other_are_still_read_once() {
        let files = [
            ConfFile {
                path: PathBuf::from("/p/conf.d/a.conf"),
                text: "include conf.d/b.conf;\nserver { listen 443 ssl; }\n".to_owned(),
            },
            ConfFile {
                path: PathBuf::from("/p/conf.d/b.conf"),
                text: "include conf.d/a.conf;\nserver { listen 444 ssl; }\n".to_owned(),
            },
        ];
        let shown = ["a.conf".to_owned(), "b.conf".to_owned()];
        let mounts = [mount(
            MountKind::Bind,
            "/p/conf.d",
            "/etc/nginx/conf.d",
            true,
        )];
        let ports: Vec<u16> = nginx_servers(&files, &shown, &mounts)
            .iter()
            .map(|s| s.listen.port)
            .collect();
        assert_eq!(ports, vec![444, 443]);
    }

    #[test]
    fn globs_match_as_nginx_include_does() {
        assert!(glob_match("*.conf", "default.conf"));
        assert!(!glob_match("*.conf", "default.conf.bak"));
        assert!(glob_match("site-?.conf", "site-a.conf"));
        assert!(glob_match("*", "x"));
        assert!(!glob_match("a*b", "ac"));
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn loopback_names_always_come_first() {
        assert_eq!(
            cert_names("demo", &[]),
            names(&["localhost", "127.0.0.1", "::1"])
        );
        assert_eq!(
            cert_names("demo", &names(&["localhost", "[::1]", "127.0.0.1"])),
            names(&["localhost", "127.0.0.1", "::1"]),
            "written loopback names are not repeated"
        );
    }

    #[test]
    fn local_names_are_kept_in_order_once() {
        let got = cert_names(
            "demo",
            &names(&[
                "App.localhost",
                "*.app.localhost",
                "shop.test",
                "*.shop.test",
                "app.localhost",
                ".api.test",
            ]),
        );
        assert_eq!(
            got,
            names(&[
                "localhost",
                "127.0.0.1",
                "::1",
                "app.localhost",
                "*.app.localhost",
                "shop.test",
                "*.shop.test",
                "api.test",
                "*.api.test",
            ])
        );
    }

    #[test]
    fn a_wildcard_over_a_whole_tld_becomes_the_projects_subdomain() {
        assert_eq!(
            cert_names("luminai", &names(&["localhost", "*.localhost"])),
            names(&[
                "localhost",
                "127.0.0.1",
                "::1",
                "luminai.localhost",
                "*.luminai.localhost"
            ])
        );
        assert_eq!(
            cert_names("shop", &names(&["*.test"]))[3..],
            names(&["shop.test", "*.shop.test"]),
            "browsers refuse `*.test` for the same reason"
        );
        assert_eq!(
            cert_names("shop", &names(&[".localhost"]))[3..],
            names(&["shop.localhost", "*.shop.localhost"]),
            "`.localhost` is `localhost` plus `*.localhost`"
        );
    }

    #[test]
    fn the_project_label_is_a_valid_dns_label() {
        assert_eq!(project_label("my_app"), "my-app");
        assert_eq!(project_label("_x_"), "x");
        assert_eq!(project_label("__"), "berth");
        let long = "a".repeat(62) + "_b";
        let label = project_label(&long);
        assert_eq!(label, "a".repeat(62), "cut to 63, no trailing hyphen");
        assert!(is_dns_name(&label));
        assert_eq!(
            cert_names("my_app", &names(&["*.localhost"]))[3],
            "my-app.localhost"
        );
    }

    #[test]
    fn names_a_certificate_cannot_hold_are_skipped_with_reasons() {
        let written = names(&[
            "_",
            "",
            "$hostname",
            "~^(?<sub>.+)\\.example\\.com$",
            "example.com",
            "*.example.com",
            "www.example.*",
            "a.*.localhost",
            "under_score.localhost",
            "192.168.1.10",
            "localhost",
            "test",
        ]);
        let kept = cert_names("demo", &written);
        assert_eq!(kept, names(&["localhost", "127.0.0.1", "::1"]));
        let skipped = skipped_names("demo", &written);
        let why = |n: &str| {
            skipped
                .iter()
                .find(|(s, _)| s == n)
                .map(|(_, w)| w.as_str())
                .unwrap_or_else(|| panic!("{n} should be skipped: {skipped:?}"))
        };
        assert!(why("_").contains("catch-all"));
        assert!(why("").contains("empty name"));
        assert!(why("$hostname").contains("variable"));
        assert!(why("~^(?<sub>.+)\\.example\\.com$").contains("regular expression"));
        assert!(why("example.com").contains("not a local name"));
        assert!(why("*.example.com").contains("not a local name"));
        assert!(why("www.example.*").contains("first label"));
        assert!(why("a.*.localhost").contains("first label"));
        assert!(why("under_score.localhost").contains("not a valid DNS name"));
        assert!(why("192.168.1.10").contains("address"));
        assert!(why("test").contains("not a local name"));
        assert_eq!(skipped.len(), 11, "localhost is kept: {skipped:?}");
    }

    #[test]
    fn the_mount_override_is_yaml_that_reads_back() {
        let text = mount_override("on", "/etc/nginx/ssl", "C:\\Users\\a \"b\"\\certs");
        let root = crate::yaml::parse(&text, "override.yaml").expect("valid YAML");
        let svc = root
            .get("services")
            .and_then(|s| s.get("on"))
            .expect("the service key stays the string `on`");
        let vols = svc.get("volumes").and_then(|v| v.as_seq()).expect("a list");
        assert_eq!(vols.len(), 1);
        let v = &vols[0];
        let s = |k: &str| v.get(k).and_then(|n| n.as_scalar()).map(str::to_owned);
        assert_eq!(s("type").as_deref(), Some("bind"));
        assert_eq!(s("source").as_deref(), Some("C:\\Users\\a \"b\"\\certs"));
        assert_eq!(s("target").as_deref(), Some("/etc/nginx/ssl"));
        assert_eq!(s("read_only").as_deref(), Some("true"));
    }
}
