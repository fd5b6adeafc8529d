//! Backing services an operator runs: their custom resources (`25-backing-services.yaml`)
//! and the NetworkPolicy rules their pods need beyond the stack's own traffic.
//!
//! The catalog writes each resource's `spec` ([`CustomResource`]); here it gets the stack's
//! namespace and labels. The rules: the operator (in its own namespace, by its pods'
//! labels) may open the ports it manages the pods through, and pods that call the
//! Kubernetes API server may reach it. The API server's address is the cluster's own, so
//! that egress names only its ports (443, and 6443 where it listens directly).

use super::{CustomObject, Object, meta};
use crate::model::{CustomResource, Service};
use crate::plan::Plan;
use k8s_openapi::api::networking::v1::{
    NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

fn object(plan: &Plan<'_>, svc: &Service, r: &CustomResource) -> Object {
    let mut metadata = meta(plan, r.name.clone(), &svc.name);
    if let Some(labels) = &mut metadata.labels {
        labels.extend(r.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Object::Custom(Box::new(CustomObject {
        api_version: r.api_version.clone(),
        kind: r.kind.clone(),
        metadata,
        rest: serde_json::Map::from_iter([("spec".to_owned(), r.spec.clone())]),
    }))
}

/// Every operator-run service's custom resources, in declaration order.
pub(super) fn objects(plan: &Plan<'_>) -> Vec<Object> {
    plan.operated()
        .flat_map(|(svc, o)| o.resources.iter().map(move |r| object(plan, svc, r)))
        .collect()
}

fn tcp(port: u16) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(port))),
        protocol: Some("TCP".to_owned()),
        end_port: None,
    }
}

/// The Kubernetes API server's ports: 443 behind the `kubernetes` Service, 6443 where a
/// NetworkPolicy sees the server's own endpoint.
const API_SERVER: [u16; 2] = [443, 6443];

/// What `svc`'s pods need because an operator runs them: ingress from the operator on its
/// ports, egress to the API server. Nothing for other services.
pub(super) fn policy_rules(
    plan: &Plan<'_>,
    svc: &Service,
) -> (Vec<NetworkPolicyIngressRule>, Vec<NetworkPolicyEgressRule>) {
    let Some((_, o)) = plan.operated().find(|(s, _)| std::ptr::eq(*s, svc)) else {
        return (Vec::new(), Vec::new());
    };
    let mut ingress = Vec::new();
    if !o.operator.ports.is_empty() {
        ingress.push(NetworkPolicyIngressRule {
            from: Some(vec![NetworkPolicyPeer {
                namespace_selector: Some(LabelSelector {
                    match_labels: Some(
                        [(
                            "kubernetes.io/metadata.name".to_owned(),
                            o.operator.namespace.clone(),
                        )]
                        .into(),
                    ),
                    ..Default::default()
                }),
                pod_selector: Some(LabelSelector {
                    match_labels: Some(o.operator.pod_labels.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ports: Some(o.operator.ports.iter().copied().map(tcp).collect()),
        });
    }
    let mut egress = Vec::new();
    if o.api_server {
        egress.push(NetworkPolicyEgressRule {
            to: None,
            ports: Some(API_SERVER.into_iter().map(tcp).collect()),
        });
    }
    (ingress, egress)
}
