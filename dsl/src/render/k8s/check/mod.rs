//! Cross-reference checks on rendered objects: defence in depth behind model validation.
//! Every name one object uses to find another must resolve, inside the stack's manifests.
//!
//! The check runs in two steps, so a large stack need not keep all of its objects alive at
//! once: [`facts`] reads one file's objects into [`Facts`] — what other objects may refer to
//! (pod labels and ports, Services, ConfigMap keys, claims, service accounts) and the checks of the file's own
//! references, each holding only the names, labels and ports it needs — and [`resolve`] runs
//! those checks, in object order, against the facts of every file. [`cross_check`] does both
//! for a whole [`Manifests`].

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

mod custom;
mod objects;

use super::{File, Manifests};
use crate::model::SecretRef;
use crate::validate::{Error, ErrorKind};
use objects::object_facts;

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
    service_accounts: Vec<String>,
    /// Service name, its ports, its labels, whether it is headless.
    services: Vec<(String, Vec<Port>, Option<Labels>, bool)>,
    /// Secrets an ExternalSecret writes: name → keys.
    synced: Vec<(String, Vec<String>)>,
    /// Gateways: name → listener names.
    gateways: Vec<(String, Vec<String>)>,
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
    service_accounts: BTreeSet<String>,
    headless: BTreeSet<String>,
    services: BTreeMap<String, Vec<Port>>,
    service_labels: Vec<(String, Option<Labels>)>,
    /// Secrets created outside the manifests (none when a store syncs them).
    secrets: &'a BTreeMap<String, Vec<SecretRef>>,
    /// Secrets ExternalSecrets in the manifests write: name → keys.
    synced: BTreeMap<String, Vec<String>>,
    /// `Kind/name` of every object.
    keys: BTreeSet<String>,
    /// Gateways in the manifests: name → listener names.
    gateways: BTreeMap<String, Vec<String>>,
}

impl Index<'_> {
    /// Does the Secret `name` have `key`: created outside the manifests, or written by an
    /// ExternalSecret among them?
    fn secret_has(&self, name: &str, key: &str) -> bool {
        self.secrets
            .get(name)
            .is_some_and(|keys| keys.iter().any(|k| k.key() == key))
            || self
                .synced
                .get(name)
                .is_some_and(|keys| keys.iter().any(|k| k == key))
    }
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

/// The init containers (native sidecars included) of a pod template.
fn init_containers(t: &PodTemplateSpec) -> &[Container] {
    t.spec
        .as_ref()
        .and_then(|s| s.init_containers.as_deref())
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
    resolve(stack, files, &m.secrets, m.synced, &m.external_pods)
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
/// Secrets the stack declares: created outside the manifests, unless `synced` (a store
/// syncs them, and they must come from ExternalSecrets among the objects);
/// `external_pods` the pod labels of its Helm releases, which NetworkPolicies may select.
pub(crate) fn resolve(
    stack: &str,
    files: Vec<Facts>,
    secrets: &BTreeMap<String, Vec<SecretRef>>,
    synced: bool,
    external_pods: &[Labels],
) -> Vec<Error> {
    let none = BTreeMap::new();
    let secrets = if synced { &none } else { secrets };
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
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for key in files.iter().flat_map(|f| f.keys.iter()) {
        if !keys.insert(key.clone()) {
            err(
                key.clone(),
                format!("{key} is rendered twice; applying the manifests would keep only one"),
                "rename the service, file or volume the second one comes from",
            );
        }
    }
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
        service_accounts: BTreeSet::new(),
        headless: BTreeSet::new(),
        services: BTreeMap::new(),
        service_labels: Vec::new(),
        secrets,
        synced: BTreeMap::new(),
        keys,
        gateways: BTreeMap::new(),
    };
    let mut checks = Vec::new();
    for f in files {
        index.pods.extend(f.pods);
        index.config_maps.extend(f.config_maps);
        index.claims.extend(f.claims);
        index.synced.extend(f.synced);
        index.gateways.extend(f.gateways);
        index.service_accounts.extend(f.service_accounts);
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
