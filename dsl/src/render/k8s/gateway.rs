//! Gateway API routes (`40-gateway.yaml`): the stack's routes as `HTTPRoute`s and
//! `GRPCRoute`s attached to its [`Gateway`], the Gateway itself when the stack owns it, and
//! Envoy Gateway's policies for what the Gateway API standard does not express.
//!
//! - **Routes.** One route object per service, host and protocol (and, with Envoy
//!   Gateway, per distinct policy: rate limit, body size, connect timeout), named
//!   `<service>`, then `<service>-2`, … in declaration order; one rule per path prefix.
//!   A rule forwards to the service's client port, sets the edge's response headers (and
//!   HSTS on TLS hosts) with a `ResponseHeaderModifier` filter, and bounds the request with
//!   `timeouts.request` (the route's, else the edge's, read timeout).
//! - **The stack's own Gateway** (named after the stack): a listener `http` on port 80 and
//!   one `https-<host>` on 443 per TLS host, each with a certificate Secret `<host>-tls`
//!   that cert-manager issues through the Gateway's `cert-manager.io/cluster-issuer`
//!   annotation (its gateway-shim, the way cert-manager documents for the Gateway API: the
//!   certificate follows the listener, as it followed the Ingress). Plain HTTP to a TLS
//!   host is redirected to HTTPS (`<gateway>-https-redirect`, a `RequestRedirect` filter).
//! - **Envoy Gateway policies.** A `BackendTrafficPolicy` per route object with a local
//!   rate limit per client address (IPv4 and IPv6), a request buffer as the body-size limit
//!   (413 above it), the connect timeout, the request timeout of gRPC routes (a
//!   `GRPCRoute` has no `timeouts`) and gzip compression; a `ClientTrafficPolicy` on the
//!   stack's own Gateway for the edge's TLS versions and ciphers.
//!
//! What a route asks that this cannot express is listed by [`gaps`] in the README.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::crd::*;
use super::{Object, PART_OF};
use crate::model::{
    Gateway, GatewayAttach, GatewayImpl, RateLimit, Route, RouteApi, Service, Stack, Target,
    Timeouts,
};
use crate::plan::Plan;

/// The stack's Gateway, when its routes use the Gateway API.
pub(crate) fn gateway(stack: &Stack) -> Option<&Gateway> {
    match &stack.kubernetes.routes {
        RouteApi::Gateway(g) => Some(g),
        RouteApi::Ingress(_) => None,
    }
}

/// The Gateway's name: as set, else the stack's.
pub(crate) fn gateway_name(stack: &Stack, gw: &Gateway) -> String {
    gw.name.clone().unwrap_or_else(|| stack.name.clone())
}

/// The Gateway's namespace: the stack's for its own, else the existing one's.
pub(crate) fn gateway_namespace(stack: &Stack, gw: &Gateway) -> String {
    match &gw.attach {
        GatewayAttach::Own { .. } => stack.namespace(),
        GatewayAttach::Existing { namespace } => namespace.clone(),
    }
}

/// The listener of the stack's own Gateway serving `host` over TLS.
fn https_listener(host: &str) -> String {
    format!("https-{host}")
}

/// The name of the stack's own Gateway's redirect route.
pub(crate) fn redirect_name(gateway: &str) -> String {
    format!("{gateway}-https-redirect")
}

/// A route's timeouts and body size: its own, else the edge's.
pub(crate) fn effective(stack: &Stack, r: &Route) -> (Option<Timeouts>, Option<u32>) {
    let edge = stack.edge.as_ref();
    (
        r.timeouts.or(edge.and_then(|e| e.timeouts)),
        r.client_body_mb.or(edge.and_then(|e| e.client_body_mb)),
    )
}

/// Routes of one service, host and protocol that share their policies: one route object.
pub(crate) struct Group<'s> {
    pub svc: &'s Service,
    pub host: &'s str,
    pub grpc: bool,
    pub name: String,
    pub routes: Vec<&'s Route>,
}

/// What must be equal for routes to share a route object (and its policy).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Key<'s> {
    svc: &'s str,
    host: &'s str,
    grpc: bool,
    /// With Envoy Gateway: what its policy sets.
    policy: Option<Policy>,
}

/// What a route object's `BackendTrafficPolicy` sets, in seconds and MiB.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Policy {
    rate: Option<u32>,
    body_mb: Option<u32>,
    connect: Option<u32>,
    grpc_request: Option<u32>,
}

/// The route objects of the stack, in declaration order.
pub(crate) fn groups<'s>(plan: &Plan<'s>, gw: &Gateway) -> Vec<Group<'s>> {
    let stack = plan.stack();
    let envoy = matches!(gw.implementation, GatewayImpl::EnvoyGateway { .. });
    // Key → its group's index: found in O(log n), so stacks with thousands of routes stay
    // linear-ish.
    let mut keys: BTreeMap<Key<'s>, usize> = BTreeMap::new();
    let mut out: Vec<Group<'s>> = Vec::new();
    let mut per_service: BTreeMap<&str, usize> = BTreeMap::new();
    for (svc, r) in plan.routes(Target::Kubernetes) {
        let (timeouts, body) = effective(stack, r);
        let grpc = r.is_grpc();
        let key = Key {
            svc: &svc.name,
            host: &r.host,
            grpc,
            policy: envoy.then(|| Policy {
                rate: r.limit.as_ref().map(|l| l.rps),
                body_mb: body.filter(|_| !grpc),
                connect: timeouts.map(|t| t.connect),
                grpc_request: timeouts.filter(|_| grpc).map(|t| t.read),
            }),
        };
        match keys.get(&key) {
            Some(&i) => out[i].routes.push(r),
            None => {
                let n = per_service.entry(&svc.name).or_insert(0);
                *n += 1;
                let name = if *n == 1 {
                    svc.name.clone()
                } else {
                    format!("{}-{n}", svc.name)
                };
                keys.insert(key, out.len());
                out.push(Group {
                    svc,
                    host: &r.host,
                    grpc,
                    name,
                    routes: vec![r],
                });
            }
        }
    }
    out
}

/// Hosts with a TLS route, in first-mention order, with the first TLS route's issuer.
pub(crate) fn tls_hosts<'s>(plan: &Plan<'s>) -> Vec<(&'s str, &'s str)> {
    let mut seen: std::collections::BTreeSet<&str> = Default::default();
    let mut out: Vec<(&str, &str)> = Vec::new();
    for (_, r) in plan.routes(Target::Kubernetes) {
        if let Some(issuer) = &r.tls
            && seen.insert(&r.host)
        {
            out.push((&r.host, &issuer.0));
        }
    }
    out
}

fn meta(stack: &Stack, name: String, annotations: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(stack.namespace()),
        labels: Some(BTreeMap::from([(PART_OF.to_owned(), stack.name.clone())])),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..Default::default()
    }
}

fn same_namespace() -> AllowedRoutes {
    AllowedRoutes {
        namespaces: RouteNamespaces { from: "Same" },
    }
}

fn target(kind: &'static str, name: String) -> PolicyTargetRef {
    PolicyTargetRef {
        group: "gateway.networking.k8s.io",
        kind,
        name,
    }
}

/// `60s`: a Gateway API duration (validation keeps it under 100 000 s).
fn duration(seconds: u32) -> String {
    format!("{seconds}s")
}

/// Envoy Gateway's TLS version for an nginx protocol name.
pub(crate) fn tls_version(protocol: &str) -> Option<&'static str> {
    match protocol {
        "TLSv1" => Some("1.0"),
        "TLSv1.1" => Some("1.1"),
        "TLSv1.2" => Some("1.2"),
        "TLSv1.3" => Some("1.3"),
        _ => None,
    }
}

/// Does the edge ask for TLS settings other than Envoy Gateway's defaults (1.2–1.3, its
/// cipher list)?
pub(crate) fn custom_tls(stack: &Stack) -> bool {
    stack.edge.as_ref().is_some_and(|e| {
        e.tls_ciphers.is_some()
            || e.tls_protocols
                .iter()
                .map(String::as_str)
                .ne(["TLSv1.2", "TLSv1.3"])
    })
}

/// The response headers every rule of `host` sets: the edge's, and HSTS on TLS hosts.
fn headers(stack: &Stack, tls: bool) -> Vec<RouteFilter> {
    let Some(edge) = &stack.edge else {
        return Vec::new();
    };
    let mut set: Vec<Header> = edge
        .headers
        .iter()
        .map(|(name, value)| Header {
            name: name.clone(),
            value: value.clone(),
        })
        .collect();
    if let (true, Some(age)) = (tls, edge.hsts) {
        set.push(Header {
            name: "Strict-Transport-Security".into(),
            value: format!("max-age={age}"),
        });
    }
    if set.is_empty() {
        return Vec::new();
    }
    vec![RouteFilter {
        kind: "ResponseHeaderModifier",
        response_header_modifier: Some(HeaderModifier { set }),
        request_redirect: None,
    }]
}

/// Every Gateway API object of the stack (none when it has no routes on Kubernetes).
pub(crate) fn objects(plan: &Plan<'_>, gw: &Gateway) -> Vec<Object> {
    let stack = plan.stack();
    let groups = groups(plan, gw);
    if groups.is_empty() {
        return Vec::new();
    }
    let name = gateway_name(stack, gw);
    let tls = tls_hosts(plan);
    let tls_set: std::collections::BTreeSet<&str> = tls.iter().map(|(h, _)| *h).collect();
    let is_tls = |host: &str| tls_set.contains(host);
    let envoy = matches!(gw.implementation, GatewayImpl::EnvoyGateway { .. });
    let mut out = Vec::new();
    if let GatewayAttach::Own { class } = &gw.attach {
        let mut listeners = vec![Listener {
            name: "http".into(),
            hostname: None,
            port: 80,
            protocol: "HTTP",
            tls: None,
            allowed_routes: same_namespace(),
        }];
        for (host, _) in &tls {
            listeners.push(Listener {
                name: https_listener(host),
                hostname: Some((*host).to_owned()),
                port: 443,
                protocol: "HTTPS",
                tls: Some(ListenerTls {
                    mode: "Terminate",
                    certificate_refs: vec![CertificateRef {
                        kind: "Secret",
                        name: format!("{host}-tls"),
                    }],
                }),
                allowed_routes: same_namespace(),
            });
        }
        // Validation keeps one issuer per Gateway.
        let annotations = tls
            .first()
            .map(|(_, issuer)| {
                BTreeMap::from([(
                    "cert-manager.io/cluster-issuer".to_owned(),
                    (*issuer).to_owned(),
                )])
            })
            .unwrap_or_default();
        out.push(Object::Gateway(Resource::new(
            GATEWAY_API,
            "Gateway",
            meta(stack, name.clone(), annotations),
            GatewaySpec {
                gateway_class_name: class.clone(),
                listeners,
            },
        )));
        if envoy && !tls.is_empty() && custom_tls(stack) {
            let edge = stack.edge.as_ref();
            let versions: Vec<&str> = edge
                .into_iter()
                .flat_map(|e| e.tls_protocols.iter())
                .filter_map(|p| tls_version(p))
                .collect();
            out.push(Object::ClientTrafficPolicy(Resource::new(
                ENVOY_GATEWAY,
                "ClientTrafficPolicy",
                meta(stack, name.clone(), BTreeMap::new()),
                ClientTrafficPolicySpec {
                    target_refs: vec![target("Gateway", name.clone())],
                    tls: ClientTls {
                        min_version: versions.iter().min().copied(),
                        max_version: versions.iter().max().copied(),
                        ciphers: edge
                            .and_then(|e| e.tls_ciphers.as_deref())
                            .map(|c| c.split(':').map(str::to_owned).collect())
                            .unwrap_or_default(),
                    },
                },
            )));
        }
        if !tls.is_empty() {
            out.push(Object::HttpRoute(Resource::new(
                GATEWAY_API,
                "HTTPRoute",
                meta(stack, redirect_name(&name), BTreeMap::new()),
                RouteSpec {
                    parent_refs: vec![ParentRef {
                        name: name.clone(),
                        namespace: None,
                        section_name: Some("http".into()),
                    }],
                    hostnames: tls.iter().map(|(h, _)| (*h).to_owned()).collect(),
                    rules: vec![RouteRule {
                        matches: Vec::new(),
                        filters: vec![RouteFilter {
                            kind: "RequestRedirect",
                            response_header_modifier: None,
                            request_redirect: Some(Redirect {
                                scheme: "https",
                                status_code: 301,
                            }),
                        }],
                        backend_refs: Vec::new(),
                        timeouts: None,
                    }],
                },
            )));
        }
    }
    for g in &groups {
        let secure = is_tls(g.host);
        let parent = match &gw.attach {
            GatewayAttach::Own { .. } => ParentRef {
                name: name.clone(),
                namespace: None,
                section_name: Some(if secure {
                    https_listener(g.host)
                } else {
                    "http".into()
                }),
            },
            GatewayAttach::Existing { namespace } => ParentRef {
                name: name.clone(),
                namespace: Some(namespace.clone()),
                section_name: gw.section.clone(),
            },
        };
        let rules = g
            .routes
            .iter()
            .map(|r| RouteRule {
                matches: if g.grpc {
                    Vec::new()
                } else {
                    vec![RouteMatch {
                        path: PathMatch {
                            kind: "PathPrefix",
                            value: r.path.clone(),
                        },
                    }]
                },
                filters: headers(stack, secure),
                backend_refs: vec![BackendRef {
                    name: g.svc.name.clone(),
                    port: r.port.client_port(),
                }],
                timeouts: effective(stack, r)
                    .0
                    .filter(|_| !g.grpc)
                    .map(|t| RouteTimeouts {
                        request: duration(t.read),
                    }),
            })
            .collect();
        let kind = if g.grpc { "GRPCRoute" } else { "HTTPRoute" };
        let spec = RouteSpec {
            parent_refs: vec![parent],
            hostnames: vec![g.host.to_owned()],
            rules,
        };
        let object = Resource::new(
            GATEWAY_API,
            kind,
            meta(stack, g.name.clone(), BTreeMap::new()),
            spec,
        );
        out.push(if g.grpc {
            Object::GrpcRoute(object)
        } else {
            Object::HttpRoute(object)
        });
        if envoy && let Some(policy) = backend_policy(stack, g, kind) {
            out.push(Object::BackendTrafficPolicy(Resource::new(
                ENVOY_GATEWAY,
                "BackendTrafficPolicy",
                meta(stack, g.name.clone(), BTreeMap::new()),
                policy,
            )));
        }
    }
    out
}

/// A route object's Envoy Gateway policy, when it has anything to say.
fn backend_policy(
    stack: &Stack,
    g: &Group<'_>,
    kind: &'static str,
) -> Option<BackendTrafficPolicySpec> {
    // The routes of a group share these (see `Key`).
    let first = g.routes[0];
    let (timeouts, body) = effective(stack, first);
    let rate_limit = first.limit.as_ref().map(|l: &RateLimit| RateLimitSpec {
        local: LocalRateLimit {
            rules: ["0.0.0.0/0", "::/0"]
                .into_iter()
                .map(|cidr| RateLimitRule {
                    client_selectors: vec![ClientSelector {
                        source_cidr: SourceCidr {
                            kind: "Distinct",
                            value: cidr,
                        },
                    }],
                    limit: RateLimitValue {
                        requests: l.rps,
                        unit: "Second",
                    },
                })
                .collect(),
        },
    });
    let request_buffer = body.filter(|_| !g.grpc).map(|mb| RequestBuffer {
        limit: format!("{mb}Mi"),
    });
    let timeout = timeouts.map(|t| TrafficTimeout {
        tcp: Some(TcpTimeout {
            connect_timeout: duration(t.connect),
        }),
        http: g.grpc.then(|| HttpTimeout {
            request_timeout: duration(t.read),
        }),
    });
    let compressor: Vec<Compressor> = stack
        .edge
        .as_ref()
        .and_then(|e| e.gzip.as_ref())
        .filter(|_| !g.grpc)
        .map(|gz| Compressor {
            kind: "Gzip",
            min_content_length: gz.min_length.to_string(),
        })
        .into_iter()
        .collect();
    if rate_limit.is_none()
        && request_buffer.is_none()
        && timeout.is_none()
        && compressor.is_empty()
    {
        return None;
    }
    Some(BackendTrafficPolicySpec {
        target_refs: vec![target(kind, g.name.clone())],
        rate_limit,
        request_buffer,
        timeout,
        compressor,
    })
}
