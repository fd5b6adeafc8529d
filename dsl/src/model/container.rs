//! Containers beside a service's own: init containers that run to completion before it
//! starts, and sidecars that run alongside it (see [`Container`]).

use super::{EnvValue, EnvVar, Image, Mount, Origin, Resources, Security};

/// A container beside a service's own: build it with [`Container::new`], add it with
/// [`init_container`](crate::builder::ServiceBuilder::init_container) or
/// [`sidecar`](crate::builder::ServiceBuilder::sidecar).
///
/// Each is declared whole, with its own image, command, environment, mounts, resources and
/// hardening (nothing is inherited from the service, unlike a
/// [`Migration`](crate::model::Migration), which is the service's own image and
/// environment running another command). How each target runs them:
///
/// | | Kubernetes | Compose |
/// |---|---|---|
/// | init container | an init container, in order, after the sidecars | a one-shot service `<service>-<name>` (`restart: "no"`); the service and the next init container wait for `service_completed_successfully` |
/// | sidecar | a native sidecar: an init container with `restartPolicy: Always` (Kubernetes ≥ 1.29), started before the init containers and the app, stopped after it | a service `<service>-<name>` in the app's network namespace (`network_mode: service:<service>`), so `localhost` reaches across both ways |
///
/// What Compose cannot express is refused or documented, never approximated silently:
/// Compose starts a sidecar *after* the app (it joins the app's network namespace), so an
/// app must tolerate its sidecar arriving a moment late, as it tolerates a sidecar restart
/// in Kubernetes; an init container runs in a network namespace of its own, so it cannot
/// reach a sidecar on `localhost`; a sidecar of a service running several replicas, and
/// containers of a cluster, are validation errors of the Compose target.
///
/// Volumes: a container mounts the service's own volumes (the same persistent volume or
/// generated file, by name) and scratch space. A scratch path the service mounts too is
/// the *same* scratch volume (an `emptyDir` shared in the pod; in Compose a named volume
/// both mount, which, unlike the pod's, outlives the containers); any other scratch path is
/// the container's own.
///
/// ```
/// use stackdsl::prelude::*;
/// use stackdsl::model::Container;
/// let proxy = Container::new("cloud-sql-proxy", Image::new("gcr.io/cloud-sql-connectors/cloud-sql-proxy").tag("2.14.1"))
///     .args(["--port=5432", "acme-prod:europe-west1:shop"])
///     .resources(Resources::requests(Cpu::m(50), Memory::mi(64)).limits(Cpu::m(200), Memory::mi(128)));
/// assert_eq!(proxy.name, "cloud-sql-proxy");
/// assert!(proxy.security.is_restricted());
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Container {
    /// DNS-1123 label, unique among the pod's containers.
    pub name: String,
    /// Where it was declared.
    pub origin: Origin,
    /// The image it runs.
    pub image: Image,
    /// Overrides the image entrypoint.
    pub command: Option<Vec<String>>,
    /// Overrides the image arguments (`CMD`).
    pub args: Option<Vec<String>>,
    /// Environment variables in declaration order (literals, secret references, URLs and
    /// templates; configuration values belong to the service).
    pub env: Vec<EnvVar>,
    /// Volume mounts (see [`Container`]).
    pub mounts: Vec<Mount>,
    /// CPU and memory requests and limits (required in staging and prod).
    pub resources: Option<Resources>,
    /// Hardening; restricted unless relaxed with a reason.
    pub security: Security,
}

impl Container {
    /// A container named `name` running `image`, restricted, with nothing else set.
    #[track_caller]
    pub fn new(name: impl Into<String>, image: Image) -> Self {
        Container {
            name: name.into(),
            origin: Origin::caller(),
            image,
            command: None,
            args: None,
            env: Vec::new(),
            mounts: Vec::new(),
            resources: None,
            security: Security::restricted(),
        }
    }

    /// Overrides the image entrypoint.
    pub fn command<I: IntoIterator<Item = T>, T: Into<String>>(mut self, argv: I) -> Self {
        self.command = Some(argv.into_iter().map(Into::into).collect());
        self
    }

    /// Overrides the image arguments.
    pub fn args<I: IntoIterator<Item = T>, T: Into<String>>(mut self, argv: I) -> Self {
        self.args = Some(argv.into_iter().map(Into::into).collect());
        self
    }

    /// Sets an environment variable: a literal, a
    /// [`SecretRef`](crate::model::SecretRef), a [`Url`](crate::model::Url) or a
    /// [`Template`](crate::model::Template).
    pub fn env(mut self, name: impl Into<String>, value: impl Into<EnvValue>) -> Self {
        self.env.push(EnvVar {
            name: name.into(),
            value: value.into(),
            not_secret: None,
        });
        self
    }

    /// Mounts a volume of the service, or scratch space (see [`Container`]).
    pub fn mount(mut self, mount: Mount) -> Self {
        self.mounts.push(mount);
        self
    }

    /// CPU and memory requests and limits.
    pub fn resources(mut self, resources: Resources) -> Self {
        self.resources = Some(resources);
        self
    }

    /// Hardening (default [`Security::restricted`]).
    pub fn security(mut self, security: Security) -> Self {
        self.security = security;
        self
    }
}
