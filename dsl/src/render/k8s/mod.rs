//! Kubernetes renderer: typed objects from `k8s-openapi` (the only module that builds them;
//! the builder's escape hatches name its types for patches) and typed custom resources
//! ([`crd`]), one file per object group under `out/<stack>/<env>/k8s/`, in apply order, with
//! a `kustomization.yaml` listing them (unless
//! [`KubernetesOptions::without_kustomization`](crate::model::KubernetesOptions::without_kustomization))
//! and a `README.md`: the Secrets the cluster owner creates (or the store they are synced
//! from), the routes' prerequisites and what the route API cannot express.
//!
//! | file | objects |
//! |---|---|
//! | `00-namespace.yaml` | Namespace (Pod Security Admission labels when hardened) |
//! | `10-external-secrets.yaml` | ExternalSecrets, one per referenced Secret, when the stack names a store (custom resources) |
//! | `20-<service>.yaml` | ServiceAccount, ConfigMaps, PersistentVolumeClaims, Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget of one service |
//! | `25-backing-services.yaml` | the custom resources of the backing services an operator runs (CloudNativePG `Cluster`, Strimzi `Kafka`, …; applied after Terraform installed the operators) |
//! | `30-network-policies.yaml` | default deny, then one policy per service derived from its dependencies and routes |
//! | `40-gateway.yaml` | the Gateway API routes: Gateway, HTTPRoutes, GRPCRoutes, Envoy Gateway policies (custom resources; see `gateway`) |
//! | `40-ingress.yaml` | or, when the stack chooses them, Ingresses (cert-manager TLS; ingress-nginx annotations only for ingress-nginx) |
//! | `50-monitoring.yaml` | Prometheus Operator ServiceMonitors and PrometheusRules (custom resources) |
//! | `60-backups.yaml` | backup PersistentVolumeClaims, CronJobs and their NetworkPolicies |
//! | `80-extra.yaml` | objects the stack adds with [`Stack::kubernetes_object`](crate::model::Stack::kubernetes_object) |
//!
//! Beside `k8s/`, `gitops/` holds the Argo CD and Flux objects that deploy it, when the
//! stack asks for them (see `gitops`).
//!
//! A service's migrations run in an init container of its pods (why not a Job: see
//! [`Migration`](crate::model::Migration)).
//!
//! Objects exist only when the model gives them a reason to: a Service for a service with
//! ports, an HPA for `autoscale`, a PDB for a replicated service, a ConfigMap for
//! configuration values or generated files. No Secret object is ever emitted: Secrets are
//! created by the cluster owner, or by the External Secrets Operator from an
//! `ExternalSecret`.

mod backup;
mod check;
pub mod crd;
mod diff;
mod external_secrets;
mod extra;
mod gaps;
mod gateway;
mod gitops;
mod ingress;
mod monitoring;
mod network;
mod operated;
mod options_rules;
mod patch;
mod readme;
mod rules;
mod workload;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolumeClaim, Service as KService, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};

use crd::{
    BackendTrafficPolicySpec, ClientTrafficPolicySpec, ExternalSecretSpec, GatewaySpec, Resource,
    RouteSpec,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::Serialize;

pub use check::cross_check;
pub use diff::{ObjectDiff, diff_envs};
pub use extra::CustomObject;
pub use monitoring::{
    PrometheusRule, PrometheusRuleSpec, ScrapeEndpoint, ServiceMonitor, ServiceMonitorSpec,
};
pub(crate) use patch::unmatched as unmatched_patches;
pub(crate) use workload::config_map_name;

use crate::diagnostics::Errors;
use crate::model::{RouteApi, SecretRef, Target};
use crate::plan::Plan;
use crate::render::{Backend, Document, Environments, hash_header, yaml};

/// The Kubernetes backend.
#[derive(Clone, Copy, Debug)]
pub struct Kubernetes;

impl Backend for Kubernetes {
    fn target(&self) -> Target {
        Target::Kubernetes
    }

    fn check(&self, plan: &Plan<'_>) -> Errors {
        let mut errors = rules::check(plan);
        errors.extend(patch::check(plan));
        errors
    }

    fn render(&self, plan: &Plan<'_>, _: &Environments<'_, '_>) -> Result<Vec<Document>, Errors> {
        render_checked(plan).map_err(Errors::from_iter)
    }
}

/// One Kubernetes object.
///
/// Workloads (with their pod templates) are boxed: a Deployment is three times the size of
/// any other object, and an unboxed variant would make every ConfigMap, Service and HPA of
/// a large stack as big.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum Object {
    Namespace(Namespace),
    ConfigMap(ConfigMap),
    PersistentVolumeClaim(PersistentVolumeClaim),
    ServiceAccount(ServiceAccount),
    Deployment(Box<Deployment>),
    StatefulSet(Box<StatefulSet>),
    Service(KService),
    ServiceMonitor(ServiceMonitor),
    PrometheusRule(PrometheusRule),
    CronJob(Box<k8s_openapi::api::batch::v1::CronJob>),
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    PodDisruptionBudget(PodDisruptionBudget),
    NetworkPolicy(NetworkPolicy),
    Ingress(Ingress),
    ExternalSecret(Resource<ExternalSecretSpec>),
    Gateway(Resource<GatewaySpec>),
    HttpRoute(Resource<RouteSpec>),
    GrpcRoute(Resource<RouteSpec>),
    BackendTrafficPolicy(Resource<BackendTrafficPolicySpec>),
    ClientTrafficPolicy(Resource<ClientTrafficPolicySpec>),
    /// An object k8s-openapi has no type for (a custom resource the stack adds).
    Custom(Box<CustomObject>),
}

impl Object {
    /// The object's kind, e.g. `Deployment`.
    pub fn kind(&self) -> &str {
        match self {
            Object::Namespace(_) => "Namespace",
            Object::ConfigMap(_) => "ConfigMap",
            Object::PersistentVolumeClaim(_) => "PersistentVolumeClaim",
            Object::ServiceAccount(_) => "ServiceAccount",
            Object::Deployment(_) => "Deployment",
            Object::StatefulSet(_) => "StatefulSet",
            Object::ServiceMonitor(_) => "ServiceMonitor",
            Object::PrometheusRule(_) => "PrometheusRule",
            Object::CronJob(_) => "CronJob",
            Object::Service(_) => "Service",
            Object::HorizontalPodAutoscaler(_) => "HorizontalPodAutoscaler",
            Object::PodDisruptionBudget(_) => "PodDisruptionBudget",
            Object::NetworkPolicy(_) => "NetworkPolicy",
            Object::Ingress(_) => "Ingress",
            Object::ExternalSecret(_) => "ExternalSecret",
            Object::Gateway(_) => "Gateway",
            Object::HttpRoute(_) => "HTTPRoute",
            Object::GrpcRoute(_) => "GRPCRoute",
            Object::BackendTrafficPolicy(_) => "BackendTrafficPolicy",
            Object::ClientTrafficPolicy(_) => "ClientTrafficPolicy",
            Object::Custom(o) => &o.kind,
        }
    }

    /// The object's metadata.
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Object::Namespace(o) => &o.metadata,
            Object::ConfigMap(o) => &o.metadata,
            Object::PersistentVolumeClaim(o) => &o.metadata,
            Object::ServiceAccount(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::StatefulSet(o) => &o.metadata,
            Object::ServiceMonitor(o) => &o.metadata,
            Object::PrometheusRule(o) => &o.metadata,
            Object::CronJob(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::HorizontalPodAutoscaler(o) => &o.metadata,
            Object::PodDisruptionBudget(o) => &o.metadata,
            Object::NetworkPolicy(o) => &o.metadata,
            Object::Ingress(o) => &o.metadata,
            Object::ExternalSecret(o) => &o.metadata,
            Object::Gateway(o) => &o.metadata,
            Object::HttpRoute(o) | Object::GrpcRoute(o) => &o.metadata,
            Object::BackendTrafficPolicy(o) => &o.metadata,
            Object::ClientTrafficPolicy(o) => &o.metadata,
            Object::Custom(o) => &o.metadata,
        }
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or_default()
    }

    /// `Kind/name`, the key objects are reported and compared by.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }

    /// For a workload (Deployment, StatefulSet): its selector, pod template and replicas.
    pub fn workload(
        &self,
    ) -> Option<(
        &LabelSelector,
        &k8s_openapi::api::core::v1::PodTemplateSpec,
        Option<i32>,
    )> {
        match self {
            Object::Deployment(d) => d
                .spec
                .as_ref()
                .map(|s| (&s.selector, &s.template, s.replicas)),
            Object::StatefulSet(d) => d
                .spec
                .as_ref()
                .map(|s| (&s.selector, &s.template, s.replicas)),
            _ => None,
        }
    }

    /// The object as JSON data (for semantic comparison).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl Serialize for Object {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Object::Namespace(o) => o.serialize(s),
            Object::ConfigMap(o) => o.serialize(s),
            Object::PersistentVolumeClaim(o) => o.serialize(s),
            Object::ServiceAccount(o) => o.serialize(s),
            Object::Deployment(o) => o.serialize(s),
            Object::StatefulSet(o) => o.serialize(s),
            Object::ServiceMonitor(o) => o.serialize(s),
            Object::PrometheusRule(o) => o.serialize(s),
            Object::CronJob(o) => o.serialize(s),
            Object::Service(o) => o.serialize(s),
            Object::HorizontalPodAutoscaler(o) => o.serialize(s),
            Object::PodDisruptionBudget(o) => o.serialize(s),
            Object::NetworkPolicy(o) => o.serialize(s),
            Object::Ingress(o) => o.serialize(s),
            Object::ExternalSecret(o) => o.serialize(s),
            Object::Gateway(o) => o.serialize(s),
            Object::HttpRoute(o) | Object::GrpcRoute(o) => o.serialize(s),
            Object::BackendTrafficPolicy(o) => o.serialize(s),
            Object::ClientTrafficPolicy(o) => o.serialize(s),
            Object::Custom(o) => o.serialize(s),
        }
    }
}

/// A manifest file: a name inside `k8s/` and its objects, in apply order.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct File {
    /// File name, e.g. `20-api.yaml`.
    pub name: String,
    /// Objects in the file.
    pub objects: Vec<Object>,
}

/// Every Kubernetes object of a stack, grouped into files in apply order.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Manifests {
    /// The stack's namespace.
    pub namespace: String,
    /// Files in apply order.
    pub files: Vec<File>,
    /// Secrets the workloads reference (name → keys), for the checks and the README.
    pub secrets: BTreeMap<String, Vec<SecretRef>>,
    /// The Secrets come from ExternalSecrets among these objects (the stack names a
    /// store), not from the cluster owner.
    pub synced: bool,
    /// Pod labels of workloads installed outside these manifests (Helm releases) that
    /// NetworkPolicies may select.
    pub external_pods: Vec<BTreeMap<String, String>>,
}

impl Manifests {
    /// Every object, in apply order.
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.files.iter().flat_map(|f| f.objects.iter())
    }

    /// Every object mutably (tests use this to break references on purpose; feature
    /// `testing`).
    #[cfg(feature = "testing")]
    pub fn objects_mut(&mut self) -> impl Iterator<Item = &mut Object> {
        self.files.iter_mut().flat_map(|f| f.objects.iter_mut())
    }
}

pub(crate) const NAME: &str = "app.kubernetes.io/name";
pub(crate) const PART_OF: &str = "app.kubernetes.io/part-of";

/// Labels of every object of a service: `app.kubernetes.io/name` and `…/part-of`.
pub(crate) fn labels(plan: &Plan<'_>, service: &str) -> BTreeMap<String, String> {
    let stack = plan.stack();
    BTreeMap::from([
        (NAME.to_owned(), service.to_owned()),
        (PART_OF.to_owned(), stack.name.clone()),
    ])
}

/// The stable label subset that selects a service's pods.
pub(crate) fn selector_labels(service: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(NAME.to_owned(), service.to_owned())])
}

pub(crate) fn selector(service: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(selector_labels(service)),
        ..Default::default()
    }
}

/// Metadata of a ServiceMonitor or PrometheusRule: [`meta`] plus the labels the cluster's
/// Prometheus selects them by.
pub(crate) fn monitoring_meta(
    plan: &Plan<'_>,
    name: impl Into<String>,
    service: &str,
) -> ObjectMeta {
    let stack = plan.stack();
    let mut m = meta(plan, name, service);
    if let Some(labels) = &mut m.labels {
        labels.extend(
            stack
                .kubernetes
                .prometheus_selector
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
    }
    m
}

pub(crate) fn meta(plan: &Plan<'_>, name: impl Into<String>, service: &str) -> ObjectMeta {
    let stack = plan.stack();
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(stack.namespace()),
        labels: Some(labels(plan, service)),
        ..Default::default()
    }
}

/// Builds every object of a (validated) stack.
pub fn manifests(plan: &Plan<'_>) -> Manifests {
    let stack = plan.stack();
    Manifests {
        namespace: stack.namespace(),
        files: parts(plan)
            .into_iter()
            .filter_map(|p| build(plan, p))
            .collect(),
        secrets: secrets(plan),
        synced: plan.stack().kubernetes.secret_store.is_some(),
        external_pods: external_pods(plan),
    }
}

/// Builds, cross-checks and serializes the Kubernetes folder of a (validated) stack — what
/// [`manifests`], [`cross_check`] and [`render_manifests`] do — one file at a time, on every
/// core: a file's objects are dropped once serialized, and the cross-check runs on what
/// [`cross_check`] keeps of them (names, labels, ports). Memory then grows with the output
/// text, not with the object trees (about eight times its size: 22 KB against 2.6 KB per
/// service of the benchmark workload). Any broken reference is returned instead of the
/// documents.
///
/// ```
/// use stackdsl::prelude::*;
///
/// let mut stack = Stack::new("shop", Env::Prod);
/// stack.targets([Target::Kubernetes]);
/// stack.add(
///     Service::new("api")
///         .image(Image::new("ghcr.io/acme/api").tag("1.0.0"))
///         .resources(Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(256))),
/// );
/// let plan = stackdsl::validate(&stack).expect("valid");
/// let docs = stackdsl::render::k8s::render_checked(&plan).expect("references resolve");
/// assert!(docs.iter().any(|d| d.path == "shop/prod/k8s/20-api.yaml"));
/// ```
pub fn render_checked(plan: &Plan<'_>) -> Result<Vec<Document>, Vec<crate::validate::Error>> {
    let stack = plan.stack();
    let dir = format!("{}/k8s", stack.out_dir());
    let header = hash_header(stack);
    let built = crate::render::par_map(&parts(plan), |&part| {
        let file = build(plan, part)?;
        let facts = check::facts(&file);
        let text = serialize(&header, &file);
        Some((file.name, text, facts))
    });
    let mut names = Vec::new();
    let mut docs = Vec::new();
    let mut facts = Vec::new();
    for (name, text, f) in built.into_iter().flatten() {
        docs.push(Document::new(format!("{dir}/{name}"), text));
        names.push(name);
        facts.push(f);
    }
    let secrets = secrets(plan);
    let synced = stack.kubernetes.secret_store.is_some();
    let mut errors = check::resolve(&stack.name, facts, &secrets, synced, &external_pods(plan));
    if !errors.is_empty() {
        patch::blame(plan, &mut errors);
        return Err(errors);
    }
    docs.extend(folder_docs(plan, &names, &stack.namespace(), &secrets));
    Ok(docs)
}

/// A file of the Kubernetes folder, before its objects are built.
#[derive(Clone, Copy)]
enum Part<'a> {
    Namespace,
    ExternalSecrets,
    /// `20-<service>.yaml`: the service's core objects.
    Service(&'a crate::model::Service),
    /// `25-backing-services.yaml`: operators' custom resources.
    Backing,
    NetworkPolicies,
    Routes,
    Monitoring,
    Backups,
    /// `80-extra.yaml`: the objects the stack adds.
    Extra,
}

/// The files of a stack in apply order, those that may turn out empty included.
fn parts<'s>(plan: &Plan<'s>) -> Vec<Part<'s>> {
    let stack = plan.stack();
    let mut parts = vec![Part::Namespace, Part::ExternalSecrets];
    parts.extend(plan.manifests().map(Part::Service));
    parts.push(Part::Backing);
    if stack.kubernetes.hardened {
        parts.push(Part::NetworkPolicies);
    }
    parts.extend([Part::Routes, Part::Monitoring, Part::Backups, Part::Extra]);
    parts
}

/// Builds the objects of one file; `None` for an optional file without objects.
fn build(plan: &Plan<'_>, part: Part<'_>) -> Option<File> {
    build_hits(plan, part).0
}

/// [`build`], and which of the stack's patches matched an object of the file. The
/// service's pod patches and then the stack's patches run on the objects we build; the
/// objects the stack adds join the file after them, unpatched.
fn build_hits(plan: &Plan<'_>, part: Part<'_>) -> (Option<File>, Vec<bool>) {
    let (name, mut objects) = match part {
        Part::Namespace => (
            "00-namespace.yaml".to_owned(),
            vec![Object::Namespace(namespace(plan))],
        ),
        Part::Service(svc) => (
            format!("20-{}.yaml", svc.name),
            workload::objects(plan, svc),
        ),
        // Custom resources need their operators' CRDs: a file of their own, which
        // kubernetes-validate and Terraform-less clusters can tell apart.
        Part::Backing => (
            "25-backing-services.yaml".to_owned(),
            operated::objects(plan),
        ),
        Part::NetworkPolicies => (
            "30-network-policies.yaml".to_owned(),
            network::policies(plan),
        ),
        // Secrets must exist before the pods that read them start.
        Part::ExternalSecrets => (
            "10-external-secrets.yaml".to_owned(),
            external_secrets::objects(plan, &secrets(plan)),
        ),
        Part::Routes => match &plan.stack().kubernetes.routes {
            RouteApi::Gateway(gw) => ("40-gateway.yaml".to_owned(), gateway::objects(plan, gw)),
            RouteApi::Ingress(c) => ("40-ingress.yaml".to_owned(), ingress::ingresses(plan, c)),
        },
        // Monitoring objects are custom resources (Prometheus Operator): kept in a file of
        // their own, applied last, so the core objects never depend on the operator.
        Part::Monitoring => (
            "50-monitoring.yaml".to_owned(),
            plan.manifests()
                .flat_map(|svc| {
                    workload::service_monitor(plan, svc)
                        .into_iter()
                        .chain(monitoring::prometheus_rule(plan, svc))
                })
                .collect(),
        ),
        Part::Backups => ("60-backups.yaml".to_owned(), backup::objects(plan)),
        Part::Extra => ("80-extra.yaml".to_owned(), Vec::new()),
    };
    if let Part::Service(svc) = part {
        patch::pods(svc, &mut objects);
    }
    let hits = patch::apply(plan, &mut objects);
    match part {
        Part::Service(svc) => objects.extend(patch::extras(plan, &svc.hatches.kubernetes_objects)),
        Part::Extra => objects = patch::extras(plan, &plan.stack().hatches.kubernetes_objects),
        _ => {}
    }
    let optional = !matches!(
        part,
        Part::Namespace | Part::Service(_) | Part::NetworkPolicies
    );
    let file = (!optional || !objects.is_empty()).then_some(File { name, objects });
    (file, hits)
}

/// The Secrets the workloads reference, then those only a backup job reads (a Helm
/// release's password): name → keys.
fn secrets(plan: &Plan<'_>) -> BTreeMap<String, Vec<SecretRef>> {
    let mut secrets: BTreeMap<String, Vec<SecretRef>> = BTreeMap::new();
    for u in plan.secrets(Target::Kubernetes) {
        secrets
            .entry(u.secret.name().to_owned())
            .or_default()
            .push(u.secret.clone());
    }
    secrets
}

/// Pod labels of the backing services a Helm release installs.
fn external_pods(plan: &Plan<'_>) -> Vec<BTreeMap<String, String>> {
    plan.helm_installed()
        .filter_map(|s| s.backing.as_ref().map(|b| b.pod_labels.clone()))
        .collect()
}

fn namespace(plan: &Plan<'_>) -> Namespace {
    let stack = plan.stack();
    let mut labels = BTreeMap::from([(PART_OF.to_owned(), stack.name.clone())]);
    if stack.kubernetes.hardened {
        // Charts installed by Helm set their own security contexts, which we cannot check
        // here: their namespace enforces "baseline" and audits/warns on "restricted".
        let restricted = plan.manifests().all(|s| {
            s.security.is_restricted() && s.containers().all(|c| c.security.is_restricted())
        }) && plan.helm_installed().next().is_none();
        let level = if restricted { "restricted" } else { "baseline" };
        for mode in ["enforce", "audit", "warn"] {
            let value = if mode == "enforce" {
                level
            } else {
                "restricted"
            };
            labels.insert(
                format!("pod-security.kubernetes.io/{mode}"),
                value.to_owned(),
            );
        }
    }
    Namespace {
        metadata: ObjectMeta {
            name: Some(stack.namespace()),
            labels: Some(labels),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Renders `k8s/*.yaml`, `k8s/kustomization.yaml` and `k8s/README.md` (unchecked: see
/// [`render_checked`]).
pub fn render(plan: &Plan<'_>) -> Vec<Document> {
    render_manifests(plan, &manifests(plan))
}

/// Serializes manifests into files.
pub fn render_manifests(plan: &Plan<'_>, m: &Manifests) -> Vec<Document> {
    let stack = plan.stack();
    let dir = format!("{}/k8s", stack.out_dir());
    let header = hash_header(stack);
    let file = |f: &File| Document::new(format!("{dir}/{}", f.name), serialize(&header, f));
    // Serialization dominates large stacks: the files are split over the cores.
    let mut docs: Vec<Document> = crate::render::par_map(&m.files, file);
    let names: Vec<String> = m.files.iter().map(|f| f.name.clone()).collect();
    docs.extend(folder_docs(plan, &names, &m.namespace, &m.secrets));
    docs
}

/// One file's text: the marker header, then each object as a YAML document.
fn serialize(header: &str, f: &File) -> String {
    thread_local! {
        // One growing buffer per thread: the text is then copied out at its exact size,
        // instead of growing (and over-allocating) a new string for every file.
        static BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    BUFFER.with_borrow_mut(|text| {
        text.clear();
        text.push_str(header);
        for o in &f.objects {
            text.push_str("---\n");
            if matches!(o, Object::ExternalSecret(_)) {
                text.push_str(&external_secrets::allowlist_key_names(&yaml::to_string(o)));
            } else {
                yaml::write(text, o);
            }
        }
        text.as_str().to_owned()
    })
}

/// `kustomization.yaml` (listing `files`) and `README.md` of the folder.
fn folder_docs(
    plan: &Plan<'_>,
    files: &[String],
    namespace: &str,
    secrets: &BTreeMap<String, Vec<SecretRef>>,
) -> Vec<Document> {
    let stack = plan.stack();
    let dir = format!("{}/k8s", stack.out_dir());
    let mut docs = Vec::new();
    if stack.kubernetes.kustomization {
        docs.push(Document::new(
            format!("{dir}/kustomization.yaml"),
            kustomization(plan, files),
        ));
    }
    docs.push(Document::new(
        format!("{dir}/README.md"),
        readme::readme(plan, namespace, secrets),
    ));
    docs.extend(gitops::documents(plan));
    docs
}

/// A `kustomization.yaml` listing files.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization<'a> {
    api_version: &'static str,
    kind: &'static str,
    resources: Vec<&'a str>,
}

impl<'a> Kustomization<'a> {
    fn listing<S: AsRef<str>>(files: &'a [S]) -> Self {
        Kustomization {
            api_version: "kustomize.config.k8s.io/v1beta1",
            kind: "Kustomization",
            resources: files.iter().map(AsRef::as_ref).collect(),
        }
    }
}

fn kustomization(plan: &Plan<'_>, files: &[String]) -> String {
    let stack = plan.stack();
    let mut text = hash_header(stack);
    yaml::write(&mut text, &Kustomization::listing(files));
    text
}

/// `n` as the int32 Kubernetes count and duration fields take. Validation bounds every
/// count and duration a stack gives far below `i32::MAX` (`validate/bounds.rs`, the
/// scaling and cluster rules); should one escape, the field saturates instead of wrapping to
/// a negative number, and the API server's own range check names it.
pub(crate) fn int32<T: TryInto<i32>>(n: T) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}
