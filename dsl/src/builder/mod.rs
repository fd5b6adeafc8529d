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
//! Every [`Stack`](crate::model::Stack) method that changes the stack takes `&mut self` and returns `&mut Self`:
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
//! (`&mut`, chaining like the stack): [`Stack::kubernetes`](crate::model::Stack::kubernetes) and [`Stack::paas`](crate::model::Stack::paas) for the
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

mod compose;
mod hatch;
mod include;
mod kubernetes;
mod runtime;
mod stack;

pub use compose::ServiceCompose;
pub use include::Included;
pub use kubernetes::ServiceKubernetes;

use std::marker::PhantomData;
use std::net::IpAddr;

use crate::model::{
    Autoscale, Build, ConfigMapUse, EnvValue, EnvVar, HealthTool, Image, ImageSource, Mount,
    Origin, Port, Probe, Probes, Publish, Resources, Restart, Route, Security, Service, ServiceRef,
    Target,
};

/// Typestate: the service has no image or build yet.
#[derive(Debug, Clone, Copy)]
pub struct NoImage;

/// Typestate: the service has an image and/or a build.
#[derive(Debug, Clone, Copy)]
pub struct HasImage;

/// Builds a [`Service`]. Start with [`Service::new`]; set `.image(…)` or `.build(…)`, then
/// any optional settings; hand it to [`Stack::add`](crate::model::Stack::add).
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
                routes: Vec::new(),
                only_on: None,
                not_on: Vec::new(),
                main_container_name: None,
                rollout: None,
                spread: None,
                disruption: None,
                egress: Vec::new(),
                annotations: Vec::new(),
                not_secrets: Vec::new(),
                cluster: None,
                metrics: None,
                backing: None,
                migrations: None,
                backup: None,
                hatches: crate::model::ServiceHatches::default(),
                grace_period: None,
                pre_stop: None,
                init_containers: Vec::new(),
                sidecars: Vec::new(),
                exposure: crate::model::Exposure::default(),
                pod: crate::model::PodSettings::default(),
                shm_size: None,
                ulimits: Vec::new(),
                devices: Vec::new(),
                compose: crate::model::ComposeSettings::default(),
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

    /// Declares that `value`, wherever it appears in this service (an argument, a command, an
    /// annotation, a generated file, a chart value), is not a secret although it looks like
    /// one; `reason` says why. Validation rejects literal secrets at every position
    /// ([`crate::validate::leaks`]); this is the written waiver for a false positive.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let demo_key = "pk_test_TYooMQauvdEDq54NiTphI7jx";
    /// let b = Service::new("web")
    ///     .image(Image::new("acme/web").tag("1.0"))
    ///     .args(["--stripe-publishable-key", demo_key])
    ///     .not_a_secret(demo_key, "a publishable key, meant for browsers");
    /// assert_eq!(b.peek().not_secrets.len(), 1);
    /// ```
    pub fn not_a_secret(self, value: impl Into<String>, reason: impl Into<String>) -> Self {
        let waiver = (value.into(), reason.into());
        self.with(|s| s.not_secrets.push(waiver))
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

    /// Starts after `service` (healthy, where it has a health check) and may connect to
    /// it. To state the condition, use [`depends_on_when`](Self::depends_on_when).
    pub fn depends_on(self, service: &ServiceRef) -> Self {
        let dep = crate::model::Dependency {
            service: service.clone(),
            condition: None,
        };
        self.with(|s| s.depends_on.push(dep))
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

    /// Exposes a port over HTTP(S) on a public host name: a location of Compose's nginx
    /// edge, and on Kubernetes a Gateway API route or an Ingress path, as the stack's
    /// [`RouteApi`](crate::model::RouteApi) chooses.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let http = Port::http("http", 8080);
    /// let api = Service::new("api")
    ///     .image(Image::new("acme/api").tag("1.0"))
    ///     .port(http)
    ///     .expose(Route::host("api.example.com", http).tls(ClusterIssuer::new("letsencrypt-prod")));
    /// assert_eq!(api.peek().routes.len(), 1);
    /// ```
    pub fn expose(self, route: Route) -> Self {
        self.with(|s| s.routes.push(route))
    }

    /// Renders the service only for these targets, e.g. an nginx edge that only Compose
    /// needs because Kubernetes routes through its Gateway.
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

    /// Runs a container to completion before the service starts; repeatable, in order (see
    /// [`Container`](crate::model::Container) for how each target runs it).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// use stackdsl::model::Container;
    /// let http = Port::http("http", 8080);
    /// let b = Service::new("api")
    ///     .image(Image::new("acme/api").tag("1.0"))
    ///     .port(http)
    ///     .mount(Mount::scratch("/etc/api"))
    ///     // Renders the configuration into the scratch volume the app then reads.
    ///     .init_container(
    ///         Container::new("render-config", Image::new("acme/api-config").tag("1.0"))
    ///             .args(["--out", "/etc/api/config.json"])
    ///             .mount(Mount::scratch("/etc/api")),
    ///     );
    /// assert_eq!(b.peek().init_containers.len(), 1);
    /// ```
    pub fn init_container(self, container: crate::model::Container) -> Self {
        self.with(|s| s.init_containers.push(container))
    }

    /// Runs a container alongside the service for its whole life (a native sidecar in
    /// Kubernetes; see [`Container`](crate::model::Container)). Repeatable.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// use stackdsl::model::Container;
    /// let b = Service::new("api")
    ///     .image(Image::new("acme/api").tag("1.0"))
    ///     .env("DATABASE_HOST", "127.0.0.1")
    ///     .sidecar(
    ///         Container::new("sql-proxy", Image::new("gcr.io/cloud-sql-connectors/cloud-sql-proxy").tag("2.14.1"))
    ///             .args(["--port=5432", "acme-prod:europe-west1:shop"]),
    ///     );
    /// assert_eq!(b.peek().sidecars[0].name, "sql-proxy");
    /// ```
    pub fn sidecar(self, container: crate::model::Container) -> Self {
        self.with(|s| s.sidecars.push(container))
    }

    /// Seconds the service gets to stop after it is signalled before it is killed
    /// (Kubernetes `terminationGracePeriodSeconds`, Compose `stop_grace_period`).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("worker").image(Image::new("acme/worker").tag("1.0")).graceful_shutdown(60);
    /// assert_eq!(b.peek().grace_period, Some(60));
    /// ```
    pub fn graceful_shutdown(self, seconds: u32) -> Self {
        self.with(|s| s.grace_period = Some(seconds))
    }

    /// Runs a hook before the container is signalled (Kubernetes `preStop`; Compose
    /// `pre_stop` for a command, nothing for a sleep — see
    /// [`PreStop`](crate::model::PreStop)). Its time counts against the grace period.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// use stackdsl::model::PreStop;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1.0"))
    ///     .pre_stop(PreStop::sleep(5))
    ///     .graceful_shutdown(30);
    /// assert_eq!(b.peek().pre_stop, Some(PreStop::Sleep(5)));
    /// ```
    pub fn pre_stop(self, hook: crate::model::PreStop) -> Self {
        self.with(|s| s.pre_stop = Some(hook))
    }

    /// Settings only the Kubernetes target reads (see [`ServiceKubernetes`]): the main
    /// container's name, rollout, spread, disruption budget, egress, pod annotations, how
    /// configuration reaches the pod, scheduled backups, how the Service is exposed, the
    /// service account, and scheduling (node selector, tolerations, priority, image pull
    /// secrets). Grouped so a service's declaration shows at a glance what every target
    /// gets and what only Kubernetes does.
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

/// Steps inside a builder chain that depend on a condition, so a declaration that differs
/// by environment stays one expression: no `let mut b = …; if dev { b = b.publish(…) }`.
///
/// Implemented by the builders whose setters take `self`: [`ServiceBuilder`] and the
/// [`catalog`](crate::catalog) items. A [`Stack`](crate::model::Stack) needs neither method — its setters borrow
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
