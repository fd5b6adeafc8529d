//! Per-service objects: ServiceAccount, ConfigMaps, PersistentVolumeClaims, Deployment,
//! Service, HPA, PDB.

mod container;
mod extra;
mod migration;
mod pod;

use container::FILE;
pub(crate) use pod::pod_template;
use pod::{file_key, relaxation_annotations};

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
    ConfigMap, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodTemplateSpec,
    Service as KService, ServiceAccount, ServicePort, ServiceSpec, VolumeResourceRequirements,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Object, int32, labels, meta, selector};
use crate::model::{
    Disruption, Env, EnvValue, PodManagement, Rollout, Scaling, Service, Spread, VolumeSource,
};
use crate::plan::Plan;

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

/// The number of replicas the service runs at least (its count, or its HPA floor).
pub(crate) fn min_replicas(svc: &Service) -> u32 {
    svc.autoscale.as_ref().map_or(svc.replicas, |a| a.min)
}

/// The PodDisruptionBudget rule for a service, explicit or derived.
pub(crate) fn disruption(plan: &Plan<'_>, svc: &Service) -> Disruption {
    let stack = plan.stack();
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

fn rollout(plan: &Plan<'_>, svc: &Service) -> Option<Rollout> {
    let stack = plan.stack();
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

pub(super) fn spread(plan: &Plan<'_>, svc: &Service) -> Spread {
    let stack = plan.stack();
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

pub(super) fn label_selector(svc: &Service) -> LabelSelector {
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
    Some(crate::hash::sha256_hex(text.as_bytes()))
}

/// The ServiceAccount the pods of `svc` run as, named after the service: every service of a
/// hardened stack has one (no pod runs as the namespace's `default` account), a plain
/// stack's only when the service sets one.
pub(crate) fn service_account(plan: &Plan<'_>, svc: &Service) -> Option<String> {
    (plan.stack().kubernetes.hardened || svc.pod.service_account.is_some())
        .then(|| svc.name.clone())
}

/// The core objects of one service (its ServiceMonitor: [`service_monitor`]).
pub(crate) fn objects(plan: &Plan<'_>, svc: &Service) -> Vec<Object> {
    let stack = plan.stack();
    let mut out = Vec::new();
    if let Some(name) = service_account(plan, svc) {
        let mut metadata = meta(plan, name, &svc.name);
        let annotations: BTreeMap<String, String> = svc
            .pod
            .service_account
            .iter()
            .flat_map(|a| a.annotations())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        metadata.annotations = (!annotations.is_empty()).then_some(annotations);
        out.push(Object::ServiceAccount(ServiceAccount {
            metadata,
            // Pods opt in (`Security::service_account_token`, with a reason).
            automount_service_account_token: Some(false),
            ..Default::default()
        }));
    }
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
            metadata: meta(plan, config_map_name(&svc.name), &svc.name),
            data: Some(config),
            ..Default::default()
        });
    }
    for m in &svc.mounts {
        if let VolumeSource::File(f) = &m.source {
            config_maps.push(ConfigMap {
                metadata: meta(plan, f.name.clone(), &svc.name),
                data: Some(BTreeMap::from([(
                    file_key(&m.path).to_owned(),
                    plan.resolve(&f.content, &FILE),
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
                    metadata: meta(plan, name.to_owned(), &svc.name),
                    spec: Some(spec),
                    ..Default::default()
                })
                .map(Object::PersistentVolumeClaim),
        );
    }

    match &svc.cluster {
        Some(c) => out.push(Object::StatefulSet(Box::new(stateful_set(
            plan, svc, c, checksum,
        )))),
        None => out.push(Object::Deployment(Box::new(deployment(
            plan, svc, checksum,
        )))),
    }

    let service_ports = |ports: &mut dyn Iterator<Item = &crate::model::Port>| -> Vec<ServicePort> {
        ports
            .map(|p| ServicePort {
                name: Some(p.name.to_owned()),
                port: i32::from(p.client_port()),
                target_port: Some(IntOrString::String(p.name.to_owned())),
                protocol: Some(p.protocol.k8s().to_owned()),
                app_protocol: p.app.kubernetes().map(str::to_owned),
                node_port: svc
                    .exposure
                    .node_ports
                    .iter()
                    .find(|(np, _)| np.name == p.name)
                    .map(|(_, n)| i32::from(*n)),
            })
            .collect()
    };
    if let Some(c) = &svc.cluster {
        // Discovery: every member gets a stable DNS name, published before it is ready so
        // members can find each other while the cluster forms.
        let mut headless_meta = meta(plan, crate::plan::headless_name(&svc.name), &svc.name);
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
    // Clients reach the service (or a cluster's non-cluster ports) through a ClusterIP, a
    // node port or a load balancer, as its exposure says.
    let mut client_ports = plan.client_ports(svc).peekable();
    if client_ports.peek().is_some() {
        let e = &svc.exposure;
        let mut metadata = meta(plan, svc.name.clone(), &svc.name);
        let annotations: BTreeMap<String, String> = e
            .all_annotations()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        metadata.annotations = (!annotations.is_empty()).then_some(annotations);
        out.push(Object::Service(KService {
            metadata,
            spec: Some(ServiceSpec {
                type_: Some(e.kind.k8s().to_owned()),
                selector: Some(super::selector_labels(&svc.name)),
                ports: Some(service_ports(&mut client_ports)),
                external_traffic_policy: e.traffic_policy.map(|t| t.k8s().to_owned()),
                load_balancer_source_ranges: (!e.source_ranges.is_empty())
                    .then(|| e.source_ranges.clone()),
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
                    average_utilization: Some(int32(pct)),
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
                stabilization_window_seconds: r.stabilization.map(|w| int32(w.as_secs())),
                policies: Some(vec![HPAScalingPolicy {
                    type_: "Percent".to_owned(),
                    value: int32(r.percent),
                    period_seconds: int32(r.every.as_secs()),
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
            metadata: meta(plan, svc.name.clone(), &svc.name),
            spec: Some(HorizontalPodAutoscalerSpec {
                scale_target_ref: CrossVersionObjectReference {
                    api_version: Some("apps/v1".to_owned()),
                    kind: workload_kind(svc).to_owned(),
                    name: svc.name.clone(),
                },
                min_replicas: Some(int32(a.min)),
                max_replicas: int32(a.max),
                metrics: Some(metrics),
                behavior,
            }),
            ..Default::default()
        }));
    }

    let pdb = match disruption(plan, svc) {
        Disruption::MinAvailable(n) => Some((Some(IntOrString::Int(int32(n))), None)),
        Disruption::MaxUnavailable(n) => Some((None, Some(IntOrString::Int(int32(n))))),
        Disruption::None => None,
    };
    if let Some((min_available, max_unavailable)) = pdb {
        out.push(Object::PodDisruptionBudget(PodDisruptionBudget {
            metadata: meta(plan, svc.name.clone(), &svc.name),
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
pub(crate) fn service_monitor(plan: &Plan<'_>, svc: &Service) -> Option<Object> {
    let m = svc.metrics.as_ref()?;
    Some(Object::ServiceMonitor(super::ServiceMonitor {
        api_version: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: super::monitoring_meta(plan, svc.name.clone(), &svc.name),
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
fn workload_meta(plan: &Plan<'_>, svc: &Service) -> ObjectMeta {
    let stack = plan.stack();
    let mut metadata = meta(plan, svc.name.clone(), &svc.name);
    if stack.kubernetes.hardened {
        let skips = relaxation_annotations(svc);
        metadata.annotations = (!skips.is_empty()).then_some(skips);
    }
    metadata
}

/// The pod template of the service's own workload: [`pod_template`] run as the service's
/// account. A pod that mounts its token (a relaxation with a reason) says so itself, since
/// its account does not.
fn workload_template(plan: &Plan<'_>, svc: &Service, checksum: Option<String>) -> PodTemplateSpec {
    let mut template = pod_template(plan, svc, checksum);
    if let (Some(name), Some(spec)) = (service_account(plan, svc), template.spec.as_mut()) {
        spec.service_account_name = Some(name);
        if svc.security.service_account_token {
            spec.automount_service_account_token = Some(true);
        }
    }
    template
}

fn deployment(plan: &Plan<'_>, svc: &Service, checksum: Option<String>) -> Deployment {
    let strategy = rollout(plan, svc).map(|r| match r {
        Rollout::Rolling {
            max_surge,
            max_unavailable,
        } => DeploymentStrategy {
            type_: Some("RollingUpdate".to_owned()),
            rolling_update: Some(RollingUpdateDeployment {
                max_surge: Some(IntOrString::Int(int32(max_surge))),
                max_unavailable: Some(IntOrString::Int(int32(max_unavailable))),
            }),
        },
        Rollout::Recreate => DeploymentStrategy {
            type_: Some("Recreate".to_owned()),
            rolling_update: None,
        },
    });
    Deployment {
        metadata: workload_meta(plan, svc),
        spec: Some(DeploymentSpec {
            replicas: Some(int32(svc.replicas)),
            selector: label_selector(svc),
            strategy,
            template: workload_template(plan, svc, checksum),
            ..Default::default()
        }),
        ..Default::default()
    }
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
    plan: &Plan<'_>,
    svc: &Service,
    cluster: &crate::model::Cluster,
    checksum: Option<String>,
) -> StatefulSet {
    StatefulSet {
        metadata: workload_meta(plan, svc),
        spec: Some(StatefulSetSpec {
            service_name: Some(crate::plan::headless_name(&svc.name)),
            replicas: Some(int32(svc.replicas)),
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
                    partition: Some(int32(p)),
                    max_unavailable: None,
                }),
            }),
            template: workload_template(plan, svc, checksum),
            // Claim `<volume>-<statefulset>-<ordinal>` per member; kept when the set is
            // deleted or scaled down (the default retention policy), so data outlives pods.
            volume_claim_templates: {
                let templates: Vec<PersistentVolumeClaim> = claims(svc)
                    .map(|(name, spec)| PersistentVolumeClaim {
                        metadata: ObjectMeta {
                            name: Some(name.to_owned()),
                            labels: Some(labels(plan, &svc.name)),
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
