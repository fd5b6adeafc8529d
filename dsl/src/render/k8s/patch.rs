//! The Kubernetes escape hatches at render time: pod patches and the stack's object
//! patches run on the objects as built, then the extra objects join their file, all before
//! the cross-reference check (see [`crate::builder`]'s hatches for the API).
//!
//! The rules: a patch must match a rendered object (checked after validation, by building
//! the objects once); a pod patch or extra object needs a service whose pods the manifests
//! hold; an extra object must be a well-formed object (see [`super::extra`]).

use std::any::Any;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{Object, Part, PrometheusRule, ServiceMonitor, extra};
use crate::diagnostics::{Error, ErrorKind, Errors};
use crate::model::{ExtraObject, KubernetesPatch, Service, Target};
use crate::plan::Plan;

impl Object {
    /// The object as `Any`, for patches typed with its k8s-openapi type.
    fn as_any_mut(&mut self) -> &mut dyn Any {
        match self {
            Object::Namespace(o) => o,
            Object::ConfigMap(o) => o,
            Object::PersistentVolumeClaim(o) => o,
            Object::ServiceAccount(o) => o,
            Object::Deployment(o) => &mut **o,
            Object::StatefulSet(o) => &mut **o,
            Object::Service(o) => o,
            Object::ServiceMonitor(o) => o,
            Object::PrometheusRule(o) => o,
            Object::CronJob(o) => &mut **o,
            Object::HorizontalPodAutoscaler(o) => o,
            Object::PodDisruptionBudget(o) => o,
            Object::NetworkPolicy(o) => o,
            Object::Ingress(o) => o,
            Object::ExternalSecret(o) => o,
            Object::Gateway(o) => o,
            Object::HttpRoute(o) | Object::GrpcRoute(o) => o,
            Object::BackendTrafficPolicy(o) => o,
            Object::ClientTrafficPolicy(o) => o,
            Object::Custom(o) => &mut **o,
        }
    }

    /// The pod template of a workload (Deployment, StatefulSet), mutably.
    fn template_mut(&mut self) -> Option<&mut PodTemplateSpec> {
        match self {
            Object::Deployment(d) => d.spec.as_mut().map(|s| &mut s.template),
            Object::StatefulSet(d) => d.spec.as_mut().map(|s| &mut s.template),
            _ => None,
        }
    }
}

/// The Prometheus Operator's custom resources are patchable like k8s-openapi types.
macro_rules! prometheus_operator_resource {
    ($ty:ty, $kind:literal, $plural:literal) => {
        impl k8s_openapi::Resource for $ty {
            const API_VERSION: &'static str = "monitoring.coreos.com/v1";
            const GROUP: &'static str = "monitoring.coreos.com";
            const KIND: &'static str = $kind;
            const VERSION: &'static str = "v1";
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = k8s_openapi::NamespaceResourceScope;
        }

        impl k8s_openapi::Metadata for $ty {
            type Ty = ObjectMeta;
            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

prometheus_operator_resource!(ServiceMonitor, "ServiceMonitor", "servicemonitors");
prometheus_operator_resource!(PrometheusRule, "PrometheusRule", "prometheusrules");

/// Runs `svc`'s pod patches on its workload among `objects`.
pub(super) fn pods(svc: &Service, objects: &mut [Object]) {
    if svc.hatches.pod.is_empty() {
        return;
    }
    for o in objects {
        let owned = o.name() == svc.name;
        if let (true, Some(t)) = (owned, o.template_mut()) {
            for p in &svc.hatches.pod {
                p.apply(t);
            }
        }
    }
}

/// Runs the stack's patches on `objects`; returns, per patch, whether it matched one.
pub(super) fn apply(plan: &Plan<'_>, objects: &mut [Object]) -> Vec<bool> {
    let patches = &plan.stack().hatches.kubernetes_patches;
    let mut hits = vec![false; patches.len()];
    if patches.is_empty() {
        return hits;
    }
    for o in objects {
        for (p, hit) in patches.iter().zip(&mut hits) {
            if p.kind == o.kind() && p.name == o.name() && p.apply(o.as_any_mut()) {
                *hit = true;
            }
        }
    }
    hits
}

/// The extra objects `objects` as rendered in the stack's namespace (those validation
/// accepted).
pub(super) fn extras(plan: &Plan<'_>, objects: &[ExtraObject]) -> Vec<Object> {
    let ns = plan.stack().namespace();
    objects
        .iter()
        .filter_map(|o| extra::convert(&ns, o).ok())
        .collect()
}

/// The rules of the Kubernetes hatches that need no rendering: extra objects are
/// well-formed, and pod patches and a service's objects have a file to go to.
pub(super) fn check(plan: &Plan<'_>) -> Errors {
    let stack = plan.stack();
    let ns = stack.namespace();
    let mut errors = Errors::default();
    let objects = |errors: &mut Errors, path: String, list: &[ExtraObject]| {
        for (i, o) in list.iter().enumerate() {
            if let Err(why) = extra::convert(&ns, o) {
                let key = match (o.kind(), o.name()) {
                    ("", _) | (_, "") => i.to_string(),
                    (kind, name) => format!("{kind}/{name}"),
                };
                errors.push(
                    Error::new(
                        ErrorKind::InvalidValue,
                        format!("{path}[{key}]"),
                        format!("the object added at {} {why}", o.origin),
                        "give it `apiVersion`, `kind` and `metadata.name`, with the fields of its API version",
                    )
                    .at(o.origin),
                );
            }
        }
    };
    objects(
        &mut errors,
        format!("{}.kubernetes_objects", stack.name),
        &stack.hatches.kubernetes_objects,
    );
    for svc in &stack.services {
        let h = &svc.hatches;
        objects(
            &mut errors,
            format!("{}.services[{}].kubernetes.objects", stack.name, svc.name),
            &h.kubernetes_objects,
        );
        if h.pod.is_empty() && h.kubernetes_objects.is_empty() {
            continue;
        }
        let why = if plan.is_helm_installed(svc) {
            "a Helm release installs it (Terraform), so the manifests hold none of its objects"
        } else if !plan.renders_service(Target::Kubernetes, svc) {
            "the Kubernetes target does not render it (`only_on`/`not_on`)"
        } else {
            continue;
        };
        let origin = h
            .pod
            .first()
            .map(|p| p.origin)
            .or(h.kubernetes_objects.first().map(|o| o.origin))
            .unwrap_or(svc.origin);
        errors.push(
            Error::new(
                ErrorKind::Unsupported,
                format!("{}.services[{}].kubernetes", stack.name, svc.name),
                format!(
                    "service `{}` has Kubernetes patches or objects (set at {origin}), but {why}",
                    svc.name
                ),
                "remove them, or change the chart's values with `.helm_values(…)` for a Helm release",
            )
            .at(origin),
        );
    }
    errors
}

/// Patches that match no object of the manifests (run on a valid plan only: it builds
/// every object once). Each is an error at `<stack>.kubernetes_patch[Kind/name]` naming
/// the objects of that kind there are.
pub(crate) fn unmatched(plan: &Plan<'_>) -> Errors {
    let stack = plan.stack();
    let patches = &stack.hatches.kubernetes_patches;
    if patches.is_empty() || !plan.renders(Target::Kubernetes) {
        return Errors::default();
    }
    let mut hits = vec![false; patches.len()];
    let mut keys = Vec::new();
    for part in super::parts(plan) {
        if let Part::Extra = part {
            continue;
        }
        let (file, h) = super::build_hits(plan, part);
        for (hit, h) in hits.iter_mut().zip(h) {
            *hit |= h;
        }
        keys.extend(file.iter().flat_map(|f| f.objects.iter().map(Object::key)));
    }
    patches
        .iter()
        .zip(hits)
        .filter(|(_, hit)| !hit)
        .map(|(p, _)| missed(&stack.name, p, &keys))
        .collect()
}

fn missed(stack: &str, p: &KubernetesPatch, keys: &[String]) -> Error {
    let prefix = format!("{}/", p.kind);
    let same: Vec<&str> = keys
        .iter()
        .filter_map(|k| k.strip_prefix(&prefix))
        .collect();
    let have = if same.is_empty() {
        format!("the manifests have no {}", p.kind)
    } else {
        format!("the manifests' {}s are: {}", p.kind, same.join(", "))
    };
    Error::new(
        ErrorKind::UnknownService,
        format!("{stack}.kubernetes_patch[{}]", p.key()),
        format!(
            "the patch of {} ({}) declared at {} matches no rendered object; {have}",
            p.key(),
            p.api_version,
            p.origin
        ),
        "patch an object of `out/<stack>/<env>/k8s/` by its kind and name, or add the object with `kubernetes_object`",
    )
    .at(p.origin)
}

/// Points cross-reference errors about a patched object at the patch that changed it.
pub(super) fn blame(plan: &Plan<'_>, errors: &mut [Error]) {
    let stack = plan.stack();
    let mut patched: Vec<(String, crate::model::Origin)> = stack
        .hatches
        .kubernetes_patches
        .iter()
        .map(|p| (p.key(), p.origin))
        .collect();
    for svc in plan.manifests() {
        for p in &svc.hatches.pod {
            for kind in ["Deployment", "StatefulSet"] {
                patched.push((format!("{kind}/{}", svc.name), p.origin));
            }
        }
    }
    for e in errors {
        let at = format!("{}.k8s.", stack.name);
        let Some(rest) = e.path.strip_prefix(&at) else {
            continue;
        };
        let hit = patched.iter().find(|(key, _)| {
            rest.strip_prefix(key.as_str())
                .is_some_and(|r| r.is_empty() || r.starts_with('.'))
        });
        if let Some((_, origin)) = hit {
            e.message = format!("{} (after the patch declared at {origin})", e.message);
            e.origin = Some(*origin);
        }
    }
}
