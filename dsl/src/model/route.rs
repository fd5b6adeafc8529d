//! Routes: how outside traffic reaches a service. A [`Route`] is declared once per host and
//! path prefix (with its TLS issuer, rate limit, timeouts and body size) and rendered by
//! every target that serves it: Compose's nginx edge (see [`Edge`](super::Edge)), and on
//! Kubernetes the stack's [`RouteApi`]: Gateway API routes by default, or an Ingress when
//! the stack chooses one and names its controller.

use std::collections::BTreeMap;

use super::{AppProtocol, Port, RateLimit, Timeouts};

/// A cert-manager ClusterIssuer that signs a route's TLS certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterIssuer(pub String);

impl ClusterIssuer {
    /// The issuer named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        ClusterIssuer(name.into())
    }
}

/// Exposes a port of a service over HTTP(S) on a host name: one route, whatever renders
/// it (a `location` of Compose's nginx, a rule of a Gateway API `HTTPRoute` or `GRPCRoute`,
/// a path of an Ingress).
///
/// A gRPC port ([`Port::grpc`]) is routed as gRPC: `grpc_pass` in nginx, a `GRPCRoute` on
/// the Gateway API.
///
/// ```
/// use stackdsl::prelude::*;
/// let http = Port::http("http", 3000);
/// let r = Route::host("api.example.com", http).tls(ClusterIssuer::new("letsencrypt-prod"));
/// assert_eq!(r.path, "/");
/// assert!(!r.is_grpc());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// Public host name.
    pub host: String,
    /// Path prefix.
    pub path: String,
    /// The service's port traffic goes to.
    pub port: Port,
    /// TLS with a certificate cert-manager issues.
    pub tls: Option<ClusterIssuer>,
    /// Requests per second per client, with a burst (Compose nginx `limit_req`; on
    /// Kubernetes what the route API can express, see [`RouteApi`]).
    pub limit: Option<RateLimit>,
    /// Proxy timeouts of this route (default: the stack's [`Edge`](super::Edge)'s).
    pub timeouts: Option<Timeouts>,
    /// Largest request body in MiB on this route (default: the edge's).
    pub client_body_mb: Option<u32>,
}

impl Route {
    /// Route `host` (all paths) to `port` of the service.
    pub fn host(host: impl Into<String>, port: Port) -> Self {
        Route {
            host: host.into(),
            path: "/".into(),
            port,
            tls: None,
            limit: None,
            timeouts: None,
            client_body_mb: None,
        }
    }

    /// Only this path prefix.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Terminate TLS with a certificate from `issuer`.
    pub fn tls(mut self, issuer: ClusterIssuer) -> Self {
        self.tls = Some(issuer);
        self
    }

    /// Limit each client to `rps` requests per second (burst 5 × `rps`, ingress-nginx's
    /// default), in a zone of its own rate (`rps_<rps>`).
    pub fn rate_limit(self, rps: u32) -> Self {
        self.limit(RateLimit::per_client(format!("rps_{rps}"), rps))
    }

    /// Limit each client with a named zone and a burst of this route's.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let http = Port::http("http", 8000);
    /// let zone = RateLimit::per_client("api_limit", 10);
    /// let api = Route::host("api.example.com", http).path("/api/").limit(zone.clone().burst(20));
    /// let hooks = Route::host("api.example.com", http).path("/hooks/").limit(zone.burst(100));
    /// assert_eq!(api.limit.unwrap().zone, hooks.limit.unwrap().zone);
    /// ```
    pub fn limit(mut self, limit: RateLimit) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Proxy timeouts of this route.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// Largest request body on this route, in MiB.
    pub fn client_body_mb(mut self, mb: u32) -> Self {
        self.client_body_mb = Some(mb);
        self
    }

    /// Does the route carry gRPC (its port is a [`Port::grpc`])?
    pub fn is_grpc(&self) -> bool {
        self.port.app == AppProtocol::Grpc
    }
}

/// How Kubernetes renders the stack's routes: Gateway API routes attached to a
/// [`Gateway`] (the default), or Ingresses served by a named [`IngressController`]. Set it
/// with [`KubernetesOptions::routes`](super::KubernetesOptions::routes).
///
/// The default is the stack's own Gateway (GatewayClass `eg`) implemented by Envoy
/// Gateway: ingress-nginx, the controller the project used to default to, ended its
/// maintenance in March 2026 and names Gateway API as its successor; Envoy Gateway
/// implements the current Gateway API release and expresses rate limits, body sizes and
/// connect timeouts as typed policy objects, so the routes' settings survive the move.
///
/// ```
/// use stackdsl::prelude::*;
/// assert_eq!(RouteApi::default(), RouteApi::gateway(Gateway::own("eg")));
/// let mut s = Stack::new("shop", Env::Prod);
/// s.kubernetes(|k| k.routes(RouteApi::ingress(IngressController::ingress_nginx())));
/// assert!(matches!(s.kubernetes.routes, RouteApi::Ingress(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteApi {
    /// Gateway API `HTTPRoute`s and `GRPCRoute`s (`gateway.networking.k8s.io/v1`).
    Gateway(Gateway),
    /// `networking.k8s.io/v1` Ingresses of the controller's class.
    Ingress(IngressController),
}

impl Default for RouteApi {
    fn default() -> Self {
        RouteApi::Gateway(Gateway::own(ENVOY_GATEWAY_CLASS))
    }
}

impl RouteApi {
    /// Gateway API routes attached to `gateway`.
    pub fn gateway(gateway: Gateway) -> Self {
        RouteApi::Gateway(gateway)
    }

    /// Ingresses served by `controller`.
    pub fn ingress(controller: IngressController) -> Self {
        RouteApi::Ingress(controller)
    }
}

/// The GatewayClass name Envoy Gateway's own installation guide creates.
const ENVOY_GATEWAY_CLASS: &str = "eg";

/// The Gateway a stack's routes attach to: one the stack renders itself, or one that
/// exists (a platform team's shared Gateway), and the implementation serving it.
///
/// ```
/// use stackdsl::prelude::*;
/// // The stack's own Gateway (named after the stack) of GatewayClass `eg`.
/// let own = Gateway::own("eg");
/// assert!(matches!(own.attach, GatewayAttach::Own { .. }));
/// // A shared Gateway: routes attach to its `https` listener.
/// let shared = Gateway::existing("infra", "public").section("https");
/// assert_eq!(shared.name.as_deref(), Some("public"));
/// // Another implementation: only standard Gateway API fields are rendered.
/// let istio = Gateway::own("istio")
///     .implementation(GatewayImpl::portable("istio-system", [("istio", "ingressgateway")]));
/// # let _ = (shared, istio);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Gateway {
    /// The Gateway's name (`None`: the stack's own Gateway is named after the stack).
    pub name: Option<String>,
    /// Whether the stack renders the Gateway or attaches to an existing one.
    pub attach: GatewayAttach,
    /// The listener of an existing Gateway routes attach to (`parentRefs[].sectionName`;
    /// `None`: every listener that accepts them).
    pub section: Option<String>,
    /// Which implementation serves the Gateway.
    pub implementation: GatewayImpl,
}

/// Who owns the Gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GatewayAttach {
    /// The stack renders it in its namespace: a listener for plain HTTP (port 80, which
    /// redirects TLS hosts to HTTPS) and one HTTPS listener per TLS host (port 443, with a
    /// certificate cert-manager issues through the Gateway's `cert-manager.io/cluster-issuer`
    /// annotation).
    Own {
        /// The GatewayClass (cluster-scoped, installed with the implementation).
        class: String,
    },
    /// Someone else owns it (listeners, certificates); the stack's routes attach to it.
    Existing {
        /// The Gateway's namespace; its listeners must allow routes from the stack's.
        namespace: String,
    },
}

impl Gateway {
    /// A Gateway the stack renders, of GatewayClass `class`, served by Envoy Gateway.
    pub fn own(class: impl Into<String>) -> Self {
        Gateway {
            name: None,
            attach: GatewayAttach::Own {
                class: class.into(),
            },
            section: None,
            implementation: GatewayImpl::envoy_gateway(),
        }
    }

    /// The existing Gateway `name` in `namespace`, served by Envoy Gateway.
    pub fn existing(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Gateway {
            name: Some(name.into()),
            attach: GatewayAttach::Existing {
                namespace: namespace.into(),
            },
            section: None,
            implementation: GatewayImpl::envoy_gateway(),
        }
    }

    /// Names the Gateway (the stack's own defaults to the stack's name).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Attaches the routes to this listener of an existing Gateway.
    pub fn section(mut self, listener: impl Into<String>) -> Self {
        self.section = Some(listener.into());
        self
    }

    /// The implementation serving the Gateway (default Envoy Gateway).
    pub fn implementation(mut self, implementation: GatewayImpl) -> Self {
        self.implementation = implementation;
        self
    }

    /// Does the stack render this Gateway?
    pub fn is_own(&self) -> bool {
        matches!(self.attach, GatewayAttach::Own { .. })
    }
}

impl Default for Gateway {
    fn default() -> Self {
        Gateway::own(ENVOY_GATEWAY_CLASS)
    }
}

/// The implementation behind a [`Gateway`]: what it can express beyond the Gateway API
/// standard, and where its proxies run (NetworkPolicies admit them into routed services).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GatewayImpl {
    /// Envoy Gateway (the default): rate limits, body sizes, connect timeouts and
    /// compression as `BackendTrafficPolicy`s per route, TLS versions and ciphers as a
    /// `ClientTrafficPolicy` on the stack's own Gateway (`gateway.envoyproxy.io/v1alpha1`).
    /// Its proxies run in the controller's namespace (the default `ControllerNamespace`
    /// deploy mode) and carry the Gateway's name and namespace as labels.
    EnvoyGateway {
        /// The controller's namespace (default `envoy-gateway-system`).
        namespace: String,
    },
    /// Any other conformant implementation (Istio, Cilium, kgateway, NGINX Gateway
    /// Fabric, …): only standard Gateway API fields are rendered; what needs the
    /// implementation's own policies is listed in the Kubernetes README.
    Portable {
        /// Namespace its proxy pods run in.
        namespace: String,
        /// Labels of its proxy pods (empty: every pod of the namespace).
        pods: BTreeMap<String, String>,
    },
}

impl GatewayImpl {
    /// Envoy Gateway installed in `envoy-gateway-system`.
    pub fn envoy_gateway() -> Self {
        GatewayImpl::envoy_gateway_in("envoy-gateway-system")
    }

    /// Envoy Gateway whose controller (and proxies) run in `namespace`.
    pub fn envoy_gateway_in(namespace: impl Into<String>) -> Self {
        GatewayImpl::EnvoyGateway {
            namespace: namespace.into(),
        }
    }

    /// Another implementation whose proxies run in `namespace` with labels `pods`.
    pub fn portable<K: Into<String>, V: Into<String>>(
        namespace: impl Into<String>,
        pods: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        GatewayImpl::Portable {
            namespace: namespace.into(),
            pods: pods
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The namespace the proxies run in.
    pub fn namespace(&self) -> &str {
        match self {
            GatewayImpl::EnvoyGateway { namespace } | GatewayImpl::Portable { namespace, .. } => {
                namespace
            }
        }
    }
}

/// The controller serving a stack's Ingresses, named explicitly: the Ingress API is a
/// choice, not the default (see [`RouteApi`]).
///
/// ```
/// use stackdsl::prelude::*;
/// let nginx = IngressController::ingress_nginx();
/// assert_eq!((nginx.class_name(), nginx.namespace()), (Some("nginx"), "ingress-nginx"));
/// let traefik = IngressController::class("traefik", "traefik");
/// assert_eq!(traefik.class_name(), Some("traefik"));
/// assert_eq!(IngressController::cluster_default("ingress").class_name(), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IngressController {
    /// ingress-nginx (IngressClass `nginx`). Retired upstream (best-effort maintenance
    /// ended in March 2026); chosen explicitly, its annotations carry the routes' rate
    /// limits, timeouts and body sizes.
    IngressNginx {
        /// Namespace of the controller's pods (default `ingress-nginx`).
        namespace: String,
    },
    /// Another controller, by IngressClass: standard Ingress fields only (controller
    /// annotation sets are out of scope; the Kubernetes README lists what is not expressed).
    Class {
        /// The IngressClass name.
        class: String,
        /// Namespace of the controller's pods.
        namespace: String,
    },
    /// Whatever controller serves the cluster's default IngressClass: the Ingresses name
    /// no class (standard fields only, like [`IngressController::Class`]).
    ClusterDefault {
        /// Namespace of the controller's pods.
        namespace: String,
    },
}

impl IngressController {
    /// ingress-nginx in `ingress-nginx`.
    pub fn ingress_nginx() -> Self {
        IngressController::IngressNginx {
            namespace: "ingress-nginx".into(),
        }
    }

    /// ingress-nginx whose controller pods run in `namespace`.
    pub fn ingress_nginx_in(namespace: impl Into<String>) -> Self {
        IngressController::IngressNginx {
            namespace: namespace.into(),
        }
    }

    /// Another controller: IngressClass `class`, pods in `namespace`.
    pub fn class(class: impl Into<String>, namespace: impl Into<String>) -> Self {
        IngressController::Class {
            class: class.into(),
            namespace: namespace.into(),
        }
    }

    /// The controller of the cluster's default IngressClass, its pods in `namespace`.
    pub fn cluster_default(namespace: impl Into<String>) -> Self {
        IngressController::ClusterDefault {
            namespace: namespace.into(),
        }
    }

    /// The IngressClass name (`None`: the cluster's default).
    pub fn class_name(&self) -> Option<&str> {
        match self {
            IngressController::IngressNginx { .. } => Some("nginx"),
            IngressController::Class { class, .. } => Some(class),
            IngressController::ClusterDefault { .. } => None,
        }
    }

    /// The namespace of the controller's pods.
    pub fn namespace(&self) -> &str {
        match self {
            IngressController::IngressNginx { namespace }
            | IngressController::Class { namespace, .. }
            | IngressController::ClusterDefault { namespace } => namespace,
        }
    }
}
