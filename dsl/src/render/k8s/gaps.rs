//! What the stack's routes ask that its Kubernetes route API cannot express: listed in the
//! Kubernetes README (never silently dropped), one line per route and setting.

use std::collections::BTreeMap;

use super::gateway::{effective, gateway_name, gateway_namespace};
use crate::model::{
    Gateway, GatewayAttach, GatewayImpl, IngressController, Route, RouteApi, Service, Target,
};
use crate::plan::Plan;

/// One setting a route (or the edge) asks for that the route API does not express.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Gap {
    /// What it belongs to: `` `host` `path` → service ``, or `every route`.
    pub what: String,
    /// The setting, as the stack declares it.
    pub setting: String,
    /// Why it is not expressed, and what to do.
    pub why: String,
}

fn route_label(svc: &Service, r: &Route) -> String {
    format!("`{}` `{}` → `{}`", r.host, r.path, svc.name)
}

/// Every gap of the stack's routes on Kubernetes, in route order (edge-wide ones last).
pub(crate) fn gaps(plan: &Plan<'_>) -> Vec<Gap> {
    let stack = plan.stack();
    let mut out = Vec::new();
    let routes: Vec<(&Service, &Route)> = plan.routes(Target::Kubernetes).collect();
    if routes.is_empty() {
        return out;
    }
    // How many routes share each rate-limit zone.
    let mut zones: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, r) in &routes {
        if let Some(l) = &r.limit {
            *zones.entry(&l.zone).or_default() += 1;
        }
    }
    let mut gap = |what: String, setting: String, why: &str| {
        out.push(Gap {
            what,
            setting,
            why: why.to_owned(),
        })
    };
    match &stack.kubernetes.routes {
        RouteApi::Gateway(gw) => {
            let envoy = matches!(gw.implementation, GatewayImpl::EnvoyGateway { .. });
            let policy = if envoy {
                ""
            } else {
                "needs the implementation's own policy objects, which a portable Gateway does not render"
            };
            for (svc, r) in &routes {
                let what = route_label(svc, r);
                let (timeouts, body) = effective(stack, r);
                if let Some(l) = &r.limit {
                    if !envoy {
                        gap(
                            what.clone(),
                            format!("rate limit {} r/s per client (zone `{}`)", l.rps, l.zone),
                            policy,
                        );
                    } else {
                        if l.burst != l.rps {
                            gap(
                                what.clone(),
                                format!("burst {}", l.burst),
                                "Envoy Gateway's local limit holds one second's requests per client (a bucket of the rate); raise the rate or accept the smaller burst",
                            );
                        }
                        if !l.nodelay {
                            gap(
                                what.clone(),
                                "delayed burst".into(),
                                "Envoy rejects requests above the limit at once; it does not queue them",
                            );
                        }
                        if zones.get(l.zone.as_str()).is_some_and(|n| *n > 1) {
                            gap(
                                what.clone(),
                                format!("zone `{}` shared with other routes", l.zone),
                                "each route object counts its own requests (Envoy Gateway shares buckets only for global limits, which need its rate-limit service and Redis)",
                            );
                        }
                    }
                }
                if let Some(mb) = body {
                    if r.is_grpc() {
                        gap(
                            what.clone(),
                            format!("body size {mb} MiB"),
                            "not applied to gRPC: Envoy Gateway limits bodies by buffering requests, which breaks gRPC streams",
                        );
                    } else if !envoy {
                        gap(what.clone(), format!("body size {mb} MiB"), policy);
                    }
                }
                if let Some(t) = timeouts {
                    if !envoy {
                        gap(
                            what.clone(),
                            format!("connect timeout {} s", t.connect),
                            policy,
                        );
                        if r.is_grpc() {
                            gap(
                                what.clone(),
                                format!("read timeout {} s", t.read),
                                "a GRPCRoute has no timeouts in the Gateway API standard; it needs the implementation's own policy",
                            );
                        }
                    }
                    gap(
                        what.clone(),
                        format!(
                            "send timeout {} s, read timeout {} s (between two writes or reads)",
                            t.send, t.read
                        ),
                        "the route's request timeout bounds the whole request instead (set to the read timeout); a response streaming for longer is cut",
                    );
                }
                if let (GatewayAttach::Existing { namespace }, Some(issuer)) = (&gw.attach, &r.tls)
                {
                    gap(
                        what.clone(),
                        format!("TLS with a certificate from ClusterIssuer `{}`", issuer.0),
                        &format!(
                            "Gateway `{namespace}/{}` is not the stack's: its owner gives it an HTTPS listener for this host with that certificate, and redirects plain HTTP",
                            gateway_name(stack, gw)
                        ),
                    );
                }
            }
            edge_gaps_gateway(plan, gw, &routes, &mut out);
        }
        RouteApi::Ingress(controller) => {
            let nginx = matches!(controller, IngressController::IngressNginx { .. });
            let why = "standard Ingress fields have no place for it, and annotation sets of controllers other than ingress-nginx are out of scope: set it in the controller";
            for (svc, r) in &routes {
                let what = route_label(svc, r);
                let (timeouts, body) = effective(stack, r);
                if nginx {
                    continue;
                }
                if let Some(l) = &r.limit {
                    gap(
                        what.clone(),
                        format!("rate limit {} r/s per client, burst {}", l.rps, l.burst),
                        why,
                    );
                }
                if let Some(mb) = body {
                    gap(what.clone(), format!("body size {mb} MiB"), why);
                }
                if let Some(t) = timeouts {
                    gap(
                        what.clone(),
                        format!(
                            "timeouts connect {} s, send {} s, read {} s",
                            t.connect, t.send, t.read
                        ),
                        why,
                    );
                }
                if r.is_grpc() {
                    gap(what.clone(), "gRPC to the backend".into(), why);
                }
            }
            if let Some(edge) = &stack.edge {
                let where_ = if nginx {
                    "a setting of the ingress-nginx controller (its ConfigMap: `add-headers`, `hsts`, `use-gzip`, `ssl-protocols`, `ssl-ciphers`), not of an Ingress"
                } else {
                    why
                };
                let mut settings = Vec::new();
                if !edge.headers.is_empty() {
                    settings.push(format!(
                        "response headers {}",
                        edge.headers
                            .iter()
                            .map(|(n, _)| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                if let Some(age) = edge.hsts {
                    settings.push(format!("HSTS max-age {age}"));
                }
                if edge.gzip.is_some() {
                    settings.push("gzip".into());
                }
                if super::gateway::custom_tls(stack) {
                    settings.push(tls_setting(edge));
                }
                for s in settings {
                    out.push(Gap {
                        what: "every route".into(),
                        setting: s,
                        why: where_.to_owned(),
                    });
                }
            }
        }
    }
    out
}

/// The edge's settings a Gateway cannot carry: gzip's MIME types, compression and TLS
/// settings without Envoy Gateway or on a Gateway the stack does not own.
fn edge_gaps_gateway(
    plan: &Plan<'_>,
    gw: &Gateway,
    routes: &[(&Service, &Route)],
    out: &mut Vec<Gap>,
) {
    let stack = plan.stack();
    let Some(edge) = &stack.edge else { return };
    let envoy = matches!(gw.implementation, GatewayImpl::EnvoyGateway { .. });
    let every = |setting: String, why: &str| Gap {
        what: "every route".into(),
        setting,
        why: why.to_owned(),
    };
    if let Some(g) = &edge.gzip {
        if envoy {
            out.push(every(
                format!("gzip MIME types {}", g.types.join(" ")),
                "Envoy Gateway's compressor has no type list: it compresses the content types Envoy's compressor defaults to",
            ));
            if routes.iter().any(|(_, r)| r.is_grpc()) {
                out.push(every(
                    "gzip on gRPC routes".into(),
                    "gRPC compresses its own messages; the gateway does not compress them",
                ));
            }
        } else {
            out.push(every("gzip".into(), "needs the implementation's own policy objects, which a portable Gateway does not render"));
        }
    }
    let tls_routes = routes.iter().any(|(_, r)| r.tls.is_some());
    if tls_routes && super::gateway::custom_tls(stack) {
        let why = match (&gw.attach, envoy) {
            (GatewayAttach::Own { .. }, true) => return,
            (GatewayAttach::Own { .. }, false) => "needs the implementation's own policy objects, which a portable Gateway does not render".to_owned(),
            (GatewayAttach::Existing { .. }, _) => format!(
                "TLS is terminated by Gateway `{}/{}`, which the stack does not own: its owner sets versions and ciphers",
                gateway_namespace(stack, gw),
                gateway_name(stack, gw)
            ),
        };
        out.push(every(tls_setting(edge), &why));
    }
}

/// The edge's TLS versions and ciphers, as a README line.
fn tls_setting(edge: &crate::model::Edge) -> String {
    let mut setting = format!("TLS protocols {}", edge.tls_protocols.join(" "));
    if let Some(c) = &edge.tls_ciphers {
        setting.push_str(&format!(", ciphers `{c}`"));
    }
    setting
}
