//! Custom resources the Kubernetes target renders beside the core objects: Gateway API
//! routes and Gateways (`gateway.networking.k8s.io/v1`), Envoy Gateway policies
//! (`gateway.envoyproxy.io/v1alpha1`) and External Secrets (`external-secrets.io/v1`),
//! typed with the fields we render.
//!
//! Why not crates: `gateway-api` (kube-rs) ties its types to `kube` 4 and `k8s-openapi`
//! 0.28 (we use 0.29 and no `kube`), and the crates generated for External Secrets and
//! Envoy Gateway (`kcr_*`) bring `kube` 3 and no schema; the tests check every object
//! against the schemas of the `@kubernetes-models` npm packages instead.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

/// A custom resource: type meta, metadata and a spec.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Resource<S> {
    /// e.g. `gateway.networking.k8s.io/v1`.
    pub api_version: &'static str,
    /// e.g. `HTTPRoute`.
    pub kind: &'static str,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: S,
}

impl<S> Resource<S> {
    pub(crate) fn new(
        api_version: &'static str,
        kind: &'static str,
        metadata: ObjectMeta,
        spec: S,
    ) -> Self {
        Resource {
            api_version,
            kind,
            metadata,
            spec,
        }
    }
}

/// The Gateway API group.
pub const GATEWAY_API: &str = "gateway.networking.k8s.io/v1";
/// Envoy Gateway's policy group.
pub const ENVOY_GATEWAY: &str = "gateway.envoyproxy.io/v1alpha1";
/// The External Secrets Operator's group.
pub const EXTERNAL_SECRETS: &str = "external-secrets.io/v1";

/// A `Gateway`'s spec.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GatewaySpec {
    /// The GatewayClass.
    pub gateway_class_name: String,
    /// Listeners, in order.
    pub listeners: Vec<Listener>,
}

/// One listener of a Gateway.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Listener {
    /// Name routes attach to (`sectionName`).
    pub name: String,
    /// Host it serves (`None`: every host).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Port.
    pub port: u16,
    /// `HTTP` or `HTTPS`.
    pub protocol: &'static str,
    /// TLS termination (HTTPS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ListenerTls>,
    /// Which routes may attach.
    pub allowed_routes: AllowedRoutes,
}

/// TLS of a listener.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListenerTls {
    /// `Terminate`.
    pub mode: &'static str,
    /// The Secret holding the certificate.
    pub certificate_refs: Vec<CertificateRef>,
}

/// A certificate Secret.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CertificateRef {
    /// `Secret`.
    pub kind: &'static str,
    /// The Secret's name.
    pub name: String,
}

/// Routes a listener accepts.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AllowedRoutes {
    /// From which namespaces.
    pub namespaces: RouteNamespaces,
}

/// Namespaces routes may come from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RouteNamespaces {
    /// `Same`: the Gateway's.
    pub from: &'static str,
}

/// The spec of an `HTTPRoute` or a `GRPCRoute`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RouteSpec {
    /// The Gateway (and listener) the route attaches to.
    pub parent_refs: Vec<ParentRef>,
    /// Hosts it matches.
    pub hostnames: Vec<String>,
    /// Rules, in order.
    pub rules: Vec<RouteRule>,
}

/// A Gateway a route attaches to.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ParentRef {
    /// The Gateway's name.
    pub name: String,
    /// Its namespace (`None`: the route's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The listener.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

/// One rule of a route.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RouteRule {
    /// Path matches (HTTPRoute only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<RouteMatch>,
    /// Filters.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<RouteFilter>,
    /// Where matching requests go.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backend_refs: Vec<BackendRef>,
    /// Timeouts (HTTPRoute only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<RouteTimeouts>,
}

/// A request match.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RouteMatch {
    /// The path match.
    pub path: PathMatch,
}

/// A path match.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PathMatch {
    /// `PathPrefix`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The prefix.
    pub value: String,
}

/// A route filter.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RouteFilter {
    /// `ResponseHeaderModifier` or `RequestRedirect`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Headers set on responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_header_modifier: Option<HeaderModifier>,
    /// A redirect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_redirect: Option<Redirect>,
}

/// Headers to set.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct HeaderModifier {
    /// Name and value of each header, replacing any the backend sent.
    pub set: Vec<Header>,
}

/// A header.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Header {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// A redirect.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Redirect {
    /// `https`.
    pub scheme: &'static str,
    /// `301`.
    pub status_code: u16,
}

/// A Service port a rule forwards to.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BackendRef {
    /// The Service.
    pub name: String,
    /// Its port.
    pub port: u16,
}

/// Timeouts of an HTTPRoute rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RouteTimeouts {
    /// The whole request, e.g. `60s`.
    pub request: String,
}

/// A Gateway API object an Envoy Gateway policy applies to.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PolicyTargetRef {
    /// `gateway.networking.k8s.io`.
    pub group: &'static str,
    /// `HTTPRoute`, `GRPCRoute` or `Gateway`.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
}

/// An Envoy Gateway `BackendTrafficPolicy`'s spec.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BackendTrafficPolicySpec {
    /// The route it applies to.
    pub target_refs: Vec<PolicyTargetRef>,
    /// Requests per client and second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
    /// Largest request body (buffered; larger requests get 413).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_buffer: Option<RequestBuffer>,
    /// Connect (and, for gRPC routes, request) timeouts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<TrafficTimeout>,
    /// Response compression.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compressor: Vec<Compressor>,
}

/// Rate limits.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RateLimitSpec {
    /// Per proxy replica.
    pub local: LocalRateLimit,
}

/// Local rate-limit rules.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LocalRateLimit {
    /// Rules.
    pub rules: Vec<RateLimitRule>,
}

/// One limit for the clients a selector matches.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RateLimitRule {
    /// Which clients (each distinct address counts separately).
    pub client_selectors: Vec<ClientSelector>,
    /// The limit.
    pub limit: RateLimitValue,
}

/// Clients by source address.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ClientSelector {
    /// The address range.
    #[serde(rename = "sourceCIDR")]
    pub source_cidr: SourceCidr,
}

/// An address range whose addresses are limited separately.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SourceCidr {
    /// `Distinct`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The range.
    pub value: &'static str,
}

/// Requests per unit.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RateLimitValue {
    /// Requests.
    pub requests: u32,
    /// `Second`.
    pub unit: &'static str,
}

/// Request buffering.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RequestBuffer {
    /// Largest request, e.g. `10Mi`.
    pub limit: String,
}

/// Timeouts of a policy.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TrafficTimeout {
    /// Connection establishment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpTimeout>,
    /// The whole request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpTimeout>,
}

/// Connect timeout.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TcpTimeout {
    /// e.g. `60s`.
    pub connect_timeout: String,
}

/// Request timeout.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct HttpTimeout {
    /// e.g. `60s`.
    pub request_timeout: String,
}

/// A compressor.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Compressor {
    /// `Gzip`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Smallest response compressed, in bytes.
    pub min_content_length: String,
}

/// An Envoy Gateway `ClientTrafficPolicy`'s spec.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ClientTrafficPolicySpec {
    /// The Gateway it applies to.
    pub target_refs: Vec<PolicyTargetRef>,
    /// TLS versions and ciphers clients may use.
    pub tls: ClientTls,
}

/// TLS settings toward clients.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ClientTls {
    /// Oldest version, e.g. `1.2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_version: Option<&'static str>,
    /// Newest version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_version: Option<&'static str>,
    /// Cipher suites (TLS 1.2 and older).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ciphers: Vec<String>,
}

/// An `ExternalSecret`'s spec: one Kubernetes Secret synced from a store.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExternalSecretSpec {
    /// How often the store is re-read, e.g. `1h`.
    pub refresh_interval: String,
    /// The store.
    pub secret_store_ref: StoreRef,
    /// The Secret it writes.
    pub target: SecretTarget,
    /// One entry per key.
    pub data: Vec<SecretData>,
}

/// A `SecretStore` or `ClusterSecretStore`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StoreRef {
    /// Its kind.
    pub kind: &'static str,
    /// Its name.
    pub name: String,
}

/// The Secret an ExternalSecret writes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SecretTarget {
    /// The Secret's name.
    pub name: String,
    /// `Owner`: the operator creates the Secret and deletes it with the ExternalSecret.
    pub creation_policy: &'static str,
    /// `Retain`: a value deleted in the store stays in the Secret.
    pub deletion_policy: &'static str,
    /// How the Secret is assembled from the keys read, when its shape is not theirs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<SecretTemplate>,
}

/// The shape of a Secret an ExternalSecret writes: its type, and each key as a Go template
/// over the keys read (`{{ .KEY }}`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SecretTemplate {
    /// The Secret's `type`, when not `Opaque`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `v2`, the template engine of the `external-secrets.io/v1` API.
    pub engine_version: &'static str,
    /// Each key's template, in order.
    pub data: indexmap::IndexMap<String, String>,
}

/// One key of the Secret.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SecretData {
    /// The key in the Secret.
    pub secret_key: String,
    /// Where its value is in the store.
    pub remote_ref: RemoteRef,
}

/// A value in the store.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RemoteRef {
    /// The remote secret.
    pub key: String,
    /// The property within it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
}
