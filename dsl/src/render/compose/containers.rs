//! A service's init containers and sidecars in Compose (see
//! [`Container`](crate::model::Container) for what each target does): init containers as
//! one-shot services the service waits for, sidecars as services in its network namespace;
//! and the pre-stop hook. What Compose cannot express is a validation error here.

use serde::Serialize;

use super::{
    ComposeService, DependsOn, Deploy, compose_service, deploy_resources, env_value, escape_all,
    harden, mount_into,
};
use crate::diagnostics::ErrorKind;
use crate::model::{Container, PreStop, Restart, Service, Target};
use crate::plan::Plan;
use crate::validate::Validator;

/// A Compose lifecycle hook (`pre_stop`).
#[derive(Serialize)]
pub(super) struct Hook {
    pub(super) command: Vec<String>,
}

/// The service's `pre_stop` hooks: its command, if it has one. A sleep exists to let
/// Kubernetes endpoints drop the pod first; Compose has none to drain, and renders nothing.
pub(super) fn pre_stop(svc: &Service) -> Vec<Hook> {
    match svc.effective_pre_stop() {
        Some(PreStop::Exec(argv)) => vec![Hook {
            command: escape_all(&argv),
        }],
        _ => Vec::new(),
    }
}

/// The named volume standing for scratch path `path` of `svc` when the service and one of
/// its containers both mount it (tmpfs is private to one container).
pub(super) fn shared_scratch(svc: &Service, path: &str) -> Option<String> {
    crate::plan::shares_scratch(svc, path).then(|| {
        crate::validate::names::suggest_label(&format!("{}-scratch-{path}", svc.name))
            .trim_end_matches('-')
            .to_owned()
    })
}

/// Every named volume standing for shared scratch space of `svc`.
pub(super) fn shared_volumes(svc: &Service) -> Vec<String> {
    svc.mounts
        .iter()
        .filter_map(|m| shared_scratch(svc, &m.path))
        .collect()
}

/// A container as a Compose service: its image, command, environment, mounts, hardening
/// and resources; no ports, no healthcheck.
fn container(plan: &Plan<'_>, svc: &Service, c: &Container) -> ComposeService {
    let mut out = ComposeService {
        image: Some(c.image.to_string()),
        entrypoint: c.command.as_ref().map(|v| escape_all(v)),
        command: c.args.as_ref().map(|v| escape_all(v)),
        restart: svc.restart.compose(),
        ..ComposeService::default()
    };
    for var in &c.env {
        out.environment
            .insert(var.name.clone(), env_value(plan, &var.value));
    }
    mount_into(&mut out, svc, &c.mounts);
    harden(plan, &mut out, &c.security, &c.mounts);
    out.deploy = c
        .resources
        .as_ref()
        .and_then(deploy_resources)
        .map(|resources| Deploy {
            replicas: None,
            resources: Some(resources),
        });
    out
}

/// The one-shot services of `svc`'s init containers, in order, each waiting for the one
/// before it and for the services its environment reaches.
pub(super) fn init_services(plan: &Plan<'_>, svc: &Service) -> Vec<(String, ComposeService)> {
    let mut out: Vec<(String, ComposeService)> = Vec::new();
    for c in &svc.init_containers {
        let mut s = container(plan, svc, c);
        s.restart = Restart::Never.compose();
        for dep in c.env.iter().flat_map(|v| v.value.services()) {
            let target = compose_service(plan, dep.name());
            let condition = if target.is_some_and(|d| plan.compose_check(d).is_some()) {
                "service_healthy"
            } else {
                "service_started"
            };
            let name =
                target.map_or_else(|| dep.name().to_owned(), |t| plan.members(t).swap_remove(0));
            s.depends_on.insert(name, DependsOn { condition });
        }
        if let Some((previous, _)) = out.last() {
            s.depends_on.insert(
                previous.clone(),
                DependsOn {
                    condition: "service_completed_successfully",
                },
            );
        }
        out.push((plan.container_service(svc, c), s));
    }
    out
}

/// The services of `svc`'s sidecars, each in the service's network namespace (so
/// `localhost` reaches across, as in a pod) and started after it.
pub(super) fn sidecar_services(plan: &Plan<'_>, svc: &Service) -> Vec<(String, ComposeService)> {
    svc.sidecars
        .iter()
        .map(|c| {
            let mut s = container(plan, svc, c);
            s.network_mode = Some(format!("service:{}", svc.name));
            s.depends_on.insert(
                svc.name.clone(),
                DependsOn {
                    condition: "service_started",
                },
            );
            (plan.container_service(svc, c), s)
        })
        .collect()
}

/// What Compose cannot run of a service's containers and hardening.
pub(super) fn rules(v: &mut Validator<'_>) {
    let plan = v.plan;
    for svc in plan.services(Target::Compose) {
        let path = v.svc_path(svc);
        let securities = std::iter::once((path.clone(), &svc.security)).chain(
            svc.sidecars
                .iter()
                .map(|c| (format!("{path}.sidecars[{}]", c.name), &c.security))
                .chain(
                    svc.init_containers
                        .iter()
                        .map(|c| (format!("{path}.init_containers[{}]", c.name), &c.security)),
                ),
        );
        for (spath, sec) in securities {
            if sec.run_as_group.is_some() && sec.run_as_user.is_none() {
                v.err(
                    ErrorKind::Unsupported,
                    format!("{spath}.security"),
                    "Compose sets the group with the user (`user: \"<uid>:<gid>\"`), but only a group is set",
                    "set the uid too with `.run_as_user(…)`",
                );
            }
        }
        if svc.containers().next().is_none() {
            continue;
        }
        if svc.cluster.is_some() {
            v.err(
                ErrorKind::Unsupported,
                format!("{path}.cluster"),
                format!("cluster `{}` has init containers or sidecars, which Compose cannot give each member", svc.name),
                "keep the cluster off Compose (`.not_on([Target::Compose])`), or run its containers as services of their own",
            );
        }
        if !svc.sidecars.is_empty() && (svc.replicas > 1 || svc.autoscale.is_some()) {
            v.err(
                ErrorKind::Unsupported,
                format!("{path}.sidecars[{}]", svc.sidecars[0].name),
                format!(
                    "service `{}` runs {} replicas in Compose, but a sidecar joins the network namespace of one container only",
                    svc.name, svc.replicas
                ),
                "run one replica in Compose (e.g. `.replicas(if env == Env::Dev { 1 } else { 3 })`)",
            );
        }
        let slots = svc.containers_by_slot();
        for (slot, c) in slots {
            let name = plan.container_service(svc, c);
            if let Some(other) = v.by_name.get(name.as_str()) {
                let origin = other.origin;
                v.err(
                    ErrorKind::DuplicateName,
                    format!("{path}.{slot}[{}]", c.name),
                    format!("Compose runs container `{}` of `{}` as service `{name}`, but a service of that name is declared at {origin}", c.name, svc.name),
                    format!("rename the container or the service declared at {origin}"),
                );
            }
        }
    }
}
