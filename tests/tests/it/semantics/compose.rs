//! The Compose service oracle: what each declared service runs in `compose.yaml`, written
//! from the model alone — the image or the build, entrypoint and command, every environment
//! variable's value (literals with `$` escaped, hosts, container ports, required secret
//! variables), published ports, resources, restart policy, the healthcheck, container name
//! and profiles, and how many containers (a cluster as one container per member).

use std::collections::BTreeSet;

use serde_json::Value;
use stackdsl::model::{EnvValue, EnvVar, Part, ProbeAction, Service, Stack, Target};
use stackdsl::prelude::{Env, Resources};

use super::{Docs, check_strings};

/// compose.yaml lives at `<stack>/<env>/compose.yaml` under `out/`: three folders down.
const REPO_ROOT: &str = "../../..";

/// `$` doubled, so Compose passes it through instead of interpolating.
fn escaped(s: &str) -> String {
    s.replace('$', "$$")
}

/// Does `got` spell the model's value for Compose? Literal text escaped, a host as the
/// service's name, a port as the container port, a secret as a required variable
/// (`${VAR:?…}`).
fn env_matches(value: &EnvValue, got: &str) -> bool {
    match value {
        EnvValue::Plain(s) | EnvValue::Config(s) => got == escaped(s),
        EnvValue::Secret(s) => required(got, &s.var()) == Some(""),
        EnvValue::Template(t) => {
            let mut rest = got;
            for part in t.parts() {
                let next = match part {
                    Part::Text(s) => rest.strip_prefix(escaped(s).as_str()),
                    Part::Host(r) => rest.strip_prefix(r.name()),
                    Part::Port(e) => rest.strip_prefix(e.port().number.to_string().as_str()),
                    Part::Secret(s) => required(rest, &s.var()),
                    other => panic!("the oracle does not know {other:?}: teach it"),
                };
                match next {
                    Some(r) => rest = r,
                    None => return false,
                }
            }
            rest.is_empty()
        }
        other => panic!("the oracle does not know {other:?}: teach it"),
    }
}

/// `s` without a leading `${var:?message}`, if it starts with one.
fn required<'a>(s: &'a str, var: &str) -> Option<&'a str> {
    let rest = s.strip_prefix(&format!("${{{var}:?"))?;
    let end = rest.find('}')?;
    Some(&rest[end + 1..])
}

/// A Compose `cpus` value in millicores (`"0.25"` → 250).
fn millicores(v: &Value) -> Option<u32> {
    let s = v
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| v.to_string());
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let frac = format!("{frac:0<3}");
    Some(whole.parse::<u32>().ok()? * 1000 + frac.get(..3)?.parse::<u32>().ok()?)
}

/// A Compose memory value in bytes (`512M`, `1G`, `100b`).
fn bytes(v: &Value) -> Option<u64> {
    let s = v.as_str()?;
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let factor: u64 = match unit {
        "b" => 1,
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        _ => return None,
    };
    Some(num.parse::<u64>().ok()? * factor)
}

/// The names a service runs under in Compose: itself, or a cluster's seed and workers.
fn members(svc: &Service) -> Vec<String> {
    match svc.cluster {
        None => vec![svc.name.clone()],
        Some(_) => (0..svc.replicas.max(1))
            .map(|i| match i {
                0 => format!("{}-seed", svc.name),
                i => format!("{}-worker-{i}", svc.name),
            })
            .collect(),
    }
}

/// Every Compose service of the model runs what the model declares (see the module doc).
pub(crate) fn check_compose_services(
    stack: &Stack,
    plan: &stackdsl::Plan<'_>,
    docs: &Docs,
) -> Result<(), String> {
    let Some(file) = docs.get(&format!("{}/compose.yaml", stack.out_dir())) else {
        return Ok(()); // whether there must be one is check_compose_dependencies' business
    };
    let services = &file[0]["services"];
    for svc in stack
        .services
        .iter()
        .filter(|s| s.renders_on(Target::Compose))
    {
        // Keys the stack writes itself through the escape hatch are its own.
        let raw: BTreeSet<&str> = svc.hatches.compose.iter().map(|k| k.key.as_str()).collect();
        let names = members(svc);
        if svc.cluster.is_some() {
            let last = format!("{}-worker-{}", svc.name, svc.replicas.max(1));
            if !services[&svc.name].is_null() || !services[&last].is_null() {
                return Err(format!(
                    "{}: cluster `{}` of {} must run as exactly {names:?} in Compose",
                    stack.name, svc.name, svc.replicas
                ));
            }
        }
        // Every Compose service the declaration yields carries its profiles.
        if !raw.contains("profiles") {
            let group = services.as_object().into_iter().flatten().filter(|(n, _)| {
                names.contains(n)
                    || n.strip_prefix(&format!("{}-", svc.name))
                        .is_some_and(|rest| {
                            svc.containers().any(|c| c.name == rest)
                                || rest == "volumes"
                                || rest == "migrate"
                        })
            });
            for (n, g) in group {
                let got: Vec<&str> = g["profiles"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                if got != svc.compose.profiles {
                    return Err(format!(
                        "{}: compose service `{n}` has profiles {got:?}, `{}` says {:?}",
                        stack.name, svc.name, svc.compose.profiles
                    ));
                }
            }
        }
        check_containers(stack, services, svc)?;
        for (i, name) in names.iter().enumerate() {
            let s = &services[name];
            let fail = |what: &str| {
                Err(format!(
                    "{}: compose service `{name}`: {what}\n{}",
                    stack.name,
                    serde_json::to_string_pretty(s).unwrap_or_default()
                ))
            };
            if s.is_null() {
                return fail("missing");
            }
            // How many containers: a cluster member is one; a service its replica count.
            if !raw.contains("deploy") {
                let replicas = s["deploy"]["replicas"].as_u64().unwrap_or(1);
                let want = if svc.cluster.is_some() {
                    1
                } else {
                    svc.replicas.into()
                };
                if replicas != want {
                    return fail(&format!("{replicas} replicas, the model says {want}"));
                }
                if let Err(e) = check_resources(s, svc.resources.as_ref()) {
                    return fail(&e);
                }
            }
            // What runs: the image, and in dev (or without an image) the build.
            if !raw.contains("image") {
                let want = svc.source.image.as_ref().map(ToString::to_string);
                if s["image"].as_str().map(str::to_owned) != want {
                    return fail(&format!("image, the model says {want:?}"));
                }
            }
            if !raw.contains("build") {
                let want = svc
                    .source
                    .build
                    .as_ref()
                    .filter(|_| stack.env == Env::Dev || svc.source.image.is_none());
                let b = &s["build"];
                match want {
                    None if !b.is_null() => return fail("a build the model does not ask for"),
                    None => {}
                    Some(w) => {
                        let ctx = w.context.trim_start_matches("./").trim_end_matches('/');
                        let ctx = match ctx {
                            "" | "." => REPO_ROOT.to_owned(),
                            c => format!("{REPO_ROOT}/{c}"),
                        };
                        if b["context"] != ctx.as_str()
                            || b["dockerfile"].as_str() != w.dockerfile.as_deref()
                            || b["target"].as_str() != w.target.as_deref()
                        {
                            return fail(&format!("build, the model says {w:?}"));
                        }
                    }
                }
            }
            if let Err(e) = check_argv(s, &raw, &svc.command, &svc.args) {
                return fail(&e);
            }
            // Host ports: only a cluster's seed publishes.
            if !raw.contains("ports") {
                let want: BTreeSet<String> = if i == 0 {
                    svc.publish
                        .iter()
                        .map(|p| {
                            let udp = matches!(p.port.protocol, stackdsl::model::Protocol::Udp);
                            format!(
                                "{}:{}:{}{}",
                                p.host_ip,
                                p.host_port,
                                p.port.number,
                                if udp { "/udp" } else { "" }
                            )
                        })
                        .collect()
                } else {
                    BTreeSet::new()
                };
                let got: BTreeSet<String> = s["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| p.as_str().unwrap_or_default().to_owned())
                    .collect();
                if got != want {
                    return fail(&format!("ports {got:?}, the model says {want:?}"));
                }
            }
            // A healthcheck states only durations that mean something: Compose's defaults
            // are 0 s for start_period, so a zero one is noise in a reviewed file.
            if let Some(h) = s.get("healthcheck") {
                for key in ["interval", "timeout", "start_period"] {
                    if h.get(key).is_some_and(|d| d == "0s") {
                        return fail(&format!("healthcheck {key} of 0s"));
                    }
                }
            }
            if !raw.contains("healthcheck")
                && let Err(e) = check_healthcheck(plan, svc, &s["healthcheck"])
            {
                return fail(&e);
            }
            if !raw.contains("restart") {
                use stackdsl::model::Restart;
                let want = match svc.restart {
                    Restart::UnlessStopped => "unless-stopped",
                    Restart::Always => "always",
                    Restart::OnFailure => "on-failure",
                    Restart::Never => "no",
                    other => panic!("the oracle does not know {other:?}: teach it"),
                };
                if s["restart"] != want {
                    return fail(&format!("restart, the model says {want}"));
                }
            }
            // The fixed container name is the service's alone; profiles are the whole
            // group's (one-shots and sidecars included, see below).
            let want = svc.compose.container_name.as_deref();
            if !raw.contains("container_name") && s["container_name"].as_str() != want {
                return fail(&format!("container_name, the model says {want:?}"));
            }
            // The one-shot that hands the volumes to the service's user mounts every volume
            // each member writes to (a cluster member's own copy, not a shared one).
            let volumes_init = &services[&format!("{}-volumes", svc.name)];
            if !volumes_init.is_null() {
                let sources: BTreeSet<&str> = mounts(volumes_init).map(|(src, _)| src).collect();
                for m in svc.mounts.iter().filter(|m| !m.read_only) {
                    if !matches!(m.source, stackdsl::model::VolumeSource::Persistent { .. }) {
                        continue;
                    }
                    let Some((src, _)) = mounts(s).find(|(_, target)| *target == m.path) else {
                        return fail(&format!("no volume at {}", m.path));
                    };
                    if !sources.contains(src) {
                        return fail(&format!(
                            "`{}-volumes` does not hand `{src}` (at {}) to the service's user",
                            svc.name, m.path
                        ));
                    }
                }
            }
            if !raw.contains("environment") {
                let env = &s["environment"];
                let mut want: BTreeSet<String> = svc.env.iter().map(|v| v.name.clone()).collect();
                want.extend(svc.compose.pass_env.iter().cloned());
                if let Err(e) = check_values(env, &svc.env) {
                    return fail(&e);
                }
                for name in &svc.compose.pass_env {
                    if !env[name].is_null() || env.get(name).is_none() {
                        return fail(&format!("{name} must be passed through (null)"));
                    }
                }
                if let Some(c) = &svc.cluster {
                    want.insert(c.node_name_env.clone());
                    if env[&c.node_name_env] != name.as_str() {
                        return fail(&format!("{} must be the member's name", c.node_name_env));
                    }
                    if i > 0 {
                        want.insert(c.seeds_env.clone());
                    }
                    if let Some((var, secret)) = &c.secret {
                        want.insert(var.clone());
                        let got = env[var].as_str().unwrap_or_default();
                        if required(got, &secret.var()) != Some("") {
                            return fail(&format!("{var} must require {}", secret.var()));
                        }
                    }
                }
                let got: BTreeSet<String> = env
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.clone())
                    .collect();
                if got != want {
                    return fail(&format!("environment {got:?}, the model says {want:?}"));
                }
            }
        }
    }
    Ok(())
}

/// The healthcheck renders the probe and tool the plan chose (`Plan::compose_check`):
/// the probe's command, or a request to its port and path on 127.0.0.1 with its headers; its
/// period, timeout (5 s unless stated, never above the period) and failure threshold; a
/// start period from the startup probe (its delay plus period × threshold), else the probe's
/// initial delay, else 60 s, left out when 0.
fn check_healthcheck(plan: &stackdsl::Plan<'_>, svc: &Service, h: &Value) -> Result<(), String> {
    let Some((probe, tool)) = plan.compose_check(svc) else {
        return match h.is_null() {
            true => Ok(()),
            false => Err("a healthcheck where the plan has no Compose check".into()),
        };
    };
    if h.is_null() {
        return Err(format!("no healthcheck for {probe:?} run by {tool:?}"));
    }
    let period = probe.period.unwrap_or(10);
    let timeout = probe.timeout.unwrap_or(5.min(period));
    let start = match (&svc.probes.startup, probe.initial_delay) {
        (Some(s), _) => {
            s.initial_delay.unwrap_or(0) + s.period.unwrap_or(10) * s.failure_threshold.unwrap_or(3)
        }
        (None, Some(d)) => d,
        (None, None) => 60,
    };
    let secs = |n: u32| Value::String(format!("{n}s"));
    let want_start = if start > 0 { secs(start) } else { Value::Null };
    if h["interval"] != secs(period)
        || h["timeout"] != secs(timeout)
        || h["retries"] != probe.failure_threshold.unwrap_or(3)
        || h["start_period"] != want_start
    {
        return Err(format!(
            "healthcheck timings, the model says every {period}s, timeout {timeout}s, \
             {} retries, start period {start}s",
            probe.failure_threshold.unwrap_or(3)
        ));
    }
    let test: Vec<&str> = h["test"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let has = |needle: &str| test.iter().skip(1).any(|t| t.contains(needle));
    let ok = match &probe.action {
        ProbeAction::Exec { command } => {
            let want: Vec<String> = command.iter().map(|c| escaped(c)).collect();
            test.first() == Some(&"CMD") && test[1..] == want
        }
        // Headers are quoted each tool's own way; their names appear as they are.
        ProbeAction::HttpGet { path, port } => {
            has(&format!(
                "http://127.0.0.1:{}{}",
                port.number,
                escaped(path)
            )) && probe.headers.iter().all(|(n, _)| has(n))
        }
        ProbeAction::Tcp { port } => has("127.0.0.1") && has(&port.number.to_string()),
        ProbeAction::Grpc { port, .. } => has(&format!("-addr=127.0.0.1:{}", port.number)),
        other => return Err(format!("the oracle does not know {other:?}: teach it")),
    };
    if !ok || !matches!(test.first(), Some(&("CMD" | "CMD-SHELL"))) {
        return Err(format!(
            "healthcheck test {test:?} does not run {probe:?} with {tool:?}"
        ));
    }
    Ok(())
}

/// `(source, target)` of a Compose service's `volumes` entries (`source:target[:ro]`).
fn mounts(service: &Value) -> impl Iterator<Item = (&str, &str)> {
    service["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|v| {
            let (src, rest) = v.split_once(':')?;
            Some((src, rest.split(':').next().unwrap_or(rest)))
        })
}

/// `deploy.resources` of a Compose service are the model's amounts (none when unset).
fn check_resources(s: &Value, r: Option<&Resources>) -> Result<(), String> {
    let res = &s["deploy"]["resources"];
    for (key, amount) in [
        ("limits", r.map(|r| r.limits)),
        ("reservations", r.map(|r| r.requests)),
    ] {
        let cpu = amount.and_then(|a| a.cpu).map(|c| c.millicores());
        let mem = amount.and_then(|a| a.memory).map(|m| m.bytes());
        let got_cpu = res[key].get("cpus").and_then(millicores);
        let got_mem = res[key].get("memory").and_then(bytes);
        if (got_cpu, got_mem) != (cpu, mem) {
            return Err(format!(
                "{key} cpu {got_cpu:?} memory {got_mem:?}, the model says {cpu:?} {mem:?}"
            ));
        }
    }
    Ok(())
}

/// `entrypoint` and `command` are the model's command and args, `$` escaped.
fn check_argv(
    s: &Value,
    raw: &BTreeSet<&str>,
    command: &Option<Vec<String>>,
    args: &Option<Vec<String>>,
) -> Result<(), String> {
    for (key, want) in [("entrypoint", command), ("command", args)] {
        if raw.contains(key) {
            continue;
        }
        let want = want
            .as_ref()
            .map(|v| v.iter().map(|a| escaped(a)).collect());
        check_strings(s, key, want)?;
    }
    Ok(())
}

/// Each of `vars` has its Compose spelling in `env` (see [`env_matches`]).
fn check_values(env: &Value, vars: &[EnvVar]) -> Result<(), String> {
    for var in vars {
        let got = env[&var.name].as_str().unwrap_or("<not a string>");
        if !env_matches(&var.value, got) {
            return Err(format!(
                "{} = {got:?}, the model says {:?}",
                var.name, var.value
            ));
        }
    }
    Ok(())
}

/// Each init container and sidecar runs as the Compose service `<service>-<container>`:
/// its image, command, args, exactly its variables, its resources.
fn check_containers(stack: &Stack, services: &Value, svc: &Service) -> Result<(), String> {
    for c in svc.containers() {
        let name = format!("{}-{}", svc.name, c.name);
        let s = &services[&name];
        let fail = |what: String| {
            Err(format!(
                "{}: compose service `{name}` (container `{}` of `{}`): {what}",
                stack.name, c.name, svc.name
            ))
        };
        if s["image"] != c.image.to_string().as_str() {
            return fail(format!("image, the model says {}", c.image));
        }
        let env = &s["environment"];
        let want: BTreeSet<&str> = c.env.iter().map(|v| v.name.as_str()).collect();
        let got: BTreeSet<&str> = env
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k.as_str())
            .collect();
        if got != want {
            return fail(format!("environment {got:?}, the model says {want:?}"));
        }
        let checks = check_argv(s, &BTreeSet::new(), &c.command, &c.args)
            .and_then(|()| check_values(env, &c.env))
            .and_then(|()| check_resources(s, c.resources.as_ref()));
        if let Err(e) = checks {
            return fail(e);
        }
    }
    Ok(())
}
