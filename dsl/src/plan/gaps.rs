//! What a target cannot express of a service and leaves out, where the app still starts
//! without it: warnings, so no setting is dropped silently. (What a target cannot do and
//! the app needs, a host device say, is a validation error of that target instead.)

use crate::diagnostics::{Path, Warning, WarningKind};
use crate::model::{HealthTool, Ulimit};

use super::Plan;

/// One warning per setting of a service the Kubernetes manifests cannot carry.
pub(super) fn warnings(plan: &Plan<'_>) -> Vec<Warning> {
    let stack = plan.stack();
    let mut out = Vec::new();
    for svc in plan.manifests() {
        let path = || Path::service(&stack.name, &svc.name);
        let mut gap = |path: Path, message: String, hint: &str| {
            out.push(Warning::new(WarningKind::TargetGap, path, message, hint).at(svc.origin));
        };
        if let Some(u) = svc.ulimits.first() {
            gap(
                path().field(&format!("ulimits[{}]", u.name)),
                format!(
                    "Kubernetes has no per-container ulimits: the pods of `{}` get the container runtime's, not the stack's {}",
                    svc.name,
                    limits(&svc.ulimits)
                ),
                "check the nodes' runtime limits (containerd's and CRI-O's are set in their configuration), where the workload needs more (the stack's limit stays in Compose)",
            );
        }
        if !svc.compose.env_files.is_empty() || !svc.compose.pass_env.is_empty() {
            let mut what = Vec::new();
            if !svc.compose.env_files.is_empty() {
                let files: Vec<&str> = svc
                    .compose
                    .env_files
                    .iter()
                    .map(|f| f.path.as_str())
                    .collect();
                what.push(format!("env file {}", files.join(", ")));
            }
            if !svc.compose.pass_env.is_empty() {
                what.push(format!(
                    "{} passed through from `.env` ({})",
                    svc.compose.pass_env.len(),
                    svc.compose.pass_env.join(", ")
                ));
            }
            gap(
                path().field("compose"),
                format!(
                    "`{}` reads variables in Compose that its Kubernetes pods do not get: {}",
                    svc.name,
                    what.join("; ")
                ),
                "set each variable the app needs in Kubernetes with `.env(…)`, `.config(…)` or a `SecretRef`",
            );
        }
        if svc.health_tool == Some(HealthTool::ImageHealthcheck) && svc.probes.iter().count() == 0 {
            gap(
                path().field("health_tool"),
                format!(
                    "Compose runs the image's own HEALTHCHECK for `{}`, which Kubernetes ignores, and the service has no probe: its pods count as ready once started",
                    svc.name
                ),
                "add a `.readiness(Probe::…)` (and `.liveness(…)`) for Kubernetes",
            );
        }
    }
    out
}

/// `nofile 1024/4096, nproc 512/512`: a service's ulimits, soft/hard.
fn limits(ulimits: &[Ulimit]) -> String {
    ulimits
        .iter()
        .map(|u| format!("{} {}/{}", u.name, u.soft, u.hard))
        .collect::<Vec<_>>()
        .join(", ")
}
