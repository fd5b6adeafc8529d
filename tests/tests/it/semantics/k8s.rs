//! The Kubernetes workload oracle: what each manifest service's main container runs,
//! written from the model alone — image, command and args (`$(` escaped), every
//! environment variable (literals, ConfigMap keys of `<service>-config`, Secret keys,
//! templates with hosts, Service ports and `$(VAR)` secret references defined before
//! use), container ports, resources, the three probes, and the replica count.

use std::collections::BTreeSet;

use serde_json::Value;
use stackdsl::model::{ConfigMapUse, EnvValue, Part, Probe, ProbeAction, Protocol, Stack};

use super::{Docs, find, k8s_objects, manifests};

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
pub(crate) fn check_k8s_workloads(stack: &Stack, docs: &Docs) -> Result<(), String> {
    let objects = k8s_objects(stack, docs);
    if objects.is_empty() {
        return Ok(()); // whether there must be manifests is check_all's business
    }
    let plan = stackdsl::validate(stack).map_err(|e| e.to_string())?;
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
        for (key, want) in [("command", &svc.command), ("args", &svc.args)] {
            let want: Option<Vec<String>> = want
                .as_ref()
                .map(|v| v.iter().map(|a| escaped(a)).collect());
            let got: Option<Vec<String>> = c[key].as_array().map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or_default().to_owned())
                    .collect()
            });
            if got != want {
                return fail(format!("{key}, the model says {want:?}"));
            }
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

        // Resources, as amounts.
        let r = svc.resources.as_ref();
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
                return fail(format!("{key} {got:?}, the model says {:?}", (cpu, mem)));
            }
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

        // Environment: each variable as the model says, secrets spliced into templates
        // through a variable of their own defined before the value that uses it.
        let env: Vec<&Value> = c["env"].as_array().into_iter().flatten().collect();
        let pos = |name: &str| env.iter().position(|e| e["name"] == name);
        let mut want: BTreeSet<String> = BTreeSet::new();
        if let Some(cl) = &svc.cluster {
            want.insert(cl.node_name_env.clone());
            want.insert(cl.seeds_env.clone());
            if let Some((var, s)) = &cl.secret {
                want.insert(var.clone());
                let r = &env[pos(var).unwrap_or_default()]["valueFrom"]["secretKeyRef"];
                if r["name"] != s.name() || r["key"] != s.key() {
                    return fail(format!(
                        "{var} must reference Secret {}/{}",
                        s.name(),
                        s.key()
                    ));
                }
            }
        }
        for var in &svc.env {
            if matches!(var.value, EnvValue::Config(_))
                && svc.config_map_use == ConfigMapUse::ReadByApp
            {
                continue;
            }
            want.insert(var.name.clone());
            let Some(i) = pos(&var.name) else {
                return fail(format!("no variable {}", var.name));
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
                                let r = pos(&s.var())
                                    .map(|j| (j, &env[j]["valueFrom"]["secretKeyRef"]));
                                ok &= r.is_some_and(|(j, r)| {
                                    j < i && r["name"] == s.name() && r["key"] == s.key()
                                });
                            }
                            other => panic!("the oracle does not know {other:?}: teach it"),
                        }
                    }
                    ok && e["value"] == value.as_str()
                }
                other => panic!("the oracle does not know {other:?}: teach it"),
            };
            if !ok {
                return fail(format!(
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
            return fail(format!("environment {got:?}, the model says {want:?}"));
        }
    }
    Ok(())
}
