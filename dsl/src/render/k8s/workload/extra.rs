//! A service's init containers and sidecars in its pod template (see
//! [`Container`](crate::model::Container)): sidecars as native sidecars (init containers
//! with `restartPolicy: Always`, Kubernetes ≥ 1.29), then the init containers in order.

use k8s_openapi::api::core::v1::{Container as KContainer, ResourceRequirements, Volume};

use super::container::{container_security, env_list, escape, quantities};
use super::pod::{mounts, scratch};
use crate::model::{Container, Image, Service};
use crate::plan::Plan;

/// `Always` for a hardened stack's image named by a tag (a tag can move; pulling every
/// time makes each pod run what the tag names now); the default for a digest.
pub(super) fn pull_policy(plan: &Plan<'_>, image: Option<&Image>) -> Option<String> {
    (plan.stack().kubernetes.hardened && image.is_some_and(|i| i.digest.is_none()))
        .then(|| "Always".to_owned())
}

/// The sidecars, then the init containers, of `svc`, adding the volumes they need.
pub(super) fn containers(
    plan: &Plan<'_>,
    svc: &Service,
    vols: &mut Vec<Volume>,
) -> Vec<KContainer> {
    let sidecars = svc.sidecars.iter().map(|c| (c, true));
    let inits = svc.init_containers.iter().map(|c| (c, false));
    sidecars
        .chain(inits)
        .map(|(c, sidecar)| {
            let mut k = container(plan, svc, c, vols);
            k.restart_policy = sidecar.then(|| "Always".to_owned());
            k
        })
        .collect()
}

fn container(plan: &Plan<'_>, svc: &Service, c: &Container, vols: &mut Vec<Volume>) -> KContainer {
    let r = c.resources.unwrap_or_default();
    let resources = ResourceRequirements {
        requests: quantities(r.requests),
        limits: quantities(r.limits),
        claims: None,
    };
    let escaped = |v: &Vec<String>| v.iter().map(|s| escape(s)).collect();
    let mut volume_mounts = mounts(svc, Some(&c.name), &c.mounts, vols);
    volume_mounts.extend(mounts(
        svc,
        Some(&c.name),
        &scratch(plan, &c.security, &c.mounts),
        vols,
    ));
    let env = env_list(plan, svc, &c.env, Vec::new());
    KContainer {
        name: c.name.clone(),
        image: Some(c.image.to_string()),
        image_pull_policy: pull_policy(plan, Some(&c.image)),
        command: c.command.as_ref().map(escaped),
        args: c.args.as_ref().map(escaped),
        env: (!env.is_empty()).then_some(env),
        resources: (resources != ResourceRequirements::default()).then_some(resources),
        security_context: container_security(plan, &c.security, &c.mounts, &svc.security),
        volume_mounts: (!volume_mounts.is_empty()).then_some(volume_mounts),
        ..Default::default()
    }
}
