//! Cross-reference checks on rendered objects: defence in depth behind model validation.
//! Every name one object uses to find another must resolve, inside the stack's manifests.
//!
//! The check runs in two steps, so a large stack need not keep all of its objects alive at
//! once: [`facts`] reads one file's objects into [`Facts`] — what other objects may refer to
//! (pod labels and ports, Services, ConfigMap keys, claims) and the checks of the file's own
//! references, each holding only the names, labels and ports it needs — and [`resolve`] runs
//! those checks, in object order, against the facts of every file. [`cross_check`] does both
//! for a whole [`Manifests`].

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{File, Manifests, Object};
use crate::model::SecretRef;
use crate::validate::{Error, ErrorKind};

type Labels = BTreeMap<String, String>;

/// A port: its name and number.
type Port = (Option<String>, i32);

/// Reports one broken reference: path below `<stack>.k8s.`, message, hint.
type Report<'r> = dyn FnMut(String, String, &'static str) + 'r;

/// One check of an object's references, run by [`resolve`] once every file's facts are in.
type Check = Box<dyn FnOnce(&Index<'_>, &mut Report<'_>) + Send>;

/// Pods that selectors may match: a workload's or CronJob's template, a Helm release's pods.
struct Pod {
    /// `Deployment/x`, `CronJob/x`, `HelmRelease/<i>`.
    key: String,
    labels: Labels,
    /// Container ports.
    ports: Vec<Port>,
    /// Fewest pods there are: replicas (an autoscaler's minimum, when one scales a
    /// workload), 0 for a CronJob, 1 for a Helm release.
    floor: i32,
    /// The floor is a workload's replicas, which an autoscaler's minimum replaces.
    scalable: bool,
}

/// What the cross-check keeps of one file's objects (see the module docs).
#[derive(Default)]
pub(crate) struct Facts {
    /// `Kind/name` of every object, in order.
    keys: Vec<String>,
    pods: Vec<Pod>,
    /// Autoscaler target (`Deployment/x`) → its minimum replicas.
    autoscaled: Vec<(String, i32)>,
    /// ConfigMap name → its keys.
    config_maps: Vec<(String, Vec<String>)>,
    claims: Vec<String>,
    /// Service name, its ports, its labels, whether it is headless.
    services: Vec<(String, Vec<Port>, Option<Labels>, bool)>,
    checks: Vec<Check>,
}

impl Facts {
    /// Records a problem found in the object itself (it needs no other object).
    fn now(&mut self, path: String, message: String, hint: &'static str) {
        self.checks
            .push(Box::new(move |_: &Index<'_>, err: &mut Report<'_>| {
                err(path, message, hint)
            }));
    }

    /// Records a check that needs the other objects.
    fn later(&mut self, check: impl FnOnce(&Index<'_>, &mut Report<'_>) + Send + 'static) {
        self.checks.push(Box::new(check));
    }
}

/// The facts of every file, indexed for the checks.
struct Index<'a> {
    pods: Vec<Pod>,
    /// Label key → value → pods with that label (selector lookups stay logarithmic, so
    /// stacks with thousands of services are checked in linear time overall).
    by_label: BTreeMap<String, BTreeMap<String, Vec<usize>>>,
    workloads: BTreeSet<String>,
    config_maps: BTreeMap<String, Vec<String>>,
    claims: BTreeSet<String>,
    headless: BTreeSet<String>,
    services: BTreeMap<String, Vec<Port>>,
    service_labels: Vec<(String, Option<Labels>)>,
    secrets: &'a BTreeMap<String, Vec<SecretRef>>,
}

impl Index<'_> {
    /// Pods whose labels include every label of `sel` (none for an empty selector).
    fn matching(&self, sel: &Labels) -> Vec<&Pod> {
        let Some((k, v)) = sel.iter().next() else {
            return Vec::new();
        };
        self.by_label
            .get(k)
            .and_then(|values| values.get(v))
            .into_iter()
            .flatten()
            .map(|&i| &self.pods[i])
            .filter(|p| sel.iter().all(|(k, v)| p.labels.get(k) == Some(v)))
            .collect()
    }
}

/// Does `sel` (labels and DoesNotExist/Exists expressions) select an object with `labels`?
fn selects(sel: &LabelSelector, labels: Option<&Labels>) -> bool {
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

/// The container ports of a pod template.
fn container_ports(t: &PodTemplateSpec) -> Vec<Port> {
    containers(t)
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .map(|p| (p.name.clone(), p.container_port))
        .collect()
}

fn has_port(ports: &[Port], port: &IntOrString) -> bool {
    ports.iter().any(|(name, number)| match port {
        IntOrString::String(n) => name.as_deref() == Some(n.as_str()),
        IntOrString::Int(n) => number == n,
    })
}

fn port_text(p: &IntOrString) -> String {
    match p {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

fn labels_of(sel: &LabelSelector) -> Labels {
    sel.match_labels.clone().unwrap_or_default()
}

/// Checks every reference between the objects of `m`; `stack` prefixes error paths.
pub fn cross_check(stack: &str, m: &Manifests) -> Vec<Error> {
    let files = m.files.iter().map(facts).collect();
    resolve(stack, files, &m.secrets, &m.external_pods)
}

/// The facts of one file's objects: see the module docs.
pub(crate) fn facts(file: &File) -> Facts {
    let mut f = Facts::default();
    for o in &file.objects {
        object_facts(o, &mut f);
    }
    f
}

/// Runs the checks of `files` (in order) against all of their facts. `secrets` are the
/// Secrets the stack declares; `external_pods` the pod labels of its Helm releases, which
/// NetworkPolicies may select.
pub(crate) fn resolve(
    stack: &str,
    files: Vec<Facts>,
    secrets: &BTreeMap<String, Vec<SecretRef>>,
    external_pods: &[Labels],
) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut err = |path: String, message: String, hint: &'static str| {
        errors.push(Error::new(
            ErrorKind::BrokenReference,
            format!("{stack}.k8s.{path}"),
            message,
            hint,
        ));
    };
    // Objects of one kind and name would replace each other on apply.
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    for key in files.iter().flat_map(|f| f.keys.iter()) {
        if !keys.insert(key) {
            err(
                key.clone(),
                format!("{key} is rendered twice; applying the manifests would keep only one"),
                "rename the service, file or volume the second one comes from",
            );
        }
    }
    drop(keys);
    let autoscaled: BTreeMap<String, i32> = files
        .iter()
        .flat_map(|f| f.autoscaled.iter().cloned())
        .collect();
    let mut index = Index {
        // Pods that Helm releases run: selectable by NetworkPolicies, not checked further.
        pods: external_pods
            .iter()
            .enumerate()
            .map(|(i, labels)| Pod {
                key: format!("HelmRelease/{i}"),
                labels: labels.clone(),
                ports: Vec::new(),
                floor: 1,
                scalable: false,
            })
            .collect(),
        by_label: BTreeMap::new(),
        workloads: BTreeSet::new(),
        config_maps: BTreeMap::new(),
        claims: BTreeSet::new(),
        headless: BTreeSet::new(),
        services: BTreeMap::new(),
        service_labels: Vec::new(),
        secrets,
    };
    let mut checks = Vec::new();
    for f in files {
        index.pods.extend(f.pods);
        index.config_maps.extend(f.config_maps);
        index.claims.extend(f.claims);
        for (name, ports, labels, headless) in f.services {
            if headless {
                index.headless.insert(name.clone());
            }
            index.services.insert(name.clone(), ports);
            index.service_labels.push((name, labels));
        }
        checks.extend(f.checks);
    }
    for (i, p) in index.pods.iter_mut().enumerate() {
        if p.scalable
            && let Some(&min) = autoscaled.get(&p.key)
        {
            p.floor = min;
        }
        for (k, v) in &p.labels {
            index
                .by_label
                .entry(k.clone())
                .or_default()
                .entry(v.clone())
                .or_default()
                .push(i);
        }
        index.workloads.insert(p.key.clone());
    }
    for check in checks {
        check(&index, &mut err);
    }
    errors
}

/// Adds what `o` offers other objects to `f`, and the checks of its own references.
fn object_facts(o: &Object, f: &mut Facts) {
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
            // (error path, Service, port number, port name) of every backend.
            let mut backends: Vec<(String, String, Option<i32>, Option<String>)> = Vec::new();
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
            f.later(move |ix, err| {
                for (ppath, name, number, port_name) in backends {
                    match ix.services.get(&name) {
                        None => err(
                            ppath,
                            format!(
                                "{key} routes to Service `{name}`, which is not in the manifests"
                            ),
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
                                    format!(
                                        "{key} routes to a port Service `{name}` does not expose"
                                    ),
                                    "route to one of the Service's ports",
                                );
                            }
                        }
                    }
                }
            });
        }
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
        _ => {}
    }
}

/// The facts and checks of a Deployment, StatefulSet or CronJob.
fn workload_facts(o: &Object, key: String, f: &mut Facts) {
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
    for c in containers(template) {
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
                    let declared = ix
                        .secrets
                        .get(&name)
                        .is_some_and(|keys| keys.iter().any(|k| k.key() == secret_key));
                    if !declared {
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
