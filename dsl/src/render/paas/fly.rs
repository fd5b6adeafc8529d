//! Fly.io: `fly.toml` for the one app, running its pushed image on Fly Machines.
//!
//! - `[build] image`: the model's pinned image (Fly deploys it as is);
//! - `[env]`: literals only; secrets and platform variables are `fly secrets set` (README);
//! - `[http_service]` on the exposed (else first HTTP) port with `force_https`, machines
//!   stopped and started with traffic down to the autoscaler's minimum (or all replicas
//!   kept running without one), and a `[[http_service.checks]]` from the readiness probe;
//! - `[mounts]` for one persistent volume, `[processes]` for a command override;
//! - `[[vm]]` from the CPU and memory limits (whole shared or dedicated CPUs).

use indexmap::IndexMap;
use serde::Serialize;

use super::{Problem, Readme, Value, apps, env_value, health_path, http_port, problem};
use crate::model::{Platform, Service, VolumeSource};
use crate::plan::Plan;
use crate::render::{Document, hash_header};

#[derive(Serialize)]
struct FlyToml {
    app: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_region: Option<String>,
    build: Build,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    env: IndexMap<String, String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    processes: IndexMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mounts: Option<Mounts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_service: Option<HttpService>,
    vm: Vec<Vm>,
}

#[derive(Serialize)]
struct Build {
    image: String,
}

#[derive(Serialize)]
struct Mounts {
    source: String,
    destination: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    initial_size: Option<String>,
}

#[derive(Serialize)]
struct HttpService {
    internal_port: u16,
    force_https: bool,
    auto_stop_machines: &'static str,
    auto_start_machines: bool,
    min_machines_running: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checks: Vec<Check>,
}

#[derive(Serialize)]
struct Check {
    grace_period: String,
    interval: String,
    timeout: String,
    method: &'static str,
    path: String,
}

#[derive(Serialize)]
struct Vm {
    cpu_kind: &'static str,
    cpus: u32,
    memory: String,
}

/// Fly's machine size for a service: `(cpu kind, cpus, memory MiB)`; CPUs round up to a
/// whole power of two, memory must be a multiple of 256 MiB.
fn vm(plan: &Plan<'_>, svc: &Service) -> Result<(&'static str, u32, u64), Problem> {
    let stack = plan.stack();
    let perf = stack.paas.fly.performance_cpus;
    let (kind, max) = if perf {
        ("performance", 16)
    } else {
        ("shared", 8)
    };
    let r = svc.resources.unwrap_or_default();
    let millicores = r
        .limits
        .cpu
        .or(r.requests.cpu)
        .map_or(1000, |c| c.millicores());
    let cpus = millicores.div_ceil(1000).max(1).next_power_of_two();
    if cpus > max {
        return Err(problem(
            format!(
                "Fly.io {kind} machines have at most {max} CPUs, but service `{}` asks for {cpus}",
                svc.name
            ),
            "lower the CPU limit, or use dedicated CPUs (`s.paas(|p| p.fly(|f| f.performance_cpus()))`)",
        ));
    }
    let memory = super::memory_mib(svc).unwrap_or(256);
    if !memory.is_multiple_of(256) {
        return Err(problem(
            format!(
                "Fly.io sizes machine memory in steps of 256 MiB, but service `{}` asks for {memory} MiB",
                svc.name
            ),
            "set a memory limit that is a multiple of 256 MiB",
        ));
    }
    Ok((kind, cpus, memory))
}

pub(super) fn vm_problems(
    plan: &Plan<'_>,
    svc: &Service,
    path: &str,
    err: &mut impl FnMut(String, Problem),
) {
    if let Err(p) = vm(plan, svc) {
        err(format!("{path}.resources"), p);
    }
}

/// Renders `fly.toml` and its README.
pub fn render(plan: &Plan<'_>) -> Vec<Document> {
    let stack = plan.stack();
    let p = Platform::Fly;
    let deployed = plan.paas_services(p);
    let Some(svc) = apps(plan, p).into_iter().next() else {
        return Vec::new();
    };
    let mut env = IndexMap::new();
    for var in &svc.env {
        if let Ok(Value::Literal(v)) = env_value(plan, p, &deployed, var) {
            env.insert(var.name.clone(), v);
        }
    }
    let mounts = svc.mounts.iter().find_map(|m| match &m.source {
        VolumeSource::Persistent { name, size } => Some(Mounts {
            source: name.replace('-', "_"),
            destination: m.path.clone(),
            initial_size: size.map(|s| format!("{}gb", s.bytes().div_ceil(1 << 30))),
        }),
        _ => None,
    });
    let http_service = http_port(svc).map(|port| {
        let (stop, min) = match &svc.autoscale {
            Some(a) => ("stop", a.min),
            None => ("off", svc.replicas),
        };
        let checks = svc
            .probes
            .readiness
            .as_ref()
            .zip(health_path(svc))
            .map(|(r, path)| Check {
                grace_period: format!("{}s", super::start_budget(svc).max(1)),
                interval: format!("{}s", r.effective_period()),
                timeout: format!("{}s", r.effective_timeout()),
                method: "GET",
                path: path.to_owned(),
            })
            .into_iter()
            .collect();
        HttpService {
            internal_port: port.number,
            force_https: true,
            auto_stop_machines: stop,
            auto_start_machines: true,
            min_machines_running: min,
            checks,
        }
    });
    let (cpu_kind, cpus, memory) = vm(plan, svc).unwrap_or(("shared", 1, 256));
    let file = FlyToml {
        app: stack
            .paas
            .fly
            .app
            .clone()
            .unwrap_or_else(|| stack.name.clone()),
        primary_region: stack.paas.fly.primary_region.clone(),
        build: Build {
            image: svc
                .source
                .image
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        },
        env,
        processes: super::command_line(svc)
            .map(|c| IndexMap::from([("app", c)]))
            .unwrap_or_default(),
        mounts,
        http_service,
        vm: vec![Vm {
            cpu_kind,
            cpus,
            memory: format!("{memory}mb"),
        }],
    };
    let mut text = hash_header(stack);
    text.push_str("# Secrets and platform variables are not in this file: `fly secrets set` them first (README.md).\n\n");
    text.push_str(&toml::to_string(&file).unwrap_or_else(|e| {
        panic!("renderer produced a value the TOML serializer cannot write: {e}")
    }));
    let count = svc.autoscale.as_ref().map_or(svc.replicas, |a| a.max);
    let mut not_carried = Vec::new();
    if let Some(a) = &svc.autoscale {
        not_carried.push(format!(
            "Autoscaling on CPU/memory utilisation: Fly.io starts and stops the {} machines with traffic instead, keeping {} running.",
            a.max, a.min
        ));
    }
    if svc.probes.liveness.is_some() || svc.probes.startup.is_some() {
        not_carried.push("Liveness and startup probes: the readiness check above stands in for them (its grace period covers the startup budget).".into());
    }
    let app = file.app.clone();
    vec![
        Document::new(format!("{}/fly.toml", stack.paas_dir(p)), text),
        super::readme(
            plan,
            Readme {
                platform: p,
                deployed: vec![svc],
                deploy: vec![
                    format!("fly deploy --config fly.toml --app {app}"),
                    format!("fly scale count {count} --app {app}"),
                ],
                set_command: Some(|v| format!("fly secrets set --stage {}=…", v.name)),
                not_carried,
            },
        ),
    ]
}
