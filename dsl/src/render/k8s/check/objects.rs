//! What each rendered object owns and references, read into [`Facts`](super::Facts):
//! names, labels, ports, and one deferred check per reference.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::super::Object;
use super::*;

/// Adds what `o` offers other objects to `f`, and the checks of its own references.
pub(super) fn object_facts(o: &Object, f: &mut Facts) {
    let key = o.key();
    f.keys.push(key.clone());
    match o {
        Object::Deployment(_) | Object::StatefulSet(_) | Object::CronJob(_) => {
            workload_facts(o, key, f);
        }
        Object::ConfigMap(c) => f.config_maps.push((
            o.name().to_owned(),
            c.data.iter().flatten().map(|(k, _)| k.clone()).collect(),
        )),
        Object::PersistentVolumeClaim(_) => f.claims.push(o.name().to_owned()),
        Object::ServiceAccount(_) => f.service_accounts.push(o.name().to_owned()),
        Object::Service(s) => {
            let Some(spec) = &s.spec else {
                f.services.push((
                    o.name().to_owned(),
                    Vec::new(),
                    s.metadata.labels.clone(),
                    false,
                ));
                return;
            };
            f.services.push((
                o.name().to_owned(),
                spec.ports
                    .iter()
                    .flatten()
                    .map(|p| (p.name.clone(), p.port))
                    .collect(),
                s.metadata.labels.clone(),
                spec.cluster_ip.as_deref() == Some("None"),
            ));
            let sel = spec.selector.clone().unwrap_or_default();
            let targets: Vec<(String, IntOrString)> = spec
                .ports
                .iter()
                .flatten()
                .map(|p| {
                    (
                        p.name.clone().unwrap_or_default(),
                        p.target_port.clone().unwrap_or(IntOrString::Int(p.port)),
                    )
                })
                .collect();
            f.later(move |ix, err| {
                let matched = ix.matching(&sel);
                if sel.is_empty() || matched.is_empty() {
                    err(
                        format!("{key}.spec.selector"),
                        format!("{key} selects {sel:?}, which matches no pod template"),
                        "select the labels of the workload's pods",
                    );
                    return;
                }
                for (name, target) in targets {
                    if !matched.iter().all(|p| has_port(&p.ports, &target)) {
                        err(
                            format!("{key}.spec.ports[{name}].targetPort"),
                            format!(
                                "{key} forwards to port `{}`, which the selected pods do not declare",
                                port_text(&target)
                            ),
                            "target a named container port",
                        );
                    }
                }
            });
        }
        Object::HorizontalPodAutoscaler(h) => {
            let Some(spec) = &h.spec else { return };
            let target = format!(
                "{}/{}",
                spec.scale_target_ref.kind, spec.scale_target_ref.name
            );
            let min = spec.min_replicas.unwrap_or(1);
            f.autoscaled.push((target.clone(), min));
            let k = key.clone();
            f.later(move |ix, err| {
                if !ix.workloads.contains(&target) {
                    err(
                        format!("{k}.spec.scaleTargetRef"),
                        format!("{k} scales {target}, which is not in the manifests"),
                        "point the autoscaler at the workload it scales",
                    );
                }
            });
            if min > spec.max_replicas {
                f.now(
                    format!("{key}.spec.minReplicas"),
                    format!("{key} has minReplicas above maxReplicas"),
                    "use min ≤ max",
                );
            }
        }
        Object::PodDisruptionBudget(p) => {
            let Some(spec) = &p.spec else { return };
            let sel = spec.selector.as_ref().map(labels_of).unwrap_or_default();
            let min = match &spec.min_available {
                Some(IntOrString::Int(min)) => Some(*min),
                _ => None,
            };
            f.later(move |ix, err| {
                let matched = ix.matching(&sel);
                if sel.is_empty() || matched.is_empty() {
                    err(
                        format!("{key}.spec.selector"),
                        format!("{key} selects {sel:?}, which matches no pod template"),
                        "select the workload's pods",
                    );
                    return;
                }
                let Some(min) = min else { return };
                for p in matched {
                    let (w, floor) = (&p.key, p.floor);
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
            });
        }
        Object::ServiceMonitor(sm) => {
            let selector = sm.spec.selector.clone();
            let endpoints: Vec<String> = sm.spec.endpoints.iter().map(|e| e.port.clone()).collect();
            f.later(move |ix, err| {
                let matched: Vec<&str> = ix
                    .service_labels
                    .iter()
                    .filter(|(_, l)| selects(&selector, l.as_ref()))
                    .map(|(n, _)| n.as_str())
                    .collect();
                if matched.is_empty() {
                    err(
                        format!("{key}.spec.selector"),
                        format!("{key} selects no Service"),
                        "select the labels of the service's client Service",
                    );
                }
                for port in &endpoints {
                    for svc in &matched {
                        let has = ix.services.get(*svc).is_some_and(|ports| {
                            ports.iter().any(|(n, _)| n.as_deref() == Some(port.as_str()))
                        });
                        if !has {
                            err(
                                format!("{key}.spec.endpoints[{port}]"),
                                format!(
                                    "{key} scrapes port `{port}`, which Service `{svc}` does not expose"
                                ),
                                "scrape a named port of the Service",
                            );
                        }
                    }
                }
            });
        }
        Object::Ingress(i) => {
            let mut backends: Vec<Backend> = Vec::new();
            for rule in i.spec.iter().flat_map(|s| s.rules.iter().flatten()) {
                for path in rule.http.iter().flat_map(|h| h.paths.iter()) {
                    let Some(b) = &path.backend.service else {
                        continue;
                    };
                    backends.push((
                        format!(
                            "{key}.spec.rules[{}].paths[{}]",
                            rule.host.as_deref().unwrap_or(""),
                            path.path.as_deref().unwrap_or("")
                        ),
                        b.name.clone(),
                        b.port.as_ref().and_then(|p| p.number),
                        b.port.as_ref().and_then(|p| p.name.clone()),
                    ));
                }
            }
            backend_checks(f, key, backends);
        }
        Object::HttpRoute(r) | Object::GrpcRoute(r) => {
            let mut backends: Vec<Backend> = Vec::new();
            for (i, rule) in r.spec.rules.iter().enumerate() {
                for b in &rule.backend_refs {
                    backends.push((
                        format!("{key}.spec.rules[{i}]"),
                        b.name.clone(),
                        Some(i32::from(b.port)),
                        None,
                    ));
                }
            }
            // Parents in the route's own namespace are the stack's Gateway.
            let parents: Vec<(String, Option<String>)> = r
                .spec
                .parent_refs
                .iter()
                .filter(|p| p.namespace.is_none())
                .map(|p| (p.name.clone(), p.section_name.clone()))
                .collect();
            let k = key.clone();
            f.later(move |ix, err| {
                for (gateway, section) in parents {
                    match (ix.gateways.get(&gateway), section) {
                        (None, _) => err(
                            format!("{k}.spec.parentRefs[{gateway}]"),
                            format!("{k} attaches to Gateway `{gateway}`, which is not in the manifests"),
                            "attach to the stack's Gateway, or name the existing Gateway's namespace",
                        ),
                        (Some(listeners), Some(section)) if !listeners.contains(&section) => err(
                            format!("{k}.spec.parentRefs[{gateway}]"),
                            format!("{k} attaches to listener `{section}` of Gateway `{gateway}`, which has no such listener"),
                            "attach to a listener of the Gateway",
                        ),
                        _ => {}
                    }
                }
            });
            backend_checks(f, key, backends);
        }
        Object::Gateway(g) => f.gateways.push((
            o.name().to_owned(),
            g.spec.listeners.iter().map(|l| l.name.clone()).collect(),
        )),
        Object::BackendTrafficPolicy(p) => {
            policy_checks(
                f,
                key,
                p.spec
                    .target_refs
                    .iter()
                    .map(|t| format!("{}/{}", t.kind, t.name)),
            );
        }
        Object::ClientTrafficPolicy(p) => {
            policy_checks(
                f,
                key,
                p.spec
                    .target_refs
                    .iter()
                    .map(|t| format!("{}/{}", t.kind, t.name)),
            );
        }
        Object::ExternalSecret(e) => f.synced.push((
            e.spec.target.name.clone(),
            e.spec.data.iter().map(|d| d.secret_key.clone()).collect(),
        )),
        Object::NetworkPolicy(n) => {
            let Some(spec) = &n.spec else { return };
            let sel = spec
                .pod_selector
                .as_ref()
                .map(labels_of)
                .unwrap_or_default();
            let peers: Vec<Labels> = spec
                .ingress
                .iter()
                .flatten()
                .flat_map(|r| r.from.iter().flatten())
                .chain(
                    spec.egress
                        .iter()
                        .flatten()
                        .flat_map(|r| r.to.iter().flatten()),
                )
                .filter(|peer| peer.namespace_selector.is_none())
                .filter_map(|peer| peer.pod_selector.as_ref().map(labels_of))
                .collect();
            f.later(move |ix, err| {
                if !sel.is_empty() && ix.matching(&sel).is_empty() {
                    err(
                        format!("{key}.spec.podSelector"),
                        format!("{key} applies to {sel:?}, which matches no pod"),
                        "select pods of the stack",
                    );
                }
                for sel in peers {
                    if !sel.is_empty() && ix.matching(&sel).is_empty() {
                        err(
                            format!("{key}.spec"),
                            format!("{key} allows traffic with {sel:?}, which matches no pod"),
                            "allow traffic with pods of the stack",
                        );
                    }
                }
            });
        }
        Object::Custom(c) => super::custom::facts(c, key, f),
        _ => {}
    }
}

/// (error path, Service, port number, port name) of a route's backend.
type Backend = (String, String, Option<i32>, Option<String>);

/// Every backend of an Ingress or route must be a Service of the manifests with that port.
fn backend_checks(f: &mut Facts, key: String, backends: Vec<Backend>) {
    f.later(move |ix, err| {
        for (ppath, name, number, port_name) in backends {
            match ix.services.get(&name) {
                None => err(
                    ppath,
                    format!("{key} routes to Service `{name}`, which is not in the manifests"),
                    "route to a service of the stack",
                ),
                Some(ports) => {
                    let ok = ports.iter().any(|(n, p)| {
                        number == Some(*p)
                            || (port_name.is_some() && port_name.as_deref() == n.as_deref())
                    });
                    if !ok {
                        err(
                            ppath,
                            format!("{key} routes to a port Service `{name}` does not expose"),
                            "route to one of the Service's ports",
                        );
                    }
                }
            }
        }
    });
}

/// Every object a policy targets (`Kind/name`) must be in the manifests.
fn policy_checks(f: &mut Facts, key: String, targets: impl Iterator<Item = String>) {
    let targets: Vec<String> = targets.collect();
    f.later(move |ix, err| {
        for t in targets {
            if !ix.keys.contains(&t) {
                err(
                    format!("{key}.spec.targetRefs[{t}]"),
                    format!("{key} applies to {t}, which is not in the manifests"),
                    "target a route or Gateway of the stack",
                );
            }
        }
    });
}

/// The facts and checks of a Deployment, StatefulSet or CronJob.
pub(super) fn workload_facts(o: &Object, key: String, f: &mut Facts) {
    // A CronJob has no selector: its pods are checked like a workload's, with their own
    // labels for one.
    let own_labels;
    let (selector, template, replicas) = match (o.workload(), o) {
        (Some((s, t, replicas)), _) => (s, t, replicas),
        (None, Object::CronJob(c)) => {
            let Some(t) = c
                .spec
                .as_ref()
                .and_then(|s| s.job_template.spec.as_ref())
                .map(|j| &j.template)
            else {
                return;
            };
            own_labels = LabelSelector {
                match_labels: t.metadata.as_ref().and_then(|m| m.labels.clone()),
                ..Default::default()
            };
            (&own_labels, t, None)
        }
        _ => return,
    };
    let tl = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let ports = container_ports(template);
    let cron = matches!(o, Object::CronJob(_));
    f.pods.push(Pod {
        key: key.clone(),
        labels: tl.clone(),
        ports: ports.clone(),
        floor: if cron { 0 } else { replicas.unwrap_or(1) },
        scalable: !cron,
    });
    if let Object::StatefulSet(s) = o {
        let governing = s
            .spec
            .as_ref()
            .and_then(|s| s.service_name.clone())
            .unwrap_or_default();
        let key = key.clone();
        f.later(move |ix, err| {
            if !ix.headless.contains(&governing) {
                err(
                    format!("{key}.spec.serviceName"),
                    format!(
                        "{key} is governed by Service `{governing}`, which is not a headless Service of the manifests"
                    ),
                    "render the cluster's headless Service (clusterIP: None) with it",
                );
            }
        });
    }
    let sel = labels_of(selector);
    if sel.is_empty() || !sel.iter().all(|(k, v)| tl.get(k) == Some(v)) {
        f.now(
            format!("{key}.spec.selector"),
            format!("{key}'s selector {sel:?} does not match its pod template labels {tl:?}"),
            "select with a subset of the template's labels",
        );
    }
    let pod = template.spec.as_ref();
    // Where the pod spec sits in the object, for error paths.
    let pod_path = if cron {
        format!("{key}.spec.jobTemplate.spec.template.spec")
    } else {
        format!("{key}.spec.template.spec")
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
        if let Some(cm) = &v.config_map {
            let (path, name, key) = (
                format!("{pod_path}.volumes[{}]", v.name),
                cm.name.clone(),
                key.clone(),
            );
            f.later(move |ix, err| {
                if !ix.config_maps.contains_key(&name) {
                    err(
                        path,
                        format!("{key} mounts ConfigMap `{name}`, which is not in the manifests"),
                        "render the ConfigMap with the workload",
                    );
                }
            });
        }
        if let Some(pvc) = &v.persistent_volume_claim {
            let (path, name, key) = (
                format!("{pod_path}.volumes[{}]", v.name),
                pvc.claim_name.clone(),
                key.clone(),
            );
            f.later(move |ix, err| {
                if !ix.claims.contains(&name) {
                    err(
                        path,
                        format!(
                            "{key} claims PersistentVolumeClaim `{name}`, which is not in the manifests"
                        ),
                        "render the claim with the workload",
                    );
                }
            });
        }
    }
    if let Some(account) = pod.and_then(|p| p.service_account_name.clone()) {
        let (path, key) = (format!("{pod_path}.serviceAccountName"), key.clone());
        f.later(move |ix, err| {
            if !ix.service_accounts.contains(&account) {
                err(
                    path,
                    format!(
                        "{key} runs as ServiceAccount `{account}`, which is not in the manifests"
                    ),
                    "render the service's ServiceAccount with its workload",
                );
            }
        });
    }
    let all = containers(template)
        .iter()
        .map(|c| ("containers", c))
        .chain(
            init_containers(template)
                .iter()
                .map(|c| ("initContainers", c)),
        );
    for (slot, c) in all {
        let cpath = format!("{pod_path}.{slot}[{}]", c.name);
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
                && !has_port(&ports, port)
            {
                f.now(
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
                f.now(
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
            let path = format!("{cpath}.env[{}]", e.name);
            if let Some(r) = &from.config_map_key_ref {
                let (path, var, name, cm_key) =
                    (path.clone(), e.name.clone(), r.name.clone(), r.key.clone());
                f.later(move |ix, err| match ix.config_maps.get(&name) {
                    None => err(
                        path,
                        format!("`{var}` reads ConfigMap `{name}`, which is not in the manifests"),
                        "render the ConfigMap, or read the value elsewhere",
                    ),
                    Some(keys) if !keys.contains(&cm_key) => err(
                        path,
                        format!(
                            "`{var}` reads key `{cm_key}` of ConfigMap `{name}`, which has no such key"
                        ),
                        "add the key to the ConfigMap",
                    ),
                    Some(_) => {}
                });
            }
            if let Some(r) = &from.secret_key_ref {
                let (var, name, secret_key) = (e.name.clone(), r.name.clone(), r.key.clone());
                f.later(move |ix, err| {
                    if !ix.secret_has(&name, &secret_key) {
                        err(
                            path,
                            format!(
                                "`{var}` reads key `{secret_key}` of Secret `{name}`, which the stack does not declare"
                            ),
                            "reference secrets through `SecretRef` so they are declared and documented",
                        );
                    }
                });
            }
        }
    }
}
