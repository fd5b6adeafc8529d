//! The pod template of a workload: the app container (image, command, ports, probes,
//! resources, mounts; its environment and security from [`super::container`]), the init
//! containers and sidecars ([`super::extra`]), volumes, spreading, scheduling and the
//! pod-level security context.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, ExecAction,
    Lifecycle, LifecycleHandler, LocalObjectReference, PersistentVolumeClaimVolumeSource,
    PodAffinityTerm, PodAntiAffinity, PodSpec, PodTemplateSpec, ResourceRequirements, SleepAction,
    Toleration as KToleration, TopologySpreadConstraint, Volume, VolumeMount,
    WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::super::labels;
use super::container::{container_security, env, escape, pod_security, probe, quantities};
use super::{extra, label_selector, migration, spread};
use crate::model::{Mount, PreStop, Relaxation, Security, Service, Spread, VolumeSource};
use crate::plan::Plan;

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

/// The checkov skips of every relaxation of the pod's containers (the app's first, then
/// its sidecars' and init containers'), each once.
pub(super) fn relaxation_annotations(svc: &Service) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut seen: Vec<String> = Vec::new();
    let mut n = 0;
    let all = std::iter::once(&svc.security).chain(svc.containers().map(|c| &c.security));
    for (r, reason) in all.flat_map(|s| &s.relaxations) {
        for id in checkov_ids(r) {
            let skip = format!("{id}={reason}");
            if seen.contains(&skip) {
                continue;
            }
            seen.push(skip);
            n += 1;
            out.insert(format!("checkov.io/skip{n}"), format!("{id}={reason}"));
        }
    }
    out
}

/// File name a generated file is mounted under inside its ConfigMap.
pub(super) fn file_key(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Volume name of a mount of the service.
pub(super) fn volume_name(m: &Mount) -> String {
    match &m.source {
        VolumeSource::Persistent { name, .. } => name.clone(),
        VolumeSource::File(f) => f.name.clone(),
        // Named after the path, so adding a mount does not rename the others.
        VolumeSource::Scratch | VolumeSource::Bind { .. } | VolumeSource::HostDir(_) => {
            label(&format!("scratch-{}", m.path))
        }
    }
}

/// A DNS label made of `text`, at most 63 characters.
fn label(text: &str) -> String {
    crate::validate::names::suggest_label(text)
        .chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// The volume a container's mount uses: the service's own volume of that name (and, for
/// scratch space, of that path), or scratch space of the container's own.
pub(super) fn container_volume_name(svc: &Service, owner: &str, m: &Mount) -> String {
    let scratch = matches!(
        m.source,
        VolumeSource::Scratch | VolumeSource::Bind { .. } | VolumeSource::HostDir(_)
    );
    let shared = svc.mounts.iter().any(|s| {
        s.path == m.path
            && matches!(
                s.source,
                VolumeSource::Scratch | VolumeSource::Bind { .. } | VolumeSource::HostDir(_)
            )
    });
    if scratch && !shared {
        label(&format!("{owner}-scratch-{}", m.path))
    } else {
        volume_name(m)
    }
}

/// The ConfigMap key a generated file is kept under: its file name where the service mounts
/// it (a container may mount the same file elsewhere).
fn config_key<'m>(svc: &'m Service, m: &'m Mount) -> &'m str {
    let VolumeSource::File(f) = &m.source else {
        return file_key(&m.path);
    };
    svc.mounts
        .iter()
        .find(|s| matches!(&s.source, VolumeSource::File(g) if g == f))
        .map_or(file_key(&m.path), |s| file_key(&s.path))
}

/// The app container's volumes and mounts: its own, then scratch space for the paths its
/// image writes.
pub(super) fn volumes(plan: &Plan<'_>, svc: &Service) -> (Vec<Volume>, Vec<VolumeMount>) {
    let mut vols = Vec::new();
    let mut out = mounts(svc, None, &svc.mounts, &mut vols);
    out.extend(mounts(
        svc,
        None,
        &scratch(plan, &svc.security, &svc.mounts),
        &mut vols,
    ));
    // The runtime's `/dev/shm` is 64 MiB and cannot be resized from the pod spec: a
    // memory-backed emptyDir of the stated size takes its place (validation keeps scratch
    // mounts off `/dev/shm`, so the path is free).
    if let Some(size) = svc.shm_size {
        vols.push(Volume {
            name: SHM_VOLUME.to_owned(),
            empty_dir: Some(EmptyDirVolumeSource {
                medium: Some("Memory".to_owned()),
                size_limit: Some(Quantity(size.to_string())),
            }),
            ..Default::default()
        });
        out.push(VolumeMount {
            name: SHM_VOLUME.to_owned(),
            mount_path: "/dev/shm".to_owned(),
            ..Default::default()
        });
    }
    (vols, out)
}

/// Scratch mounts for the writable paths of a container with `security` and `mounts` that
/// no mount covers (see [`Hardening::scratch`](crate::plan::Hardening::scratch)).
pub(super) fn scratch(plan: &Plan<'_>, security: &Security, mounts: &[Mount]) -> Vec<Mount> {
    plan.hardening(security, mounts)
        .scratch
        .into_iter()
        .map(Mount::scratch)
        .collect()
}

/// The volume that backs a service's shared memory; no mount's derived name starts so
/// (persistent volumes and files are named `…-data`, `…-config`; scratch `scratch-…`).
const SHM_VOLUME: &str = "shm";

/// The volume mounts of one container (`owner`: `None` for the app, else the container's
/// name), adding each volume they need to `vols` once.
pub(super) fn mounts(
    svc: &Service,
    owner: Option<&str>,
    list: &[Mount],
    vols: &mut Vec<Volume>,
) -> Vec<VolumeMount> {
    let mut mounts = Vec::new();
    for m in list {
        let name = match owner {
            None => volume_name(m),
            Some(c) => container_volume_name(svc, c, m),
        };
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
                mount.sub_path = Some(config_key(svc, m).to_owned());
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
            VolumeSource::Scratch | VolumeSource::Bind { .. } | VolumeSource::HostDir(_) => {
                Volume {
                    name: name.clone(),
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Default::default()
                }
            }
        };
        if !templated && !vols.iter().any(|v| v.name == vol.name) {
            vols.push(vol);
        }
        mounts.push(mount);
    }
    mounts
}

/// The container hook that runs before the app is signalled.
fn lifecycle(hook: Option<PreStop>) -> Option<Lifecycle> {
    let handler = match hook? {
        // The kubelet's own sleep: no binary needed in the image.
        PreStop::Sleep(seconds) => LifecycleHandler {
            sleep: Some(SleepAction {
                seconds: i64::from(seconds),
            }),
            ..Default::default()
        },
        // The kubelet does not expand `$(VAR)` in hooks: the command is written as given.
        PreStop::Exec(argv) => LifecycleHandler {
            exec: Some(ExecAction {
                command: Some(argv),
            }),
            ..Default::default()
        },
    };
    Some(Lifecycle {
        pre_stop: Some(handler),
        ..Default::default()
    })
}

pub(crate) fn pod_template(
    plan: &Plan<'_>,
    svc: &Service,
    checksum: Option<String>,
) -> PodTemplateSpec {
    let (mut volumes, volume_mounts) = volumes(plan, svc);
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
        image_pull_policy: extra::pull_policy(plan, svc.source.image.as_ref()),
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
        lifecycle: lifecycle(svc.effective_pre_stop()),
        resources: (resources != ResourceRequirements::default()).then_some(resources),
        liveness_probe: svc.probes.liveness.as_ref().map(probe),
        readiness_probe: svc.probes.readiness.as_ref().map(probe),
        startup_probe: svc.probes.startup.as_ref().map(probe),
        security_context: container_security(plan, &svc.security, &svc.mounts, &svc.security),
        volume_mounts: (!volume_mounts.is_empty()).then_some(volume_mounts),
        ..Default::default()
    };
    // Sidecars start first (and keep running), then the init containers in order, then
    // the migration: so an init container or the migration can use a sidecar's proxy.
    let mut init_containers = extra::containers(plan, svc, &mut volumes);
    init_containers.extend(svc.migrations.as_ref().map(|m| {
        migration::init_container(
            plan,
            svc,
            m,
            container.resources.clone(),
            container.volume_mounts.clone(),
        )
    }));
    let mut annotations: BTreeMap<String, String> = svc.annotations.iter().cloned().collect();
    if let Some(sum) = checksum {
        annotations.insert("checksum/config".to_owned(), sum);
    }
    let (affinity, topology_spread_constraints) = spreading(plan, svc);
    let pod = &svc.pod;
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels(plan, &svc.name)),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            automount_service_account_token: (!svc.security.service_account_token).then_some(false),
            // Service-link variables (`REDIS_PORT=tcp://…`) would shadow the app's own.
            enable_service_links: svc.pod.service_links.is_none().then_some(false),
            security_context: pod_security(plan, svc),
            init_containers: (!init_containers.is_empty()).then_some(init_containers),
            containers: vec![container],
            volumes: (!volumes.is_empty()).then_some(volumes),
            affinity,
            topology_spread_constraints,
            termination_grace_period_seconds: svc.effective_grace_period().map(i64::from),
            node_selector: (!pod.node_selector.is_empty()).then(|| pod.node_selector.clone()),
            tolerations: (!pod.tolerations.is_empty()).then(|| {
                pod.tolerations
                    .iter()
                    .map(|t| KToleration {
                        key: Some(t.key.clone()),
                        operator: Some(
                            if t.value.is_some() { "Equal" } else { "Exists" }.to_owned(),
                        ),
                        value: t.value.clone(),
                        effect: t.effect.map(|e| e.k8s().to_owned()),
                        toleration_seconds: t.seconds.map(i64::from),
                    })
                    .collect()
            }),
            image_pull_secrets: (!pod.image_pull_secrets.is_empty()).then(|| {
                pod.image_pull_secrets
                    .iter()
                    .map(|s| LocalObjectReference {
                        name: s.name.clone(),
                    })
                    .collect()
            }),
            priority_class_name: pod.priority_class.clone(),
            ..Default::default()
        }),
    }
}

/// How replicas spread: topology spread constraints or pod anti-affinity.
fn spreading(
    plan: &Plan<'_>,
    svc: &Service,
) -> (Option<Affinity>, Option<Vec<TopologySpreadConstraint>>) {
    match spread(plan, svc) {
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
    }
}
