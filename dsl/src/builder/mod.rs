//! Builders: the ergonomic way to write a stack. They add no behaviour of their own; every
//! rule lives in [`crate::validate`](mod@crate::validate), so a stack built any way is checked the same.
//!
//! # Why a hand-written typestate and not `bon`
//!
//! A service has exactly one required setting, its image source (`.image(…)` and/or
//! `.build(…)`); everything else is an optional setter with a documented default. One state
//! parameter ([`NoImage`] → [`HasImage`]) expresses that completely, costs no proc-macro
//! (the `bon` derive would add `syn`/`quote` to every user's build for a single flag), and
//! with `#[diagnostic::on_unimplemented]` on [`IntoService`] the compile error for a missing
//! image names the fix instead of printing generic-parameter soup.
//!
//! ```
//! use stackdsl::prelude::*;
//!
//! let http = Port::http("http", 3000);
//! let mut s = Stack::new("hello", Env::Prod);
//! let api = s.add(
//!     Service::new("api")
//!         .image(Image::new("ghcr.io/acme/api").tag("1.0.0"))
//!         .port(http)
//!         .env("NODE_ENV", "production")
//!         .readiness(Probe::http_get("/ready", http))
//!         .resources(Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(512)))
//!         .replicas(3),
//! );
//! assert_eq!(api.name(), "api");
//! assert_eq!(s.services.len(), 1);
//! ```
//!
//! # One setter convention for `Stack`
//!
//! Every [`Stack`] method that changes the stack takes `&mut self` and returns `&mut Self`:
//! the settings (`targets`, `in_namespace`, `kubernetes`, `ci`, `edge`, `monitoring`,
//! `paas`, `update`) as well as the methods that return a handle (`add`, `backing`,
//! `include`). The handle-returning ones cannot consume the stack, and components change
//! a stack they are lent (`fn tracing(s: &mut Stack)`), so borrowing is the one rule that
//! covers every call; settings chain as a statement:
//!
//! ```
//! use stackdsl::prelude::*;
//!
//! let mut s = Stack::new("shop", Env::Prod);
//! s.targets([Target::Kubernetes, Target::GitHubActions])
//!     .in_namespace("shop")
//!     .ci(Ci::node("20", PackageManager::Pnpm));
//! let api = s.add(Service::new("api").image(Image::new("acme/api").tag("1.0")));
//! s.update(&api, |b| b.replicas(3));
//! assert_eq!(s.namespace(), "shop");
//! ```
//!
//! What is handed to the stack whole — a [`ServiceBuilder`], a catalog item, an
//! [`Autoscale`] — is a value instead: its setters take `self` and
//! return it, so a declaration is one expression; [`Conditional`] keeps it one expression
//! when it differs by environment (`.when(dev, |b| b.publish(…))`,
//! `.apply(|b| match env { … })`).
//!
//! Settings that only one target reads are grouped behind a closure that is lent the group
//! (`&mut`, chaining like the stack): [`Stack::kubernetes`] and [`Stack::paas`] for the
//! stack, [`ServiceBuilder::kubernetes`] for a service, so a service's own setters are the
//! ones every target renders.
//!
//! ```
//! use stackdsl::prelude::*;
//!
//! let env = Env::Prod;
//! let http = Port::http("http", 3000);
//! let api = Service::new("api")
//!     .image(Image::new("acme/api").tag("1.0"))
//!     .port(http)
//!     .when(env == Env::Dev, |api| api.publish(http, 3000))
//!     .apply(|api| match env {
//!         Env::Dev => api,
//!         Env::Staging | Env::Prod => api
//!             .replicas(3)
//!             .kubernetes(|k| k.spread(Spread::AcrossZones).disruption(Disruption::MaxUnavailable(1))),
//!     });
//! assert_eq!((api.peek().replicas, api.peek().spread), (3, Some(Spread::AcrossZones)));
//! ```
//!
//! Forgetting the image does not compile:
//!
//! ```compile_fail
//! use stackdsl::prelude::*;
//! let mut s = Stack::new("hello", Env::Dev);
//! s.add(Service::new("api").replicas(1));
//! ```

mod include;

pub use include::Included;

use std::marker::PhantomData;
use std::net::IpAddr;

use crate::model::Env;
use crate::model::{
    Autoscale, Build, ConfigMapUse, Disruption, Egress, EnvValue, EnvVar, HealthTool, Image,
    ImageSource, Ingress, KubernetesOptions, Mount, Origin, Port, Probe, Probes, Publish,
    Resources, Restart, Rollout, Security, Service, ServiceRef, Spread, Stack, StrayUpdate, Target,
};

/// Typestate: the service has no image or build yet.
#[derive(Debug, Clone, Copy)]
pub struct NoImage;

/// Typestate: the service has an image and/or a build.
#[derive(Debug, Clone, Copy)]
pub struct HasImage;

/// Builds a [`Service`]. Start with [`Service::new`]; set `.image(…)` or `.build(…)`, then
/// any optional settings; hand it to [`Stack::add`].
#[derive(Debug, Clone)]
#[must_use = "a service builder does nothing until it is added with `Stack::add`"]
pub struct ServiceBuilder<S = NoImage> {
    // Boxed: every setter moves the builder, and a `Service` is 2 KB.
    inner: Box<Service>,
    state: PhantomData<S>,
}

impl Service {
    /// Starts a service named `name` (a DNS-1035 label: lowercase letters, digits and `-`,
    /// starting with a letter).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("worker").image(Image::new("acme/worker").tag("2.1.0")).replicas(2);
    /// # let _ = b;
    /// ```
    #[track_caller]
    #[allow(clippy::new_ret_no_self)]
    pub fn new(name: impl Into<String>) -> ServiceBuilder<NoImage> {
        ServiceBuilder {
            inner: Box::new(Service {
                name: name.into(),
                origin: Origin::caller(),
                source: ImageSource {
                    image: None,
                    build: None,
                },
                ports: Vec::new(),
                publish: Vec::new(),
                env: Vec::new(),
                config_map_use: ConfigMapUse::default(),
                command: None,
                args: None,
                resources: None,
                replicas: 1,
                probes: Probes::default(),
                health_tool: None,
                mounts: Vec::new(),
                depends_on: Vec::new(),
                restart: Restart::default(),
                security: Security::default(),
                autoscale: None,
                ingress: Vec::new(),
                only_on: None,
                not_on: Vec::new(),
                container_name: None,
                rollout: None,
                spread: None,
                disruption: None,
                egress: Vec::new(),
                annotations: Vec::new(),
                cluster: None,
                metrics: None,
                backing: None,
                migrations: None,
                backup: None,
            }),
            state: PhantomData,
        }
    }
}

impl<S> ServiceBuilder<S> {
    fn with(mut self, f: impl FnOnce(&mut Service)) -> Self {
        f(&mut self.inner);
        self
    }

    fn to<T>(self) -> ServiceBuilder<T> {
        ServiceBuilder {
            inner: self.inner,
            state: PhantomData,
        }
    }

    /// The image to run. With [`build`](Self::build), the name the build is tagged with.
    pub fn image(mut self, image: Image) -> ServiceBuilder<HasImage> {
        self.inner.source.image = Some(image);
        self.to()
    }

    /// Builds the image from source (Compose builds it; CI builds and pushes it).
    pub fn build(mut self, build: Build) -> ServiceBuilder<HasImage> {
        self.inner.source.build = Some(build);
        self.to()
    }

    /// Declares a named port the container listens on.
    pub fn port(self, port: Port) -> Self {
        self.with(|s| s.ports.push(port))
    }

    /// Publishes `port` on the Docker host's loopback interface as `host_port` (Compose).
    pub fn publish(self, port: Port, host_port: u16) -> Self {
        self.with(|s| s.publish.push(Publish::loopback(port, host_port)))
    }

    /// Publishes `port` on every host interface as `host_port` (Compose), e.g. for an edge
    /// proxy. Prefer [`publish`](Self::publish) for anything else.
    pub fn publish_public(self, port: Port, host_port: u16) -> Self {
        self.with(|s| s.publish.push(Publish::all_interfaces(port, host_port)))
    }

    /// Publishes `port` on a specific host address.
    pub fn publish_on(self, ip: IpAddr, port: Port, host_port: u16) -> Self {
        self.with(|s| {
            let mut p = Publish::loopback(port, host_port);
            p.host_ip = ip;
            s.publish.push(p)
        })
    }

    /// Sets an environment variable: a literal (`&str`, `String`, numbers), a [`SecretRef`](crate::model::SecretRef),
    /// a [`Url`](crate::model::Url) or a [`Template`](crate::model::Template).
    pub fn env(self, name: impl Into<String>, value: impl Into<EnvValue>) -> Self {
        let var = EnvVar {
            name: name.into(),
            value: value.into(),
            not_secret: None,
        };
        self.with(|s| s.env.push(var))
    }

    /// Replaces the value of variable `name` where it is set (keeping its position), or sets
    /// it: the explicit way to override an imported service's setting (setting a variable
    /// twice with [`env`](Self::env) is a validation error).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1")).env("LOG_LEVEL", "info").replace_env("LOG_LEVEL", "debug");
    /// assert_eq!(b.peek().env.len(), 1);
    /// ```
    pub fn replace_env(self, name: impl Into<String>, value: impl Into<EnvValue>) -> Self {
        let (name, value) = (name.into(), value.into());
        self.with(|s| match s.env.iter_mut().find(|v| v.name == name) {
            Some(var) => {
                var.value = value;
                var.not_secret = None;
            }
            None => s.env.push(EnvVar {
                name,
                value,
                not_secret: None,
            }),
        })
    }

    /// Sets a non-secret configuration value (a ConfigMap key in Kubernetes).
    pub fn config(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let var = EnvVar {
            name: name.into(),
            value: EnvValue::Config(value.into()),
            not_secret: None,
        };
        self.with(|s| s.env.push(var))
    }

    /// Sets a literal whose name looks like a secret (`*_PASSWORD_FILE`, `*_TOKEN_TTL`, …)
    /// but is not one; `reason` says why, and silences the secret-literal check for it.
    pub fn env_not_secret(
        self,
        name: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        let var = EnvVar {
            name: name.into(),
            value: EnvValue::Plain(value.into()),
            not_secret: Some(reason.into()),
        };
        self.with(|s| s.env.push(var))
    }

    /// Overrides the image entrypoint.
    pub fn command<I: IntoIterator<Item = T>, T: Into<String>>(self, argv: I) -> Self {
        let argv = argv.into_iter().map(Into::into).collect();
        self.with(|s| s.command = Some(argv))
    }

    /// Overrides the image arguments (`CMD`).
    pub fn args<I: IntoIterator<Item = T>, T: Into<String>>(self, argv: I) -> Self {
        let argv = argv.into_iter().map(Into::into).collect();
        self.with(|s| s.args = Some(argv))
    }

    /// CPU and memory requests and limits (required in staging and prod).
    pub fn resources(self, resources: Resources) -> Self {
        self.with(|s| s.resources = Some(resources))
    }

    /// Number of instances (default 1).
    pub fn replicas(self, n: u32) -> Self {
        self.with(|s| s.replicas = n)
    }

    /// Restart the container when this probe fails.
    pub fn liveness(self, probe: Probe) -> Self {
        self.with(|s| s.probes.liveness = Some(probe))
    }

    /// Route traffic only while this probe succeeds (Compose derives its healthcheck from it).
    pub fn readiness(self, probe: Probe) -> Self {
        self.with(|s| s.probes.readiness = Some(probe))
    }

    /// Hold the other probes until this one first succeeds (slow starters).
    pub fn startup(self, probe: Probe) -> Self {
        self.with(|s| s.probes.startup = Some(probe))
    }

    /// States the client Compose runs this service's HTTP, TCP or gRPC probe with inside
    /// the image (see [`HealthTool`]). Unstated, Compose assumes BusyBox `wget` only for
    /// an image the stack builds; for any other image the service gets no Compose
    /// healthcheck, its dependants wait for it to start, and the run warns.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let grpc = Port::grpc("grpc", 7070);
    /// let b = Service::new("cart")
    ///     .image(Image::new("acme/cart").tag("1.0"))
    ///     .port(grpc)
    ///     .readiness(Probe::grpc(grpc))
    ///     // The image copies grpc_health_probe into /bin.
    ///     .health_tool(HealthTool::GrpcHealthProbe);
    /// assert_eq!(b.peek().health_tool, Some(HealthTool::GrpcHealthProbe));
    /// ```
    pub fn health_tool(self, tool: HealthTool) -> Self {
        self.with(|s| s.health_tool = Some(tool))
    }

    /// Mounts a volume.
    pub fn mount(self, mount: Mount) -> Self {
        self.with(|s| s.mounts.push(mount))
    }

    /// Starts after `service` (healthy, where it has a health check) and may connect to it.
    pub fn depends_on(self, service: &ServiceRef) -> Self {
        let service = service.clone();
        self.with(|s| s.depends_on.push(service))
    }

    /// Restart policy (default `unless-stopped`).
    pub fn restart(self, restart: Restart) -> Self {
        self.with(|s| s.restart = restart)
    }

    /// Container hardening (default [`Security::restricted`]).
    pub fn security(self, security: Security) -> Self {
        self.with(|s| s.security = security)
    }

    /// Scales horizontally between bounds (Kubernetes HorizontalPodAutoscaler).
    pub fn autoscale(self, autoscale: Autoscale) -> Self {
        self.with(|s| s.autoscale = Some(autoscale))
    }

    /// Exposes a port over HTTP(S) on a public host name (Kubernetes Ingress).
    pub fn expose(self, ingress: Ingress) -> Self {
        self.with(|s| s.ingress.push(ingress))
    }

    /// Renders the service only for these targets, e.g. an nginx edge that only Compose
    /// needs because Kubernetes routes through an Ingress.
    pub fn only_on(self, targets: impl IntoIterator<Item = Target>) -> Self {
        let targets = targets.into_iter().collect();
        self.with(|s| s.only_on = Some(targets))
    }

    /// Never renders the service for these targets (the complement of
    /// [`only_on`](Self::only_on)), e.g. the tracing pair on every PaaS platform.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("obs", Env::Prod);
    /// let jaeger = Service::new("jaeger").image(Image::new("jaegertracing/all-in-one").tag("1.62.0"));
    /// s.add(jaeger.not_on(Platform::targets()));
    /// let svc = s.service("jaeger").unwrap();
    /// assert!(svc.renders_on(Target::Kubernetes) && !svc.renders_on(Target::Paas(Platform::Fly)));
    /// ```
    pub fn not_on(self, targets: impl IntoIterator<Item = Target>) -> Self {
        let targets: Vec<Target> = targets.into_iter().collect();
        self.with(|s| s.not_on.extend(targets))
    }

    /// Makes the replicas a cluster: members with stable identities that find each other
    /// through seed addresses (see [`Cluster`](crate::model::Cluster)).
    pub fn cluster(self, cluster: crate::model::Cluster) -> Self {
        self.with(|s| s.cluster = Some(cluster))
    }

    /// Marks the service as a backing service installed by Helm where the stack renders
    /// Terraform (the [`catalog`](crate::catalog) sets this).
    pub fn backing(self, spec: crate::model::BackingSpec) -> Self {
        self.with(|s| s.backing = Some(spec))
    }

    /// Declares a Prometheus metrics endpoint (a ServiceMonitor in Kubernetes).
    pub fn metrics(self, metrics: crate::model::Metrics) -> Self {
        self.with(|s| s.metrics = Some(metrics))
    }

    /// Runs schema migrations before the service serves a new version (see
    /// [`Migration`](crate::model::Migration)): a one-shot service in Compose, an init
    /// container in Kubernetes.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api")
    ///     .image(Image::new("acme/api").tag("1.0"))
    ///     .env("DATABASE_URL", "postgres://db/app")
    ///     .migrations(Migration::command(["goose", "-dir", "migrations", "postgres", "$(DATABASE_URL)", "up"]));
    /// assert!(b.peek().migrations.is_some());
    /// ```
    pub fn migrations(self, migration: crate::model::Migration) -> Self {
        self.with(|s| s.migrations = Some(migration))
    }

    /// Settings only the Kubernetes target reads (see [`ServiceKubernetes`]): the
    /// container's name, rollout, spread, disruption budget, egress, pod annotations, how
    /// configuration reaches the pod, and scheduled backups. Grouped so a service's
    /// declaration shows at a glance what every target gets and what only Kubernetes does.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let api = Service::new("api")
    ///     .image(Image::new("acme/api").tag("1.0"))
    ///     .replicas(5)
    ///     .kubernetes(|k| k.rollout(Rollout::rolling(1, 1)).spread(Spread::AntiAffinity));
    /// assert_eq!(api.peek().rollout, Some(Rollout::rolling(1, 1)));
    /// assert_eq!(api.peek().spread, Some(Spread::AntiAffinity));
    /// ```
    pub fn kubernetes(
        self,
        f: impl FnOnce(&mut ServiceKubernetes) -> &mut ServiceKubernetes,
    ) -> Self {
        let mut group = ServiceKubernetes {
            service: self.inner,
        };
        f(&mut group);
        ServiceBuilder {
            inner: group.service,
            state: PhantomData,
        }
    }

    /// The service as declared so far (read-only).
    pub fn peek(&self) -> &Service {
        &self.inner
    }
}

/// A service's Kubernetes-only settings, set inside [`ServiceBuilder::kubernetes`]. Each is
/// read by the Kubernetes target alone (Compose, Terraform and the PaaS platforms have no
/// counterpart), which is why they are not setters of the service itself.
///
/// Like [`KubernetesOptions`] for the stack, the setters take `&mut self` and chain.
///
/// ```
/// use stackdsl::prelude::*;
/// let worker = Service::new("worker")
///     .image(Image::new("acme/worker").tag("2.0"))
///     .config("QUEUE", "jobs")
///     .kubernetes(|k| {
///         k.container_name("app")
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
    service: Box<Service>,
}

impl ServiceKubernetes {
    /// Names the container (default: the service name).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1")).kubernetes(|k| k.container_name("app"));
    /// assert_eq!(b.peek().container(), "app");
    /// ```
    pub fn container_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.service.container_name = Some(name.into());
        self
    }

    /// How the Deployment replaces pods on an update (default: derived, see
    /// [`KubernetesOptions::hardened`]).
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
    pub fn backup(&mut self, backup: crate::model::Backup) -> &mut Self {
        self.service.backup = Some(backup);
        self
    }
}

/// Steps inside a builder chain that depend on a condition, so a declaration that differs
/// by environment stays one expression: no `let mut b = …; if dev { b = b.publish(…) }`.
///
/// Implemented by the builders whose setters take `self`: [`ServiceBuilder`] and the
/// [`catalog`](crate::catalog) items. A [`Stack`] needs neither method — its setters borrow
/// it, so an `if` around them reassigns nothing — and does not implement this trait.
///
/// ```
/// use stackdsl::catalog::Postgres;
/// use stackdsl::prelude::*;
///
/// fn api(env: Env) -> ServiceBuilder<HasImage> {
///     let http = Port::http("http", 3000);
///     Service::new("api")
///         .image(Image::new("acme/api").tag("1.0"))
///         .port(http)
///         .when(env == Env::Dev, |b| b.publish(http, 3000))
///         .apply(|b| match env {
///             Env::Dev => b,
///             Env::Staging => b.replicas(2),
///             Env::Prod => b.replicas(3).autoscale(Autoscale::between(3, 10).cpu(70)),
///         })
/// }
/// assert_eq!(api(Env::Dev).peek().publish.len(), 1);
/// assert_eq!((api(Env::Prod).peek().publish.len(), api(Env::Prod).peek().replicas), (0, 3));
///
/// let prod = true;
/// let mut s = Stack::new("shop", Env::Prod);
/// s.backing(
///     Postgres::new("shop", SecretRef::new("shop-secrets", "postgres-password"))
///         .when(prod, |pg| pg.read_replicas(1)),
/// );
/// ```
pub trait Conditional: Sized {
    /// Applies `f` when `condition` holds; otherwise returns `self` unchanged.
    fn when(self, condition: bool, f: impl FnOnce(Self) -> Self) -> Self {
        if condition { f(self) } else { self }
    }

    /// Applies `f`: a `match` on the environment inside the chain, or a shared step
    /// written as a function (`.apply(scaled(env))`).
    fn apply(self, f: impl FnOnce(Self) -> Self) -> Self {
        f(self)
    }
}

impl<S> Conditional for ServiceBuilder<S> {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::ServiceBuilder<super::HasImage> {}
}

/// A builder that is complete enough to become a [`Service`]: one with an image or a build.
#[diagnostic::on_unimplemented(
    message = "this service has no image: call `.image(…)` or `.build(…)` before `Stack::add`",
    label = "`{Self}` cannot be added yet",
    note = "every service needs an image to run: `Service::new(\"api\").image(Image::new(\"acme/api\").tag(\"1.0\"))`"
)]
pub trait IntoService: sealed::Sealed {
    /// Finishes the service.
    fn into_service(self) -> Service;
}

impl IntoService for ServiceBuilder<HasImage> {
    fn into_service(self) -> Service {
        *self.inner
    }
}

impl Stack {
    /// Starts an empty stack named `name` for `env`. The calling file is recorded as the
    /// stack's source and named in every generated file's marker line.
    ///
    /// Targets default to Compose; choose others with [`targets`](Self::targets).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let s = Stack::new("shop", Env::Staging);
    /// assert_eq!(s.out_dir(), "shop/staging");
    /// ```
    #[track_caller]
    pub fn new(name: impl Into<String>, env: Env) -> Stack {
        let origin = Origin::caller();
        Stack {
            name: name.into(),
            env,
            source: origin.file,
            origin,
            services: Vec::new(),
            targets: vec![Target::Compose],
            kubernetes: KubernetesOptions::default(),
            ci: None,
            regenerate: None,
            paas: crate::model::PaasOptions::default(),
            edge: None,
            monitoring: crate::model::Monitoring::default(),
            origin_override: None,
            stray_updates: Vec::new(),
        }
    }

    /// Sets the Kubernetes namespace (default `<stack>-<env>`).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.in_namespace("shop");
    /// assert_eq!(s.namespace(), "shop");
    /// ```
    pub fn in_namespace(&mut self, namespace: impl Into<String>) -> &mut Self {
        self.kubernetes.namespace = Some(namespace.into());
        self
    }

    /// Sets how the Kubernetes target renders this stack.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("bench", Env::Prod);
    /// s.kubernetes(|k| k.plain());
    /// assert!(!s.kubernetes.hardened);
    /// ```
    pub fn kubernetes(
        &mut self,
        f: impl FnOnce(&mut KubernetesOptions) -> &mut KubernetesOptions,
    ) -> &mut Self {
        f(&mut self.kubernetes);
        self
    }

    /// How CI tests, builds and deploys the stack (for [`Target::GitHubActions`]).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.targets([Target::Kubernetes, Target::GitHubActions])
    ///     .ci(Ci::node("20", PackageManager::Pnpm));
    /// assert!(s.ci.is_some());
    /// ```
    pub fn ci(&mut self, ci: crate::model::Ci) -> &mut Self {
        self.ci = Some(ci);
        self
    }

    /// The edge in front of the services' routes ([`Ingress`]): an nginx service in Compose,
    /// Ingress annotations in Kubernetes (see [`Edge`](crate::model::Edge)).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Prod);
    /// s.edge(Edge::nginx().client_body_mb(10));
    /// assert_eq!(s.edge.unwrap().client_body_mb, Some(10));
    /// ```
    pub fn edge(&mut self, edge: crate::model::Edge) -> &mut Self {
        self.edge = Some(edge);
        self
    }

    /// Chooses the targets rendered for this environment, in order.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Staging);
    /// s.targets([Target::Kubernetes, Target::Terraform]);
    /// assert_eq!(s.targets, [Target::Kubernetes, Target::Terraform]);
    /// ```
    pub fn targets(&mut self, targets: impl IntoIterator<Item = Target>) -> &mut Self {
        self.targets = targets.into_iter().collect();
        self
    }

    /// Changes a service already in the stack, e.g. one a component added or one
    /// [`include`](Self::include) brought in: the override is an explicit call, visible in
    /// the stack's source.
    ///
    /// A handle that names no service of this stack (one of another stack, say) changes
    /// nothing and is a validation error naming both the handle's declaration and this
    /// call, so a misdirected override cannot pass unnoticed.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("shop", Env::Prod);
    /// let api = s.add(Service::new("api").image(Image::new("acme/api").tag("1.0")));
    /// s.update(&api, |b| b.replicas(5));
    /// assert_eq!(s.service("api").unwrap().replicas, 5);
    ///
    /// let mut billing = Stack::new("billing", Env::Prod);
    /// let ledger = billing.add(Service::new("ledger").image(Image::new("acme/ledger").tag("3.1")));
    /// s.update(&ledger, |b| b.replicas(2)); // not a service of `shop`
    /// let errors = stackdsl::validate(&s).unwrap_err();
    /// assert!(errors.iter().any(|e| e.path == "shop.update[ledger]"));
    /// ```
    #[track_caller]
    pub fn update(
        &mut self,
        handle: &ServiceRef,
        f: impl FnOnce(ServiceBuilder<HasImage>) -> ServiceBuilder<HasImage>,
    ) -> &mut Self {
        let slot = if handle.stack == self.name {
            self.services.iter_mut().find(|s| s.name == handle.name)
        } else {
            None
        };
        match slot {
            Some(slot) => {
                let placeholder = *Service::new(String::new()).inner;
                let current = std::mem::replace(slot, placeholder);
                *slot = *f(ServiceBuilder {
                    inner: Box::new(current),
                    state: PhantomData,
                })
                .inner;
            }
            None => self.stray_updates.push(StrayUpdate {
                handle: handle.clone(),
                at: Origin::caller(),
            }),
        }
        self
    }

    /// Adds a service and returns its handle.
    pub fn add(&mut self, service: impl IntoService) -> ServiceRef {
        let mut service = service.into_service();
        // Inside `Stack::backing`, name the user's call, not the catalog's code.
        if let Some(origin) = self.origin_override {
            service.origin = origin;
        }
        let handle = ServiceRef {
            name: service.name.clone(),
            stack: self.name.clone(),
            origin: service.origin,
        };
        self.services.push(service);
        handle
    }
}
