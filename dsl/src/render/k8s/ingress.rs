//! Ingresses, for a stack that chooses them over the Gateway API and names their
//! controller ([`IngressController`]). ingress-nginx annotations (rate limits, timeouts,
//! body sizes, gRPC backends) appear only when the controller is ingress-nginx; another
//! controller's Ingresses carry standard fields only, and the README lists the rest.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{Object, PART_OF};
use crate::model::{IngressController, Route, Service, Target};
use crate::plan::Plan;

/// Ingresses (`40-ingress.yaml`), when the stack chooses them: of its controller's
/// IngressClass; routes sharing TLS issuer and annotations share one Ingress (named
/// `<stack>-ingress` for the first group, `<stack>-ingress-<service>` for later ones, with
/// `-2`, `-3`, … when one service starts several groups).
pub(crate) fn ingresses(plan: &Plan<'_>, controller: &IngressController) -> Vec<Object> {
    let stack = plan.stack();
    let class = controller.class_name();
    /// (TLS issuer, edge annotations): what must be equal to share an Ingress object.
    type Key<'a> = (Option<&'a str>, BTreeMap<String, String>);
    /// A group: its key, its first service, and its members.
    type Group<'a> = (Key<'a>, &'a str, Vec<(&'a Service, &'a Route)>);
    let mut groups: Vec<Group<'_>> = Vec::new();
    for (svc, i) in plan.routes(Target::Kubernetes) {
        let key = (
            i.tls.as_ref().map(|t| t.0.as_str()),
            crate::render::nginx::ingress_annotations(stack, i),
        );
        match groups.iter_mut().find(|(k, _, _)| *k == key) {
            Some((_, _, members)) => members.push((svc, i)),
            None => groups.push((key, &svc.name, vec![(svc, i)])),
        }
    }
    let mut out = Vec::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    // (issuer, hosts, Secret) of each certificate requested so far.
    let mut certificates: Vec<(&str, Vec<&str>, String)> = Vec::new();
    for (n, ((issuer, edge), first, members)) in groups.into_iter().enumerate() {
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
