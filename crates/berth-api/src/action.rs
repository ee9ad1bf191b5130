//! The lifecycle actions a user can take on a stack, and the compose arguments each one means.
//! Arguments are built here and nowhere else.

use berth_engine::ComposeArgs;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};

/// One user action on a stack (or on some of its services).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// `up -d`, then Berth's wait for health checks. Orphans (containers of this project that
    /// came from another `-f` set) stay unless asked for.
    Up {
        #[serde(default)]
        remove_orphans: bool,
        /// Start even when the port check finds a host port taken (compose then fails on it).
        #[serde(default)]
        skip_port_check: bool,
    },
    /// `down`; volumes only when asked (that deletes data).
    Down {
        #[serde(default)]
        volumes: bool,
        #[serde(default)]
        remove_orphans: bool,
    },
    Start,
    Stop,
    Restart,
    /// Build the images, then recreate only those services.
    Rebuild,
    /// Recreate only those services' containers from the files as they are now (what a
    /// "needs recreate" drift asks for), without building.
    Recreate,
    Pull,
    /// Run `replicas` containers of each named service.
    Scale {
        replicas: u32,
    },
    /// Save the stack's data (databases dumped, volumes archived).
    Snapshot,
    /// Put a snapshot's data back.
    Restore,
    /// A safety snapshot, `down -v`, an optional rebuild, `up`.
    Reset,
}

impl Action {
    /// The name people read: "Up", "Down", "Rebuild".
    pub fn title(&self) -> &'static str {
        match self {
            Action::Up { .. } => "Up",
            Action::Down { .. } => "Down",
            Action::Start => "Start",
            Action::Stop => "Stop",
            Action::Restart => "Restart",
            Action::Rebuild => "Rebuild",
            Action::Recreate => "Recreate",
            Action::Pull => "Pull",
            Action::Scale { .. } => "Scale",
            Action::Snapshot => "Snapshot",
            Action::Restore => "Restore",
            Action::Reset => "Reset",
        }
    }

    /// Whether the action can name services (Down always acts on the whole stack).
    fn takes_services(&self) -> bool {
        !matches!(self, Action::Down { .. })
    }
}

/// What compose is asked to run for `action` on `services` (all when empty), in order.
pub fn compose_args(action: &Action, services: &[String]) -> Result<Vec<ComposeArgs>, ApiError> {
    if !action.takes_services() && !services.is_empty() {
        return Err(ApiError::invalid_input(format!(
            "{} acts on the whole stack; it takes no service names",
            action.title()
        )));
    }
    let one = |verb: &str| vec![ComposeArgs::new(verb).services(services)];
    Ok(match *action {
        Action::Up { remove_orphans, .. } => {
            let mut up = ComposeArgs::new("up").flag("-d");
            if remove_orphans {
                up = up.flag("--remove-orphans");
            }
            vec![up.services(services)]
        }
        Action::Down {
            volumes,
            remove_orphans,
        } => {
            let mut down = ComposeArgs::new("down");
            if volumes {
                down = down.flag("--volumes");
            }
            if remove_orphans {
                down = down.flag("--remove-orphans");
            }
            vec![down]
        }
        Action::Start => one("start"),
        Action::Stop => one("stop"),
        Action::Restart => one("restart"),
        Action::Pull => one("pull"),
        Action::Recreate => vec![ComposeArgs::new("up")
            .flag("-d")
            .flag("--no-deps")
            .flag("--force-recreate")
            .services(services)],
        Action::Rebuild => vec![
            ComposeArgs::new("build").services(services),
            // Only those services: every other container stays as it is.
            ComposeArgs::new("up")
                .flag("-d")
                .flag("--no-deps")
                .flag("--force-recreate")
                .services(services),
        ],
        Action::Snapshot | Action::Restore | Action::Reset => {
            return Err(ApiError::invalid_input(format!(
                "{} is not a compose command: it is the stack's own snapshot action",
                action.title()
            )))
        }
        Action::Scale { replicas } => {
            if services.is_empty() {
                return Err(ApiError::invalid_input("Scale needs the services to scale"));
            }
            let mut up = ComposeArgs::new("up").flag("-d").flag("--no-recreate");
            for s in services {
                up = up.flag("--scale").flag(format!("{s}={replicas}"));
            }
            vec![up.services(services)]
        }
    })
}

/// A service name as compose accepts it. Anything else (`--push`, `a b`, empty) is refused
/// before a child is spawned.
pub fn valid_service_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

pub(crate) fn check_names(services: &[String]) -> Result<(), ApiError> {
    for s in services {
        if !valid_service_name(s) {
            return Err(ApiError::new(
                ErrorCode::UnknownService,
                format!(
                    "{s:?} is not a service name (letters, digits, '.', '_' and '-', starting with a letter or digit)"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(a: &ComposeArgs) -> Vec<String> {
        let mut v = vec![a.verb.clone()];
        v.extend(a.flags.iter().cloned());
        if !a.services.is_empty() {
            v.push("--".into());
            v.extend(a.services.iter().cloned());
        }
        v
    }

    #[test]
    fn orphans_are_never_removed_unless_asked() {
        for action in [
            Action::Up {
                remove_orphans: false,
                skip_port_check: false,
            },
            Action::Down {
                volumes: true,
                remove_orphans: false,
            },
        ] {
            let args = compose_args(&action, &[]).expect("args");
            assert!(
                !args
                    .iter()
                    .any(|a| a.flags.iter().any(|f| f == "--remove-orphans")),
                "{action:?} must keep containers another -f set made"
            );
        }
        let asked = compose_args(
            &Action::Down {
                volumes: false,
                remove_orphans: true,
            },
            &[],
        )
        .expect("args");
        assert_eq!(words(&asked[0]), vec!["down", "--remove-orphans"]);
    }

    #[test]
    fn each_action_means_one_argument_list() {
        let web = vec!["web".to_owned()];
        let rebuild = compose_args(&Action::Rebuild, &web).expect("args");
        assert_eq!(words(&rebuild[0]), vec!["build", "--", "web"]);
        assert_eq!(
            words(&rebuild[1]),
            vec!["up", "-d", "--no-deps", "--force-recreate", "--", "web"]
        );
        let recreate = compose_args(&Action::Recreate, &web).expect("args");
        assert_eq!(
            words(&recreate[0]),
            vec!["up", "-d", "--no-deps", "--force-recreate", "--", "web"],
            "recreate builds nothing and touches only the named services"
        );
        let scale = compose_args(&Action::Scale { replicas: 3 }, &web).expect("args");
        assert_eq!(
            words(&scale[0]),
            vec!["up", "-d", "--no-recreate", "--scale", "web=3", "--", "web"]
        );
        assert!(compose_args(&Action::Scale { replicas: 2 }, &[]).is_err());
        assert!(
            compose_args(
                &Action::Down {
                    volumes: false,
                    remove_orphans: false
                },
                &web
            )
            .is_err(),
            "down of one service is not a thing compose does"
        );
        assert_eq!(
            words(&compose_args(&Action::Stop, &[]).expect("args")[0]),
            vec!["stop"]
        );
    }

    #[test]
    fn service_names_are_checked_before_any_child_runs() {
        for ok in ["web", "db-1", "a.b_c", "0x"] {
            assert!(valid_service_name(ok), "{ok}");
        }
        for bad in ["--push", "-d", "", "a b", "../x", "é", ".hidden"] {
            assert!(!valid_service_name(bad), "{bad:?} must be refused");
        }
        let e = check_names(&["--push".to_owned()]).expect_err("refused");
        assert_eq!(e.code, ErrorCode::UnknownService);
    }

    #[test]
    fn actions_cross_the_boundary_as_tagged_json() {
        let a: Action = serde_json::from_str(r#"{"kind":"down","volumes":true}"#).expect("parses");
        assert_eq!(
            a,
            Action::Down {
                volumes: true,
                remove_orphans: false
            }
        );
        assert_eq!(
            serde_json::to_string(&Action::Scale { replicas: 2 }).expect("json"),
            r#"{"kind":"scale","replicas":2}"#
        );
    }
}
