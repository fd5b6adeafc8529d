//! Compose Specification renderer: `compose.yaml` and, when the stack needs secrets,
//! `.env.example`.
//!
//! What it writes, from the model:
//! - no `version:` key (obsolete in the Compose Specification); `name: <stack>-<env>`;
//! - `image` and/or `build` (contexts are relative to the repository root in the model and
//!   rewritten relative to `out/<stack>/<env>/`);
//! - `entrypoint`/`command` from the model's `command`/`args` (Kubernetes semantics);
//! - `environment` with literals escaped (`$` → `$$`), service hosts and container ports
//!   resolved, secrets as `${VAR:?…}` (Compose refuses to start when one is unset);
//! - quoted `"ip:host:container"` ports, bound to loopback unless published publicly;
//! - named volumes, tmpfs for scratch mounts, generated files as `configs` with `content`;
//! - a `healthcheck` from the readiness (else liveness) probe; `depends_on` every service
//!   the service reaches, with `condition: service_healthy` where that one has a healthcheck;
//! - `restart`, hardening (`read_only`, `cap_drop: [ALL]`, `no-new-privileges`) and
//!   `deploy` replicas and resources;
//! - a one-shot `<service>-migrate` for a service with migrations, which the service waits
//!   for (`service_completed_successfully`);
//! - the nginx edge and its `nginx/nginx.conf` when the stack has an edge and routes (see
//!   [`crate::render::nginx`]).

use std::borrow::Cow;

use indexmap::IndexMap;
use serde::Serialize;
use serde_saphyr::{DoubleQuoted, LitString};

use crate::model::{
    ArgPart, Env, EnvValue, HealthTool, Migration, Part, Probe, ProbeAction, Resources, Restart,
    SecretRef, SeedFormat, Service, Stack, Target, Template, VolumeSource,
};
use crate::render::{Document, hash_header, yaml};

/// Where the repository root is, seen from `out/<stack>/<env>/`.
const REPO_ROOT: &str = "../../..";

#[derive(Serialize)]
struct ComposeFile<'a> {
    name: String,
    services: IndexMap<String, ComposeService>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    volumes: IndexMap<String, Empty>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    configs: IndexMap<&'a str, ConfigDef>,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct ConfigDef {
    content: LitString,
}

#[derive(Serialize, Default)]
struct ComposeService {
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    build: Option<BuildDef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    environment: IndexMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<DoubleQuoted<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    configs: Vec<ConfigMount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tmpfs: Vec<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    depends_on: IndexMap<String, DependsOn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<Healthcheck>,
    restart: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<DoubleQuoted<String>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cap_drop: Vec<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    security_opt: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deploy: Option<Deploy>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    networks: IndexMap<&'static str, NetworkAttach>,
}

#[derive(Serialize)]
struct NetworkAttach {
    aliases: Vec<String>,
}

/// A cluster's members: member 0 is the seed (`<name>-seed`, the only one publishing
/// ports), the others workers (`<name>-worker-<i>`) that wait for it. Every member answers
/// to the cluster's own name too (a network alias), so clients address the cluster as one
/// host, as in Kubernetes.
fn cluster_members(stack: &Stack, svc: &Service) -> Vec<(String, ComposeService)> {
    let Some(cluster) = &svc.cluster else {
        return Vec::new();
    };
    let members = svc.compose_members();
    let seed_name = members[0].clone();
    let seed_addr = match cluster.seed_format {
        SeedFormat::NameAtHostPort => format!("{seed_name}@{seed_name}:{}", cluster.port.number),
        SeedFormat::HostPort => format!("{seed_name}:{}", cluster.port.number),
    };
    let seed_healthy = healthcheck(svc).is_some();
    members
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut m = service(stack, svc);
            m.deploy = m.deploy.map(|d| Deploy {
                replicas: None,
                ..d
            });
            m.environment
                .insert(cluster.node_name_env.clone(), name.clone());
            if i > 0 {
                m.environment
                    .insert(cluster.seeds_env.clone(), seed_addr.clone());
                m.ports.clear();
                let condition = if seed_healthy {
                    "service_healthy"
                } else {
                    "service_started"
                };
                m.depends_on
                    .insert(seed_name.clone(), DependsOn { condition });
            }
            if let Some((var, secret)) = &cluster.secret {
                m.environment.insert(var.clone(), secret_var(secret));
            }
            // Each member keeps its own data, as a StatefulSet's claim templates do.
            for v in &mut m.volumes {
                for vol in persistent_volumes(svc) {
                    if let Some(rest) = v.strip_prefix(vol).and_then(|r| r.strip_prefix(':')) {
                        *v = format!("{}:{rest}", member_volume(vol, name));
                        break;
                    }
                }
            }
            m.networks.insert(
                "default",
                NetworkAttach {
                    aliases: vec![svc.name.clone()],
                },
            );
            (name.clone(), m)
        })
        .collect()
}

/// The names of `svc`'s persistent volumes.
fn persistent_volumes(svc: &Service) -> impl Iterator<Item = &str> {
    svc.mounts.iter().filter_map(|m| match &m.source {
        VolumeSource::Persistent { name, .. } => Some(name.as_str()),
        _ => None,
    })
}

/// The volume of one cluster member, e.g. `data-noex-worker-1`.
fn member_volume(volume: &str, member: &str) -> String {
    format!("{volume}-{member}")
}

#[derive(Serialize)]
struct BuildDef {
    context: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    dockerfile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
}

#[derive(Serialize)]
struct ConfigMount {
    source: String,
    target: String,
}

#[derive(Serialize)]
struct DependsOn {
    condition: &'static str,
}

#[derive(Serialize)]
struct Healthcheck {
    test: Vec<String>,
    interval: String,
    timeout: String,
    retries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_period: Option<String>,
}

#[derive(Serialize)]
struct Deploy {
    #[serde(skip_serializing_if = "Option::is_none")]
    replicas: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<DeployResources>,
}

#[derive(Serialize)]
struct DeployResources {
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<Quantity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reservations: Option<Quantity>,
}

#[derive(Serialize)]
struct Quantity {
    #[serde(skip_serializing_if = "Option::is_none")]
    cpus: Option<DoubleQuoted<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<String>,
}

/// Renders `compose.yaml` (and `.env.example` when secrets are referenced).
pub fn render(stack: &Stack) -> Vec<Document> {
    let dir = stack.out_dir();
    let mut file = ComposeFile {
        name: format!("{}-{}", stack.name, stack.env),
        services: IndexMap::new(),
        volumes: IndexMap::new(),
        configs: IndexMap::new(),
    };
    for svc in stack
        .services
        .iter()
        .filter(|s| s.renders_on(Target::Compose))
    {
        let mut members = match svc.cluster {
            Some(_) => cluster_members(stack, svc),
            None => vec![(svc.name.clone(), service(stack, svc))],
        };
        if let Some(m) = &svc.migrations {
            file.services
                .insert(format!("{}-migrate", svc.name), migration(stack, svc, m));
            for (_, member) in &mut members {
                member.depends_on.insert(
                    format!("{}-migrate", svc.name),
                    DependsOn {
                        condition: "service_completed_successfully",
                    },
                );
            }
        }
        file.services.extend(members);
        for m in &svc.mounts {
            match &m.source {
                VolumeSource::Persistent { name, .. } if svc.cluster.is_some() => {
                    for member in svc.compose_members() {
                        file.volumes.insert(member_volume(name, &member), Empty {});
                    }
                }
                VolumeSource::Persistent { name, .. } => {
                    file.volumes.insert(name.clone(), Empty {});
                }
                VolumeSource::File(f) => {
                    file.configs.insert(
                        &f.name,
                        ConfigDef {
                            content: LitString(escape(&resolve(&f.content))),
                        },
                    );
                }
                VolumeSource::Scratch | VolumeSource::Bind { .. } => {}
            }
        }
    }
    // The nginx edge in front of the routes (see `render::nginx`).
    if let Some(edge) = crate::render::nginx::edge_service(stack) {
        let mut e = service(stack, &edge);
        e.volumes
            .extend(crate::render::nginx::compose_volumes(stack));
        file.services.insert(edge.name.clone(), e);
    }
    // Prometheus/Grafana when the stack enables monitoring: they mount generated folders.
    let (monitoring, monitoring_docs) = crate::render::prometheus::compose(stack);
    // They are not services of the stack, so `service` cannot see their healthchecks.
    let healthy: Vec<String> = monitoring
        .iter()
        .filter(|e| healthcheck(&e.service).is_some())
        .map(|e| e.service.name.clone())
        .collect();
    for extra in monitoring {
        let mut s = service(stack, &extra.service);
        for (folder, path) in extra.mounts {
            s.volumes.push(format!("./{folder}:{path}:ro"));
        }
        for (name, dep) in &mut s.depends_on {
            if healthy.contains(name) {
                dep.condition = "service_healthy";
            }
        }
        file.services.insert(extra.service.name.clone(), s);
    }
    let mut contents = hash_header(stack);
    contents.push_str(&env_file_note(stack));
    yaml::write(&mut contents, &file);
    let mut docs = vec![Document::new(format!("{dir}/compose.yaml"), contents)];
    docs.extend(crate::render::nginx::render(stack));
    if let Some(example) = env_example(stack) {
        docs.push(Document::new(format!("{dir}/.env.example"), example));
    }
    docs.extend(monitoring_docs);
    docs
}

fn env_file_note(stack: &Stack) -> String {
    if secrets(stack).is_empty() {
        String::new()
    } else {
        "# Secrets come from `.env` beside this file (never committed): copy `.env.example` and fill it in.\n".to_owned()
    }
}

fn service(stack: &Stack, svc: &Service) -> ComposeService {
    let mut out = ComposeService {
        image: svc.source.image.as_ref().map(ToString::to_string),
        // Compose builds from source in dev (or when there is no image to pull); other
        // environments run the images CI pushed.
        build: svc
            .source
            .build
            .as_ref()
            .filter(|_| stack.env == Env::Dev || svc.source.image.is_none())
            .map(|b| BuildDef {
                context: repo_path(&b.context),
                dockerfile: b.dockerfile.clone(),
                target: b.target.clone(),
            }),
        entrypoint: svc.command.as_ref().map(|v| escape_all(v)),
        command: svc.args.as_ref().map(|v| escape_all(v)),
        restart: svc.restart.compose(),
        ..ComposeService::default()
    };
    for var in &svc.env {
        out.environment
            .insert(var.name.clone(), env_value(&var.value));
    }
    for p in &svc.publish {
        let proto = match p.port.protocol {
            crate::model::Protocol::Tcp => "",
            crate::model::Protocol::Udp => "/udp",
        };
        out.ports.push(DoubleQuoted(format!(
            "{}:{}:{}{proto}",
            p.host_ip, p.host_port, p.port.number
        )));
    }
    for m in &svc.mounts {
        let ro = if m.read_only { ":ro" } else { "" };
        match &m.source {
            VolumeSource::Persistent { name, .. } => {
                out.volumes.push(format!("{name}:{}{ro}", m.path))
            }
            VolumeSource::Bind { host_path } => {
                out.volumes
                    .push(format!("{}:{}{ro}", repo_path(host_path), m.path))
            }
            VolumeSource::Scratch => out.tmpfs.push(m.path.clone()),
            VolumeSource::File(f) => out.configs.push(ConfigMount {
                source: f.name.clone(),
                target: m.path.clone(),
            }),
        }
    }
    for dep in svc.dependencies() {
        let target = stack.service(dep.name());
        let healthy = target.is_some_and(|d| healthcheck(d).is_some());
        let condition = if healthy {
            "service_healthy"
        } else {
            "service_started"
        };
        // A cluster is up once its seed is.
        let name = target.map_or_else(
            || dep.name().to_owned(),
            |t| t.compose_members().swap_remove(0),
        );
        out.depends_on.insert(name, DependsOn { condition });
    }
    out.healthcheck = healthcheck(svc);
    let sec = &svc.security;
    out.user = sec.run_as_user.map(|u| DoubleQuoted(u.to_string()));
    out.read_only = sec.read_only_root_fs;
    out.cap_drop = vec!["ALL"];
    out.cap_add = sec.add_capabilities.clone();
    if sec.no_privilege_escalation {
        out.security_opt = vec!["no-new-privileges:true"];
    }
    let resources = svc.resources.as_ref().and_then(deploy_resources);
    if svc.replicas != 1 || resources.is_some() {
        out.deploy = Some(Deploy {
            replicas: (svc.replicas != 1).then_some(svc.replicas),
            resources,
        });
    }
    out
}

/// The one-shot service that migrates before `svc` starts: the service's image (or the
/// migration's), environment, mounts, dependencies and hardening; no ports, no
/// healthcheck, one instance, never restarted.
fn migration(stack: &Stack, svc: &Service, m: &Migration) -> ComposeService {
    let mut out = service(stack, svc);
    if let Some(image) = &m.image {
        out.image = Some(image.to_string());
        out.build = None;
    }
    out.entrypoint = Some(m.render_argv(|p| {
        match p {
            ArgPart::Text(t) => escape(t),
            ArgPart::Var(name) => svc
                .env
                .iter()
                .find(|v| &v.name == name)
                .map(|v| env_value(&v.value))
                .unwrap_or_default(),
        }
    }));
    out.command = None;
    out.ports.clear();
    out.healthcheck = None;
    out.restart = Restart::Never.compose();
    out.deploy = out.deploy.map(|d| Deploy {
        replicas: None,
        ..d
    });
    out
}

fn deploy_resources(r: &Resources) -> Option<DeployResources> {
    let q = |a: crate::model::Amount| {
        (a.cpu.is_some() || a.memory.is_some()).then(|| Quantity {
            cpus: a.cpu.map(|c| DoubleQuoted(c.compose())),
            memory: a.memory.map(|m| m.compose()),
        })
    };
    let (limits, reservations) = (q(r.limits), q(r.requests));
    (limits.is_some() || reservations.is_some()).then_some(DeployResources {
        limits,
        reservations,
    })
}

/// The Compose healthcheck for a service, if its probe can run inside its image.
fn healthcheck(svc: &Service) -> Option<Healthcheck> {
    let probe = svc.health_probe()?;
    let test = probe_command(probe, svc.health_tool)?;
    let start_period = match (&svc.probes.startup, probe.initial_delay) {
        (Some(s), _) => Some(
            s.initial_delay.unwrap_or(0) + s.effective_period() * s.effective_failure_threshold(),
        ),
        (None, d) => d,
    };
    Some(Healthcheck {
        test,
        interval: format!("{}s", probe.effective_period()),
        timeout: format!("{}s", probe.effective_timeout()),
        retries: probe.effective_failure_threshold(),
        start_period: start_period.filter(|s| *s > 0).map(|s| format!("{s}s")),
    })
}

fn probe_command(probe: &Probe, tool: HealthTool) -> Option<Vec<String>> {
    let cmd = |parts: &[&str]| Some(parts.iter().map(|s| (*s).to_owned()).collect());
    match &probe.action {
        ProbeAction::Exec { command } => {
            let mut v = vec!["CMD".to_owned()];
            v.extend(escape_all(command));
            Some(v)
        }
        ProbeAction::HttpGet { path, port } => {
            let url = format!("http://127.0.0.1:{}{path}", port.number);
            match tool {
                HealthTool::Wget => cmd(&["CMD", "wget", "-q", "--spider", &url]),
                HealthTool::Curl => cmd(&["CMD", "curl", "-fsS", "-o", "/dev/null", &url]),
                HealthTool::Node => cmd(&["CMD", "node", "-e", &node_http_check(&url)]),
                HealthTool::Python => cmd(&[
                    "CMD",
                    "python",
                    "-c",
                    &format!("import urllib.request; urllib.request.urlopen('{url}', timeout=5)"),
                ]),
                HealthTool::None => None,
            }
        }
        ProbeAction::Tcp { port } => match tool {
            HealthTool::Wget | HealthTool::Curl => cmd(&[
                "CMD-SHELL",
                &format!("nc -z 127.0.0.1 {} || exit 1", port.number),
            ]),
            HealthTool::Node => cmd(&[
                "CMD",
                "node",
                "-e",
                &format!(
                    "require('net').connect({}, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))",
                    port.number
                ),
            ]),
            HealthTool::Python => cmd(&[
                "CMD",
                "python",
                "-c",
                &format!(
                    "import socket; socket.create_connection(('127.0.0.1', {}), timeout=5)",
                    port.number
                ),
            ]),
            HealthTool::None => None,
        },
    }
}

fn node_http_check(url: &str) -> String {
    format!(
        "require('http').get('{url}', (r) => process.exit(r.statusCode < 400 ? 0 : 1)).on('error', () => process.exit(1))"
    )
}

/// A path relative to the repository root, seen from the compose file's folder.
fn repo_path(path: &str) -> String {
    let p = path.trim_start_matches("./").trim_end_matches('/');
    if p.is_empty() || p == "." {
        REPO_ROOT.to_owned()
    } else {
        format!("{REPO_ROOT}/{p}")
    }
}

/// Escapes literal `$` so Compose does not interpolate it (the container sees one `$`).
fn escape(s: &str) -> String {
    s.replace('$', "$$")
}

fn escape_all(v: &[String]) -> Vec<String> {
    v.iter().map(|s| escape(s)).collect()
}

fn secret_var(s: &SecretRef) -> String {
    let var = s.var();
    format!("${{{var}:?set it in .env (see .env.example)}}")
}

fn resolve_with(t: &Template, secret: impl Fn(&SecretRef) -> String) -> String {
    t.render(|p| match p {
        Part::Text(s) => Cow::Owned(escape(s)),
        Part::Host(s) => Cow::Borrowed(s.name()),
        Part::Port(e) => Cow::Owned(e.port().number.to_string()),
        Part::Secret(s) => Cow::Owned(secret(s)),
    })
}

/// Resolves a template for Compose with literals unescaped (config file contents, which
/// are escaped as a whole).
fn resolve(t: &Template) -> String {
    t.render(|p| match p {
        Part::Text(s) => Cow::Borrowed(s.as_str()),
        Part::Host(s) => Cow::Borrowed(s.name()),
        Part::Port(e) => Cow::Owned(e.port().number.to_string()),
        Part::Secret(s) => Cow::Owned(s.var()),
    })
}

fn env_value(v: &EnvValue) -> String {
    match v {
        EnvValue::Plain(s) | EnvValue::Config(s) => escape(s),
        EnvValue::Secret(s) => secret_var(s),
        EnvValue::Template(t) => resolve_with(t, secret_var),
    }
}

/// Every secret the stack references, deduplicated by variable, in first-use order.
pub fn secrets(stack: &Stack) -> Vec<&SecretRef> {
    let mut out: Vec<&SecretRef> = Vec::new();
    for svc in stack
        .services
        .iter()
        .filter(|s| s.renders_on(Target::Compose))
    {
        for s in svc.secrets() {
            if !out.iter().any(|o| o.var() == s.var()) {
                out.push(s);
            }
        }
    }
    out
}

fn env_example(stack: &Stack) -> Option<String> {
    let secrets = secrets(stack);
    if secrets.is_empty() {
        return None;
    }
    let mut out = hash_header(stack);
    out.push_str(
        "#\n# Variables compose.yaml requires. Copy this file to `.env` in this folder and set\n\
         # every value; `.env` is git-ignored and must never be committed. Values are spliced\n\
         # into URLs as-is, so use URL-safe characters.\n",
    );
    for s in secrets {
        out.push('\n');
        if let Some(d) = s.description() {
            out.push_str(&format!("# {d}\n"));
        }
        let users: Vec<&str> = stack
            .services
            .iter()
            .filter(|svc| {
                svc.renders_on(Target::Compose) && svc.secrets().iter().any(|r| r.var() == s.var())
            })
            .map(|svc| svc.name.as_str())
            .collect();
        out.push_str(&format!(
            "# Kubernetes: key `{}` of Secret `{}`. Used by: {}.\n{}=\n",
            s.key(),
            s.name(),
            users.join(", "),
            s.var()
        ));
    }
    Some(out)
}
