//! # stackdsl — deployments as typed Rust
//!
//! Write a stack once, with builders and typed handles; synthesize Compose, Kubernetes,
//! Terraform and CI files from that one model, so they can never disagree.
//!
//! ```
//! use stackdsl::prelude::*;
//!
//! /// The tracing pair other stacks reuse: a component is a plain function.
//! pub fn tracing(s: &mut Stack) -> Endpoint {
//!     let otlp = Port::grpc("otlp", 4317);
//!     let collector = s.add(
//!         Service::new("otel-collector")
//!             .image(Image::new("otel/opentelemetry-collector-contrib").tag("0.114.0"))
//!             .port(otlp),
//!     );
//!     collector.endpoint(otlp)
//! }
//!
//! pub fn shop(env: Env) -> Stack {
//!     let mut s = Stack::new("shop", env);
//!     let otlp = tracing(&mut s);
//!     let http = Port::http("http", 3000);
//!     s.add(
//!         Service::new("api")
//!             .image(Registry::new("ghcr.io/acme").image("shop-api").tag("1.4.2"))
//!             .port(http)
//!             .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.url())
//!             .env("JWT_SECRET", SecretRef::new("shop-secrets", "jwt"))
//!             .readiness(Probe::http_get("/ready", http))
//!             .replicas(match env { Env::Dev => 1, _ => 3 }),
//!     );
//!     s
//! }
//!
//! let stack = shop(Env::Dev);
//! let plan = stackdsl::validate(&stack).expect("valid");
//! let docs = stackdsl::render(&plan).expect("renders");
//! let compose = &docs[0];
//! assert_eq!(compose.path, "shop/dev/compose.yaml");
//! assert!(compose.contents.contains("OTEL_EXPORTER_OTLP_ENDPOINT: http://otel-collector:4317"));
//! assert!(compose.contents.contains("JWT_SECRET: ${SHOP_SECRETS_JWT:?"));
//! ```
//!
//! New here? Read the [`guide`]: from a first stack to reviewed production files.
//!
//! The layers, each used once in this order by a value travelling from a stack file to an
//! artifact: [`model`] (plain data) → [`builder`] (ergonomics) → [`plan`] (facts derived
//! once) → [`validate`](mod@validate) (the model's rules, all errors with paths) →
//! [`render`](mod@render) (one backend per target, with that target's rules) → [`synth`]
//! (the one way through: build, [`validate()`], [`render()`]) → [`emit`] (the only
//! filesystem code) → [`cli`] (the only code that prints). [`diagnostics`] and [`marker`]
//! are shared by all of them. `ARCHITECTURE.md` in the repository has the map.

#![deny(missing_docs)]
// Kubernetes takes int32 counts and durations: a cast that could wrap or truncate a stack's
// number is a bug (see `render::k8s::int32`).
#![deny(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

pub mod builder;
pub mod catalog;
pub mod cli;
pub mod diagnostics;
pub mod emit;
pub mod hash;
pub mod marker;
pub mod model;
pub mod plan;
pub mod render;
pub mod review;
pub mod synth;
pub mod validate;

/// The Kubernetes API types (k8s-openapi) the Kubernetes target renders and its escape
/// hatches take, re-exported so a stack crate needs no dependency of its own. The API
/// version is stackdsl's feature `k8s-v1-33` (the default) to `k8s-v1-37`: exactly one.
pub use k8s_openapi;
pub use plan::Plan;
pub use render::render;
pub use synth::{synthesize, validate};

/// The guide: from a first stack to production (start here).
#[doc = include_str!("guide.md")]
pub mod guide {}

/// Everything a stack file needs: `use stackdsl::prelude::*;`.
pub mod prelude {
    pub use crate::builder::{Conditional, HasImage, IntoService, NoImage, ServiceBuilder};
    pub use crate::catalog::HelmOverrides;
    pub use crate::model::{
        AppProtocol, ArgoCd, Autoscale, Balance, Build, Ci, Cluster, ClusterIssuer, ConfigMapUse,
        Cpu, Disruption, Edge, Egress, Endpoint, Env, EnvValue, Flux, Gateway, GatewayAttach,
        GatewayImpl, GitOps, Gzip, HealthTool, Image, IngressController, KubernetesOptions, Memory,
        Metrics, Migration, Mount, PaasOptions, PackageManager, Platform, PodManagement, Port,
        Probe, RateLimit, Registry, RemoteKey, Resources, Restart, Rollout, Route, RouteApi,
        Scaling, SecretRef, SecretStore, Secrets, Security, SeedFormat, Service, ServiceRef,
        Spread, Stack, StackFn, Target, Template, Timeouts, Url, Window,
    };
}

/// The README's examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
