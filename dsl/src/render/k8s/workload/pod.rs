//! The pod template of a workload: its container (image, command, environment from values,
//! ConfigMaps and Secrets, probes, resources, mounts), security contexts and volumes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapKeySelector, ConfigMapVolumeSource, Container, ContainerPort,
    EmptyDirVolumeSource, EnvVar, EnvVarSource, ExecAction, GRPCAction, HTTPGetAction, HTTPHeader,
    Lifecycle, LifecycleHandler, ObjectFieldSelector, PersistentVolumeClaimVolumeSource,
    PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec, PodTemplateSpec,
    Probe as KProbe, ResourceRequirements, SeccompProfile, SecretKeySelector, SecurityContext,
    SleepAction, TCPSocketAction, TopologySpreadConstraint, Volume, VolumeMount,
    WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::super::labels;
use super::{config_map_name, label_selector, migration, spread};
use crate::model::{
    Amount, ConfigMapUse, EnvValue, Probe, ProbeAction, Relaxation, SecretRef, Service, Spread,
    Target, VolumeSource,
};
use crate::plan::{Hosts, Plan, Ports, Style};

/// Escapes `$(` so the kubelet does not expand it as a variable reference.
pub(super) fn escape(s: &str) -> String {
    s.replace("$(", "$$(")
}

pub(super) fn escape_text(s: &str) -> Cow<'_, str> {
    Cow::Owned(escape(s))
}

/// A template in an environment value: hosts are Service names (a Helm release's where one
/// installs the service), ports are Service ports, secrets are `$(VAR)` references to
/// variables defined earlier in the container's env.
pub(super) const ENV: Style<'static> = Style::new(Hosts::Kubernetes, Ports::Service, &|s| {
    Cow::Owned(format!("$({})", s.var()))
})
.escape(escape_text);

/// A template in a file's content (no `$(` escaping: the kubelet does not read it).
pub(super) const FILE: Style<'static> =
    Style::new(Hosts::Kubernetes, Ports::Service, &|s| Cow::Owned(s.var()));

pub(super) fn secret_ref(s: &SecretRef) -> EnvVarSource {
    EnvVarSource {
        secret_key_ref: Some(SecretKeySelector {
            name: s.name().to_owned(),
            key: s.key().to_owned(),
            optional: None,
        }),
        ..Default::default()
    }
}

pub(super) fn env(plan: &Plan<'_>, svc: &Service) -> Vec<EnvVar> {
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
            value: Some(plan.seeds(svc, c, Target::Kubernetes)),
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
                value: Some(plan.resolve(t, &ENV)),
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

pub(super) fn probe(p: &Probe) -> KProbe {
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
                http_headers: (!p.headers.is_empty()).then(|| {
                    p.headers
                        .iter()
                        .map(|(name, value)| HTTPHeader {
                            name: name.clone(),
                            value: value.clone(),
                        })
                        .collect()
                }),
                ..Default::default()
            })
        }
        // The kubelet's gRPC probe takes a port number: it has no named-port form.
        ProbeAction::Grpc { port, service } => {
            k.grpc = Some(GRPCAction {
                port: i32::from(port.number),
                service: service.clone(),
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

pub(super) fn quantities(a: Amount) -> Option<BTreeMap<String, Quantity>> {
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
pub(super) fn checkov_ids(r: &Relaxation) -> &'static [&'static str] {
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

pub(super) fn relaxation_annotations(svc: &Service) -> BTreeMap<String, String> {
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

pub(super) fn container_security(svc: &Service) -> Option<SecurityContext> {
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

pub(super) fn pod_security(svc: &Service) -> Option<PodSecurityContext> {
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
pub(super) fn file_key(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Volume name of a mount.
pub(super) fn volume_name(m: &crate::model::Mount) -> String {
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

pub(super) fn volumes(svc: &Service) -> (Vec<Volume>, Vec<VolumeMount>) {
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

pub(crate) fn pod_template(
    plan: &Plan<'_>,
    svc: &Service,
    checksum: Option<String>,
) -> PodTemplateSpec {
    let stack = plan.stack();
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
        env: Some(env(plan, svc)).filter(|e| !e.is_empty()),
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
            plan,
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
    let (affinity, topology_spread_constraints) = match spread(plan, svc) {
        Spread::AcrossNodes | Spread::AcrossZones => {
            let key = if spread(plan, svc) == Spread::AcrossZones {
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
            labels: Some(labels(plan, &svc.name)),
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
