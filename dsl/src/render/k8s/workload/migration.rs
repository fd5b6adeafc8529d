//! The migration init container.
//!
//! # Why an init container and not a Job
//!
//! A migration must finish before the new version serves. Deploys here are
//! `kubectl apply -k out/<stack>/<env>/k8s` followed by `kubectl rollout status` (the
//! generated GitHub Actions pipeline does exactly that); there are no Helm hooks.
//!
//! - **A Job** would be applied in the same `apply -k` as the Deployment, and nothing orders
//!   the two: the new ReplicaSet's pods start (and pass readiness) while the Job may still
//!   run or may have failed, and `rollout status` does not wait for Jobs. A Job's pod
//!   template is immutable, so it would need the image version hashed into its name to
//!   run again, and finished Jobs pile up (or, with a TTL, are re-created and re-run by the
//!   next apply). Making the app wait for it would need an API-reading init container with
//!   a service-account token and RBAC, which our pods deliberately do not have.
//! - **An init container** runs in every new pod before the app container starts, so a new
//!   pod cannot become Ready, and the rollout cannot replace an old pod, until its
//!   migration succeeded. A failed migration leaves the new pod in `Init:CrashLoopBackOff`
//!   while the old pods keep serving (rolling updates never go below the desired count),
//!   and `rollout status` fails the deploy. It needs no API access and no extra object.
//!
//! The cost: every new pod runs the command, several at once when pods start together
//! (a first install, a scale-up). The command must therefore be idempotent (`goose up`
//! and `alembic upgrade head` do nothing when the schema is current) and safe when run
//! concurrently: on Postgres both tools run each migration and its version-table update
//! in one transaction, so of two concurrent runs one commits and the other fails and rolls
//! back; its init container is restarted by the kubelet and finds nothing left to do.
//!
//! Unlike a general [`Container`](crate::model::Container) (declared whole, rendered by
//! [`super::extra`]), the migration is the service's own image and environment running
//! another command, so it is rendered from the service; it runs after the sidecars and the
//! other init containers, so it may use a sidecar's proxy.
//!
//! The init container is the app container's twin where it matters: the same environment
//! (built by the same function, so secret and ConfigMap references cannot drift), the same
//! volume mounts, resources and restricted security context. Its egress is the pod's, so
//! the service's NetworkPolicy (derived from the dependencies its environment names)
//! already allows the database.

use k8s_openapi::api::core::v1::{Container, ResourceRequirements, VolumeMount};

use crate::model::{ArgPart, Migration, Service};
use crate::plan::Plan;

/// The init container that runs `m` before `svc`'s container starts.
pub(super) fn init_container(
    plan: &Plan<'_>,
    svc: &Service,
    m: &Migration,
    resources: Option<ResourceRequirements>,
    volume_mounts: Option<Vec<VolumeMount>>,
) -> Container {
    let image = m.image.as_ref().or(svc.source.image.as_ref());
    Container {
        name: "migrate".to_owned(),
        image: image.map(ToString::to_string),
        image_pull_policy: super::extra::pull_policy(plan, image),
        // `$(NAME)` references stay as they are: the kubelet expands them from `env`.
        command: Some(m.render_argv(|p| match p {
            ArgPart::Text(t) => super::container::escape(t),
            ArgPart::Var(v) => format!("$({v})"),
        })),
        env: (!svc.env.is_empty() || svc.cluster.is_some())
            .then(|| super::container::env(plan, svc)),
        resources,
        security_context: super::container::container_security(
            plan,
            &svc.security,
            &svc.mounts,
            &svc.security,
        ),
        volume_mounts,
        ..Default::default()
    }
}
