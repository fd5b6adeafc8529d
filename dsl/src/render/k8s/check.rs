//! Cross-reference checks on rendered objects: defence in depth behind model validation.
//! Every name one object uses to find another must resolve, inside the stack's manifests.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Manifests, Object};
use crate::validate::{Error, ErrorKind};

type Template<'a> = (String, &'a PodTemplateSpec, i32);

/// Pod templates of the manifests, indexed by label so selector lookups stay logarithmic
/// (stacks with thousands of services are checked in linear time overall).
struct Pods<'a> {
    /// Workload key (`Deployment/x`) → (pod template, replicas floor).
    templates: Vec<Template<'a>>,
    by_label: BTreeMap<(&'a str, &'a str), Vec<usize>>,
}

impl<'a> Pods<'a> {
    fn push(&mut self, key: String, t: &'a PodTemplateSpec, floor: i32) {
        let i = self.templates.len();
        for (k, v) in t
            .metadata
            .as_ref()
            .and_then(|m| m.labels.as_ref())
            .into_iter()
            .flatten()
        {
            self.by_label
                .entry((k.as_str(), v.as_str()))
                .or_default()
                .push(i);
        }
        self.templates.push((key, t, floor));
    }

    fn matching(&self, sel: &BTreeMap<String, String>) -> Vec<&Template<'a>> {
        let Some((k, v)) = sel.iter().next() else {
            return Vec::new();
        };
        self.by_label
            .get(&(k.as_str(), v.as_str()))
            .into_iter()
            .flatten()
            .map(|&i| &self.templates[i])
            .filter(|(_, t, _)| {
                let labels = t.metadata.as_ref().and_then(|m| m.labels.as_ref());
                sel.iter()
                    .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
            })
            .collect()
    }
}

/// A workload's selector and pod template.
struct Spec<'a> {
    selector: &'a LabelSelector,
    template: &'a PodTemplateSpec,
}

/// Does `sel` (labels and DoesNotExist/Exists expressions) select an object with `labels`?
fn selects(sel: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let has = |k: &String| labels.is_some_and(|l| l.contains_key(k));
    sel.match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        && sel
            .match_expressions
            .iter()
            .flatten()
            .all(|e| match e.operator.as_str() {
                "DoesNotExist" => !has(&e.key),
                "Exists" => has(&e.key),
                "In" => labels
                    .and_then(|l| l.get(&e.key))
                    .is_some_and(|v| e.values.iter().flatten().any(|x| x == v)),
                "NotIn" => !labels
                    .and_then(|l| l.get(&e.key))
                    .is_some_and(|v| e.values.iter().flatten().any(|x| x == v)),
                _ => false,
            })
}

fn containers(t: &PodTemplateSpec) -> &[Container] {
    t.spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default()
}

fn has_port(t: &PodTemplateSpec, port: &IntOrString) -> bool {
    containers(t)
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .any(|p| match port {
            IntOrString::String(name) => p.name.as_deref() == Some(name),
            IntOrString::Int(n) => p.container_port == *n,
        })
}

fn port_text(p: &IntOrString) -> String {
    match p {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

fn labels_of(sel: &LabelSelector) -> BTreeMap<String, String> {
    sel.match_labels.clone().unwrap_or_default()
}

/// Checks every reference between the objects of `m`; `stack` prefixes error paths.
pub fn cross_check(stack: &str, m: &Manifests) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut err = |path: String, message: String, hint: &str| {
        errors.push(Error::new(
            ErrorKind::BrokenReference,
            format!("{stack}.k8s.{path}"),
            message,
            hint,
        ));
    };
    // Objects of one kind and name would replace each other on apply.
    let mut keys: BTreeMap<String, ()> = BTreeMap::new();
    for o in m.objects() {
        if keys.insert(o.key(), ()).is_some() {
            err(
                o.key(),
                format!(
                    "{} is rendered twice; applying the manifests would keep only one",
                    o.key()
                ),
                "rename the service, file or volume the second one comes from",
            );
        }
    }
    let mut hpa_floor: BTreeMap<String, i32> = BTreeMap::new();
    for o in m.objects() {
        if let Object::HorizontalPodAutoscaler(h) = o
            && let Some(spec) = &h.spec
        {
            hpa_floor.insert(
                format!(
                    "{}/{}",
                    spec.scale_target_ref.kind, spec.scale_target_ref.name
                ),
                spec.min_replicas.unwrap_or(1),
            );
        }
    }
    // Pods that Helm releases run: selectable by NetworkPolicies, not checked further.
    let external: Vec<PodTemplateSpec> = m
        .external_pods
        .iter()
        .map(|labels| PodTemplateSpec {
            metadata: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                labels: Some(labels.clone()),
                ..Default::default()
            }),
            spec: None,
        })
        .collect();
    let mut pods = Pods {
        templates: Vec::new(),
        by_label: BTreeMap::new(),
    };
    for (i, t) in external.iter().enumerate() {
        pods.push(format!("HelmRelease/{i}"), t, 1);
    }
    let mut config_maps: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut claims: Vec<&str> = Vec::new();
    let mut headless: Vec<&str> = Vec::new();
    let mut service_labels: Vec<(&str, Option<&BTreeMap<String, String>>)> = Vec::new();
    let mut services: BTreeMap<&str, Vec<(Option<&str>, i32)>> = BTreeMap::new();
    for o in m.objects() {
        match o {
            Object::Deployment(_) | Object::StatefulSet(_) => {
                if let Some((_, template, replicas)) = o.workload() {
                    let key = o.key();
                    let floor = hpa_floor
                        .get(&key)
                        .copied()
                        .unwrap_or(replicas.unwrap_or(1));
                    pods.push(key, template, floor);
                }
            }
            Object::ConfigMap(c) => {
                config_maps.insert(
                    o.name(),
                    c.data.iter().flatten().map(|(k, _)| k.as_str()).collect(),
                );
            }
            Object::PersistentVolumeClaim(_) => claims.push(o.name()),
            // A CronJob's pods exist only while it runs; NetworkPolicies still select them.
            Object::CronJob(c) => {
                if let Some(t) = c.spec.as_ref().and_then(|s| s.job_template.spec.as_ref()) {
                    pods.push(o.key(), &t.template, 0);
                }
            }
            Object::Service(s) => {
                let ports = s
                    .spec
                    .iter()
                    .flat_map(|s| s.ports.iter().flatten())
                    .map(|p| (p.name.as_deref(), p.port))
                    .collect();
                services.insert(o.name(), ports);
                if s.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) == Some("None") {
                    headless.push(o.name());
                }
                service_labels.push((o.name(), s.metadata.labels.as_ref()));
            }
            _ => {}
        }
    }

    let workloads: BTreeMap<&str, ()> = pods
        .templates
        .iter()
        .map(|(k, _, _)| (k.as_str(), ()))
        .collect();
    for o in m.objects() {
        let key = o.key();
        match o {
            Object::Deployment(_) | Object::StatefulSet(_) | Object::CronJob(_) => {
                // A CronJob has no selector: its pods are checked like a workload's, with
                // their own labels for one.
                let own_labels;
                let (selector, template) = match (o.workload(), o) {
                    (Some((s, t, _)), _) => (s, t),
                    (None, Object::CronJob(c)) => {
                        let Some(t) = c
                            .spec
                            .as_ref()
                            .and_then(|s| s.job_template.spec.as_ref())
                            .map(|j| &j.template)
                        else {
                            continue;
                        };
                        own_labels = LabelSelector {
                            match_labels: t.metadata.as_ref().and_then(|m| m.labels.clone()),
                            ..Default::default()
                        };
                        (&own_labels, t)
                    }
                    _ => continue,
                };
                if let Object::StatefulSet(s) = o {
                    let governing = s
                        .spec
                        .as_ref()
                        .and_then(|s| s.service_name.as_deref())
                        .unwrap_or_default();
                    if !headless.contains(&governing) {
                        err(
                            format!("{key}.spec.serviceName"),
                            format!(
                                "{key} is governed by Service `{governing}`, which is not a headless Service of the manifests"
                            ),
                            "render the cluster's headless Service (clusterIP: None) with it",
                        );
                    }
                }
                let spec = Spec { selector, template };
                let sel = labels_of(spec.selector);
                let tl = spec
                    .template
                    .metadata
                    .as_ref()
                    .and_then(|m| m.labels.clone())
                    .unwrap_or_default();
                if sel.is_empty() || !sel.iter().all(|(k, v)| tl.get(k) == Some(v)) {
                    err(
                        format!("{key}.spec.selector"),
                        format!(
                            "{key}'s selector {sel:?} does not match its pod template labels {tl:?}"
                        ),
                        "select with a subset of the template's labels",
                    );
                }
                let pod = spec.template.spec.as_ref();
                // Where the pod spec sits in the object, for error paths.
                let pod_path = match o {
                    Object::CronJob(_) => format!("{key}.spec.jobTemplate.spec.template.spec"),
                    _ => format!("{key}.spec.template.spec"),
                };
                // A StatefulSet's claim templates are volumes of its pods, too.
                let templates = match o {
                    Object::StatefulSet(s) => s
                        .spec
                        .as_ref()
                        .and_then(|s| s.volume_claim_templates.as_ref()),
                    _ => None,
                };
                let volumes: Vec<&str> = pod
                    .iter()
                    .flat_map(|p| p.volumes.iter().flatten())
                    .map(|v| v.name.as_str())
                    .chain(
                        templates
                            .into_iter()
                            .flatten()
                            .filter_map(|t| t.metadata.name.as_deref()),
                    )
                    .collect();
                for v in pod.iter().flat_map(|p| p.volumes.iter().flatten()) {
                    if let Some(cm) = &v.config_map
                        && !config_maps.contains_key(cm.name.as_str())
                    {
                        err(
                            format!("{pod_path}.volumes[{}]", v.name),
                            format!(
                                "{key} mounts ConfigMap `{}`, which is not in the manifests",
                                cm.name
                            ),
                            "render the ConfigMap with the workload",
                        );
                    }
                    if let Some(pvc) = &v.persistent_volume_claim
                        && !claims.contains(&pvc.claim_name.as_str())
                    {
                        err(
                            format!("{pod_path}.volumes[{}]", v.name),
                            format!(
                                "{key} claims PersistentVolumeClaim `{}`, which is not in the manifests",
                                pvc.claim_name
                            ),
                            "render the claim with the workload",
                        );
                    }
                }
                for c in containers(spec.template) {
                    let cpath = format!("{pod_path}.containers[{}]", c.name);
                    for (kind, p) in [
                        ("livenessProbe", &c.liveness_probe),
                        ("readinessProbe", &c.readiness_probe),
                        ("startupProbe", &c.startup_probe),
                    ] {
                        let Some(p) = p else { continue };
                        let port = p
                            .http_get
                            .as_ref()
                            .map(|h| &h.port)
                            .or(p.tcp_socket.as_ref().map(|t| &t.port));
                        if let Some(port) = port
                            && !has_port(spec.template, port)
                        {
                            err(
                                format!("{cpath}.{kind}"),
                                format!(
                                    "{kind} of {key} targets port `{}`, which no container declares",
                                    port_text(port)
                                ),
                                "probe a declared, named container port",
                            );
                        }
                    }
                    for m in c.volume_mounts.iter().flatten() {
                        if !volumes.contains(&m.name.as_str()) {
                            err(
                                format!("{cpath}.volumeMounts[{}]", m.name),
                                format!(
                                    "{key} mounts volume `{}`, which the pod does not define",
                                    m.name
                                ),
                                "define the volume in the pod spec",
                            );
                        }
                    }
                    for e in c.env.iter().flatten() {
                        let Some(from) = &e.value_from else { continue };
                        if let Some(r) = &from.config_map_key_ref {
                            match config_maps.get(r.name.as_str()) {
                                None => err(
                                    format!("{cpath}.env[{}]", e.name),
                                    format!(
                                        "`{}` reads ConfigMap `{}`, which is not in the manifests",
                                        e.name, r.name
                                    ),
                                    "render the ConfigMap, or read the value elsewhere",
                                ),
                                Some(keys) if !keys.contains(&r.key.as_str()) => err(
                                    format!("{cpath}.env[{}]", e.name),
                                    format!(
                                        "`{}` reads key `{}` of ConfigMap `{}`, which has no such key",
                                        e.name, r.key, r.name
                                    ),
                                    "add the key to the ConfigMap",
                                ),
                                Some(_) => {}
                            }
                        }
                        if let Some(r) = &from.secret_key_ref {
                            let declared = m
                                .secrets
                                .get(&r.name)
                                .is_some_and(|keys| keys.iter().any(|k| k.key() == r.key));
                            if !declared {
                                err(
                                    format!("{cpath}.env[{}]", e.name),
                                    format!(
                                        "`{}` reads key `{}` of Secret `{}`, which the stack does not declare",
                                        e.name, r.key, r.name
                                    ),
                                    "reference secrets through `SecretRef` so they are declared and documented",
                                );
                            }
                        }
                    }
                }
            }
            Object::Service(s) => {
                let Some(spec) = &s.spec else { continue };
                let sel = spec.selector.clone().unwrap_or_default();
                let matched = pods.matching(&sel);
                if sel.is_empty() || matched.is_empty() {
                    err(
                        format!("{key}.spec.selector"),
                        format!("{key} selects {sel:?}, which matches no pod template"),
                        "select the labels of the workload's pods",
                    );
                    continue;
                }
                for p in spec.ports.iter().flatten() {
                    let target = p.target_port.clone().unwrap_or(IntOrString::Int(p.port));
                    if !matched.iter().all(|(_, t, _)| has_port(t, &target)) {
                        err(
                            format!(
                                "{key}.spec.ports[{}].targetPort",
                                p.name.as_deref().unwrap_or("")
                            ),
                            format!(
                                "{key} forwards to port `{}`, which the selected pods do not declare",
                                port_text(&target)
                            ),
                            "target a named container port",
                        );
                    }
                }
            }
            Object::HorizontalPodAutoscaler(h) => {
                let Some(spec) = &h.spec else { continue };
                let target = format!(
                    "{}/{}",
                    spec.scale_target_ref.kind, spec.scale_target_ref.name
                );
                if !workloads.contains_key(target.as_str()) {
                    err(
                        format!("{key}.spec.scaleTargetRef"),
                        format!("{key} scales {target}, which is not in the manifests"),
                        "point the autoscaler at the workload it scales",
                    );
                }
                if spec.min_replicas.unwrap_or(1) > spec.max_replicas {
                    err(
                        format!("{key}.spec.minReplicas"),
                        format!("{key} has minReplicas above maxReplicas"),
                        "use min ≤ max",
                    );
                }
            }
            Object::PodDisruptionBudget(p) => {
                let Some(spec) = &p.spec else { continue };
                let sel = spec.selector.as_ref().map(labels_of).unwrap_or_default();
                let matched = pods.matching(&sel);
                if sel.is_empty() || matched.is_empty() {
                    err(
                        format!("{key}.spec.selector"),
                        format!("{key} selects {sel:?}, which matches no pod template"),
                        "select the workload's pods",
                    );
                    continue;
                }
                if let Some(IntOrString::Int(min)) = &spec.min_available {
                    for (w, _, floor) in &matched {
                        if min >= floor {
                            err(
                                format!("{key}.spec.minAvailable"),
                                format!(
                                    "{key} keeps {min} of {w}'s {floor} replicas available, so no pod can ever be evicted and node drains hang"
                                ),
                                "keep minAvailable below the replica count (and below the autoscaler's minimum)",
                            );
                        }
                    }
                }
            }
            Object::ServiceMonitor(sm) => {
                let matched: Vec<&str> = service_labels
                    .iter()
                    .filter(|(_, l)| selects(&sm.spec.selector, *l))
                    .map(|(n, _)| *n)
                    .collect();
                if matched.is_empty() {
                    err(
                        format!("{key}.spec.selector"),
                        format!("{key} selects no Service"),
                        "select the labels of the service's client Service",
                    );
                }
                for ep in &sm.spec.endpoints {
                    for svc in &matched {
                        let has = services.get(svc).is_some_and(|ports| {
                            ports.iter().any(|(n, _)| *n == Some(ep.port.as_str()))
                        });
                        if !has {
                            err(
                                format!("{key}.spec.endpoints[{}]", ep.port),
                                format!(
                                    "{key} scrapes port `{}`, which Service `{svc}` does not expose",
                                    ep.port
                                ),
                                "scrape a named port of the Service",
                            );
                        }
                    }
                }
            }
            Object::Ingress(i) => {
                for rule in i.spec.iter().flat_map(|s| s.rules.iter().flatten()) {
                    for path in rule.http.iter().flat_map(|h| h.paths.iter()) {
                        let Some(b) = &path.backend.service else {
                            continue;
                        };
                        let ppath = format!(
                            "{key}.spec.rules[{}].paths[{}]",
                            rule.host.as_deref().unwrap_or(""),
                            path.path.as_deref().unwrap_or("")
                        );
                        match services.get(b.name.as_str()) {
                            None => err(
                                ppath,
                                format!(
                                    "{key} routes to Service `{}`, which is not in the manifests",
                                    b.name
                                ),
                                "route to a service of the stack",
                            ),
                            Some(ports) => {
                                let ok = b.port.as_ref().is_some_and(|p| {
                                    ports.iter().any(|(name, number)| {
                                        p.number == Some(*number)
                                            || (p.name.is_some() && p.name.as_deref() == *name)
                                    })
                                });
                                if !ok {
                                    err(
                                        ppath,
                                        format!(
                                            "{key} routes to a port Service `{}` does not expose",
                                            b.name
                                        ),
                                        "route to one of the Service's ports",
                                    );
                                }
                            }
                        }
                    }
                }
            }
            Object::NetworkPolicy(n) => {
                let Some(spec) = &n.spec else { continue };
                let sel = spec
                    .pod_selector
                    .as_ref()
                    .map(labels_of)
                    .unwrap_or_default();
                if !sel.is_empty() && pods.matching(&sel).is_empty() {
                    err(
                        format!("{key}.spec.podSelector"),
                        format!("{key} applies to {sel:?}, which matches no pod"),
                        "select pods of the stack",
                    );
                }
                let peers = spec
                    .ingress
                    .iter()
                    .flatten()
                    .flat_map(|r| r.from.iter().flatten())
                    .chain(
                        spec.egress
                            .iter()
                            .flatten()
                            .flat_map(|r| r.to.iter().flatten()),
                    );
                for peer in peers {
                    if peer.namespace_selector.is_some() {
                        continue;
                    }
                    if let Some(ps) = &peer.pod_selector {
                        let sel = labels_of(ps);
                        if !sel.is_empty() && pods.matching(&sel).is_empty() {
                            err(
                                format!("{key}.spec"),
                                format!("{key} allows traffic with {sel:?}, which matches no pod"),
                                "allow traffic with pods of the stack",
                            );
                        }
                    }
                }
            }
            _ => {}
        }
    }
    errors
}
