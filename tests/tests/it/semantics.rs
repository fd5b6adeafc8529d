//! Oracles for the behaviour the renderers derive, written from the model alone (never from
//! the library's own helpers) and checked against the rendered files: NetworkPolicies admit
//! exactly the declared dependency edges with their ports, both ways; Compose waits for
//! exactly the dependencies (healthy where they have a health check); Services select their
//! pods and publish the client ports; HPAs and PDBs follow the intent; the Secrets and
//! variables each target references are exactly the model's; the CI test job runs exactly
//! the backing services' CI containers and points the apps' URLs at them.
//!
//! The oracles run over every seed stack and fixture in every environment here, and over
//! every random valid stack of the `properties` module.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use stackdsl::model::{EnvValue, Mount, Part, Service, Stack, Target, VolumeSource};
use stackdsl::prelude::{Cpu, Env, Image, Memory, Port, Resources};

/// Parsed output files: path → its YAML documents.
pub(crate) type Docs = BTreeMap<String, Vec<Value>>;

const NAME: &str = "app.kubernetes.io/name";

mod compose;
mod k8s;

/// The services `svc` depends on, from the model: its `depends_on` and every service its
/// environment values point at, each once, itself excluded.
fn deps<'s>(stack: &'s Stack, svc: &Service) -> Vec<&'s Service> {
    let mut names: Vec<&str> = svc.depends_on.iter().map(|d| d.name()).collect();
    for var in &svc.env {
        if let EnvValue::Template(t) = &var.value {
            for p in t.parts() {
                match p {
                    Part::Host(s) => names.push(s.name()),
                    Part::Port(e) => names.push(e.service().name()),
                    _ => {}
                }
            }
        }
    }
    let mut out: Vec<&Service> = Vec::new();
    for n in names {
        if n != svc.name
            && !out.iter().any(|o| o.name == n)
            && let Some(s) = stack.services.iter().find(|s| s.name == n)
        {
            out.push(s);
        }
    }
    out
}

fn helm(stack: &Stack, svc: &Service) -> bool {
    svc.backing.is_some() && stack.targets.contains(&Target::Terraform)
}

/// Services the Kubernetes target renders as manifests.
fn manifests(stack: &Stack) -> Vec<&Service> {
    if !stack.targets.contains(&Target::Kubernetes) {
        return Vec::new();
    }
    stack
        .services
        .iter()
        .filter(|s| s.renders_on(Target::Kubernetes) && !helm(stack, s))
        .collect()
}

/// Port names other services may use: all but a cluster's gossip port.
fn client_port_names(svc: &Service) -> BTreeSet<String> {
    let gossip = svc.cluster.as_ref().map(|c| c.port.name);
    svc.ports
        .iter()
        .filter(|p| Some(p.name) != gossip)
        .map(|p| p.name.to_owned())
        .collect()
}

fn k8s_objects<'d>(stack: &Stack, docs: &'d Docs) -> Vec<&'d Value> {
    let dir = format!("{}/k8s/", stack.out_dir());
    docs.iter()
        .filter(|(p, _)| p.starts_with(&dir) && !p.ends_with("kustomization.yaml"))
        .flat_map(|(_, v)| v)
        .collect()
}

fn find<'d>(objects: &[&'d Value], kind: &str, name: &str) -> Option<&'d Value> {
    objects
        .iter()
        .copied()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

/// The ports of a NetworkPolicy rule: names as they are, numbers as decimal text.
fn rule_ports(rule: &Value) -> BTreeSet<String> {
    rule["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| match &p["port"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// `(service name of a pod-selector-only peer, port names)` of a policy's rules.
fn peers(rules: &Value, dir: &str) -> BTreeSet<(String, BTreeSet<String>)> {
    let mut out = BTreeSet::new();
    for rule in rules.as_array().into_iter().flatten() {
        let ports = rule_ports(rule);
        for peer in rule[dir].as_array().into_iter().flatten() {
            if peer.get("namespaceSelector").is_some() || peer.get("ipBlock").is_some() {
                continue;
            }
            if let Some(name) = peer["podSelector"]["matchLabels"][NAME].as_str() {
                out.insert((name.to_owned(), ports.clone()));
            }
        }
    }
    out
}

/// Every declared dependency edge between manifest services is an egress rule on the
/// caller and an ingress rule on the callee, with the callee's client ports, and no other
/// edge between the stack's services is allowed (a cluster's members also reach each other
/// on the gossip port). Backup jobs are the only other in-namespace peers.
pub(crate) fn check_network_policies(stack: &Stack, docs: &Docs) -> Result<(), String> {
    if !stack.kubernetes.hardened {
        return Ok(());
    }
    let objects = k8s_objects(stack, docs);
    let ours = manifests(stack);
    let names: BTreeSet<&str> = ours.iter().map(|s| s.name.as_str()).collect();
    for svc in &ours {
        let policy = find(&objects, "NetworkPolicy", &svc.name).ok_or_else(|| {
            format!(
                "{}: no NetworkPolicy for service `{}`",
                stack.name, svc.name
            )
        })?;
        let gossip: BTreeSet<String> = svc.cluster.iter().map(|c| c.port.name.to_owned()).collect();
        // Ingress: every dependant, on this service's client ports; itself on gossip.
        let mut want_in: BTreeSet<(String, BTreeSet<String>)> = stack
            .services
            .iter()
            .filter(|d| names.contains(d.name.as_str()))
            .filter(|d| deps(stack, d).iter().any(|t| t.name == svc.name))
            .map(|d| (d.name.clone(), client_port_names(svc)))
            .collect();
        let mut want_out: BTreeSet<(String, BTreeSet<String>)> = deps(stack, svc)
            .into_iter()
            .filter(|t| names.contains(t.name.as_str()))
            .map(|t| (t.name.clone(), client_port_names(t)))
            .collect();
        if !gossip.is_empty() {
            want_in.insert((svc.name.clone(), gossip.clone()));
            want_out.insert((svc.name.clone(), gossip.clone()));
        }
        let spec = &policy["spec"];
        let got_in: BTreeSet<_> = peers(&spec["ingress"], "from")
            .into_iter()
            .filter(|(n, _)| names.contains(n.as_str()))
            .collect();
        let got_out: BTreeSet<_> = peers(&spec["egress"], "to")
            .into_iter()
            .filter(|(n, _)| names.contains(n.as_str()))
            .collect();
        if got_in != want_in {
            return Err(format!(
                "{}: NetworkPolicy/{} admits {got_in:?}, the model's dependants are {want_in:?}",
                stack.name, svc.name
            ));
        }
        if got_out != want_out {
            return Err(format!(
                "{}: NetworkPolicy/{} lets it reach {got_out:?}, its dependencies are {want_out:?}",
                stack.name, svc.name
            ));
        }
        // Dependencies a chart or operator installs: their pods by the chart's labels, on
        // the port numbers (a chart's container port names are not ours), and no others.
        let charts: Vec<&Service> = stack
            .services
            .iter()
            .filter(|t| t.renders_on(Target::Kubernetes) && helm(stack, t))
            .collect();
        let labels_of = |t: &Service| {
            serde_json::to_value(&t.backing.as_ref().expect("backing").pod_labels).expect("labels")
        };
        let want_charts: BTreeSet<(String, BTreeSet<String>)> = deps(stack, svc)
            .into_iter()
            .filter(|t| charts.iter().any(|c| c.name == t.name))
            .map(|t| {
                let ports = t.ports.iter().map(|p| p.number.to_string()).collect();
                (labels_of(t).to_string(), ports)
            })
            .collect();
        let mut got_charts: BTreeSet<(String, BTreeSet<String>)> = BTreeSet::new();
        for rule in spec["egress"].as_array().into_iter().flatten() {
            for peer in rule["to"].as_array().into_iter().flatten() {
                let labels = &peer["podSelector"]["matchLabels"];
                if peer.get("namespaceSelector").is_some()
                    || !charts.iter().any(|c| labels_of(c) == *labels)
                {
                    continue;
                }
                let ports = rule["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| p["port"].to_string())
                    .collect();
                got_charts.insert((labels.to_string(), ports));
            }
        }
        if got_charts != want_charts {
            return Err(format!(
                "{}: NetworkPolicy/{} lets it reach chart pods {got_charts:?}, its dependencies installed by Terraform are {want_charts:?}",
                stack.name, svc.name
            ));
        }
    }
    Ok(())
}

/// The rest of a service's NetworkPolicy, from the model: traffic from anywhere only to
/// an externally exposed service (NodePort/LoadBalancer), on its client ports; the route
/// controller's or gateway's namespace on exactly the routed ports; address ranges
/// exactly the declared egress (networks, exceptions, ports).
pub(crate) fn check_policy_edges(stack: &Stack, docs: &Docs) -> Result<(), String> {
    use stackdsl::model::{GatewayImpl, RouteApi};
    if !stack.kubernetes.hardened {
        return Ok(());
    }
    let objects = k8s_objects(stack, docs);
    let route_ns = match &stack.kubernetes.routes {
        RouteApi::Gateway(gw) => match &gw.implementation {
            GatewayImpl::EnvoyGateway { namespace } | GatewayImpl::Portable { namespace, .. } => {
                namespace.clone()
            }
            _ => return Err("a gateway implementation this oracle does not know".into()),
        },
        RouteApi::Ingress(c) => c.namespace().to_owned(),
        _ => return Err("a route API this oracle does not know".into()),
    };
    for svc in manifests(stack) {
        let Some(policy) = find(&objects, "NetworkPolicy", &svc.name) else {
            continue; // check_network_policies reports it
        };
        let spec = &policy["spec"];
        let ingress: Vec<&Value> = spec["ingress"].as_array().into_iter().flatten().collect();
        let open: Vec<BTreeSet<String>> = ingress
            .iter()
            .filter(|r| r.get("from").is_none_or(Value::is_null))
            .map(|r| rule_ports(r))
            .collect();
        let want_open: Vec<BTreeSet<String>> = if svc.exposure.is_external() {
            vec![client_port_names(svc)]
        } else {
            Vec::new()
        };
        if open != want_open {
            return Err(format!(
                "{}: NetworkPolicy/{} admits any source on {open:?}; the model exposes {want_open:?}",
                stack.name, svc.name
            ));
        }
        let from_routes: BTreeSet<String> = ingress
            .iter()
            .filter(|r| {
                r["from"].as_array().into_iter().flatten().any(|p| {
                    p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                        == route_ns.as_str()
                })
            })
            .flat_map(|r| rule_ports(r))
            .collect();
        let want_routes: BTreeSet<String> =
            svc.routes.iter().map(|r| r.port.name.to_owned()).collect();
        if from_routes != want_routes {
            return Err(format!(
                "{}: NetworkPolicy/{} admits `{route_ns}` on {from_routes:?}; its routes use {want_routes:?}",
                stack.name, svc.name
            ));
        }
        // Egress: never to everything; DNS only to the cluster's resolver pods, port 53.
        let egress: Vec<&Value> = spec["egress"].as_array().into_iter().flatten().collect();
        if let Some(open) = egress
            .iter()
            .find(|r| r.get("to").is_none_or(Value::is_null))
        {
            return Err(format!(
                "{}: NetworkPolicy/{} lets it reach any destination: {open}",
                stack.name, svc.name
            ));
        }
        let dns: Vec<&&Value> = egress
            .iter()
            .filter(|r| {
                r["to"].as_array().into_iter().flatten().any(|p| {
                    p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                        == "kube-system"
                })
            })
            .collect();
        let dns_ok = dns.len() == 1
            && dns[0]["to"][0]["podSelector"]["matchLabels"]["k8s-app"] == "kube-dns"
            && rule_ports(dns[0]) == BTreeSet::from(["53".to_owned()]);
        if !dns_ok {
            return Err(format!(
                "{}: NetworkPolicy/{} has DNS egress {dns:?}; want one rule to kube-system's kube-dns pods on port 53",
                stack.name, svc.name
            ));
        }
        let blocks: BTreeSet<(String, Vec<String>, BTreeSet<String>)> = spec["egress"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| {
                let ports = rule_ports(r);
                r["to"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p.get("ipBlock").is_some())
                    .map(move |p| {
                        let except = p["ipBlock"]["except"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|e| e.as_str().unwrap_or_default().to_owned())
                            .collect();
                        let cidr = p["ipBlock"]["cidr"].as_str().unwrap_or_default().to_owned();
                        (cidr, except, ports.clone())
                    })
            })
            .collect();
        let want_blocks: BTreeSet<(String, Vec<String>, BTreeSet<String>)> = svc
            .egress
            .iter()
            .map(|e| {
                let ports = e.ports.iter().map(u16::to_string).collect();
                (e.cidr.clone(), e.except.clone(), ports)
            })
            .collect();
        if blocks != want_blocks {
            return Err(format!(
                "{}: NetworkPolicy/{} lets it reach address ranges {blocks:?}; the model declares {want_blocks:?}",
                stack.name, svc.name
            ));
        }
    }
    Ok(())
}

/// Every Kubernetes Service of a manifest service selects exactly its pods and publishes
/// its client ports (Service port = the port's client port, target port = its name).
pub(crate) fn check_k8s_services(stack: &Stack, docs: &Docs) -> Result<(), String> {
    let objects = k8s_objects(stack, docs);
    for svc in manifests(stack) {
        let client: Vec<_> = svc
            .ports
            .iter()
            .filter(|p| Some(p.name) != svc.cluster.as_ref().map(|c| c.port.name))
            .collect();
        let Some(service) = find(&objects, "Service", &svc.name) else {
            if client.is_empty() {
                continue;
            }
            return Err(format!("{}: no Service for `{}`", stack.name, svc.name));
        };
        let selector = &service["spec"]["selector"];
        if selector.as_object().map(|m| m.len()) != Some(1) || selector[NAME] != svc.name.as_str() {
            return Err(format!(
                "{}: Service/{} selects {selector}",
                stack.name, svc.name
            ));
        }
        let got: BTreeSet<(String, i64, String)> = service["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p["name"].as_str().unwrap_or_default().to_owned(),
                    p["port"].as_i64().unwrap_or(-1),
                    p["targetPort"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let want: BTreeSet<(String, i64, String)> = client
            .iter()
            .map(|p| {
                (
                    p.name.to_owned(),
                    i64::from(p.client_port()),
                    p.name.to_owned(),
                )
            })
            .collect();
        if got != want {
            return Err(format!(
                "{}: Service/{} ports {got:?}, model {want:?}",
                stack.name, svc.name
            ));
        }
    }
    Ok(())
}

/// An HPA exists exactly for services that autoscale, with their bounds and targets; a PDB
/// exactly where the intent or the hardening asks for one.
pub(crate) fn check_autoscaling(stack: &Stack, docs: &Docs) -> Result<(), String> {
    let objects = k8s_objects(stack, docs);
    for svc in manifests(stack) {
        let hpa = find(&objects, "HorizontalPodAutoscaler", &svc.name);
        match (&svc.autoscale, hpa) {
            (None, None) => {}
            (Some(a), Some(h)) => {
                let spec = &h["spec"];
                if spec["minReplicas"].as_u64() != Some(u64::from(a.min))
                    || spec["maxReplicas"].as_u64() != Some(u64::from(a.max))
                {
                    return Err(format!("{}: HPA/{} bounds {spec}", stack.name, svc.name));
                }
                let targets: BTreeMap<String, u64> = spec["metrics"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| {
                        (
                            m["resource"]["name"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                            m["resource"]["target"]["averageUtilization"]
                                .as_u64()
                                .unwrap_or(0),
                        )
                    })
                    .collect();
                let want: BTreeMap<String, u64> = [("cpu", a.cpu), ("memory", a.memory)]
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), u64::from(v))))
                    .collect();
                if targets != want {
                    return Err(format!(
                        "{}: HPA/{} targets {targets:?}, model {want:?}",
                        stack.name, svc.name
                    ));
                }
                // Scaling behaviour: a direction the model leaves alone is Kubernetes'
                // default (not written); a window the model does not give is not written.
                let rules = |r: Option<stackdsl::model::Scaling>| {
                    r.map(|r| {
                        let mut rule = serde_json::json!({
                            "policies": [{
                                "type": "Percent",
                                "value": r.percent,
                                "periodSeconds": r.every.as_secs(),
                            }],
                        });
                        if let Some(w) = r.stabilization {
                            rule["stabilizationWindowSeconds"] = w.as_secs().into();
                        }
                        rule
                    })
                };
                let want = match (rules(a.scale_up), rules(a.scale_down)) {
                    (None, None) => Value::Null,
                    (up, down) => {
                        let mut b = serde_json::Map::new();
                        b.extend(up.map(|r| ("scaleUp".to_owned(), r)));
                        b.extend(down.map(|r| ("scaleDown".to_owned(), r)));
                        Value::Object(b)
                    }
                };
                if spec["behavior"] != want {
                    return Err(format!(
                        "{}: HPA/{} behavior {}, model {want}",
                        stack.name, svc.name, spec["behavior"]
                    ));
                }
            }
            (a, h) => {
                return Err(format!(
                    "{}: `{}` autoscales: {}, HPA rendered: {}",
                    stack.name,
                    svc.name,
                    a.is_some(),
                    h.is_some()
                ));
            }
        }
        let floor = svc.autoscale.as_ref().map_or(svc.replicas, |a| a.min);
        let want_pdb = svc.disruption.is_some()
            || svc.cluster.is_some()
            || (stack.kubernetes.hardened && floor >= 2);
        let explicit_none = matches!(svc.disruption, Some(stackdsl::model::Disruption::None));
        let has_pdb = find(&objects, "PodDisruptionBudget", &svc.name).is_some();
        if has_pdb != (want_pdb && !explicit_none) {
            return Err(format!(
                "{}: `{}` (floor {floor}) has a PDB: {has_pdb}",
                stack.name, svc.name
            ));
        }
    }
    Ok(())
}

/// A Compose service's `depends_on`, as dependency → condition.
fn conditions(service: &Value) -> BTreeMap<String, String> {
    service["depends_on"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            (
                k.clone(),
                v["condition"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Compose waits for exactly the model's dependencies (a cluster through its seed member),
/// `service_healthy` where the dependency's container has a health check.
pub(crate) fn check_compose_dependencies(
    stack: &Stack,
    plan: &stackdsl::Plan<'_>,
    docs: &Docs,
) -> Result<(), String> {
    let Some(file) = docs.get(&format!("{}/compose.yaml", stack.out_dir())) else {
        return if stack.targets.contains(&Target::Compose) {
            Err(format!(
                "{}: Compose is a target but there is no compose.yaml",
                stack.name
            ))
        } else {
            Ok(())
        };
    };
    let services = &file[0]["services"];
    let member0 = |s: &Service| match &s.cluster {
        Some(_) => format!("{}-seed", s.name),
        None => s.name.clone(),
    };
    for svc in stack
        .services
        .iter()
        .filter(|s| s.renders_on(Target::Compose))
    {
        let own = &services[member0(svc)];
        if own.is_null() {
            return Err(format!(
                "{}: compose.yaml has no `{}`",
                stack.name,
                member0(svc)
            ));
        }
        let mut want: BTreeMap<String, String> = BTreeMap::new();
        for t in deps(stack, svc) {
            let key = member0(t);
            let healthy = services[&key].get("healthcheck").is_some();
            want.insert(
                key,
                if healthy {
                    "service_healthy"
                } else {
                    "service_started"
                }
                .to_owned(),
            );
        }
        if svc.migrations.is_some() {
            want.insert(
                format!("{}-migrate", svc.name),
                "service_completed_successfully".to_owned(),
            );
        }
        // A service run as a stated non-root user (not one whose image steps down itself)
        // waits for the one-shot that hands its writable named volumes to that user, as does
        // its first init container. Host folders (bind mounts) are the user's: not chowned.
        let scratch_of = |mounts: &[Mount]| -> Vec<String> {
            mounts
                .iter()
                .filter(|m| matches!(m.source, VolumeSource::Scratch))
                .map(|m| m.path.clone())
                .collect()
        };
        let own_scratch = scratch_of(&svc.mounts);
        let shared_scratch = svc.containers().any(|c| {
            scratch_of(&c.mounts)
                .iter()
                .any(|p| own_scratch.contains(p))
        });
        let writable = shared_scratch
            || svc
                .mounts
                .iter()
                .chain(svc.containers().flat_map(|c| &c.mounts))
                .any(|m| !m.read_only && matches!(m.source, VolumeSource::Persistent { .. }));
        let sec = &svc.security;
        let volumes =
            (sec.drops_to.is_none() && sec.run_as_user.is_some_and(|u| u != 0) && writable)
                .then(|| format!("{}-volumes", svc.name));
        if let Some(v) = &volumes {
            want.insert(v.clone(), "service_completed_successfully".to_owned());
        }
        // Init containers run to completion first, each after the one before it.
        let mut previous: Option<String> = volumes;
        for c in &svc.init_containers {
            let name = format!("{}-{}", svc.name, c.name);
            let got = conditions(&services[&name]);
            if let Some(p) = &previous
                && got.get(p).map(String::as_str) != Some("service_completed_successfully")
            {
                return Err(format!(
                    "{}: init service `{name}` does not wait for `{p}`: {got:?}",
                    stack.name
                ));
            }
            want.insert(name.clone(), "service_completed_successfully".to_owned());
            previous = Some(name);
        }
        // Sidecars share the service's network namespace and start after it.
        for c in &svc.sidecars {
            let name = format!("{}-{}", svc.name, c.name);
            let sidecar = &services[&name];
            if sidecar["network_mode"].as_str() != Some(&format!("service:{}", svc.name))
                || conditions(sidecar).get(&svc.name).map(String::as_str) != Some("service_started")
            {
                return Err(format!(
                    "{}: sidecar service `{name}` does not join `{}`: {sidecar:?}",
                    stack.name, svc.name
                ));
            }
        }
        let got = conditions(own);
        if got != want {
            return Err(format!(
                "{}: compose service `{}` depends on {got:?}, the model says {want:?}",
                stack.name,
                member0(svc)
            ));
        }
    }
    // The services the plan adds (the edge proxy, Prometheus and Grafana) wait for the
    // services they name, by name: these are never clusters.
    let added = plan
        .edge()
        .into_iter()
        .chain(plan.monitoring().iter().map(|m| &m.service));
    for svc in added {
        let mut want: BTreeMap<String, String> = BTreeMap::new();
        for dep in svc.dependencies() {
            let name = match stack.service(dep.name()) {
                Some(t) => member0(t),
                None => dep.name().to_owned(),
            };
            let condition = if services[&name].get("healthcheck").is_some() {
                "service_healthy"
            } else {
                "service_started"
            };
            want.insert(name, condition.to_owned());
        }
        let got = conditions(&services[&svc.name]);
        if got != want {
            return Err(format!(
                "{}: compose service `{}` (added by the plan) depends on {got:?}, it names {want:?}",
                stack.name, svc.name
            ));
        }
    }
    Ok(())
}

/// The Secrets the workloads reference are exactly the model's secret references, by name
/// and key; Compose requires exactly their variables.
pub(crate) fn check_secret_references(stack: &Stack, docs: &Docs) -> Result<(), String> {
    let refs = |svc: &Service| {
        let mut out: Vec<(String, String, String)> = Vec::new();
        for var in &svc.env {
            let secrets: Vec<_> = match &var.value {
                EnvValue::Secret(s) => vec![s.clone()],
                EnvValue::Template(t) => t
                    .parts()
                    .iter()
                    .filter_map(|p| match p {
                        Part::Secret(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            out.extend(
                secrets
                    .iter()
                    .map(|s| (s.name().to_owned(), s.key().to_owned(), s.var())),
            );
        }
        if let Some((_, s)) = svc.cluster.as_ref().and_then(|c| c.secret.as_ref()) {
            out.push((s.name().to_owned(), s.key().to_owned(), s.var()));
        }
        out
    };
    let objects = k8s_objects(stack, docs);
    if !objects.is_empty() {
        let want: BTreeSet<(String, String)> = manifests(stack)
            .into_iter()
            .flat_map(refs)
            .map(|(n, k, _)| (n, k))
            .collect();
        let mut got: BTreeSet<(String, String)> = BTreeSet::new();
        for o in &objects {
            if !matches!(o["kind"].as_str(), Some("Deployment" | "StatefulSet")) {
                continue;
            }
            let spec = &o["spec"]["template"]["spec"];
            for c in spec["containers"]
                .as_array()
                .into_iter()
                .chain(spec["initContainers"].as_array())
                .flatten()
            {
                for e in c["env"].as_array().into_iter().flatten() {
                    let r = &e["valueFrom"]["secretKeyRef"];
                    if let (Some(n), Some(k)) = (r["name"].as_str(), r["key"].as_str()) {
                        got.insert((n.to_owned(), k.to_owned()));
                    }
                }
            }
        }
        if got != want {
            return Err(format!(
                "{}: workloads reference Secrets {got:?}, the model {want:?}",
                stack.name
            ));
        }
    }
    if let Some(file) = docs.get(&format!("{}/compose.yaml", stack.out_dir())) {
        let want: BTreeSet<String> = stack
            .services
            .iter()
            .filter(|s| s.renders_on(Target::Compose))
            .flat_map(refs)
            .map(|(_, _, v)| v)
            .collect();
        let got = interpolated(&file[0]);
        if got != want {
            return Err(format!(
                "{}: compose.yaml requires {got:?}, the model's secrets are {want:?}",
                stack.name
            ));
        }
    }
    Ok(())
}

/// The variables a Compose file interpolates: every `${NAME…}` in its strings (`$$` is an
/// escaped literal `$`).
fn interpolated(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    match v {
        Value::String(s) => {
            let b = s.as_bytes();
            let mut i = 0;
            while i + 1 < b.len() {
                match (b[i], b[i + 1]) {
                    (b'$', b'$') => i += 2,
                    (b'$', b'{') => {
                        let name: String = s[i + 2..]
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        i += 2 + name.len();
                        out.insert(name);
                    }
                    _ => i += 1,
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| out.extend(interpolated(x))),
        Value::Object(m) => m.values().for_each(|x| out.extend(interpolated(x))),
        _ => {}
    }
    out
}

/// The CI test job runs exactly the backing services that declare a CI container, with
/// their images, environment and container ports published as-is; the job's environment
/// sets exactly the app variables whose URLs point only at those services, on localhost.
pub(crate) fn check_ci_services(stack: &Stack, docs: &Docs) -> Result<(), String> {
    if !stack.targets.contains(&Target::GitHubActions) {
        return Ok(());
    }
    let workflow = docs
        .iter()
        .find(|(path, _)| path.ends_with("/github/workflows/deploy.yml"))
        .and_then(|(_, d)| d.first());
    let Some(job) = workflow.map(|w| &w["jobs"]["test"]) else {
        return Err(format!(
            "{}: GitHub Actions is a target but no workflow was rendered",
            stack.name
        ));
    };
    let mut want: BTreeMap<String, Value> = BTreeMap::new();
    for svc in &stack.services {
        let (Some(ci), Some(image)) = (
            svc.backing.as_ref().and_then(|b| b.ci.as_ref()),
            svc.source.image.as_ref(),
        ) else {
            continue;
        };
        let ports: Vec<String> = svc
            .ports
            .iter()
            .map(|p| format!("{0}:{0}", p.number))
            .collect();
        let env: BTreeMap<&str, &str> = ci
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        want.insert(
            svc.name.clone(),
            serde_json::json!({"image": image.to_string(), "ports": ports, "env": env}),
        );
    }
    let mut got: BTreeMap<String, Value> = BTreeMap::new();
    for (name, c) in job["services"].as_object().into_iter().flatten() {
        let env = if c["env"].is_null() {
            serde_json::json!({})
        } else {
            c["env"].clone()
        };
        got.insert(
            name.clone(),
            serde_json::json!({"image": c["image"], "ports": c["ports"], "env": env}),
        );
    }
    if got != want {
        return Err(format!(
            "{}: CI service containers {got:#?}, the model {want:#?}",
            stack.name
        ));
    }
    // App variables whose URLs reach only CI-backed services.
    // Variable → whether its value names a host (then `localhost`, the runner).
    let mut want_env: BTreeMap<&str, bool> = BTreeMap::new();
    for svc in stack.services.iter().filter(|s| s.backing.is_none()) {
        for var in &svc.env {
            let EnvValue::Template(t) = &var.value else {
                continue;
            };
            let hosts: Vec<&str> = t
                .parts()
                .iter()
                .filter_map(|p| match p {
                    Part::Host(r) => Some(r.name()),
                    Part::Port(e) => Some(e.service().name()),
                    _ => None,
                })
                .collect();
            if !hosts.is_empty() && hosts.iter().all(|h| want.contains_key(*h)) {
                let names_host = t.parts().iter().any(|p| matches!(p, Part::Host(_)));
                want_env.entry(&var.name).or_insert(names_host);
            }
        }
    }
    let job_env = job["env"].as_object();
    let got_env: BTreeSet<&str> = job_env
        .into_iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .collect();
    if got_env != want_env.keys().copied().collect() {
        return Err(format!(
            "{}: CI job env {got_env:?}, the model {want_env:?}",
            stack.name
        ));
    }
    for (k, v) in job_env.into_iter().flatten() {
        if want_env[k.as_str()] && !v.as_str().is_some_and(|v| v.contains("localhost")) {
            return Err(format!(
                "{}: CI job env {k} = {v} does not point at localhost",
                stack.name
            ));
        }
    }
    Ok(())
}

/// Kinds the stack's own namespace holds (GitOps objects live in the GitOps controller's
/// namespace, and the Namespace itself is cluster-wide, by design).
const NAMESPACED: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "Job",
    "CronJob",
    "Service",
    "ConfigMap",
    "ServiceAccount",
    "NetworkPolicy",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "PersistentVolumeClaim",
    "Ingress",
    "HTTPRoute",
    "GRPCRoute",
    "Gateway",
    "BackendTrafficPolicy",
    "ClientTrafficPolicy",
    "ExternalSecret",
    "ServiceMonitor",
    "PrometheusRule",
    // Operators' resources (CloudNativePG, Strimzi, RabbitMQ, MongoDB).
    "Cluster",
    "ImageCatalog",
    "Kafka",
    "KafkaNodePool",
    "RabbitmqCluster",
    "MongoDBCommunity",
];

/// Every object of the stack's own kinds is in the stack's namespace and carries the
/// `app.kubernetes.io/part-of` label naming the stack (what `kubectl get -l` and the
/// namespace-wide default-deny policy rely on).
pub(crate) fn check_metadata(stack: &Stack, docs: &Docs) -> Result<(), String> {
    let ns = stack.namespace();
    for o in k8s_objects(stack, docs) {
        let kind = o["kind"].as_str().unwrap_or_default();
        if !NAMESPACED.contains(&kind) {
            continue;
        }
        let meta = &o["metadata"];
        let name = meta["name"].as_str().unwrap_or_default();
        if meta["namespace"].as_str() != Some(ns.as_str()) {
            return Err(format!(
                "{}: {kind}/{name} is in namespace {}, not the stack's `{ns}`",
                stack.name, meta["namespace"]
            ));
        }
        if meta["labels"]["app.kubernetes.io/part-of"].as_str() != Some(stack.name.as_str()) {
            return Err(format!(
                "{}: {kind}/{name} has no `app.kubernetes.io/part-of: {}` label: {}",
                stack.name, stack.name, meta["labels"]
            ));
        }
    }
    Ok(())
}

/// Every oracle, for one stack's rendered files.
pub(crate) fn check_all(stack: &Stack, docs: &Docs) -> Result<(), String> {
    // The plan's own facts (the services it adds, the probe Compose runs, Kubernetes
    // hosts), validated once for the oracles that read them.
    let plan = stackdsl::validate(stack).map_err(|e| e.to_string())?;
    check_network_policies(stack, docs)?;
    check_k8s_services(stack, docs)?;
    k8s::check_k8s_workloads(stack, &plan, docs)?;
    check_autoscaling(stack, docs)?;
    check_compose_dependencies(stack, &plan, docs)?;
    compose::check_compose_services(stack, &plan, docs)?;
    check_secret_references(stack, docs)?;
    check_ci_services(stack, docs)?;
    check_metadata(stack, docs)?;
    check_policy_edges(stack, docs)?;
    if stack.targets.contains(&Target::Kubernetes) && k8s_objects(stack, docs).is_empty() {
        return Err(format!(
            "{}: Kubernetes is a target but no manifest was rendered",
            stack.name
        ));
    }
    Ok(())
}

/// `node[key]` is the list of strings `want` (absent when `None`): a command or its args,
/// already spelt the way the target escapes them.
fn check_strings(node: &Value, key: &str, want: Option<Vec<String>>) -> Result<(), String> {
    let got: Option<Vec<String>> = node[key].as_array().map(|a| {
        a.iter()
            .map(|x| x.as_str().unwrap_or_default().to_owned())
            .collect()
    });
    if got == want {
        Ok(())
    } else {
        Err(format!("{key} {got:?}, the model says {want:?}"))
    }
}

/// The parsed YAML of a stack's rendered files.
pub(crate) fn parse(docs: &[stackdsl::render::Document]) -> Docs {
    docs.iter()
        .filter(|d| d.path.ends_with(".yaml") || d.path.ends_with(".yml"))
        .map(|d| {
            let values: Vec<Value> = serde_saphyr::from_multiple(&d.contents)
                .unwrap_or_else(|e| panic!("{}: {e}", d.path));
            (d.path.clone(), values)
        })
        .collect()
}

#[test]
fn the_derived_behaviour_of_every_seed_stack_and_fixture_follows_the_model() {
    let mut checked = 0;
    for env in Env::ALL {
        for f in stacks::ALL.iter().chain(stackdsl_tests::fixtures::ALL) {
            let stack = f(env);
            let docs = parse(&stackdsl_tests::render_fn(*f, env));
            check_all(&stack, &docs).unwrap_or_else(|e| panic!("{env}: {e}"));
            checked += 1;
        }
    }
    assert!(checked >= 15, "{checked} stacks checked");
}

/// A service that tells itself its own address (a public URL, a peer list that includes
/// itself) waits only for the others: a Compose service that depends on itself is refused
/// by `docker-compose config` ("dependency cycle"), and a NetworkPolicy peer or diagram
/// edge to itself would be noise. Regression: `Service::dependencies` listed the service
/// itself.
#[test]
fn a_service_pointing_at_its_own_address_does_not_depend_on_itself() {
    let http = Port::http("http", 8080);
    let stack = |env: Env| {
        let mut s = Stack::new("selfref", env);
        s.targets([if env == Env::Dev {
            Target::Compose
        } else {
            Target::Kubernetes
        }]);
        let small = || {
            Resources::requests(Cpu::m(100), Memory::mi(64)).limits(Cpu::m(200), Memory::mi(128))
        };
        // In dev (Compose) the database states requests alone: reservations, no limits.
        let db = s.add(
            Service::new("db")
                .image(Image::new("acme/db").tag("1.0.0"))
                .port(Port::tcp("db", 5432))
                .resources(if env == Env::Dev {
                    Resources::requests(Cpu::m(100), Memory::mi(64))
                } else {
                    small()
                }),
        );
        let api = s.add(
            Service::new("api")
                .image(Image::new("acme/api").tag("1.0.0"))
                .port(http)
                .env("DB_ADDR", &db.endpoint(Port::tcp("db", 5432)))
                .resources(small()),
        );
        s.update(&api, |b| b.env("SELF_ADDR", &api.endpoint(http)));
        s
    };
    let dev = stack(Env::Dev);
    let api = dev.services.iter().find(|s| s.name == "api").unwrap();
    let deps: Vec<&str> = api.dependencies().iter().map(|d| d.name()).collect();
    assert_eq!(deps, ["db"]);

    for env in [Env::Dev, Env::Prod] {
        let s = stack(env);
        let files = stackdsl_tests::render(&s);
        let docs = parse(&files);
        check_all(&s, &docs).unwrap_or_else(|e| panic!("{env}: {e}"));
        if env == Env::Dev {
            let compose = files
                .iter()
                .find(|d| d.path.ends_with("compose.yaml"))
                .expect("compose.yaml");
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("compose.yaml");
            std::fs::write(&path, &compose.contents).unwrap();
            let (ok, out) = stackdsl_tests::run(
                stackdsl_tests::tool("docker-compose")
                    .arg("-f")
                    .arg(&path)
                    .args(["config", "--quiet"]),
            );
            assert!(
                ok,
                "docker-compose config rejected:\n{out}\n{}",
                compose.contents
            );
        }
    }
}
