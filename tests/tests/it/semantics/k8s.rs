//! The Kubernetes workload oracle: what each manifest service's main container runs,
//! written from the model alone — image, command and args (`$(` escaped), every
//! environment variable (literals, ConfigMap keys of `<service>-config`, Secret keys,
//! templates with hosts, Service ports and `$(VAR)` secret references defined before
//! use), container ports, resources, the three probes, the replica count, the pod's
//! annotations and config checksum, the ConfigMap's data; and the same (image, command,
//! args, variables, resources) for each init container and sidecar.

use std::collections::BTreeSet;

use serde_json::Value;
use stackdsl::model::{
    ConfigMapUse, EnvValue, EnvVar, Part, Probe, ProbeAction, Protocol, SecretRef, Service, Stack,
};
use stackdsl::prelude::Resources;

use super::{Docs, check_strings, find, k8s_objects, manifests};

/// `$(` doubled, so the kubelet does not expand it as a variable reference.
fn escaped(s: &str) -> String {
    s.replace("$(", "$$(")
}

/// A CPU quantity in millicores (`250m`, `2`).
fn millicores(q: &Value) -> Option<u32> {
    let s = q.as_str()?;
    match s.strip_suffix('m') {
        Some(m) => m.parse().ok(),
        None => s.parse::<u32>().ok().map(|c| c * 1000),
    }
}

/// A memory quantity in bytes (`512Mi`, `1Gi`, `100`).
fn bytes(q: &Value) -> Option<u64> {
    let s = q.as_str()?;
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let factor: u64 = match unit {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        _ => return None,
    };
    Some(num.parse::<u64>().ok()? * factor)
}

/// Does the rendered probe state exactly the model's probe?
fn probe_matches(p: &Probe, k: &Value) -> bool {
    let num = |key: &str| k.get(key).and_then(Value::as_u64);
    let same = |key: &str, want: Option<u32>| num(key) == want.map(u64::from);
    let timings = same("initialDelaySeconds", p.initial_delay)
        && same("periodSeconds", p.period)
        && same("timeoutSeconds", p.timeout)
        && same("failureThreshold", p.failure_threshold);
    let action = match &p.action {
        ProbeAction::HttpGet { path, port } => {
            let h = &k["httpGet"];
            let headers: Vec<(String, String)> = h["httpHeaders"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| {
                    let s = |f: &str| x[f].as_str().unwrap_or_default().to_owned();
                    (s("name"), s("value"))
                })
                .collect();
            h["path"] == path.as_str() && h["port"] == port.name && headers == p.headers
        }
        ProbeAction::Tcp { port } => k["tcpSocket"]["port"] == port.name,
        ProbeAction::Grpc { port, service } => {
            k["grpc"]["port"] == port.number && k["grpc"]["service"].as_str() == service.as_deref()
        }
        ProbeAction::Exec { command } => k["exec"]["command"]
            .as_array()
            .is_some_and(|c| c.iter().eq(command.iter())),
        other => panic!("the oracle does not know {other:?}: teach it"),
    };
    timings && action
}

/// Every manifest service's workload runs what the model declares (see the module doc).
/// A service that patches its pod through the escape hatch is left out: the patch may
/// change any of it.
pub(crate) fn check_k8s_workloads(
    stack: &Stack,
    plan: &stackdsl::Plan<'_>,
    docs: &Docs,
) -> Result<(), String> {
    let objects = k8s_objects(stack, docs);
    if objects.is_empty() {
        return Ok(()); // whether there must be manifests is check_all's business
    }
    for svc in manifests(stack)
        .into_iter()
        .filter(|s| s.hatches.pod.is_empty())
    {
        let Some(w) = find(&objects, "Deployment", &svc.name)
            .or_else(|| find(&objects, "StatefulSet", &svc.name))
        else {
            return Err(format!(
                "{}: no Deployment or StatefulSet `{}`",
                stack.name, svc.name
            ));
        };
        let main = svc.main_container_name.as_deref().unwrap_or(&svc.name);
        let Some(c) = w["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == main)
        else {
            return Err(format!(
                "{}: `{}` has no container `{main}`",
                stack.name, svc.name
            ));
        };
        let fail = |what: String| {
            Err(format!(
                "{}: workload `{}`: {what}\n{}",
                stack.name,
                svc.name,
                serde_json::to_string_pretty(c).unwrap_or_default()
            ))
        };
        if w["spec"]["replicas"] != svc.replicas {
            return fail(format!("replicas, the model says {}", svc.replicas));
        }
        if let Some(image) = &svc.source.image
            && c["image"] != image.to_string().as_str()
        {
            return fail(format!("image, the model says {image}"));
        }
        if let Err(e) = check_argv(c, &svc.command, &svc.args) {
            return fail(e);
        }

        // Ports: every declared port, by name, number and protocol.
        let want: BTreeSet<(String, u64, &str)> = svc
            .ports
            .iter()
            .map(|p| {
                let proto = if p.protocol == Protocol::Udp {
                    "UDP"
                } else {
                    "TCP"
                };
                (p.name.to_owned(), u64::from(p.number), proto)
            })
            .collect();
        let got: BTreeSet<(String, u64, &str)> = c["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or_default().to_owned(),
                    p["containerPort"].as_u64().unwrap_or_default(),
                    p["protocol"].as_str().unwrap_or("TCP"),
                )
            })
            .collect();
        if got != want {
            return fail(format!("ports {got:?}, the model says {want:?}"));
        }

        if let Err(e) = check_resources(c, svc.resources.as_ref()) {
            return fail(e);
        }

        // Probes, each exactly as declared.
        for (key, probe) in [
            ("readinessProbe", &svc.probes.readiness),
            ("livenessProbe", &svc.probes.liveness),
            ("startupProbe", &svc.probes.startup),
        ] {
            let k = &c[key];
            let ok = match probe {
                None => k.is_null(),
                Some(p) => probe_matches(p, k),
            };
            if !ok {
                return fail(format!("{key}, the model says {probe:?}"));
            }
        }

        // Environment: a cluster member's helpers, then the model's variables.
        let mut helpers: BTreeSet<String> = BTreeSet::new();
        if let Some(cl) = &svc.cluster {
            helpers.insert(cl.node_name_env.clone());
            helpers.insert(cl.seeds_env.clone());
            if let Some((var, s)) = &cl.secret {
                helpers.insert(var.clone());
                if !secret_at(c, var, s) {
                    return fail(format!(
                        "{var} must reference Secret {}/{}",
                        s.name(),
                        s.key()
                    ));
                }
            }
        }
        if let Err(e) = check_env(plan, stack, svc, c, &svc.env, helpers) {
            return fail(e);
        }

        // The pod template carries the service's annotations and, in a hardened stack, a
        // checksum of its configuration (values and files), so a change rolls the pods.
        let annotations = &w["spec"]["template"]["metadata"]["annotations"];
        for (k, v) in &svc.annotations {
            if annotations[k] != v.as_str() {
                return fail(format!("pod annotation {k}, the model says {v:?}"));
            }
        }
        let configured = svc
            .env
            .iter()
            .any(|v| matches!(v.value, EnvValue::Config(_)))
            || svc
                .mounts
                .iter()
                .any(|m| matches!(m.source, stackdsl::model::VolumeSource::File(_)));
        let summed = annotations["checksum/config"]
            .as_str()
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if summed != (stack.kubernetes.hardened && configured) {
            return fail(format!(
                "checksum/config {}, the model says hardened {} and configured {configured}",
                annotations["checksum/config"], stack.kubernetes.hardened
            ));
        }

        // The service's ConfigMap holds exactly its configuration values, as written.
        let want: std::collections::BTreeMap<&str, &str> = svc
            .env
            .iter()
            .filter_map(|v| match &v.value {
                EnvValue::Config(c) => Some((v.name.as_str(), c.as_str())),
                _ => None,
            })
            .collect();
        let cm = find(&objects, "ConfigMap", &format!("{}-config", svc.name));
        let got: Option<std::collections::BTreeMap<&str, &str>> = cm.map(|cm| {
            cm["data"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or("<not a string>")))
                .collect()
        });
        // (Without configuration values the name is free: a file mount may take it.)
        if !want.is_empty() && got.as_ref() != Some(&want) {
            return fail(format!(
                "ConfigMap {}-config holds {got:?}, the model says {want:?}",
                svc.name
            ));
        }

        // Init containers and sidecars: image, command, args, variables, resources.
        let pod = &w["spec"]["template"]["spec"];
        for ct in svc.containers() {
            let Some(k) = pod["initContainers"]
                .as_array()
                .into_iter()
                .chain(pod["containers"].as_array())
                .flatten()
                .find(|k| k["name"] == ct.name.as_str())
            else {
                return fail(format!("no container `{}`", ct.name));
            };
            let checks = if k["image"] == ct.image.to_string().as_str() {
                Ok(())
            } else {
                Err(format!("image, the model says {}", ct.image))
            };
            let checks = checks
                .and_then(|()| check_argv(k, &ct.command, &ct.args))
                .and_then(|()| check_resources(k, ct.resources.as_ref()))
                .and_then(|()| check_env(plan, stack, svc, k, &ct.env, BTreeSet::new()));
            if let Err(e) = checks {
                return fail(format!("container `{}`: {e}", ct.name));
            }
        }
    }
    Ok(())
}

/// `command` and `args` of container `c` are the model's, `$(` escaped.
fn check_argv(
    c: &Value,
    command: &Option<Vec<String>>,
    args: &Option<Vec<String>>,
) -> Result<(), String> {
    for (key, want) in [("command", command), ("args", args)] {
        let want = want
            .as_ref()
            .map(|v| v.iter().map(|a| escaped(a)).collect());
        check_strings(c, key, want)?;
    }
    Ok(())
}

/// Container `c`'s requests and limits are the model's amounts (none when unset).
fn check_resources(c: &Value, r: Option<&Resources>) -> Result<(), String> {
    for (key, amount) in [
        ("limits", r.map(|r| r.limits)),
        ("requests", r.map(|r| r.requests)),
    ] {
        let cpu = amount.and_then(|a| a.cpu).map(|c| c.millicores());
        let mem = amount.and_then(|a| a.memory).map(|m| m.bytes());
        let res = &c["resources"][key];
        let got = (
            res.get("cpu").and_then(millicores),
            res.get("memory").and_then(bytes),
        );
        if got != (cpu, mem) {
            return Err(format!("{key} {got:?}, the model says {:?}", (cpu, mem)));
        }
    }
    Ok(())
}

/// Does container `c` define `var` from Secret key `s`?
fn secret_at(c: &Value, var: &str, s: &SecretRef) -> bool {
    c["env"].as_array().into_iter().flatten().any(|e| {
        let r = &e["valueFrom"]["secretKeyRef"];
        e["name"] == var && r["name"] == s.name() && r["key"] == s.key()
    })
}

/// Container `c`'s environment is exactly `helpers` and `vars` (a ConfigMap value the app
/// reads itself excepted), each as the model says: literals with `$(` escaped, ConfigMap
/// keys of `<service>-config`, Secret keys, templates with Kubernetes hosts, Service ports
/// and `$(VAR)` for a secret whose variable is defined earlier in the list.
fn check_env(
    plan: &stackdsl::Plan<'_>,
    stack: &Stack,
    svc: &Service,
    c: &Value,
    vars: &[EnvVar],
    mut want: BTreeSet<String>,
) -> Result<(), String> {
    let env: Vec<&Value> = c["env"].as_array().into_iter().flatten().collect();
    let pos = |name: &str| env.iter().position(|e| e["name"] == name);
    for var in vars {
        if matches!(var.value, EnvValue::Config(_)) && svc.config_map_use == ConfigMapUse::ReadByApp
        {
            continue;
        }
        want.insert(var.name.clone());
        let Some(i) = pos(&var.name) else {
            return Err(format!("no variable {}", var.name));
        };
        let e = env[i];
        let ok = match &var.value {
            EnvValue::Plain(s) => e["value"] == escaped(s).as_str(),
            EnvValue::Config(_) => {
                let r = &e["valueFrom"]["configMapKeyRef"];
                r["name"] == format!("{}-config", svc.name).as_str() && r["key"] == var.name
            }
            EnvValue::Secret(s) => {
                let r = &e["valueFrom"]["secretKeyRef"];
                r["name"] == s.name() && r["key"] == s.key()
            }
            EnvValue::Template(t) => {
                let mut value = String::new();
                let mut ok = true;
                for part in t.parts() {
                    match part {
                        Part::Text(s) => value.push_str(&escaped(s)),
                        Part::Host(h) => match stack.service(h.name()) {
                            Some(target) => value.push_str(&plan.k8s_host(target)),
                            None => value.push_str(h.name()),
                        },
                        Part::Port(p) => value.push_str(&p.port().client_port().to_string()),
                        Part::Secret(s) => {
                            value.push_str(&format!("$({})", s.var()));
                            want.insert(s.var());
                            ok &= pos(&s.var()).is_some_and(|j| j < i) && secret_at(c, &s.var(), s);
                        }
                        other => panic!("the oracle does not know {other:?}: teach it"),
                    }
                }
                ok && e["value"] == value.as_str()
            }
            other => panic!("the oracle does not know {other:?}: teach it"),
        };
        if !ok {
            return Err(format!(
                "{} = {e}, the model says {:?}",
                var.name, var.value
            ));
        }
    }
    let got: BTreeSet<String> = env
        .iter()
        .filter_map(|e| e["name"].as_str().map(str::to_owned))
        .collect();
    if got != want || got.len() != env.len() {
        return Err(format!("environment {got:?}, the model says {want:?}"));
    }
    Ok(())
}
