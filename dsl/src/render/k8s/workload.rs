//! Per-service objects: ConfigMaps, PersistentVolumeClaims, Deployment, Service, HPA, PDB.

mod migration;

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
    RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HPAScalingPolicy, HPAScalingRules, HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
    ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMap, ConfigMapKeySelector, ConfigMapVolumeSource, Container,
    ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, ExecAction, HTTPGetAction,
    Lifecycle, LifecycleHandler, ObjectFieldSelector, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, PodAffinityTerm, PodAntiAffinity,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe as KProbe, ResourceRequirements,
    SeccompProfile, SecretKeySelector, SecurityContext, Service as KService, ServicePort,
    ServiceSpec, SleepAction, TCPSocketAction, TopologySpreadConstraint, Volume, VolumeMount,
    VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Object, labels, meta, selector};
use crate::model::{
    Amount, Cluster, ConfigMapUse, Disruption, Env, EnvValue, Part, PodManagement, Probe,
    ProbeAction, Relaxation, Rollout, Scaling, SecretRef, SeedFormat, Service, Spread, Stack,
    Template, VolumeSource,
};

/// Label that tells a cluster's discovery Service from its client Service.
pub(crate) const COMPONENT: &str = "app.kubernetes.io/component";

/// `Deployment`, or `StatefulSet` for a cluster.
pub(crate) fn workload_kind(svc: &Service) -> &'static str {
    if svc.cluster.is_some() {
        "StatefulSet"
    } else {
        "Deployment"
    }
}

/// Name of the ConfigMap holding a service's configuration values.
pub(crate) fn config_map_name(service: &str) -> String {
    format!("{service}-config")
}

/// The in-cluster host of a service: its name, or a Helm release's Service name.
fn host<'a>(stack: &Stack, name: &'a str) -> Cow<'a, str> {
    if !stack.targets.contains(&crate::model::Target::Terraform) {
        return Cow::Borrowed(name);
    }
    match stack.service(name) {
        Some(svc) => Cow::Owned(stack.k8s_host(svc)),
        None => Cow::Borrowed(name),
    }
}

/// Escapes `$(` so the kubelet does not expand it as a variable reference.
fn escape(s: &str) -> String {
    s.replace("$(", "$$(")
}

/// Resolves a template for Kubernetes: hosts are Service names, ports are Service ports,
/// secrets are `$(VAR)` references to variables defined earlier in the container's env.
pub(crate) fn resolve(stack: &Stack, t: &Template) -> String {
    t.render(|p| match p {
        Part::Text(s) => Cow::Owned(escape(s)),
        Part::Host(s) => host(stack, s.name()),
        Part::Port(e) => Cow::Owned(e.port().client_port().to_string()),
        Part::Secret(s) => Cow::Owned(format!("$({})", s.var())),
    })
}

/// Resolves a template for a file's content (no `$(` escaping: the kubelet does not read it).
fn resolve_file(stack: &Stack, t: &Template) -> String {
    t.render(|p| match p {
        Part::Text(s) => Cow::Borrowed(s.as_str()),
        Part::Host(s) => host(stack, s.name()),
        Part::Port(e) => Cow::Owned(e.port().client_port().to_string()),
        Part::Secret(s) => Cow::Owned(s.var()),
    })
}

fn secret_ref(s: &SecretRef) -> EnvVarSource {
    EnvVarSource {
        secret_key_ref: Some(SecretKeySelector {
            name: s.name().to_owned(),
            key: s.key().to_owned(),
            optional: None,
        }),
        ..Default::default()
    }
}

fn env(stack: &Stack, svc: &Service) -> Vec<EnvVar> {
    let mut out: Vec<EnvVar> = Vec::new();
    // A cluster member learns its own name (its pod's), the seeds and the shared secret.
    if let Some(c) = &svc.cluster {
        out.push(EnvVar {
            name: c.node_name_env.clone(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "metadata.name".to_owned(),
                    api_version: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
        out.push(EnvVar {
            name: c.seeds_env.clone(),
            value: Some(seed_list(stack, svc, c)),
            ..Default::default()
        });
        if let Some((var, s)) = &c.secret {
            out.push(EnvVar {
                name: var.clone(),
                value_from: Some(secret_ref(s)),
                ..Default::default()
            });
        }
    }
    // Secrets spliced into templates need a variable of their own, defined first, so the
    // kubelet can expand `$(VAR)` in the later value.
    for var in &svc.env {
        if let EnvValue::Template(t) = &var.value {
            for s in t.secrets() {
                if !out.iter().any(|e| e.name == s.var()) {
                    out.push(EnvVar {
                        name: s.var(),
                        value_from: Some(secret_ref(s)),
                        ..Default::default()
                    });
                }
            }
        }
    }
    for var in &svc.env {
        let e = match &var.value {
            // The application reads its ConfigMap itself.
            EnvValue::Config(_) if svc.config_map_use == ConfigMapUse::ReadByApp => continue,
            EnvValue::Plain(v) => EnvVar {
                name: var.name.clone(),
                value: Some(escape(v)),
                ..Default::default()
            },
            EnvValue::Config(_) => EnvVar {
                name: var.name.clone(),
                value_from: Some(EnvVarSource {
                    config_map_key_ref: Some(ConfigMapKeySelector {
                        name: config_map_name(&svc.name),
                        key: var.name.clone(),
                        optional: None,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            EnvValue::Secret(s) => EnvVar {
                name: var.name.clone(),
                value_from: Some(secret_ref(s)),
                ..Default::default()
            },
            EnvValue::Template(t) => EnvVar {
                name: var.name.clone(),
                value: Some(resolve(stack, t)),
                ..Default::default()
            },
        };
        // A variable with the same name as a helper defined above replaces it in place.
        if let Some(existing) = out.iter_mut().find(|e| e.name == var.name) {
            *existing = e;
        } else {
            out.push(e);
        }
    }
    out
}

fn probe(p: &Probe) -> KProbe {
    let mut k = KProbe {
        initial_delay_seconds: p.initial_delay.map(|v| v as i32),
        period_seconds: p.period.map(|v| v as i32),
        timeout_seconds: p.timeout.map(|v| v as i32),
        failure_threshold: p.failure_threshold.map(|v| v as i32),
        ..Default::default()
    };
    match &p.action {
        ProbeAction::HttpGet { path, port } => {
            k.http_get = Some(HTTPGetAction {
                path: Some(path.clone()),
                port: IntOrString::String(port.name.to_owned()),
                ..Default::default()
            })
        }
        ProbeAction::Tcp { port } => {
            k.tcp_socket = Some(TCPSocketAction {
                port: IntOrString::String(port.name.to_owned()),
                host: None,
            })
        }
        ProbeAction::Exec { command } => {
            k.exec = Some(ExecAction {
                command: Some(command.clone()),
            })
        }
    }
    k
}

fn quantities(a: Amount) -> Option<BTreeMap<String, Quantity>> {
    let mut m = BTreeMap::new();
    if let Some(c) = a.cpu {
        m.insert("cpu".to_owned(), Quantity(c.to_string()));
    }
    if let Some(mem) = a.memory {
        m.insert("memory".to_owned(), Quantity(mem.to_string()));
    }
    (!m.is_empty()).then_some(m)
}

/// The checkov policies each relaxation knowingly fails, so the reason given in the stack is
/// the recorded skip reason (`checkov.io/skipN` annotations).
fn checkov_ids(r: &Relaxation) -> &'static [&'static str] {
    match r {
        Relaxation::WritableRootFs => &["CKV_K8S_22"],
        Relaxation::Root => &["CKV_K8S_23"],
        Relaxation::PrivilegeEscalation => &["CKV_K8S_20"],
        Relaxation::DefaultCapabilities => &["CKV_K8S_28", "CKV_K8S_37"],
        Relaxation::Capability(_) => &["CKV_K8S_37"],
        Relaxation::UnconfinedSeccomp => &["CKV_K8S_31"],
        Relaxation::ServiceAccountToken => &["CKV_K8S_38"],
    }
}

fn relaxation_annotations(svc: &Service) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut n = 0;
    for (r, reason) in &svc.security.relaxations {
        for id in checkov_ids(r) {
            n += 1;
            out.insert(format!("checkov.io/skip{n}"), format!("{id}={reason}"));
        }
    }
    out
}

fn container_security(svc: &Service) -> Option<SecurityContext> {
    let s = &svc.security;
    let caps = (s.drop_all_capabilities || !s.add_capabilities.is_empty()).then(|| Capabilities {
        drop: s.drop_all_capabilities.then(|| vec!["ALL".to_owned()]),
        add: (!s.add_capabilities.is_empty()).then(|| s.add_capabilities.clone()),
    });
    let sc = SecurityContext {
        allow_privilege_escalation: s.no_privilege_escalation.then_some(false),
        capabilities: caps,
        read_only_root_filesystem: s.read_only_root_fs.then_some(true),
        run_as_non_root: s.run_as_non_root.then_some(true),
        run_as_user: s.run_as_user.map(i64::from),
        ..Default::default()
    };
    (sc != SecurityContext::default()).then_some(sc)
}

fn pod_security(svc: &Service) -> Option<PodSecurityContext> {
    let s = &svc.security;
    let sc = PodSecurityContext {
        fs_group: s.fs_group.map(i64::from),
        seccomp_profile: s.seccomp_runtime_default.then(|| SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            localhost_profile: None,
        }),
        ..Default::default()
    };
    (sc != PodSecurityContext::default()).then_some(sc)
}

/// File name a generated file is mounted under inside its ConfigMap.
fn file_key(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Volume name of a mount.
fn volume_name(m: &crate::model::Mount) -> String {
    match &m.source {
        VolumeSource::Persistent { name, .. } => name.clone(),
        VolumeSource::File(f) => f.name.clone(),
        // Named after the path, so adding a mount does not rename the others.
        VolumeSource::Scratch | VolumeSource::Bind { .. } => {
            let label = crate::validate::names::suggest_label(&format!("scratch-{}", m.path));
            label
                .chars()
                .take(63)
                .collect::<String>()
                .trim_end_matches('-')
                .to_owned()
        }
    }
}

fn volumes(svc: &Service) -> (Vec<Volume>, Vec<VolumeMount>) {
    let (mut vols, mut mounts): (Vec<Volume>, Vec<VolumeMount>) = (Vec::new(), Vec::new());
    for m in &svc.mounts {
        let name = volume_name(m);
        // A cluster member's persistent volume comes from the StatefulSet's claim template.
        let templated =
            svc.cluster.is_some() && matches!(m.source, VolumeSource::Persistent { .. });
        let mut mount = VolumeMount {
            name: name.clone(),
            mount_path: m.path.clone(),
            read_only: m.read_only.then_some(true),
            ..Default::default()
        };
        let vol = match &m.source {
            VolumeSource::Persistent { name: claim, .. } => Volume {
                name: name.clone(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim.clone(),
                    read_only: None,
                }),
                ..Default::default()
            },
            VolumeSource::File(f) => {
                mount.sub_path = Some(file_key(&m.path).to_owned());
                Volume {
                    name: name.clone(),
                    config_map: Some(ConfigMapVolumeSource {
                        name: f.name.clone(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            }
            // Bind mounts are development-only (validation); Kubernetes gets scratch space.
            VolumeSource::Scratch | VolumeSource::Bind { .. } => Volume {
                name: name.clone(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Default::default()
            },
        };
        if !templated && !vols.iter().any(|v| v.name == vol.name) {
            vols.push(vol);
        }
        mounts.push(mount);
    }
    (vols, mounts)
}

/// The number of replicas the service runs at least (its count, or its HPA floor).
pub(crate) fn min_replicas(svc: &Service) -> u32 {
    svc.autoscale.as_ref().map_or(svc.replicas, |a| a.min)
}

/// The PodDisruptionBudget rule for a service, explicit or derived.
pub(crate) fn disruption(stack: &Stack, svc: &Service) -> Disruption {
    match svc.disruption {
        Some(d) => d,
        // A cluster keeps a majority of its members through drains and upgrades.
        None if svc.cluster.is_some() => Disruption::MinAvailable(
            svc.cluster
                .as_ref()
                .map_or(1, |c| c.min_available_for(svc.replicas)),
        ),
        None if stack.kubernetes.hardened && min_replicas(svc) >= 2 => {
            Disruption::MaxUnavailable(1)
        }
        None => Disruption::None,
    }
}

fn rollout(stack: &Stack, svc: &Service) -> Option<Rollout> {
    if svc.rollout.is_some() || !stack.kubernetes.hardened {
        return svc.rollout;
    }
    let persistent = svc
        .mounts
        .iter()
        .any(|m| matches!(m.source, VolumeSource::Persistent { .. }));
    if persistent {
        // A ReadWriteOnce volume cannot attach to the new pod while the old one runs.
        Some(Rollout::Recreate)
    } else if svc.replicas >= 2 {
        Some(Rollout::rolling(1, 0))
    } else {
        None
    }
}

fn spread(stack: &Stack, svc: &Service) -> Spread {
    match svc.spread {
        Some(s) => s,
        None if stack.kubernetes.hardened
            && stack.env == Env::Prod
            && svc.replicas.max(min_replicas(svc)) >= 2 =>
        {
            Spread::AcrossNodes
        }
        None => Spread::None,
    }
}

fn label_selector(svc: &Service) -> LabelSelector {
    selector(&svc.name)
}

fn config_checksum(cms: &[ConfigMap]) -> Option<String> {
    if cms.is_empty() {
        return None;
    }
    let mut text = String::new();
    for cm in cms {
        text.push_str(cm.metadata.name.as_deref().unwrap_or_default());
        for (k, v) in cm.data.iter().flatten() {
            text.push_str(&format!("\0{k}\0{v}"));
        }
        text.push('\n');
    }
    Some(crate::emit::manifest::hash(text.as_bytes()))
}

/// The core objects of one service (its ServiceMonitor: [`service_monitor`]).
pub(crate) fn objects(stack: &Stack, svc: &Service) -> Vec<Object> {
    let mut out = Vec::new();
    let mut config_maps = Vec::new();
    let config: BTreeMap<String, String> = svc
        .env
        .iter()
        .filter_map(|v| match &v.value {
            EnvValue::Config(c) => Some((v.name.clone(), c.clone())),
            _ => None,
        })
        .collect();
    if !config.is_empty() {
        config_maps.push(ConfigMap {
            metadata: meta(stack, config_map_name(&svc.name), &svc.name),
            data: Some(config),
            ..Default::default()
        });
    }
    for m in &svc.mounts {
        if let VolumeSource::File(f) = &m.source {
            config_maps.push(ConfigMap {
                metadata: meta(stack, f.name.clone(), &svc.name),
                data: Some(BTreeMap::from([(
                    file_key(&m.path).to_owned(),
                    resolve_file(stack, &f.content),
                )])),
                ..Default::default()
            });
        }
    }
    let checksum = if stack.kubernetes.hardened {
        config_checksum(&config_maps)
    } else {
        None
    };
    out.extend(config_maps.into_iter().map(Object::ConfigMap));

    // A cluster's claims are templates of its StatefulSet (one claim per member).
    if svc.cluster.is_none() {
        out.extend(
            claims(svc)
                .map(|(name, spec)| PersistentVolumeClaim {
                    metadata: meta(stack, name.to_owned(), &svc.name),
                    spec: Some(spec),
                    ..Default::default()
                })
                .map(Object::PersistentVolumeClaim),
        );
    }

    match &svc.cluster {
        Some(c) => out.push(Object::StatefulSet(Box::new(stateful_set(
            stack, svc, c, checksum,
        )))),
        None => out.push(Object::Deployment(Box::new(deployment(
            stack, svc, checksum,
        )))),
    }

    let service_ports = |ports: &mut dyn Iterator<Item = &crate::model::Port>| -> Vec<ServicePort> {
        ports
            .map(|p| ServicePort {
                name: Some(p.name.to_owned()),
                port: i32::from(p.client_port()),
                target_port: Some(IntOrString::String(p.name.to_owned())),
                protocol: Some(p.protocol.k8s().to_owned()),
                ..Default::default()
            })
            .collect()
    };
    if let Some(c) = &svc.cluster {
        // Discovery: every member gets a stable DNS name, published before it is ready so
        // members can find each other while the cluster forms.
        let mut headless_meta = meta(stack, headless_name(&svc.name), &svc.name);
        if let Some(l) = headless_meta.labels.as_mut() {
            l.insert(COMPONENT.to_owned(), "cluster-discovery".to_owned());
        }
        out.push(Object::Service(KService {
            metadata: headless_meta,
            spec: Some(ServiceSpec {
                cluster_ip: Some("None".to_owned()),
                publish_not_ready_addresses: Some(true),
                selector: Some(super::selector_labels(&svc.name)),
                ports: Some(service_ports(&mut std::iter::once(&c.port))),
                ..Default::default()
            }),
            ..Default::default()
        }));
    }
    // Clients reach the service (or a cluster's non-cluster ports) through a ClusterIP.
    let cluster_port = svc.cluster.as_ref().map(|c| c.port.name);
    let mut client_ports = svc
        .ports
        .iter()
        .filter(|p| Some(p.name) != cluster_port)
        .peekable();
    if client_ports.peek().is_some() {
        out.push(Object::Service(KService {
            metadata: meta(stack, svc.name.clone(), &svc.name),
            spec: Some(ServiceSpec {
                type_: Some("ClusterIP".to_owned()),
                selector: Some(super::selector_labels(&svc.name)),
                ports: Some(service_ports(&mut client_ports)),
                ..Default::default()
            }),
            ..Default::default()
        }));
    }

    if let Some(a) = &svc.autoscale {
        let metric = |name: &str, pct: u32| MetricSpec {
            type_: "Resource".to_owned(),
            resource: Some(ResourceMetricSource {
                name: name.to_owned(),
                target: MetricTarget {
                    type_: "Utilization".to_owned(),
                    average_utilization: Some(pct as i32),
                    ..Default::default()
                },
            }),
            ..Default::default()
        };
        let mut metrics = Vec::new();
        if let Some(c) = a.cpu {
            metrics.push(metric("cpu", c));
        }
        if let Some(m) = a.memory {
            metrics.push(metric("memory", m));
        }
        let rules = |r: Option<Scaling>| {
            r.map(|r| HPAScalingRules {
                stabilization_window_seconds: r.stabilization.map(|w| w.as_secs() as i32),
                policies: Some(vec![HPAScalingPolicy {
                    type_: "Percent".to_owned(),
                    value: r.percent as i32,
                    period_seconds: r.every.as_secs() as i32,
                }]),
                ..Default::default()
            })
        };
        let behavior = (a.scale_up.is_some() || a.scale_down.is_some()).then(|| {
            HorizontalPodAutoscalerBehavior {
                scale_up: rules(a.scale_up),
                scale_down: rules(a.scale_down),
            }
        });
        out.push(Object::HorizontalPodAutoscaler(HorizontalPodAutoscaler {
            metadata: meta(stack, svc.name.clone(), &svc.name),
            spec: Some(HorizontalPodAutoscalerSpec {
                scale_target_ref: CrossVersionObjectReference {
                    api_version: Some("apps/v1".to_owned()),
                    kind: workload_kind(svc).to_owned(),
                    name: svc.name.clone(),
                },
                min_replicas: Some(a.min as i32),
                max_replicas: a.max as i32,
                metrics: Some(metrics),
                behavior,
            }),
            ..Default::default()
        }));
    }

    let pdb = match disruption(stack, svc) {
        Disruption::MinAvailable(n) => Some((Some(IntOrString::Int(n as i32)), None)),
        Disruption::MaxUnavailable(n) => Some((None, Some(IntOrString::Int(n as i32)))),
        Disruption::None => None,
    };
    if let Some((min_available, max_unavailable)) = pdb {
        out.push(Object::PodDisruptionBudget(PodDisruptionBudget {
            metadata: meta(stack, svc.name.clone(), &svc.name),
            spec: Some(PodDisruptionBudgetSpec {
                min_available,
                max_unavailable,
                selector: Some(label_selector(svc)),
                ..Default::default()
            }),
            ..Default::default()
        }));
    }
    out
}

/// The ServiceMonitor of a service with metrics (a custom resource: rendered in the
/// monitoring file, not with the service's core objects).
pub(crate) fn service_monitor(stack: &Stack, svc: &Service) -> Option<Object> {
    let m = svc.metrics.as_ref()?;
    Some(Object::ServiceMonitor(super::ServiceMonitor {
        api_version: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: super::monitoring_meta(stack, svc.name.clone(), &svc.name),
        spec: super::ServiceMonitorSpec {
            // The client Service only: a cluster's discovery Service has the same pods.
            selector: LabelSelector {
                match_labels: Some(super::selector_labels(&svc.name)),
                match_expressions: svc.cluster.as_ref().map(|_| {
                    vec![LabelSelectorRequirement {
                        key: COMPONENT.to_owned(),
                        operator: "DoesNotExist".to_owned(),
                        values: None,
                    }]
                }),
            },
            endpoints: vec![super::ScrapeEndpoint {
                port: m.port.name.to_owned(),
                path: m.path.clone(),
                interval: format!("{}s", m.interval),
            }],
        },
    }))
}

/// The workload's metadata: labels, and (hardened) the checkov skips its relaxations imply.
fn workload_meta(stack: &Stack, svc: &Service) -> ObjectMeta {
    let mut metadata = meta(stack, svc.name.clone(), &svc.name);
    if stack.kubernetes.hardened {
        let skips = relaxation_annotations(svc);
        metadata.annotations = (!skips.is_empty()).then_some(skips);
    }
    metadata
}

fn deployment(stack: &Stack, svc: &Service, checksum: Option<String>) -> Deployment {
    let strategy = rollout(stack, svc).map(|r| match r {
        Rollout::Rolling {
            max_surge,
            max_unavailable,
        } => DeploymentStrategy {
            type_: Some("RollingUpdate".to_owned()),
            rolling_update: Some(RollingUpdateDeployment {
                max_surge: Some(IntOrString::Int(max_surge as i32)),
                max_unavailable: Some(IntOrString::Int(max_unavailable as i32)),
            }),
        },
        Rollout::Recreate => DeploymentStrategy {
            type_: Some("Recreate".to_owned()),
            rolling_update: None,
        },
    });
    Deployment {
        metadata: workload_meta(stack, svc),
        spec: Some(DeploymentSpec {
            replicas: Some(svc.replicas as i32),
            selector: label_selector(svc),
            strategy,
            template: pod_template(stack, svc, checksum),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Name of a cluster's headless (discovery) Service.
pub(crate) fn headless_name(service: &str) -> String {
    format!("{service}-headless")
}

/// The stable DNS name of member `i` of a cluster.
fn member_host(stack: &Stack, svc: &Service, i: u32) -> String {
    format!(
        "{}-{i}.{}.{}.svc.cluster.local",
        svc.name,
        headless_name(&svc.name),
        stack.namespace()
    )
}

/// The seed addresses of a cluster, as its members receive them.
pub(crate) fn seed_list(stack: &Stack, svc: &Service, cluster: &Cluster) -> String {
    (0..cluster.seeds.min(svc.replicas))
        .map(|i| {
            let host = member_host(stack, svc, i);
            match cluster.seed_format {
                SeedFormat::HostPort => format!("{host}:{}", cluster.port.number),
                _ => format!("{}-{i}@{host}:{}", svc.name, cluster.port.number),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Each persistent volume of `svc` once, with its ReadWriteOnce claim spec.
fn claims(svc: &Service) -> impl Iterator<Item = (&str, PersistentVolumeClaimSpec)> {
    let mut seen: Vec<&str> = Vec::new();
    svc.mounts.iter().filter_map(move |m| match &m.source {
        VolumeSource::Persistent { name, size } if !seen.contains(&name.as_str()) => {
            seen.push(name);
            Some((
                name.as_str(),
                PersistentVolumeClaimSpec {
                    access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
                    resources: Some(VolumeResourceRequirements {
                        requests: Some(BTreeMap::from([(
                            "storage".to_owned(),
                            Quantity(size.unwrap_or(crate::model::Memory::gi(1)).to_string()),
                        )])),
                        limits: None,
                    }),
                    ..Default::default()
                },
            ))
        }
        _ => None,
    })
}

fn stateful_set(
    stack: &Stack,
    svc: &Service,
    cluster: &Cluster,
    checksum: Option<String>,
) -> StatefulSet {
    StatefulSet {
        metadata: workload_meta(stack, svc),
        spec: Some(StatefulSetSpec {
            service_name: Some(headless_name(&svc.name)),
            replicas: Some(svc.replicas as i32),
            selector: label_selector(svc),
            pod_management_policy: Some(
                match cluster.pod_management {
                    PodManagement::Parallel => "Parallel",
                    _ => "OrderedReady",
                }
                .to_owned(),
            ),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: cluster.partition.map(|p| RollingUpdateStatefulSetStrategy {
                    partition: Some(p as i32),
                    max_unavailable: None,
                }),
            }),
            template: pod_template(stack, svc, checksum),
            // Claim `<volume>-<statefulset>-<ordinal>` per member; kept when the set is
            // deleted or scaled down (the default retention policy), so data outlives pods.
            volume_claim_templates: {
                let templates: Vec<PersistentVolumeClaim> = claims(svc)
                    .map(|(name, spec)| PersistentVolumeClaim {
                        metadata: ObjectMeta {
                            name: Some(name.to_owned()),
                            labels: Some(labels(stack, &svc.name)),
                            ..Default::default()
                        },
                        spec: Some(spec),
                        ..Default::default()
                    })
                    .collect();
                (!templates.is_empty()).then_some(templates)
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) fn pod_template(
    stack: &Stack,
    svc: &Service,
    checksum: Option<String>,
) -> PodTemplateSpec {
    let (volumes, volume_mounts) = volumes(svc);
    let r = svc.resources.unwrap_or_default();
    let resources = ResourceRequirements {
        requests: quantities(r.requests),
        limits: quantities(r.limits),
        claims: None,
    };
    let container = Container {
        name: svc.container().to_owned(),
        image: svc.source.image.as_ref().map(ToString::to_string),
        // A tag can move; pulling every time makes each pod run what the tag names now and
        // re-checks registry credentials. A digest cannot move, so the default is right.
        image_pull_policy: (stack.kubernetes.hardened
            && svc
                .source
                .image
                .as_ref()
                .is_some_and(|i| i.digest.is_none()))
        .then(|| "Always".to_owned()),
        command: svc
            .command
            .as_ref()
            .map(|v| v.iter().map(|s| escape(s)).collect()),
        args: svc
            .args
            .as_ref()
            .map(|v| v.iter().map(|s| escape(s)).collect()),
        ports: (!svc.ports.is_empty()).then(|| {
            svc.ports
                .iter()
                .map(|p| ContainerPort {
                    name: Some(p.name.to_owned()),
                    container_port: i32::from(p.number),
                    protocol: Some(p.protocol.k8s().to_owned()),
                    ..Default::default()
                })
                .collect()
        }),
        env: Some(env(stack, svc)).filter(|e| !e.is_empty()),
        lifecycle: svc
            .cluster
            .as_ref()
            .filter(|c| c.pre_stop_delay > 0)
            .map(|c| Lifecycle {
                pre_stop: Some(LifecycleHandler {
                    sleep: Some(SleepAction {
                        seconds: i64::from(c.pre_stop_delay),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        resources: (resources != ResourceRequirements::default()).then_some(resources),
        liveness_probe: svc.probes.liveness.as_ref().map(probe),
        readiness_probe: svc.probes.readiness.as_ref().map(probe),
        startup_probe: svc.probes.startup.as_ref().map(probe),
        security_context: container_security(svc),
        volume_mounts: (!volume_mounts.is_empty()).then_some(volume_mounts),
        ..Default::default()
    };
    let init_containers = svc.migrations.as_ref().map(|m| {
        vec![migration::init_container(
            stack,
            svc,
            m,
            container.resources.clone(),
            container.volume_mounts.clone(),
        )]
    });
    let mut annotations: BTreeMap<String, String> = svc.annotations.iter().cloned().collect();
    if let Some(sum) = checksum {
        annotations.insert("checksum/config".to_owned(), sum);
    }
    let (affinity, topology_spread_constraints) = match spread(stack, svc) {
        Spread::AcrossNodes | Spread::AcrossZones => {
            let key = if spread(stack, svc) == Spread::AcrossZones {
                "topology.kubernetes.io/zone"
            } else {
                "kubernetes.io/hostname"
            };
            (
                None,
                Some(vec![TopologySpreadConstraint {
                    max_skew: 1,
                    topology_key: key.to_owned(),
                    when_unsatisfiable: "ScheduleAnyway".to_owned(),
                    label_selector: Some(label_selector(svc)),
                    ..Default::default()
                }]),
            )
        }
        Spread::AntiAffinity => (
            Some(Affinity {
                pod_anti_affinity: Some(PodAntiAffinity {
                    preferred_during_scheduling_ignored_during_execution: Some(vec![
                        WeightedPodAffinityTerm {
                            weight: 100,
                            pod_affinity_term: PodAffinityTerm {
                                label_selector: Some(label_selector(svc)),
                                topology_key: "kubernetes.io/hostname".to_owned(),
                                ..Default::default()
                            },
                        },
                    ]),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            None,
        ),
        Spread::None => (None, None),
    };
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels(stack, &svc.name)),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            automount_service_account_token: (!svc.security.service_account_token).then_some(false),
            security_context: pod_security(svc),
            init_containers,
            containers: vec![container],
            volumes: (!volumes.is_empty()).then_some(volumes),
            affinity,
            topology_spread_constraints,
            termination_grace_period_seconds: svc
                .cluster
                .as_ref()
                .map(|c| i64::from(c.grace_period)),
            ..Default::default()
        }),
    }
}
