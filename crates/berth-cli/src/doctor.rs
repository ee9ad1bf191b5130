//! `berth doctor`: the readiness checklist and the diagnoses, and `--fix ID` to apply one.

use std::collections::HashMap;
use std::fmt::Write as _;

use berth_api::doctor::{CheckStatus, DoctorView};
use berth_api::ApiError;

use crate::StackArgs;

/// The exit code when an item failed or something was diagnosed.
pub const DOCTOR_FAILED: u8 = 7;

fn word(s: CheckStatus) -> &'static str {
    match s {
        CheckStatus::Ok => "ok",
        CheckStatus::Warn => "warn",
        CheckStatus::Fail => "FAIL",
        CheckStatus::Skip => "skip",
    }
}

fn text(v: &DoctorView) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}", v.project);
    for c in &v.checks {
        let _ = writeln!(o, "  {:<5} {:<36} {}", word(c.status), c.title, c.detail);
        if let Some(f) = &c.fix {
            let _ = writeln!(o, "        fix: {}  (berth doctor --fix {})", f.label, f.id);
        }
    }
    if !v.diagnoses.is_empty() {
        let _ = writeln!(o, "\ndiagnoses");
        for d in &v.diagnoses {
            let _ = writeln!(o, "  {}", d.sentence);
            for e in &d.evidence {
                let _ = writeln!(o, "      {:?}: {}", e.kind, e.text);
            }
            if let Some(f) = &d.fix {
                let _ = writeln!(o, "      fix: {}  (berth doctor --fix {})", f.label, f.id);
            }
        }
    }
    for p in &v.probes {
        let _ = writeln!(
            o,
            "  probe {} -> {} {}:{} {:?}{}",
            p.from,
            p.to,
            p.host,
            p.port,
            p.result,
            p.ms.map(|m| format!(" {m:.1} ms")).unwrap_or_default()
        );
    }
    o
}

pub async fn run(
    stack: StackArgs,
    json: bool,
    fix: Option<String>,
    env: HashMap<String, String>,
) -> Result<(String, u8), ApiError> {
    let req = stack.request();
    if let Some(id) = fix {
        let done = berth_api::doctor::apply_fix(&req, env, &id).await?;
        return Ok((done, 0));
    }
    let view = berth_api::doctor::doctor(&req, env).await;
    let code = if view.failed() { DOCTOR_FAILED } else { 0 };
    let out = if json {
        serde_json::to_string_pretty(&view).unwrap_or_default() + "\n"
    } else {
        text(&view)
    };
    Ok((out, code))
}
