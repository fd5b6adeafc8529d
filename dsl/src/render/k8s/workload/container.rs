//! One container of a pod template: its environment (values, ConfigMap and Secret
//! references), probes, resources and security contexts. The pod's own parts (volumes,
//! scheduling, identity) are in [`super::pod`].

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapKeySelector, EnvVar, EnvVarSource, ExecAction, GRPCAction,
    HTTPGetAction, HTTPHeader, ObjectFieldSelector, PodSecurityContext, Probe as KProbe,
    SeccompProfile, SecretKeySelector, SecurityContext, TCPSocketAction,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::config_map_name;
use crate::model::{
    Amount, ConfigMapUse, EnvValue, Mount, Probe, ProbeAction, SecretRef, Security, Service, Target,
};
use crate::plan::{Hosts, Plan, Ports, Style};
use crate::render::k8s::int32;

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
    env_list(plan, svc, &svc.env, out)
}

/// The variables `vars` (the service's, or one of its containers') after the helpers in
/// `out`: values, ConfigMap keys of the service's ConfigMap, Secret references, templates.
pub(super) fn env_list(
    plan: &Plan<'_>,
    svc: &Service,
    vars: &[crate::model::EnvVar],
    mut out: Vec<EnvVar>,
) -> Vec<EnvVar> {
    // Secrets spliced into templates need a variable of their own, defined first, so the
    // kubelet can expand `$(VAR)` in the later value.
    for var in vars {
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
    for var in vars {
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
        initial_delay_seconds: p.initial_delay.map(int32),
        period_seconds: p.period.map(int32),
        timeout_seconds: p.timeout.map(int32),
        failure_threshold: p.failure_threshold.map(int32),
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

/// The container-level security context of a container with `s` and `mounts`, from the
/// plan's [`Hardening`](crate::plan::Hardening) (the derivation Compose renders from too).
/// The seccomp profile is the pod's (see [`pod_security`]); a container whose own profile
/// differs from `pod`'s says so itself.
pub(super) fn container_security(
    plan: &Plan<'_>,
    s: &Security,
    mounts: &[Mount],
    pod: &Security,
) -> Option<SecurityContext> {
    let h = plan.hardening(s, mounts);
    let caps = (h.drop_all_capabilities || !h.add_capabilities.is_empty()).then(|| Capabilities {
        drop: h.drop_all_capabilities.then(|| vec!["ALL".to_owned()]),
        add: (!h.add_capabilities.is_empty()).then(|| h.add_capabilities.clone()),
    });
    let sc = SecurityContext {
        allow_privilege_escalation: h.no_new_privileges.then_some(false),
        capabilities: caps,
        read_only_root_filesystem: h.read_only_root_fs.then_some(true),
        run_as_non_root: h.non_root.then_some(true),
        run_as_user: h.user.map(i64::from),
        run_as_group: h.group.map(i64::from),
        seccomp_profile: (h.seccomp_runtime_default != pod.seccomp_runtime_default).then(|| {
            SeccompProfile {
                type_: if h.seccomp_runtime_default {
                    "RuntimeDefault"
                } else {
                    "Unconfined"
                }
                .to_owned(),
                localhost_profile: None,
            }
        }),
        ..Default::default()
    };
    (sc != SecurityContext::default()).then_some(sc)
}

/// The pod-level security context: the service's volume group and seccomp profile.
pub(super) fn pod_security(plan: &Plan<'_>, svc: &Service) -> Option<PodSecurityContext> {
    let h = plan.hardening(&svc.security, &svc.mounts);
    let sc = PodSecurityContext {
        fs_group: h.fs_group.map(i64::from),
        seccomp_profile: h.seccomp_runtime_default.then(|| SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            localhost_profile: None,
        }),
        ..Default::default()
    };
    (sc != PodSecurityContext::default()).then_some(sc)
}
