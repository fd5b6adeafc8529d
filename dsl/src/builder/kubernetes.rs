//! A service's Kubernetes-only settings: [`ServiceKubernetes`], the group lent to
//! [`ServiceBuilder::kubernetes`].

use crate::model::{
    Backup, ConfigMapUse, Disruption, Egress, Exposure, PullSecret, Rollout, Service,
    ServiceAccount, Spread, Toleration,
};

#[allow(unused_imports)] // for the docs' links
use super::ServiceBuilder;

/// A service's Kubernetes-only settings, set inside [`ServiceBuilder::kubernetes`]. Each is
/// read by the Kubernetes target alone (Compose, Terraform and the PaaS platforms have no
/// counterpart), which is why they are not setters of the service itself.
///
/// Like [`KubernetesOptions`](crate::model::KubernetesOptions) for the stack, the setters take `&mut self` and chain.
///
/// ```
/// use stackdsl::prelude::*;
/// let worker = Service::new("worker")
///     .image(Image::new("acme/worker").tag("2.0"))
///     .config("QUEUE", "jobs")
///     .kubernetes(|k| {
///         k.main_container_name("app")
///             .rollout(Rollout::Recreate)
///             .spread(Spread::AcrossZones)
///             .disruption(Disruption::MaxUnavailable(1))
///             .egress(Egress::internet().port(443))
///             .annotation("example.com/team", "payments")
///             .config_map_use(ConfigMapUse::ReadByApp)
///     });
/// let svc = worker.peek();
/// assert_eq!(svc.container(), "app");
/// assert_eq!(svc.annotations, [("example.com/team".to_owned(), "payments".to_owned())]);
/// assert_eq!(svc.config_map_use, ConfigMapUse::ReadByApp);
/// ```
#[derive(Debug)]
pub struct ServiceKubernetes {
    // The builder's own box, lent to the group for the closure's duration.
    pub(super) service: Box<Service>,
}

impl ServiceKubernetes {
    /// Names the main container of the service's pods (default: the service name), the
    /// one `kubectl logs <pod> -c <name>` and `kubectl exec -c <name>` pick; its init
    /// containers and sidecars have names of their own. A DNS-1123 label: `app_server` is
    /// refused with a suggestion (`app-server`). (Compose's fixed container name is
    /// another thing: [`ServiceCompose::container_name`](super::ServiceCompose::container_name).)
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1")).kubernetes(|k| k.main_container_name("app"));
    /// assert_eq!(b.peek().container(), "app");
    /// ```
    pub fn main_container_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.service.main_container_name = Some(name.into());
        self
    }

    /// How the Deployment replaces pods on an update (default: derived, see
    /// [`KubernetesOptions::hardened`](crate::model::KubernetesOptions::hardened)).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("db").image(Image::new("acme/db").tag("1")).kubernetes(|k| k.rollout(Rollout::Recreate));
    /// assert_eq!(b.peek().rollout, Some(Rollout::Recreate));
    /// ```
    pub fn rollout(&mut self, rollout: Rollout) -> &mut Self {
        self.service.rollout = Some(rollout);
        self
    }

    /// How replicas spread over nodes (default: derived).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1")).kubernetes(|k| k.spread(Spread::AcrossZones));
    /// assert_eq!(b.peek().spread, Some(Spread::AcrossZones));
    /// ```
    pub fn spread(&mut self, spread: Spread) -> &mut Self {
        self.service.spread = Some(spread);
        self
    }

    /// How many replicas voluntary disruptions may take down: the PodDisruptionBudget
    /// (default: derived).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// // Two schedulers would run every periodic task twice: one replica, no budget.
    /// let b = Service::new("beat").image(Image::new("acme/beat").tag("1")).kubernetes(|k| k.disruption(Disruption::None));
    /// assert_eq!(b.peek().disruption, Some(Disruption::None));
    /// ```
    pub fn disruption(&mut self, disruption: Disruption) -> &mut Self {
        self.service.disruption = Some(disruption);
        self
    }

    /// Allows egress beyond the stack's own services and DNS (NetworkPolicy), e.g. to an
    /// external API. Repeatable.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1")).kubernetes(|k| k.egress(Egress::internet().port(443)));
    /// assert_eq!(b.peek().egress[0].ports, [443]);
    /// ```
    pub fn egress(&mut self, egress: Egress) -> &mut Self {
        self.service.egress.push(egress);
        self
    }

    /// Adds a pod-template annotation. Repeatable.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1"))
    ///     .kubernetes(|k| k.annotation("example.com/team", "payments"));
    /// assert_eq!(b.peek().annotations.len(), 1);
    /// ```
    pub fn annotation(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.service.annotations.push((key.into(), value.into()));
        self
    }

    /// How the service's [`config`](ServiceBuilder::config) values reach the container
    /// (default [`ConfigMapUse::EnvKeyRefs`]: environment variables read from the
    /// ConfigMap). Compose always passes them as environment variables.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api")
    ///     .image(Image::new("acme/api").tag("1.0"))
    ///     .config("LOG_LEVEL", "info")
    ///     .kubernetes(|k| k.config_map_use(ConfigMapUse::ReadByApp));
    /// assert_eq!(b.peek().config_map_use, ConfigMapUse::ReadByApp);
    /// ```
    pub fn config_map_use(&mut self, config_map_use: ConfigMapUse) -> &mut Self {
        self.service.config_map_use = config_map_use;
        self
    }

    /// Backs the service up on a schedule, as a CronJob. The catalog's backing services set
    /// this from their own `.backup(…)`, which knows the dump tool; a backup without one is
    /// a validation error.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// use stackdsl::model::{Backup, Schedule};
    /// let b = Service::new("db").image(Image::new("postgres").tag("17.2"))
    ///     .kubernetes(|k| k.backup(Backup::new(Schedule::daily_at(2, 0))));
    /// assert!(b.peek().backup.is_some());
    /// ```
    pub fn backup(&mut self, backup: Backup) -> &mut Self {
        self.service.backup = Some(backup);
        self
    }

    /// How the Service is reached: inside the cluster (the default), on a node port, or
    /// through a cloud load balancer (see [`Exposure`]).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// use stackdsl::model::{Exposure, ServiceType, TrafficPolicy};
    /// let http = Port::http("http", 8080).service_port(80);
    /// let b = Service::new("front").image(Image::new("acme/front").tag("1")).port(http)
    ///     .kubernetes(|k| k.exposure(Exposure::load_balancer().traffic_policy(TrafficPolicy::Local)));
    /// assert_eq!(b.peek().exposure.kind, ServiceType::LoadBalancer);
    /// ```
    pub fn exposure(&mut self, exposure: Exposure) -> &mut Self {
        self.service.exposure = exposure;
        self
    }

    /// The pods' service account: its cloud identity and annotations (see
    /// [`ServiceAccount`]). Hardened stacks render one per service without it.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// use stackdsl::model::ServiceAccount;
    /// let b = Service::new("ledger").image(Image::new("acme/ledger").tag("1"))
    ///     .kubernetes(|k| k.service_account(ServiceAccount::new().eks("arn:aws:iam::123456789012:role/ledger")));
    /// assert!(b.peek().pod.service_account.is_some());
    /// ```
    pub fn service_account(&mut self, account: ServiceAccount) -> &mut Self {
        self.service.pod.service_account = Some(account);
        self
    }

    /// Runs the pods only on nodes labelled `key=value` (`nodeSelector`). Repeatable.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1"))
    ///     .kubernetes(|k| k.node_selector("kubernetes.io/arch", "arm64"));
    /// assert_eq!(b.peek().pod.node_selector["kubernetes.io/arch"], "arm64");
    /// ```
    pub fn node_selector(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.service
            .pod
            .node_selector
            .insert(key.into(), value.into());
        self
    }

    /// Lets the pods run on nodes with a taint. Repeatable.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// use stackdsl::model::{TaintEffect, Toleration};
    /// let b = Service::new("batch").image(Image::new("acme/batch").tag("1"))
    ///     .kubernetes(|k| k.toleration(Toleration::equal("pool", "spot").effect(TaintEffect::NoSchedule)));
    /// assert_eq!(b.peek().pod.tolerations.len(), 1);
    /// ```
    pub fn toleration(&mut self, toleration: Toleration) -> &mut Self {
        self.service.pod.tolerations.push(toleration);
        self
    }

    /// Pulls the images with the registry credentials of a Secret the cluster owner
    /// creates (a reference, never a value). Repeatable.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// use stackdsl::model::PullSecret;
    /// let b = Service::new("api").image(Image::new("ghcr.io/acme/api").tag("1"))
    ///     .kubernetes(|k| k.image_pull_secret(PullSecret::new("ghcr-pull")));
    /// assert_eq!(b.peek().pod.image_pull_secrets[0].name, "ghcr-pull");
    /// ```
    pub fn image_pull_secret(&mut self, secret: PullSecret) -> &mut Self {
        self.service.pod.image_pull_secrets.push(secret);
        self
    }

    /// Keeps Kubernetes' service-link variables in the pods, because `reason` (an app that
    /// still finds its peers through `<SERVICE>_SERVICE_HOST`). By default every pod gets
    /// `enableServiceLinks: false`: the kubelet would otherwise inject `<SERVICE>_PORT`,
    /// `<SERVICE>_HOST`, … for every Service of the namespace, and `REDIS_PORT=tcp://…`
    /// shadows an app's own `REDIS_PORT`. Compose has no such variables.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("legacy").image(Image::new("acme/legacy").tag("1"))
    ///     .kubernetes(|k| k.service_links("discovers its database through POSTGRES_SERVICE_HOST"));
    /// assert!(b.peek().pod.service_links.is_some());
    /// ```
    pub fn service_links(&mut self, reason: impl Into<String>) -> &mut Self {
        self.service.pod.service_links = Some(reason.into());
        self
    }

    /// Schedules the pods with a PriorityClass the cluster defines (`priorityClassName`).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1"))
    ///     .kubernetes(|k| k.priority_class("business-critical"));
    /// assert_eq!(b.peek().pod.priority_class.as_deref(), Some("business-critical"));
    /// ```
    pub fn priority_class(&mut self, name: impl Into<String>) -> &mut Self {
        self.service.pod.priority_class = Some(name.into());
        self
    }
}
