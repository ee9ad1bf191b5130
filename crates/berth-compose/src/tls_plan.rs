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
