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
//! - a `healthcheck` from the readiness (else liveness) probe, run with the client the
//!   stack states the image ships (see [`Plan::compose_check`]); `depends_on` every service
//!   the service reaches, with `condition: service_healthy` where that one has a healthcheck;
//! - `restart`, hardening from the plan's [`Hardening`](crate::plan::Hardening) (`user`,
//!   `read_only`, `cap_drop`/`cap_add`, `no-new-privileges`, seccomp, `tmpfs` for the paths
//!   the image writes; see `compose/security.rs`) and `deploy` replicas and resources;
//! - a one-shot `<service>-volumes` that hands a non-root service's volumes to its user
//!   first (see [`Plan::volume_init`]; `compose/volumes.rs`);
//! - a one-shot `<service>-migrate` for a service with migrations, and one
//!   `<service>-<container>` per init container, which the service waits for
//!   (`service_completed_successfully`); a `<service>-<container>` per sidecar in the
//!   service's network namespace (see [`crate::model::Container`]);
//! - `stop_grace_period` and a `pre_stop` hook from the service's grace period and
//!   pre-stop command;
//! - the nginx edge and its `nginx/nginx.conf` when the stack has an edge and routes (see
//!   [`crate::render::nginx`]).

mod containers;
mod dotenv;
mod health;
mod options;
mod security;
mod volumes;

use security::harden;

use std::borrow::Cow;

use indexmap::IndexMap;
use serde::Serialize;
use serde_saphyr::{DoubleQuoted, LitString};

use crate::diagnostics::{ErrorKind, Errors};
use crate::model::{
    ArgPart, Env, EnvValue, Migration, Resources, Restart, SecretRef, Service, Target, VolumeSource,
};
use crate::plan::{Hosts, Plan, Ports, Style};
use crate::render::{Backend, Document, Environments, hash_header, yaml};
use crate::validate::Validator;

mod extra;

pub use extra::{OWNED, SPEC_KEYS};

/// The Compose backend.
#[derive(Clone, Copy, Debug)]
pub struct Compose;

impl Backend for Compose {
    fn target(&self) -> Target {
        Target::Compose
    }

    fn check(&self, plan: &Plan<'_>) -> Errors {
        let mut v = Validator::new(plan);
        v.compose_rules();
        v.errors.extend(extra::check(plan));
        v.errors
    }

    fn render(&self, plan: &Plan<'_>, _: &Environments<'_, '_>) -> Result<Vec<Document>, Errors> {
        Ok(render(plan))
    }
}

impl Validator<'_> {
    /// What Compose cannot run: replicas sharing a host port, and services whose Compose
    /// names (cluster members, migration one-shots) another service already has.
    fn compose_rules(&mut self) {
        health::rules(self);
        containers::rules(self);
        options::rules(self);
        let plan = self.plan;
        for svc in plan.services(Target::Compose) {
            let path = self.svc_path(svc);
            // (A cluster publishes from its seed member only.)
            if svc.replicas > 1 && svc.cluster.is_none() && !svc.publish.is_empty() {
                self.err(
                    ErrorKind::Unsupported,
                    format!("{path}.publish[{}]", svc.publish[0].host_port),
                    format!(
                        "{} replicas cannot all bind host port {} in Compose; only one container would start",
                        svc.replicas, svc.publish[0].host_port
                    ),
                    "publish the port on a single-replica proxy in front of the service, or run one replica in Compose",
                );
            }
            if let Some(v) = plan.volume_init(svc)
                && let Some(other) = self.by_name.get(v.name.as_str())
            {
                self.err(
                    ErrorKind::DuplicateName,
                    format!("{path}.mounts"),
                    format!(
                        "Compose hands the volumes of `{}` to its user with service `{}`, but a service of that name is declared at {}",
                        svc.name, v.name, other.origin
                    ),
                    format!("rename the service declared at {}", other.origin),
                );
            }
            if let Some(one_shot) = plan.migration_service(svc)
                && let Some(other) = self.by_name.get(one_shot.as_str())
            {
                self.err(
                    ErrorKind::DuplicateName,
                    format!("{path}.migrations"),
                    format!(
                        "Compose runs the migrations of `{}` as service `{one_shot}`, but a service of that name is declared at {}",
                        svc.name, other.origin
                    ),
                    format!("rename the service declared at {}", other.origin),
                );
            }
            if svc.cluster.is_some() {
                // By name, not by listing the members: an invalid stack may declare billions.
                let clashes: Vec<&str> = self
                    .by_name
                    .keys()
                    .copied()
                    .filter(|other| plan.is_member(svc, other))
                    .collect();
                for member in clashes {
                    {
                        self.err(
                            ErrorKind::DuplicateName,
                            format!("{path}.cluster"),
                            format!(
                                "Compose member `{member}` of cluster `{}` has the name of another service",
                                svc.name
                            ),
                            "rename the cluster or the other service",
                        );
                    }
                }
            }
        }
    }
}

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
    container_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    profiles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env_file: Vec<options::EnvFileDef>,
    #[serde(skip_serializing_if = "options::Environment::is_empty")]
    environment: options::Environment,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<DoubleQuoted<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    configs: Vec<ConfigMount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tmpfs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shm_size: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    devices: Vec<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    ulimits: IndexMap<String, options::UlimitDef>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    depends_on: IndexMap<String, DependsOn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<health::Healthcheck>,
    #[serde(skip_serializing_if = "str::is_empty")]
    restart: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_grace_period: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pre_stop: Vec<containers::Hook>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    network_mode: Option<String>,
    /// The stack's raw keys for the service (see `extra`).
    #[serde(flatten)]
    extra: IndexMap<String, serde_json::Value>,
}

#[derive(Serialize)]
struct NetworkAttach {
    aliases: Vec<String>,
}

/// A cluster's members: member 0 is the seed (`<name>-seed`, the only one publishing
/// ports), the others workers (`<name>-worker-<i>`) that wait for it. Every member answers
/// to the cluster's own name too (a network alias), so clients address the cluster as one
/// host, as in Kubernetes.
fn cluster_members(plan: &Plan<'_>, svc: &Service) -> Vec<(String, ComposeService)> {
    let Some(cluster) = &svc.cluster else {
        return Vec::new();
    };
    let members = plan.members(svc);
    let seed_name = members[0].clone();
    let seed_addr = plan.seeds(svc, cluster, Target::Compose);
    let seed_healthy = plan.compose_healthy(svc);
    members
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut m = service(plan, svc);
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
                m.environment
                    .insert(var.clone(), secret_var(secret).into_owned());
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

/// Renders `compose.yaml` (and `.env.example` when secrets are referenced), with the
/// edge's `nginx/nginx.conf` and monitoring's files when the stack has them.
pub fn render(plan: &Plan<'_>) -> Vec<Document> {
    let stack = plan.stack();
    let dir = stack.out_dir();
    let mut file = ComposeFile {
        name: stack
            .compose
            .project_name
            .clone()
            .unwrap_or_else(|| format!("{}-{}", stack.name, stack.env)),
        services: IndexMap::new(),
        volumes: IndexMap::new(),
        configs: IndexMap::new(),
    };
    for svc in plan.services(Target::Compose) {
        let first = file.services.len();
        let mut members = match svc.cluster {
            Some(_) => cluster_members(plan, svc),
            None => vec![(svc.name.clone(), service(plan, svc))],
        };
        for (_, member) in &mut members {
            extra::apply(svc, member);
        }
        // Init containers run first, in order; the migration and the service wait for them.
        let mut inits = containers::init_services(plan, svc);
        let done = |s: &mut ComposeService, names: &[String]| {
            for name in names {
                s.depends_on.insert(
                    name.clone(),
                    DependsOn {
                        condition: "service_completed_successfully",
                    },
                );
            }
        };
        let mut init_names: Vec<String> = inits.iter().map(|(n, _)| n.clone()).collect();
        // The volumes are handed to the service's user before anything mounts them.
        // (The first init container waits for it too; the others wait for the one before.)
        if let Some(v) = plan.volume_init(svc) {
            file.services
                .insert(v.name.clone(), volumes::service(plan, svc, &v));
            if let Some((_, first)) = inits.first_mut() {
                done(first, std::slice::from_ref(&v.name));
            }
            init_names.insert(0, v.name);
        }
        file.services.extend(inits);
        for (_, member) in &mut members {
            done(member, &init_names);
        }
        if let (Some(m), Some(name)) = (&svc.migrations, plan.migration_service(svc)) {
            for (_, member) in &mut members {
                done(member, std::slice::from_ref(&name));
            }
            let mut one_shot = migration(plan, svc, m);
            done(&mut one_shot, &init_names);
            file.services.insert(name, one_shot);
        }
        file.services.extend(members);
        file.services
            .extend(containers::sidecar_services(plan, svc));
        options::finish(svc, file.services.as_mut_slice()[first..].iter_mut());
        for volume in containers::shared_volumes(svc) {
            file.volumes.insert(volume, Empty {});
        }
        for m in &svc.mounts {
            match &m.source {
                VolumeSource::Persistent { name, .. } if svc.cluster.is_some() => {
                    for member in plan.members(svc) {
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
                            content: LitString(escape(&plan.resolve(&f.content, &FILE))),
                        },
                    );
                }
                VolumeSource::Scratch | VolumeSource::Bind { .. } | VolumeSource::HostDir(_) => {}
            }
        }
    }
    // The nginx edge in front of the routes (see `render::nginx`).
    if let Some(edge) = plan.edge() {
        let mut e = service(plan, edge);
        e.volumes
            .extend(crate::render::nginx::compose_volumes(plan));
        file.services.insert(edge.name.clone(), e);
    }
    // Prometheus/Grafana when the stack enables monitoring: they mount generated folders.
    for extra in plan.monitoring() {
        let mut s = service(plan, &extra.service);
        for (folder, path) in &extra.mounts {
            s.volumes.push(format!("./{folder}:{path}:ro"));
        }
        file.services.insert(extra.service.name.clone(), s);
    }
    let mut contents = hash_header(stack);
    contents.push_str(&dotenv::note(plan));
    contents.push_str(&volumes::note(plan));
    yaml::write(&mut contents, &file);
    let mut docs = vec![Document::new(format!("{dir}/compose.yaml"), contents)];
    docs.extend(crate::render::nginx::render(plan));
    if let Some(example) = dotenv::example(plan) {
        docs.push(Document::new(format!("{dir}/.env.example"), example));
    }
    docs.extend(crate::render::prometheus::compose_files(plan));
    docs
}

fn service(plan: &Plan<'_>, svc: &Service) -> ComposeService {
    let stack = plan.stack();
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
            .insert(var.name.clone(), env_value(plan, &var.value));
    }
    options::apply(svc, &mut out);
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
    mount_into(&mut out, svc, &svc.mounts);
    for dep in svc.dependencies() {
        let target = compose_service(plan, dep.name());
        let condition = match svc.depends_on.iter().find(|d| d.name() == dep.name()) {
            Some(explicit) => options::condition(plan, explicit),
            None => options::derived(plan, dep.name()),
        };
        // A cluster is up once its seed is.
        let name = target.map_or_else(|| dep.name().to_owned(), |t| plan.members(t).swap_remove(0));
        out.depends_on.insert(name, DependsOn { condition });
    }
    out.healthcheck = health::healthcheck(plan, svc);
    out.stop_grace_period = svc.effective_grace_period().map(|s| format!("{s}s"));
    out.pre_stop = containers::pre_stop(svc);
    harden(plan, &mut out, &svc.security, &svc.mounts);
    let resources = svc.resources.as_ref().and_then(deploy_resources);
    if svc.replicas != 1 || resources.is_some() {
        out.deploy = Some(Deploy {
            replicas: (svc.replicas != 1).then_some(svc.replicas),
            resources,
        });
    }
    out
}

/// Mounts `mounts` (the service's, or one of its containers') into `out`: named volumes,
/// bind mounts, generated files as configs, scratch space as tmpfs — or, where the service
/// and one of its containers share a scratch path, the named volume both mount.
fn mount_into(out: &mut ComposeService, svc: &Service, mounts: &[crate::model::Mount]) {
    for m in mounts {
        let ro = if m.read_only { ":ro" } else { "" };
        match &m.source {
            VolumeSource::Persistent { name, .. } => {
                out.volumes.push(format!("{name}:{}{ro}", m.path))
            }
            VolumeSource::Bind { host_path } => {
                out.volumes
                    .push(format!("{}:{}{ro}", repo_path(host_path), m.path))
            }
            VolumeSource::HostDir(p) => {
                out.volumes
                    .push(format!("{}:{}{ro}", options::param_var(p), m.path))
            }
            VolumeSource::Scratch => match containers::shared_scratch(svc, &m.path) {
                Some(volume) => out.volumes.push(format!("{volume}:{}{ro}", m.path)),
                None => out.tmpfs.push(m.path.clone()),
            },
            VolumeSource::File(f) => out.configs.push(ConfigMount {
                source: f.name.clone(),
                target: m.path.clone(),
            }),
        }
    }
}

/// The one-shot service that migrates before `svc` starts: the service's image (or the
/// migration's), environment, mounts, dependencies and hardening; no ports, no
/// healthcheck, one instance, never restarted.
fn migration(plan: &Plan<'_>, svc: &Service, m: &Migration) -> ComposeService {
    let mut out = service(plan, svc);
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
                .map(|v| env_value(plan, &v.value))
                .unwrap_or_default(),
        }
    }));
    out.command = None;
    out.ports.clear();
    out.healthcheck = None;
    out.stop_grace_period = None;
    out.pre_stop.clear();
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

fn secret_var(s: &SecretRef) -> Cow<'static, str> {
    Cow::Owned(options::required_var(&s.var()))
}

fn escape_text(s: &str) -> Cow<'_, str> {
    Cow::Owned(escape(s))
}

/// An environment value: literals escaped, hosts and container ports resolved, secrets
/// required from `.env`.
const ENV: Style<'static> =
    Style::new(Hosts::Name, Ports::Container, &secret_var).escape(escape_text);

/// A generated file's content (escaped as a whole where it lands in `compose.yaml`).
const FILE: Style<'static> = Style::new(Hosts::Name, Ports::Container, &|s| Cow::Owned(s.var()));

fn env_value(plan: &Plan<'_>, v: &EnvValue) -> String {
    match v {
        EnvValue::Plain(s) | EnvValue::Config(s) => escape(s),
        EnvValue::Secret(s) => secret_var(s).into_owned(),
        EnvValue::Template(t) => plan.resolve(t, &ENV),
    }
}

/// A declared service Compose runs, or one it adds (the edge, monitoring), by name.
fn compose_service<'p>(plan: &'p Plan<'_>, name: &str) -> Option<&'p Service> {
    plan.services(Target::Compose)
        .find(|s| s.name == name)
        .or_else(|| plan.edge().filter(|e| e.name == name))
        .or_else(|| {
            plan.monitoring()
                .iter()
                .map(|m| &m.service)
                .find(|s| s.name == name)
        })
}
