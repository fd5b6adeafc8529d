//! Network objects: NetworkPolicies derived from declared dependencies, and Ingresses.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, IPBlock, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, NetworkPolicy, NetworkPolicyEgressRule,
    NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
    ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Object, PART_OF, meta, selector};
use crate::model::{Port, Service, Target};
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

/// Default deny, then one policy per service: ingress only from the services that depend on
/// it (and the ingress controller, when exposed), egress only to its dependencies, DNS and
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
        if !svc.ingress.is_empty() {
            let mut ports: Vec<Port> = Vec::new();
            for i in &svc.ingress {
                if !ports.iter().any(|p| p.name == i.port.name) {
                    ports.push(i.port);
                }
            }
            ingress.push(NetworkPolicyIngressRule {
                from: Some(vec![NetworkPolicyPeer {
                    namespace_selector: Some(namespace_selector(
                        &stack.kubernetes.ingress_controller_namespace,
                    )),
                    ..Default::default()
                }]),
                ports: named_ports(&ports),
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

/// Ingresses: services sharing class, TLS issuer and rate limit share one Ingress (named
/// `<stack>-ingress` for the first group, `<stack>-ingress-<service>` for later ones, with
/// `-2`, `-3`, … when one service starts several groups).
pub(crate) fn ingresses(plan: &Plan<'_>) -> Vec<Object> {
    let stack = plan.stack();
    /// (class, TLS issuer, edge annotations): what must be equal to share an Ingress object.
    type Key<'a> = (Option<&'a str>, Option<&'a str>, BTreeMap<String, String>);
    /// A group: its key, its first service, and its members.
    type Group<'a> = (
        Key<'a>,
        &'a str,
        Vec<(&'a Service, &'a crate::model::Ingress)>,
    );
    let mut groups: Vec<Group<'_>> = Vec::new();
    for svc in k8s_services(plan) {
        for i in &svc.ingress {
            let key = (
                i.class.as_deref(),
                i.tls.as_ref().map(|t| t.0.as_str()),
                crate::render::nginx::ingress_annotations(stack, i),
            );
            match groups.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, _, members)) => members.push((svc, i)),
                None => groups.push((key, &svc.name, vec![(svc, i)])),
            }
        }
    }
    let mut out = Vec::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    // (issuer, hosts, Secret) of each certificate requested so far.
    let mut certificates: Vec<(&str, Vec<&str>, String)> = Vec::new();
    for (n, ((class, issuer, edge), first, members)) in groups.into_iter().enumerate() {
        let base = if n == 0 {
            format!("{}-ingress", stack.name)
        } else {
            format!("{}-ingress-{first}", stack.name)
        };
        // A service whose ingresses fall into several groups names more than one of them:
        // number the later ones, so no Ingress replaces another on apply.
        let name = std::iter::once(base.clone())
            .chain((2..).map(|i| format!("{base}-{i}")))
            .find(|candidate| !names.contains(candidate))
            .unwrap_or(base);
        names.insert(name.clone());
        let mut hosts: Vec<(&str, Vec<HTTPIngressPath>)> = Vec::new();
        // Host → its index in `hosts`: one rule per host, in first-mention order, found in
        // O(log n) so an Ingress with thousands of hosts stays linear-ish.
        let mut host_index: BTreeMap<&str, usize> = BTreeMap::new();
        for (svc, i) in &members {
            let path = HTTPIngressPath {
                path: Some(i.path.clone()),
                path_type: "Prefix".to_owned(),
                backend: IngressBackend {
                    service: Some(IngressServiceBackend {
                        name: svc.name.clone(),
                        port: Some(ServiceBackendPort {
                            number: Some(i32::from(i.port.client_port())),
                            name: None,
                        }),
                    }),
                    resource: None,
                },
            };
            match host_index.get(i.host.as_str()) {
                Some(&at) => hosts[at].1.push(path),
                None => {
                    host_index.insert(&i.host, hosts.len());
                    hosts.push((&i.host, vec![path]));
                }
            }
        }
        let mut annotations = edge;
        let host_names: Vec<&str> = hosts.iter().map(|(h, _)| *h).collect();
        // One certificate per host set: an Ingress whose hosts an earlier one's certificate
        // (same issuer) already covers serves that Secret and asks cert-manager for nothing,
        // so routes split for their annotations do not each issue a duplicate certificate.
        let secret = issuer.map(|issuer| {
            match certificates.iter().find(|(i, covered, _)| {
                *i == issuer && host_names.iter().all(|h| covered.contains(h))
            }) {
                Some((_, _, secret)) => secret.clone(),
                None => {
                    annotations.insert(
                        "cert-manager.io/cluster-issuer".to_owned(),
                        issuer.to_owned(),
                    );
                    let secret = format!("{name}-tls");
                    certificates.push((issuer, host_names.clone(), secret.clone()));
                    secret
                }
            }
        });
        out.push(Object::Ingress(Ingress {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(stack.namespace()),
                labels: Some(BTreeMap::from([(PART_OF.to_owned(), stack.name.clone())])),
                annotations: (!annotations.is_empty()).then_some(annotations),
                ..Default::default()
            },
            spec: Some(IngressSpec {
                ingress_class_name: class.map(str::to_owned),
                tls: secret.map(|secret| {
                    vec![IngressTLS {
                        hosts: Some(host_names.iter().map(|h| (*h).to_owned()).collect()),
                        secret_name: Some(secret),
                    }]
                }),
                rules: Some(
                    hosts
                        .into_iter()
                        .map(|(host, paths)| IngressRule {
                            host: Some(host.to_owned()),
                            http: Some(HTTPIngressRuleValue { paths }),
                        })
                        .collect(),
                ),
                default_backend: None,
            }),
            ..Default::default()
        }));
    }
    out
}
