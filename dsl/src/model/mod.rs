//! The typed model: plain data, no I/O, no rendering.
//!
//! Everything a target needs is here, in target-neutral terms: a [`Stack`] of [`Service`]s
//! with named [`Port`]s, environment values that are literals, configuration, secret
//! *references* or values derived from other services, probes, resources, volumes, routes
//! and the intents (autoscaling, security) that the Kubernetes target turns into objects.
//!
//! Model structs are `#[non_exhaustive]`: other crates read them (custom renderers, tests)
//! but build them through [`crate::builder`], which is where the invariants live.

mod backing;
mod backup;
mod ci;
mod cluster;
mod compose;
mod container;
mod edge;
mod env;
mod exposure;
mod gitops;
mod handle;
mod hatch;
mod image;
mod intent;
mod migration;
mod monitoring;
mod paas;
mod pod;
mod port;
mod probe;
mod resources;
mod route;
mod secret_store;
mod security;
mod volume;

pub use backing::{
    Auth, BackingKind, BackingSpec, CiService, CustomResource, HelmChart, Install, Operated,
    Operator, OperatorSource, Release, RoleRule, ServiceAccountGrant, ShapedSecret, ValuesFile,
};
pub use backup::{Backup, BackupTarget, Bucket, Dump, Schedule};
pub use ci::{Ci, Language, PackageManager};
pub use cluster::{Cluster, PodManagement, SeedFormat};
pub use compose::{
    ComposeOptions, ComposeSettings, Condition, Dependency, Device, EnvFile, Param, ULIMIT_NAMES,
    Ulimit,
};
pub use container::Container;
pub use edge::{Balance, Edge, Gzip, RateLimit, Timeouts};
pub use env::{EnvValue, EnvVar, Part, SecretRef, Secrets, Template, Url};
pub use exposure::{Cloud, Exposure, ServiceType, TrafficPolicy};
pub use gitops::{ArgoCd, Flux, GitOps};
pub(crate) use handle::StrayUpdate;
pub use handle::{Endpoint, Origin, ServiceRef};
pub(crate) use hatch::ErasedPatch;
pub use hatch::{
    ComposeKey, CustomRenderer, ExtraObject, Hatches, HelmOverride, KubernetesPatch, ObjectScope,
    PodPatch, ServiceHatches,
};
pub use image::{Build, Image, ImageSource, Registry};
pub use intent::{Autoscale, ConfigMapUse, Disruption, Egress, Restart, Rollout, Scaling, Spread};
pub use migration::{ArgPart, Migration, arg_parts};
pub use monitoring::{
    Alert, AlertKind, HttpMetrics, MetricFamily, MetricKind, Metrics, Monitoring, MonitoringTool,
    Quantile, Severity, Window,
};
pub use paas::{
    FlyOptions, PaasOptions, Platform, PlatformVar, RailwayBuilder, RailwayOptions, RenderOptions,
    ServerlessOptions, VercelOptions,
};
pub use pod::{
    PodSettings, PreStop, PullSecret, ServiceAccount, TaintEffect, Toleration, WorkloadIdentity,
};
pub use port::{AppProtocol, Port, Protocol, Publish};
pub use probe::{HealthTool, Probe, ProbeAction, Probes};
pub use resources::{Amount, Cpu, Memory, Resources};
pub use route::{
    ClusterIssuer, Gateway, GatewayAttach, GatewayImpl, IngressController, Route, RouteApi,
};
pub use secret_store::{RemoteKey, SecretStore, StoreKind};
pub use security::{Relaxation, Security};
pub use volume::{ConfigFile, Mount, VolumeSource};

use std::collections::BTreeMap;
use std::fmt;

/// A deployment environment. Stack functions receive it and `match` on it, so everything
/// that differs between environments is ordinary Rust in one place.
///
/// ```
/// use stackdsl::prelude::*;
/// let replicas = |env: Env| match env { Env::Dev => 1, Env::Staging => 2, Env::Prod => 3 };
/// assert_eq!(replicas(Env::Prod), 3);
/// assert_eq!(Env::Staging.as_str(), "staging");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Env {
    /// Local development: Compose, build from source, ports published on loopback.
    Dev,
    /// Pre-production: the production shape at a smaller size.
    Staging,
    /// Production.
    Prod,
}

impl Env {
    /// Every environment, in promotion order.
    pub const ALL: [Env; 3] = [Env::Dev, Env::Staging, Env::Prod];

    /// The lowercase name used in paths (`out/<stack>/<env>/`) and binaries (`stack-<env>`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Env::Dev => "dev",
            Env::Staging => "staging",
            Env::Prod => "prod",
        }
    }

    /// Parses `dev`, `staging` or `prod`.
    pub fn parse(s: &str) -> Option<Env> {
        Env::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The command that synthesizes this environment; written into every generated file.
    pub fn regenerate_command(self) -> String {
        format!("cargo run --bin stack-{}", self.as_str())
    }
}

impl fmt::Display for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An output format the stack is rendered to.
///
/// The PaaS platforms are one variant, `Paas(Platform)`, rather than five: they share the
/// output folder (`out/<stack>/paas/<platform>/`), the rule that only prod renders them,
/// the choice of the one app a single-app platform deploys and the way variables the model
/// cannot carry are set in the platform, so code that means "any PaaS" matches
/// `Target::Paas(_)` once, while `only_on([Target::Paas(Platform::Render)])` still names
/// one platform.
///
/// ```
/// use stackdsl::prelude::*;
/// let targets = [Target::Kubernetes, Target::Paas(Platform::Fly)];
/// assert_eq!(targets.iter().filter(|t| matches!(t, Target::Paas(_))).count(), 1);
/// assert_eq!(Target::Paas(Platform::Fly).to_string(), "Fly.io");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Target {
    /// A Compose Specification file (`compose.yaml`) with its `.env.example`.
    Compose,
    /// Kubernetes manifests under `k8s/`, with a `kustomization.yaml`.
    Kubernetes,
    /// Terraform (helm and kubernetes providers) under `terraform/`: what installs the
    /// backing services (their operators, or their own charts; see [`crate::catalog`]).
    /// With it, backing services leave the Kubernetes manifests (which carry the operators'
    /// custom resources instead) and Compose keeps them.
    Terraform,
    /// A GitHub Actions pipeline under `out/<stack>/github/workflows/`: test, build and
    /// push the stack's images, deploy staging on `main` and production on `v*` tags.
    /// Declared on the prod stack (it covers every environment); needs [`Stack::ci`](crate::model::Stack).
    GitHubActions,
    /// A platform-as-a-service file under `out/<stack>/paas/<platform>/` (prod only).
    Paas(Platform),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Compose => f.write_str("Compose"),
            Target::Kubernetes => f.write_str("Kubernetes"),
            Target::Terraform => f.write_str("Terraform"),
            Target::GitHubActions => f.write_str("GitHub Actions"),
            Target::Paas(p) => p.fmt(f),
        }
    }
}

/// A stack function: builds the stack for an environment.
pub type StackFn = fn(Env) -> Stack;

/// How the Kubernetes target renders a stack.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KubernetesOptions {
    /// Namespace of every object (default `<stack>-<env>`).
    pub namespace: Option<String>,
    /// Derive the hardening objects and fields the model implies: default-deny
    /// NetworkPolicies from declared dependencies, PodDisruptionBudgets for replicated
    /// services, Pod Security Admission labels, topology spread in prod, rolling updates
    /// without unavailability, config checksums on pod templates. On by default.
    pub hardened: bool,
    /// How the services' routes are rendered: Gateway API routes (the default) or
    /// Ingresses of a named controller (set with [`KubernetesOptions::routes`]).
    pub routes: RouteApi,
    /// The store the External Secrets Operator syncs every referenced Secret from (`None`:
    /// the cluster owner creates them; set with [`KubernetesOptions::secret_store`]).
    pub secret_store: Option<SecretStore>,
    /// Argo CD and/or Flux objects that deploy the environment's folder (set with
    /// [`KubernetesOptions::gitops`]).
    pub gitops: Option<GitOps>,
    /// Namespace of the Prometheus that scrapes metrics ports.
    pub monitoring_namespace: String,
    /// Write `k8s/kustomization.yaml` listing the manifest files (default `true`).
    pub kustomization: bool,
    /// Extra labels on every ServiceMonitor and PrometheusRule, for a Prometheus whose
    /// `serviceMonitorSelector`/`ruleSelector` asks for them (set with
    /// [`KubernetesOptions::prometheus_selector`]).
    pub prometheus_selector: BTreeMap<String, String>,
}

impl Default for KubernetesOptions {
    fn default() -> Self {
        KubernetesOptions {
            namespace: None,
            hardened: true,
            routes: RouteApi::default(),
            secret_store: None,
            gitops: None,
            monitoring_namespace: "monitoring".into(),
            kustomization: true,
            prometheus_selector: BTreeMap::new(),
        }
    }
}

/// A whole deployment for one environment: the unit that is validated and synthesized.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Stack {
    /// DNS-1123 label; names the output folder `out/<name>/<env>/`.
    pub name: String,
    /// The environment this value describes.
    pub env: Env,
    /// Source file that declared the stack (captured by `#[track_caller]`); generated files
    /// name it in their marker line.
    pub source: &'static str,
    /// Where `Stack::new` was called.
    pub origin: Origin,
    /// Services in declaration order (the order they appear in every output).
    pub services: Vec<Service>,
    /// Targets rendered for this environment, in order.
    pub targets: Vec<Target>,
    /// Kubernetes rendering options.
    pub kubernetes: KubernetesOptions,
    /// Compose rendering options (set with [`Stack::compose`]).
    pub compose: ComposeOptions,
    /// How CI tests, builds and deploys the stack.
    pub ci: Option<Ci>,
    /// The command that regenerates this stack's files (named in every file's marker);
    /// `None`: `cargo run --bin stack-<env>`. Set by the CLI of a consumer package.
    pub regenerate: Option<String>,
    /// What the PaaS targets need beyond the model (set with [`Stack::paas`]).
    pub paas: PaasOptions,
    /// The edge in front of the routes (set with [`Stack::edge`]).
    pub edge: Option<Edge>,
    /// Prometheus and Grafana in Compose (set with [`Stack::monitoring`]).
    pub monitoring: Monitoring,
    /// Escape hatches: patches, extra objects, custom renderers (see [`Hatches`]).
    pub hatches: Hatches,
    /// While a catalog item installs itself, the user's call site (so errors point there).
    pub(crate) origin_override: Option<Origin>,
    /// Updates through handles that named no service of this stack (validation errors).
    pub(crate) stray_updates: Vec<StrayUpdate>,
    /// Literal values of the stack's own settings declared not secrets, with the reason
    /// (set with [`Stack::not_a_secret`]).
    pub not_secrets: Vec<(String, String)>,
}

/// One long-running workload: a container image with ports, environment and policies.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Service {
    /// DNS-1035 label (a Kubernetes Service name); also the Compose service name and host name.
    pub name: String,
    /// Where the service was declared (for error messages naming both sides of a clash).
    pub origin: Origin,
    /// Image to run and/or how to build it.
    pub source: ImageSource,
    /// Named ports the container listens on.
    pub ports: Vec<Port>,
    /// Ports published on the host (Compose only).
    pub publish: Vec<Publish>,
    /// Environment variables in declaration order.
    pub env: Vec<EnvVar>,
    /// How configuration values reach the container in Kubernetes (default: as
    /// environment variables read from the ConfigMap).
    pub config_map_use: ConfigMapUse,
    /// Overrides the image entrypoint.
    pub command: Option<Vec<String>>,
    /// Overrides the image arguments (`CMD`).
    pub args: Option<Vec<String>>,
    /// CPU and memory requests and limits.
    pub resources: Option<Resources>,
    /// Number of instances.
    pub replicas: u32,
    /// Liveness, readiness and startup probes.
    pub probes: Probes,
    /// The client Compose runs an HTTP, TCP or gRPC probe with inside the image, as the
    /// stack states it (`None`: not stated; see [`HealthTool`] for what Compose does then).
    pub health_tool: Option<HealthTool>,
    /// Volume mounts.
    pub mounts: Vec<Mount>,
    /// Services that must be up first: healthy where they have a health check, or as the
    /// stated [`Condition`] says.
    pub depends_on: Vec<Dependency>,
    /// Restart policy.
    pub restart: Restart,
    /// Container hardening; restricted unless relaxed with a reason.
    pub security: Security,
    /// Horizontal autoscaling intent (Kubernetes).
    pub autoscale: Option<Autoscale>,
    /// Public routes to the service's ports (Compose's nginx edge, Gateway API routes or
    /// Ingresses).
    pub routes: Vec<Route>,
    /// Render only for these targets (`None`: every target of the stack). An edge proxy
    /// that only Compose needs, say, while Kubernetes uses Gateway API routes.
    pub only_on: Option<Vec<Target>>,
    /// Never render for these targets, e.g. the tracing pair on PaaS platforms, whose apps
    /// export to a hosted backend instead.
    pub not_on: Vec<Target>,
    /// The name of the main container of the service's pods in Kubernetes (default: the
    /// service name); see [`ServiceKubernetes::main_container_name`](crate::builder::ServiceKubernetes::main_container_name).
    pub main_container_name: Option<String>,
    /// How Kubernetes replaces pods (default: derived, see [`KubernetesOptions::hardened`]).
    pub rollout: Option<Rollout>,
    /// How replicas spread over nodes (default: derived).
    pub spread: Option<Spread>,
    /// Disruption budget (default: derived).
    pub disruption: Option<Disruption>,
    /// Allowed egress beyond the stack's own services and DNS.
    pub egress: Vec<Egress>,
    /// Extra pod-template annotations (Kubernetes).
    pub annotations: Vec<(String, String)>,
    /// Literal values that look like secrets but are not, with the reason (set with
    /// [`ServiceBuilder::not_a_secret`](crate::builder::ServiceBuilder::not_a_secret)).
    pub not_secrets: Vec<(String, String)>,
    /// The replicas form a cluster (StatefulSet, seeds, quorum).
    pub cluster: Option<Cluster>,
    /// Prometheus metrics endpoint.
    pub metrics: Option<Metrics>,
    /// A backing service from the catalog: how Terraform installs it with Helm.
    pub backing: Option<BackingSpec>,
    /// Schema migrations that must succeed before the service serves a new version.
    pub migrations: Option<Migration>,
    /// Scheduled backups of a backing service (a CronJob in Kubernetes).
    pub backup: Option<Backup>,
    /// Escape hatches: pod patches, extra objects, raw Compose keys (see [`ServiceHatches`]).
    pub hatches: ServiceHatches,
    /// Seconds the service gets to stop after it is signalled (Kubernetes
    /// `terminationGracePeriodSeconds`, Compose `stop_grace_period`; `None`: the targets'
    /// default, 30 s in Kubernetes and 10 s in Compose). A cluster sets its own.
    pub grace_period: Option<u32>,
    /// What runs before the container is signalled. A cluster sets its own.
    pub pre_stop: Option<PreStop>,
    /// Containers that run to completion, in order, before the service starts (see
    /// [`Container`]).
    pub init_containers: Vec<Container>,
    /// Containers that run alongside the service (see [`Container`]).
    pub sidecars: Vec<Container>,
    /// How the Kubernetes Service is exposed (default: inside the cluster).
    pub exposure: Exposure,
    /// Kubernetes scheduling, pull credentials and service account of the pods.
    pub pod: PodSettings,
    /// Size of the shared memory at `/dev/shm` (Compose `shm_size`; in Kubernetes a
    /// memory-backed `emptyDir` of that size limit mounted there). `None`: the runtime's
    /// 64 MiB in Compose, none in Kubernetes.
    pub shm_size: Option<Memory>,
    /// Resource limits of the container's processes, in order (see [`Ulimit`]).
    pub ulimits: Vec<Ulimit>,
    /// Host devices given to the container (see [`Device`]).
    pub devices: Vec<Device>,
    /// Compose-only settings (see [`ComposeSettings`]).
    pub compose: ComposeSettings,
}

impl Service {
    /// Every secret the service references: in its environment, as its cluster secret,
    /// and in the environment of its init containers and sidecars.
    pub fn secrets(&self) -> Vec<&SecretRef> {
        let mut out: Vec<&SecretRef> = self.env.iter().flat_map(|v| v.value.secrets()).collect();
        if let Some((_, s)) = self.cluster.as_ref().and_then(|c| c.secret.as_ref()) {
            out.push(s);
        }
        for c in self.containers() {
            out.extend(c.env.iter().flat_map(|v| v.value.secrets()));
        }
        out
    }

    /// The service's init containers and sidecars: sidecars first (they start first in
    /// Kubernetes), then init containers in order.
    pub fn containers(&self) -> impl Iterator<Item = &Container> {
        self.sidecars.iter().chain(&self.init_containers)
    }

    /// [`containers`](Self::containers), each with the field it is declared under
    /// (`"sidecars"` or `"init_containers"`), for the paths of errors and warnings.
    ///
    /// ```
    /// use stackdsl::model::Container;
    /// use stackdsl::prelude::*;
    /// let img = || Image::new("acme/api").tag("1.0");
    /// let mut s = Stack::new("shop", Env::Dev);
    /// s.add(Service::new("api").image(img())
    ///     .init_container(Container::new("wait", img()))
    ///     .sidecar(Container::new("proxy", img())));
    /// let slots: Vec<_> = s.services[0].containers_by_slot()
    ///     .map(|(slot, c)| format!("{slot}[{}]", c.name)).collect();
    /// assert_eq!(slots, ["sidecars[proxy]", "init_containers[wait]"]);
    /// ```
    pub fn containers_by_slot(&self) -> impl Iterator<Item = (&'static str, &Container)> {
        let sidecars = self.sidecars.iter().map(|c| ("sidecars", c));
        sidecars.chain(self.init_containers.iter().map(|c| ("init_containers", c)))
    }

    /// Seconds the service gets to stop: its own setting, or its cluster's.
    pub fn effective_grace_period(&self) -> Option<u32> {
        self.grace_period
            .or(self.cluster.as_ref().map(|c| c.grace_period))
    }

    /// What runs before the container is signalled: its own hook, or its cluster's delay.
    pub fn effective_pre_stop(&self) -> Option<PreStop> {
        self.pre_stop.clone().or_else(|| {
            self.cluster
                .as_ref()
                .filter(|c| c.pre_stop_delay > 0)
                .map(|c| PreStop::Sleep(c.pre_stop_delay))
        })
    }

    /// The name of the main container in Kubernetes.
    pub fn container(&self) -> &str {
        self.main_container_name.as_deref().unwrap_or(&self.name)
    }

    /// Is the service part of `target`'s output?
    pub fn renders_on(&self, target: Target) -> bool {
        self.only_on.as_ref().is_none_or(|t| t.contains(&target)) && !self.not_on.contains(&target)
    }

    /// Looks up a declared port by name.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }

    /// The probe Compose turns into a healthcheck: readiness, else liveness.
    pub fn health_probe(&self) -> Option<&Probe> {
        self.probes
            .readiness
            .as_ref()
            .or(self.probes.liveness.as_ref())
    }

    /// Every service this one must reach, in first-mention order: explicit `depends_on`
    /// first, then services its environment values point at (its own, then its
    /// containers'). A value pointing at the service itself (its own address) is not a
    /// dependency: Compose would wait for the service before starting it.
    pub fn dependencies(&self) -> Vec<&ServiceRef> {
        let mut out: Vec<&ServiceRef> = Vec::new();
        let derived = self
            .env
            .iter()
            .chain(self.containers().flat_map(|c| &c.env))
            .flat_map(|var| var.value.services())
            .filter(|r| r.name() != self.name);
        for r in self.depends_on.iter().map(|d| &d.service).chain(derived) {
            if !out.iter().any(|o| o.name() == r.name()) {
                out.push(r);
            }
        }
        out
    }
}

impl Stack {
    /// Looks up a service by name.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The command that regenerates this stack's files.
    pub fn regenerate_command(&self) -> String {
        self.regenerate
            .clone()
            .unwrap_or_else(|| self.env.regenerate_command())
    }

    /// The path prefix of this stack's output: `<name>/<env>`.
    pub fn out_dir(&self) -> String {
        format!("{}/{}", self.name, self.env)
    }

    /// The Kubernetes namespace: as set, else `<name>-<env>`.
    pub fn namespace(&self) -> String {
        self.kubernetes
            .namespace
            .clone()
            .unwrap_or_else(|| format!("{}-{}", self.name, self.env))
    }
}

impl KubernetesOptions {
    /// Renders only what the model declares: no derived NetworkPolicies,
    /// PodDisruptionBudgets, Pod Security labels, spread rules, rollout settings or
    /// checksums. For clusters whose platform team owns those, and for benchmarks.
    pub fn plain(&mut self) -> &mut Self {
        self.hardened = false;
        self
    }

    /// Writes no `k8s/kustomization.yaml`: for deploy tools that apply every manifest file
    /// of the folder themselves (`kubectl apply -f`, Argo CD or Flux directory sources),
    /// where the extra file is not a Kubernetes object and would be rejected.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.kubernetes(|k| k.without_kustomization());
    /// assert!(!s.kubernetes.kustomization);
    /// ```
    pub fn without_kustomization(&mut self) -> &mut Self {
        self.kustomization = false;
        self
    }

    /// How the services' routes are rendered (see [`RouteApi`]; default: the stack's own
    /// Gateway, served by Envoy Gateway).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.kubernetes(|k| k.routes(RouteApi::gateway(Gateway::existing("infra", "public").section("https"))));
    /// assert!(matches!(&s.kubernetes.routes, RouteApi::Gateway(g) if !g.is_own()));
    /// ```
    pub fn routes(&mut self, routes: RouteApi) -> &mut Self {
        self.routes = routes;
        self
    }

    /// Syncs every Secret the manifests reference from `store` with the External Secrets
    /// Operator: one `ExternalSecret` per Secret, instead of `kubectl create secret`.
    pub fn secret_store(&mut self, store: SecretStore) -> &mut Self {
        self.secret_store = Some(store);
        self
    }

    /// Renders Argo CD and/or Flux objects deploying this environment's folder (into
    /// `out/<stack>/<env>/gitops/`); the repository comes from the stack's [`Ci`].
    pub fn gitops(&mut self, gitops: GitOps) -> &mut Self {
        self.gitops = Some(gitops);
        self
    }

    /// Namespace of the Prometheus that scrapes metrics ports.
    pub fn monitoring_namespace(&mut self, ns: impl Into<String>) -> &mut Self {
        self.monitoring_namespace = ns.into();
        self
    }

    /// Labels the cluster's Prometheus selects ServiceMonitors and PrometheusRules by. The
    /// kube-prometheus-stack chart, for one, only picks up objects labelled
    /// `release: <its release name>` unless told otherwise; without the label they are
    /// silently ignored.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.kubernetes(|k| k.prometheus_selector([("release", "kube-prometheus-stack")]));
    /// assert_eq!(s.kubernetes.prometheus_selector["release"], "kube-prometheus-stack");
    /// ```
    pub fn prometheus_selector<K: Into<String>, V: Into<String>>(
        &mut self,
        labels: impl IntoIterator<Item = (K, V)>,
    ) -> &mut Self {
        self.prometheus_selector
            .extend(labels.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }
}
