//! NetworkPolicies derived from declared dependencies and routes.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Object, PART_OF, meta, selector};
use crate::model::{GatewayImpl, Port, RouteApi, Service, Target};
use crate::plan::Plan;

/// The stack's deny-all NetworkPolicy (validation keeps the name free).
pub(crate) const DEFAULT_DENY: &str = "default-deny";

fn k8s_services<'p, 's>(plan: &'p Plan<'s>) -> impl Iterator<Item = &'s Service> + 'p {
    plan.services(Target::Kubernetes)
}

fn named_ports(ports: &[Port]) -> Option<Vec<NetworkPolicyPort>> {
    (!ports.is_empty()).then(|| {
        ports
            .iter()
            .map(|p| NetworkPolicyPort {
                port: Some(IntOrString::String(p.name.to_owned())),
                protocol: Some(p.protocol.k8s().to_owned()),
                end_port: None,
            })
            .collect()
    })
}

/// The pods of a service: by our labels, or by its chart's labels when Helm installs it.
pub(super) fn peer(plan: &Plan<'_>, svc: &Service) -> NetworkPolicyPeer {
    match &svc.backing {
        Some(b) if plan.is_helm_installed(svc) => NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: Some(b.pod_labels.clone()),
                ..Default::default()
            }),
            ..Default::default()
        },
        _ => pods(&svc.name),
    }
}

/// The ports clients may open to a service: named for our pods, numbered for a chart's
/// (whose container port names we do not control).
pub(super) fn target_ports<'s>(
    plan: &Plan<'s>,
    svc: &'s Service,
) -> Option<Vec<NetworkPolicyPort>> {
    let ports: Vec<Port> = plan.client_ports(svc).copied().collect();
    if !plan.is_helm_installed(svc) {
        return named_ports(&ports);
    }
    (!ports.is_empty()).then(|| {
        ports
            .iter()
            .map(|p| NetworkPolicyPort {
                port: Some(IntOrString::Int(i32::from(p.number))),
                protocol: Some(p.protocol.k8s().to_owned()),
                end_port: None,
            })
            .collect()
    })
}

fn namespace_selector(ns: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(
            "kubernetes.io/metadata.name".to_owned(),
            ns.to_owned(),
        )])),
        ..Default::default()
    }
}

pub(super) fn pods(name: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(selector(name)),
        ..Default::default()
    }
}

/// Egress to the cluster DNS.
pub(super) fn dns_rule() -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(namespace_selector("kube-system")),
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    "k8s-app".to_owned(),
                    "kube-dns".to_owned(),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ports: Some(
            ["UDP", "TCP"]
                .into_iter()
                .map(|proto| NetworkPolicyPort {
                    port: Some(IntOrString::Int(53)),
                    protocol: Some(proto.to_owned()),
                    end_port: None,
                })
                .collect(),
        ),
    }
}

/// The pods that carry the stack's routes into its services: the Gateway's proxies (Envoy
/// Gateway labels them with the Gateway they serve; another implementation's are named by
/// the stack) or the Ingress controller's namespace.
pub(super) fn route_peer(plan: &Plan<'_>) -> NetworkPolicyPeer {
    let stack = plan.stack();
    let (namespace, pods) = match &stack.kubernetes.routes {
        RouteApi::Gateway(gw) => match &gw.implementation {
            GatewayImpl::EnvoyGateway { namespace } => (
                namespace.as_str(),
                BTreeMap::from([
                    ("app.kubernetes.io/component".to_owned(), "proxy".to_owned()),
                    (
                        "app.kubernetes.io/managed-by".to_owned(),
                        "envoy-gateway".to_owned(),
                    ),
                    (
                        "gateway.envoyproxy.io/owning-gateway-name".to_owned(),
                        super::gateway::gateway_name(stack, gw),
                    ),
                    (
                        "gateway.envoyproxy.io/owning-gateway-namespace".to_owned(),
                        super::gateway::gateway_namespace(stack, gw),
                    ),
                ]),
            ),
            GatewayImpl::Portable { namespace, pods } => (namespace.as_str(), pods.clone()),
        },
        RouteApi::Ingress(c) => (c.namespace(), BTreeMap::new()),
    };
    NetworkPolicyPeer {
        namespace_selector: Some(namespace_selector(namespace)),
        pod_selector: (!pods.is_empty()).then(|| LabelSelector {
            match_labels: Some(pods),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Default deny, then one policy per service: ingress only from the services that depend on
/// it (and the Gateway's proxies or the Ingress controller, when routed), egress only to its dependencies, DNS and
/// declared external destinations.
pub(crate) fn policies(plan: &Plan<'_>) -> Vec<Object> {
    let stack = plan.stack();
    let stack_meta = |name: &str| ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(stack.namespace()),
        labels: Some(BTreeMap::from([(PART_OF.to_owned(), stack.name.clone())])),
        ..Default::default()
    };
    let both = Some(vec!["Ingress".to_owned(), "Egress".to_owned()]);
    let mut out = vec![Object::NetworkPolicy(NetworkPolicy {
        metadata: stack_meta(DEFAULT_DENY),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: both.clone(),
            ..Default::default()
        }),
    })];
    let by_name: BTreeMap<&str, &Service> =
        k8s_services(plan).map(|s| (s.name.as_str(), s)).collect();
    // Who depends on whom, computed once (linear in the number of edges).
    let mut dependants: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for svc in k8s_services(plan) {
        for dep in svc.dependencies() {
            if dep.name() != svc.name {
                dependants.entry(dep.name()).or_default().push(&svc.name);
            }
        }
    }
    for svc in k8s_services(plan) {
        let mut ingress = Vec::new();
        // A cluster's gossip port is for its own members only; a Helm release's pods
        // (primary and replicas) talk to each other on whatever they need.
        let gossip: Vec<Port> = svc.cluster.iter().map(|c| c.port).collect();
        let helm = plan.is_helm_installed(svc);
        if !gossip.is_empty() || helm {
            ingress.push(NetworkPolicyIngressRule {
                from: Some(vec![peer(plan, svc)]),
                ports: if helm { None } else { named_ports(&gossip) },
            });
        }
        for dependant in dependants.get(svc.name.as_str()).into_iter().flatten() {
            ingress.push(NetworkPolicyIngressRule {
                from: Some(vec![pods(dependant)]),
                ports: target_ports(plan, svc),
            });
        }
        // Its backup job dumps it over the client port.
        if let Some(job) = super::backup::job_name(svc) {
            ingress.push(NetworkPolicyIngressRule {
                from: Some(vec![pods(&job)]),
                ports: target_ports(plan, svc),
            });
        }
        if let Some(m) = &svc.metrics {
            ingress.push(NetworkPolicyIngressRule {
                from: Some(vec![NetworkPolicyPeer {
                    namespace_selector: Some(namespace_selector(
                        &stack.kubernetes.monitoring_namespace,
                    )),
                    ..Default::default()
                }]),
                ports: named_ports(&[m.port]),
            });
        }
        if !svc.routes.is_empty() {
            let mut ports: Vec<Port> = Vec::new();
            for r in &svc.routes {
                if !ports.iter().any(|p| p.name == r.port.name) {
                    ports.push(r.port);
                }
            }
            ingress.push(NetworkPolicyIngressRule {
                from: Some(vec![route_peer(plan)]),
                ports: named_ports(&ports),
            });
        }
        // A NodePort or LoadBalancer Service admits clients from outside the cluster (the
        // load balancer's source ranges filter them; a policy cannot, behind SNAT).
        if svc.exposure.is_external() && !helm {
            ingress.push(NetworkPolicyIngressRule {
                from: None,
                ports: target_ports(plan, svc),
            });
        }
        // An operator's pods: the operator reaches them, they may reach the API server.
        let (operator_ingress, operator_egress) = super::operated::policy_rules(plan, svc);
        ingress.extend(operator_ingress);
        let mut egress = Vec::new();
        if !gossip.is_empty() || helm {
            egress.push(NetworkPolicyEgressRule {
                to: Some(vec![peer(plan, svc)]),
                ports: if helm { None } else { named_ports(&gossip) },
            });
        }
        for dep in svc.dependencies() {
            if let Some(target) = by_name.get(dep.name())
                && target.name != svc.name
            {
                egress.push(NetworkPolicyEgressRule {
                    to: Some(vec![peer(plan, target)]),
                    ports: target_ports(plan, target),
                });
            }
        }
        egress.push(dns_rule());
        egress.extend(operator_egress);
        for e in &svc.egress {
            egress.push(NetworkPolicyEgressRule {
                to: Some(vec![NetworkPolicyPeer {
                    ip_block: Some(IPBlock {
                        cidr: e.cidr.clone(),
                        except: (!e.except.is_empty()).then(|| e.except.clone()),
                    }),
                    ..Default::default()
                }]),
                ports: (!e.ports.is_empty()).then(|| {
                    e.ports
                        .iter()
                        .map(|p| NetworkPolicyPort {
                            port: Some(IntOrString::Int(i32::from(*p))),
                            protocol: Some("TCP".to_owned()),
                            end_port: None,
                        })
                        .collect()
                }),
            });
        }
        out.push(Object::NetworkPolicy(NetworkPolicy {
            metadata: meta(plan, svc.name.clone(), &svc.name),
            spec: Some(NetworkPolicySpec {
                pod_selector: peer(plan, svc).pod_selector,
                policy_types: both.clone(),
                ingress: (!ingress.is_empty()).then_some(ingress),
                egress: Some(egress),
            }),
        }));
    }
    out
}
