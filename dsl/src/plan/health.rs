//! How Compose checks a service's health, and the warnings when it cannot.
//!
//! Compose has no built-in network check: a healthcheck is a command run inside the image.
//! The stack states which client its image ships ([`HealthTool`]); unstated, BusyBox `wget`
//! is assumed only for an image the stack builds from its own Dockerfile. Any other image
//! gets no healthcheck — a check that always fails would hang every `depends_on:
//! service_healthy` forever — its dependants wait for `service_started`, and the plan
//! carries a [`Warning`] the CLI prints.

use crate::diagnostics::{Path, Warning, WarningKind};
use crate::model::{HealthTool, Probe, ProbeAction, Service, Target};

use super::Plan;

/// The probe Compose turns into `svc`'s healthcheck and the tool that runs it (`None` for
/// an exec probe, which needs none), or `None` when Compose renders no healthcheck.
pub(super) fn compose_check(svc: &Service) -> Option<(&Probe, Option<HealthTool>)> {
    let probe = svc.health_probe()?;
    if svc.health_tool == Some(HealthTool::ImageHealthcheck) {
        return None;
    }
    if let ProbeAction::Exec { .. } = probe.action {
        return Some((probe, None));
    }
    let tool = match svc.health_tool {
        Some(tool) => tool,
        // The stack's own Dockerfile: the one assumption made, and stated in the guide.
        None if svc.source.build.is_some() => HealthTool::Wget,
        None => return None,
    };
    tool.runs(probe).then_some((probe, Some(tool)))
}

/// Compose knows when `svc` is healthy: it renders a healthcheck, or the image has its own.
pub(super) fn compose_healthy(svc: &Service) -> bool {
    svc.health_tool == Some(HealthTool::ImageHealthcheck) || compose_check(svc).is_some()
}

/// One warning per service Compose runs whose probe it cannot run because no tool is
/// stated, naming the services that then wait for it to start rather than to be ready.
pub(super) fn warnings(plan: &Plan<'_>) -> Vec<Warning> {
    let stack = plan.stack();
    let declared = plan.services(Target::Compose);
    let invented = plan
        .edge()
        .into_iter()
        .chain(plan.monitoring().iter().map(|m| &m.service));
    let mut out = Vec::new();
    for svc in declared.chain(invented) {
        let Some(probe) = svc.health_probe() else {
            continue;
        };
        if svc.health_tool.is_some() || compose_check(svc).is_some() {
            continue;
        }
        let kind = probe.action.kind();
        let why = if svc.source.build.is_some() {
            format!(
                "the stack builds its image, but BusyBox `wget` (assumed for built images) cannot run a {kind} probe"
            )
        } else {
            "no health-check tool is stated and the stack does not build its image, so nothing says which client it ships".to_owned()
        };
        let dependants: Vec<String> = plan
            .services(Target::Compose)
            .filter(|d| d.dependencies().iter().any(|r| r.name() == svc.name))
            .map(|d| format!("`{}`", d.name))
            .collect();
        let waiting = if dependants.is_empty() {
            String::new()
        } else {
            format!(
                "; {} wait{} for it to start, not to be ready",
                dependants.join(", "),
                if dependants.len() == 1 { "s" } else { "" }
            )
        };
        let edge = plan.edge().is_some_and(|e| std::ptr::eq(e, svc));
        let (path, on) = if edge {
            (
                Path::stack(&stack.name).field("edge").field("health_tool"),
                "Edge::health_tool",
            )
        } else {
            (
                Path::service(&stack.name, &svc.name).field("health_tool"),
                ".health_tool",
            )
        };
        out.push(Warning::new(
            WarningKind::NoHealthCheck,
            path,
            format!(
                "Compose gives `{}` no healthcheck: {why}{waiting}",
                svc.name
            ),
            format!(
                "state the client the image ships: {}; `{on}(HealthTool::ImageHealthcheck)` when its Dockerfile has a HEALTHCHECK; or `{on}(HealthTool::None)` to accept running without a check",
                suggestion(probe)
                    .iter()
                    .map(|(tool, note)| format!("`{on}({})`{note}", tool.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    out
}

/// The tools that can run a probe, with a note on which images ship them.
fn suggestion(probe: &Probe) -> Vec<(HealthTool, &'static str)> {
    let wget = (HealthTool::Wget, " (Alpine and BusyBox images)");
    let node = (HealthTool::Node, "");
    let python = (HealthTool::Python, "");
    match probe.action {
        ProbeAction::Grpc { .. } => vec![(HealthTool::GrpcHealthProbe, "")],
        ProbeAction::Tcp { .. } => vec![wget, node, python],
        _ => vec![wget, (HealthTool::Curl, ""), node, python],
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostics::WarningKind;
    use crate::model::{Build, Env, HealthTool, Image, Port, Probe, Stack};
    use crate::prelude::Service;

    use super::super::Plan;

    #[test]
    fn a_tool_is_assumed_only_for_an_image_the_stack_builds() {
        let http = Port::http("http", 8080);
        let grpc = Port::grpc("grpc", 7070);
        let mut s = Stack::new("t", Env::Dev);
        let pulled = s.add(
            Service::new("pulled")
                .image(Image::new("acme/a").tag("1"))
                .port(http)
                .readiness(Probe::http_get("/", http)),
        );
        s.add(
            Service::new("built")
                .build(Build::new("."))
                .port(http)
                .readiness(Probe::http_get("/", http)),
        );
        s.add(
            Service::new("built-grpc")
                .build(Build::new("."))
                .port(grpc)
                .readiness(Probe::grpc(grpc)),
        );
        s.add(
            Service::new("stated")
                .image(Image::new("acme/b").tag("1"))
                .port(grpc)
                .readiness(Probe::grpc(grpc))
                .health_tool(HealthTool::GrpcHealthProbe),
        );
        s.add(
            Service::new("none")
                .image(Image::new("acme/c").tag("1"))
                .port(http)
                .readiness(Probe::http_get("/", http))
                .health_tool(HealthTool::None),
        );
        s.add(
            Service::new("exec")
                .image(Image::new("acme/d").tag("1"))
                .readiness(Probe::exec(["true"])),
        );
        s.add(
            Service::new("web")
                .image(Image::new("acme/e").tag("1"))
                .depends_on(&pulled),
        );
        let plan = Plan::derive(&s);
        let tool = |name: &str| {
            let svc = s.service(name).unwrap();
            plan.compose_check(svc).map(|(_, t)| t)
        };
        assert_eq!(tool("pulled"), None);
        assert_eq!(tool("built"), Some(Some(HealthTool::Wget)));
        assert_eq!(tool("built-grpc"), None);
        assert_eq!(tool("stated"), Some(Some(HealthTool::GrpcHealthProbe)));
        assert_eq!(tool("none"), None);
        assert_eq!(tool("exec"), Some(None));
        let warned: Vec<(WarningKind, String)> = plan
            .warnings()
            .iter()
            .filter(|w| w.kind == WarningKind::NoHealthCheck)
            .map(|w| (w.kind, w.path.to_string()))
            .collect();
        assert_eq!(
            warned,
            [
                (
                    WarningKind::NoHealthCheck,
                    "t.services[pulled].health_tool".to_owned()
                ),
                (
                    WarningKind::NoHealthCheck,
                    "t.services[built-grpc].health_tool".to_owned()
                ),
            ]
        );
        assert!(
            plan.warnings()[0]
                .message
                .contains("`web` waits for it to start")
        );
        assert!(
            plan.warnings()[1]
                .hint
                .contains("HealthTool::GrpcHealthProbe")
        );
    }

    #[test]
    fn another_edge_image_needs_its_client_stated_on_the_edge() {
        let http = Port::http("http", 8080);
        let mut s = Stack::new("t", Env::Dev);
        s.edge(crate::model::Edge::nginx().image(Image::new("nginx").tag("1.27.3")));
        s.add(
            Service::new("web")
                .image(Image::new("acme/web").tag("1"))
                .security(crate::model::Security::restricted().run_as_user(1000))
                .port(http)
                .health_tool(HealthTool::None)
                .expose(crate::model::Route::host("shop.example.com", http)),
        );
        let plan = Plan::derive(&s);
        assert_eq!(plan.warnings().len(), 1, "{:?}", plan.warnings());
        assert_eq!(plan.warnings()[0].path, "t.edge.health_tool");
        assert!(
            plan.warnings()[0]
                .hint
                .contains("`Edge::health_tool(HealthTool::Wget)`")
        );
        s.edge(crate::model::Edge::nginx());
        assert!(Plan::derive(&s).warnings().is_empty());
    }
}
