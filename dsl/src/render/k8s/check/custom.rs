//! References from objects the stack adds that k8s-openapi has no type for (custom
//! resources): a `spec.scaleTargetRef` or `spec.targetRef` (KEDA's ScaledObject, the
//! VerticalPodAutoscaler, Argo Rollouts' analysis) must name a workload of the manifests.

use super::Facts;
use crate::render::k8s::CustomObject;

/// The checks of a custom object's references.
pub(super) fn facts(o: &CustomObject, key: String, f: &mut Facts) {
    let Some(spec) = o.rest.get("spec") else {
        return;
    };
    for field in ["scaleTargetRef", "targetRef"] {
        let Some(target) = spec.get(field) else {
            continue;
        };
        let name = target.get("name").and_then(|n| n.as_str()).unwrap_or("");
        // KEDA's ScaledObject defaults the kind to Deployment.
        let kind = target
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or("Deployment");
        let (path, target, key) = (
            format!("{key}.spec.{field}"),
            format!("{kind}/{name}"),
            key.clone(),
        );
        f.later(move |ix, err| {
            if !ix.workloads.contains(&target) {
                err(
                    path,
                    format!("{key} targets {target}, which is not a workload of the manifests"),
                    "name a Deployment or StatefulSet the stack renders",
                );
            }
        });
    }
}
