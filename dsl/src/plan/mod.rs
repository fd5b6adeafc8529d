//! The validated plan: what every backend renders from.
//!
//! [`crate::validate()`] turns a [`Stack`] into a [`Plan`]: the stack, known to
//! satisfy every target-independent rule, with the facts the backends share derived once:
//!
//! - which services each target renders ([`Plan::services`], [`Plan::manifests`],
//!   [`Plan::helm_installed`]);
//! - the services Compose runs that the stack does not declare: cluster members
//!   ([`Plan::members`]), migration one-shots ([`Plan::migration_service`]), init
//!   containers and sidecars ([`Plan::container_service`]), the volume hand-over
//!   one-shots ([`Plan::volume_init`]), the nginx edge
//!   ([`Plan::edge`]) and Prometheus/Grafana ([`Plan::monitoring`]);
//! - how Compose checks each service's health ([`Plan::compose_check`],
//!   [`Plan::compose_healthy`]), and the warnings about what the output does not do
//!   ([`Plan::warnings`]: a probe Compose cannot run, a setting a target cannot honour, an
//!   image whose user or volumes' owner is unknown);
//! - how each container runs — user, capabilities, read-only root, seccomp, volume group,
//!   scratch space — as every target renders it ([`Plan::hardening`]), and the Compose
//!   one-shot that makes a service's volumes writable by its user ([`Plan::volume_init`]);
//! - the secret inventory per target ([`Plan::secrets`]) and the deploy-time parameters
//!   ([`Plan::params`]);
//! - one template resolver ([`Plan::resolve`]), configured per target by a [`Style`];
//! - addresses derived from the model: in-cluster hosts ([`Plan::k8s_host`]), cluster seeds
//!   ([`Plan::seeds`]) and the ports clients use ([`Plan::client_ports`]).
//!
//! A backend reads these facts instead of deriving them again, so two targets never
//! disagree about them. Outside this crate a `Plan` comes only from validation, so
//! rendering a stack that was not validated does not compile:
//!
//! ```compile_fail,E0308
//! use stackdsl::prelude::*;
//! let stack = Stack::new("shop", Env::Dev);
//! // error[E0308]: expected `&Plan<'_>`, found `&Stack`
//! let docs = stackdsl::render::render(&stack);
//! ```
//!
//! ```
//! use stackdsl::prelude::*;
//! let mut stack = Stack::new("shop", Env::Dev);
//! stack.add(Service::new("api").image(Image::new("acme/api").tag("1.0")));
//! let plan = stackdsl::validate(&stack).expect("valid");
//! assert_eq!(plan.services(Target::Compose).count(), 1);
//! let docs = stackdsl::render::render(&plan).expect("renders");
//! assert_eq!(docs[0].path, "shop/dev/compose.yaml");
//! ```

mod gaps;
mod health;
mod invented;
mod params;
mod resolve;
mod secrets;
mod security;

use std::collections::BTreeMap;

pub use invented::{
    GRAFANA, GRAFANA_DASHBOARDS, GRAFANA_PORT, MonitoringService, NGINX_HTTP, NGINX_HTTPS,
    PROM_PORT, PROMETHEUS,
};
pub use params::ParamUse;
pub use resolve::{Hosts, Ports, Style};
pub use secrets::{SecretUse, User};
pub(crate) use security::shares_scratch;
pub use security::{Hardening, VOLUME_INIT_IMAGE, VolumeInit, starts_as_root};

use crate::diagnostics::Warning;
use crate::model::{
    Cluster, Edge, HealthTool, Install, Mount, Operated, Platform, Port, Probe, Route, SecretRef,
    Security, SeedFormat, Service, ShapedSecret, Stack, Target, Template,
};

/// A stack that passed validation, with the facts its backends share. Build one with
/// [`crate::validate()`]; every renderer takes `&Plan`.
#[derive(Debug)]
pub struct Plan<'s> {
    stack: &'s Stack,
    /// Declared services per target of the stack, in declaration order.
    on: BTreeMap<Target, Vec<&'s Service>>,
    /// The nginx edge Compose runs in front of the routes.
    edge: Option<Service>,
    /// Prometheus and Grafana in Compose.
    monitoring: Vec<MonitoringService>,
    /// Every secret reference, in stack order, with its reader.
    secrets: Vec<(&'s SecretRef, User<'s>)>,
    /// What the output does not do, or a choice with a known cost, for the CLI to print:
    /// the plan's own ([`Plan::derive`]) and validation's ([`crate::validate()`]).
    pub(crate) warnings: Vec<Warning>,
}

impl<'s> Plan<'s> {
    /// Derives the facts of `stack`. Never fails: validation runs its rules over the facts
    /// of a stack that may be invalid, and only a valid one leaves `validate` as a `Plan`.
    pub(crate) fn derive(stack: &'s Stack) -> Plan<'s> {
        let on = stack
            .targets
            .iter()
            .map(|&t| {
                let services = stack.services.iter().filter(|s| s.renders_on(t)).collect();
                (t, services)
            })
            .collect();
        let mut plan = Plan {
            stack,
            on,
            edge: None,
            monitoring: Vec::new(),
            secrets: Vec::new(),
            warnings: Vec::new(),
        };
        plan.edge = invented::edge_service(&plan);
        plan.monitoring = invented::monitoring_services(stack);
        plan.secrets = secrets::inventory(stack);
        plan.warnings = health::warnings(&plan);
        plan.warnings.extend(gaps::warnings(&plan));
        plan.warnings.extend(security::warnings(&plan));
        plan
    }

    /// What the user should know that stops nothing: what the output does not do (a Compose
    /// service left without a healthcheck because nothing says which client its image
    /// ships), or a choice with a known cost (a backing service installed from a Bitnami
    /// chart, once [`crate::validate()`] has run). Synthesis goes on; the CLI prints each one.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let http = Port::http("http", 8080);
    /// let mut s = Stack::new("shop", Env::Dev);
    /// s.add(Service::new("web").image(Image::new("acme/web").tag("1.0")).port(http)
    ///     .readiness(Probe::http_get("/ready", http)));
    /// let plan = stackdsl::validate(&s).expect("valid");
    /// assert_eq!(plan.warnings()[0].path, "shop.services[web].health_tool");
    ///
    /// use stackdsl::catalog::Redis;
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.targets([Target::Kubernetes, Target::Terraform]);
    /// s.backing(Redis::new(SecretRef::new("shop-secrets", "redis-password")).bitnami_chart());
    /// let plan = stackdsl::validate(&s).expect("valid");
    /// assert_eq!(plan.warnings().len(), 1);
    /// assert_eq!(plan.warnings()[0].path, "shop.services[redis]");
    /// ```
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The probe Compose turns into `svc`'s healthcheck and the [`HealthTool`] that runs it
    /// inside the image (`None` for an exec probe), or `None` when Compose renders no
    /// healthcheck: no probe, [`HealthTool::None`], [`HealthTool::ImageHealthcheck`] (the
    /// image's own runs), or no tool stated for an image the stack does not build (see
    /// [`Plan::warnings`]).
    pub fn compose_check<'a>(&self, svc: &'a Service) -> Option<(&'a Probe, Option<HealthTool>)> {
        health::compose_check(svc)
    }

    /// Does Compose know when `svc` is healthy: a healthcheck it renders
    /// ([`Plan::compose_check`]) or the image's own ([`HealthTool::ImageHealthcheck`])?
    /// Dependants wait for `service_healthy` exactly when it does, unless they state
    /// another [`Condition`](crate::model::Condition).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Dev);
    /// s.add(Service::new("db").image(Image::new("acme/db").tag("1.0"))
    ///     .health_tool(HealthTool::ImageHealthcheck));
    /// let plan = stackdsl::validate(&s).unwrap();
    /// let db = s.service("db").unwrap();
    /// assert!(plan.compose_check(db).is_none() && plan.compose_healthy(db));
    /// ```
    pub fn compose_healthy(&self, svc: &Service) -> bool {
        health::compose_healthy(svc)
    }

    /// The security settings of a container with `security` and `mounts` (a service's own,
    /// or one of its init containers' or sidecars'), as every target renders them: see
    /// [`Hardening`].
    pub fn hardening(&self, security: &Security, mounts: &[Mount]) -> Hardening {
        security::hardening(security, mounts)
    }

    /// The Compose one-shot `<service>-volumes` that hands `svc`'s volumes to its user
    /// before anything mounts them, or `None` when none is needed (see [`VolumeInit`]).
    pub fn volume_init(&self, svc: &'s Service) -> Option<VolumeInit<'s>> {
        security::volume_init(self, svc)
    }

    /// The host folders (bind mounts, folders given by a parameter) `svc` writes to as its
    /// stated non-root user in Compose, with that `(uid, gid)`; `None` when there are none.
    /// They are the developer's or operator's files, so nothing changes their owner:
    /// `compose.yaml` says who must be able to write them.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Dev);
    /// s.add(Service::new("api").image(Image::new("acme/api").tag("1.0"))
    ///     .mount(Mount::bind("uploads", "/srv/uploads"))
    ///     .security(Security::restricted().run_as_user(1000)));
    /// let plan = stackdsl::validate(&s).expect("valid");
    /// let (owner, folders) = plan.host_folders(&plan.stack().services[0]).expect("a folder");
    /// assert_eq!((owner, folders[0].path.as_str()), ((1000, 1000), "/srv/uploads"));
    /// ```
    pub fn host_folders(&self, svc: &'s Service) -> Option<((u32, u32), Vec<&'s Mount>)> {
        security::host_folders(self, svc)
    }

    /// The validated stack.
    pub fn stack(&self) -> &'s Stack {
        self.stack
    }

    /// Does the stack render `target`?
    pub fn renders(&self, target: Target) -> bool {
        self.on.contains_key(&target)
    }

    /// The declared services `target` renders, in declaration order; none when the stack
    /// does not render `target`.
    pub fn services(&self, target: Target) -> impl Iterator<Item = &'s Service> + '_ {
        self.on.get(&target).into_iter().flatten().copied()
    }

    /// Does `target` render `svc`?
    pub fn renders_service(&self, target: Target, svc: &Service) -> bool {
        self.services(target).any(|s| std::ptr::eq(s, svc))
    }

    /// Is `svc` installed by Terraform rather than rendered as manifests of its own? A
    /// catalog (backing) service is, where the stack renders Terraform: by a Helm release of
    /// its chart, or by its operator (whose custom resources the manifests then carry).
    pub fn is_helm_installed(&self, svc: &Service) -> bool {
        svc.backing.is_some() && self.renders_service(Target::Terraform, svc)
    }

    /// Services the Kubernetes target renders as manifests of their own (not installed by
    /// Terraform).
    pub fn manifests(&self) -> impl Iterator<Item = &'s Service> + '_ {
        self.services(Target::Kubernetes)
            .filter(|s| !self.is_helm_installed(s))
    }

    /// Backing services Terraform installs (a chart's release, or an operator and its
    /// custom resources), in declaration order.
    pub fn helm_installed(&self) -> impl Iterator<Item = &'s Service> + '_ {
        self.services(Target::Terraform)
            .filter(|s| s.backing.is_some())
    }

    /// Backing services an operator runs (Terraform installs the operator; the manifests
    /// carry the custom resources), with what the operator needs, in declaration order.
    pub fn operated(&self) -> impl Iterator<Item = (&'s Service, &'s Operated)> + '_ {
        self.helm_installed()
            .filter_map(|s| match s.backing.as_ref().map(|b| &b.install) {
                Some(Install::Operator(o)) => Some((s, o)),
                _ => None,
            })
    }

    /// The Secrets of their own shape that the charts and operators Terraform installs
    /// read ([`ShapedSecret`]), with the service each belongs to, in declaration order.
    pub fn shaped_secrets(&self) -> impl Iterator<Item = (&'s Service, &'s ShapedSecret)> + '_ {
        self.helm_installed().flat_map(|s| {
            s.backing
                .iter()
                .flat_map(|b| b.shaped_secrets.iter())
                .map(move |sh| (s, sh))
        })
    }

    /// The host clients use for `svc` inside the cluster: its name, or the Service its
    /// chart or operator creates ([`BackingSpec::host`](crate::model::BackingSpec::host))
    /// when Terraform installs it.
    pub fn k8s_host(&self, svc: &Service) -> String {
        match &svc.backing {
            Some(b) if self.is_helm_installed(svc) => b.host.clone(),
            _ => svc.name.clone(),
        }
    }

    /// Compose service names of a service: a cluster's members (`<name>-seed`,
    /// `<name>-worker-<i>`), else the service's own name.
    pub fn members(&self, svc: &Service) -> Vec<String> {
        members(svc)
    }

    /// Is `name` the Compose name of one of `svc`'s members (`<name>-seed`,
    /// `<name>-worker-<i>`)? Decided from the name alone, so it is cheap for any replica
    /// count.
    pub fn is_member(&self, svc: &Service, name: &str) -> bool {
        if svc.cluster.is_none() {
            return name == svc.name;
        }
        let rest = name.strip_prefix(svc.name.as_str()).unwrap_or_default();
        rest == "-seed"
            || rest
                .strip_prefix("-worker-")
                .filter(|i| !i.starts_with('0'))
                .and_then(|i| i.parse::<u32>().ok())
                .is_some_and(|i| i >= 1 && i < svc.replicas.max(1))
    }

    /// The Compose one-shot that runs a service's migrations: `<name>-migrate`.
    pub fn migration_service(&self, svc: &Service) -> Option<String> {
        svc.migrations
            .as_ref()
            .map(|_| format!("{}-migrate", svc.name))
    }

    /// The routes `target` serves: every route of a service it renders, in order (Compose's
    /// edge, the Kubernetes Gateway API routes or Ingresses).
    pub fn routes(&self, target: Target) -> impl Iterator<Item = (&'s Service, &'s Route)> + '_ {
        self.services(target)
            .flat_map(|s| s.routes.iter().map(move |r| (s, r)))
    }

    /// The Compose service that runs one of `svc`'s init containers or sidecars:
    /// `<service>-<container>`.
    pub fn container_service(&self, svc: &Service, container: &crate::model::Container) -> String {
        format!("{}-{}", svc.name, container.name)
    }

    /// The routes Compose's edge serves: every route of a service Compose runs, in order.
    pub fn compose_routes(&self) -> impl Iterator<Item = (&'s Service, &'s Route)> + '_ {
        self.routes(Target::Compose)
    }

    /// The stack's edge, when Compose renders one: an [`Edge`] is set, Compose is a target
    /// and some service Compose runs has routes.
    pub fn compose_edge(&self) -> Option<&'s Edge> {
        self.stack
            .edge
            .as_ref()
            .filter(|_| self.compose_routes().next().is_some())
    }

    /// The nginx edge as a service of the model (Compose and the diagram run it).
    pub fn edge(&self) -> Option<&Service> {
        self.edge.as_ref()
    }

    /// The Prometheus and Grafana services Compose runs when the stack enables monitoring.
    pub fn monitoring(&self) -> &[MonitoringService] {
        &self.monitoring
    }

    /// Every service name Compose runs, declared and derived, with the service each one
    /// comes from (`None` for the edge and monitoring), in file order.
    pub fn compose_names(&self) -> Vec<(String, Option<&'s Service>)> {
        let mut out = Vec::new();
        for svc in self.services(Target::Compose) {
            if let Some(v) = self.volume_init(svc) {
                out.push((v.name, Some(svc)));
            }
            for c in &svc.init_containers {
                out.push((self.container_service(svc, c), Some(svc)));
            }
            if let Some(m) = self.migration_service(svc) {
                out.push((m, Some(svc)));
            }
            out.extend(self.members(svc).into_iter().map(|m| (m, Some(svc))));
            for c in &svc.sidecars {
                out.push((self.container_service(svc, c), Some(svc)));
            }
        }
        out.extend(self.edge.iter().map(|e| (e.name.clone(), None)));
        out.extend(
            self.monitoring
                .iter()
                .map(|m| (m.service.name.clone(), None)),
        );
        out
    }

    /// The seed addresses a cluster's members receive on `target` (Compose or Kubernetes),
    /// comma-separated.
    pub fn seeds(&self, svc: &Service, cluster: &Cluster, target: Target) -> String {
        let addr = |host: String, name: &str| match cluster.seed_format {
            SeedFormat::NameAtHostPort => format!("{name}@{host}:{}", cluster.port.number),
            SeedFormat::HostPort => format!("{host}:{}", cluster.port.number),
        };
        match target {
            Target::Kubernetes => (0..cluster.seeds.min(svc.replicas))
                .map(|i| {
                    let pod = format!("{}-{i}", svc.name);
                    let host = format!(
                        "{pod}.{}.{}.svc.cluster.local",
                        headless_name(&svc.name),
                        self.stack.namespace()
                    );
                    addr(host, &pod)
                })
                .collect::<Vec<_>>()
                .join(","),
            _ => {
                let seed = members(svc).swap_remove(0);
                addr(seed.clone(), &seed)
            }
        }
    }

    /// The ports other services may use: all but a cluster's gossip port.
    pub fn client_ports(&self, svc: &'s Service) -> impl Iterator<Item = &'s Port> {
        let gossip = svc.cluster.as_ref().map(|c| c.port.name);
        svc.ports.iter().filter(move |p| Some(p.name) != gossip)
    }

    /// The secrets `target` needs, each once, in first-use order, with their readers.
    pub fn secrets(&self, target: Target) -> Vec<SecretUse<'s>> {
        secrets::for_target(self, target)
    }

    /// The deploy-time parameters ([`Param`](crate::model::Param)) the services `target`
    /// renders use, each once, in first-use order, with their users: what Compose lists in
    /// `.env.example` beside the secrets.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// use stackdsl::model::Param;
    /// let media = Param::new("MEDIA_DIR");
    /// let mut s = Stack::new("media", Env::Dev);
    /// s.add(Service::new("a").image(Image::new("acme/a").tag("1")).mount(Mount::host_dir(&media, "/media")));
    /// s.add(Service::new("b").image(Image::new("acme/b").tag("1")).mount(Mount::host_dir(&media, "/media").read_only()));
    /// let plan = stackdsl::validate(&s).unwrap();
    /// let params = plan.params(Target::Compose);
    /// assert_eq!((params.len(), params[0].users.len()), (1, 2));
    /// ```
    pub fn params(&self, target: Target) -> Vec<ParamUse<'s>> {
        params::for_target(self, target)
    }

    /// The services `platform` runs, in declaration order: on Render every service that
    /// renders there (catalog Postgres and Redis become its databases and Key Value
    /// instances); on the others the one app — [`PaasOptions::app`](crate::model::PaasOptions::app), else the only service
    /// that renders there. Empty when that choice is ambiguous (a validation error).
    pub fn paas_services(&self, platform: Platform) -> Vec<&'s Service> {
        let target = Target::Paas(platform);
        let candidates: Vec<&Service> = self.services(target).collect();
        if platform.multi_service() {
            return candidates;
        }
        match &self.stack.paas.app {
            Some(app) => candidates
                .into_iter()
                .filter(|s| s.name == app.name())
                .take(1)
                .collect(),
            None if candidates.len() == 1 => candidates,
            None => Vec::new(),
        }
    }

    /// Resolves a template in a target's [`Style`].
    pub fn resolve(&self, t: &Template, style: &Style<'_>) -> String {
        resolve::resolve(self, t, style)
    }
}

/// The headless Service of a cluster: `<name>-headless`.
pub fn headless_name(service: &str) -> String {
    format!("{service}-headless")
}

fn members(svc: &Service) -> Vec<String> {
    match &svc.cluster {
        None => vec![svc.name.clone()],
        Some(_) => (0..svc.replicas.max(1))
            .map(|i| {
                if i == 0 {
                    format!("{}-seed", svc.name)
                } else {
                    format!("{}-worker-{i}", svc.name)
                }
            })
            .collect(),
    }
}
