//! Render: a `render.yaml` Blueprint with every service of the stack.
//!
//! - apps run their pushed image (`runtime: image`): `web` when exposed, `pserv` (private
//!   service) when they listen on ports, `worker` otherwise; instances or autoscaling,
//!   health check path from the readiness probe, one `disk` for a persistent mount;
//! - a catalog Postgres becomes a Render Postgres in `databases` (private network only) and
//!   consumers' URLs `fromDatabase … property: connectionString`;
//! - a catalog Redis becomes a Key Value instance (`noeviction`, private network only) and
//!   consumers' URLs `fromService … type: keyvalue, property: connectionString`;
//! - secrets and platform variables are `sync: false`: Render asks for them when the
//!   Blueprint is created, and they never appear in the file.

use serde::Serialize;

use super::{Readme, Value, env_value, health_path, render_type};
use crate::model::{BackingKind, Platform, VolumeSource};
use crate::plan::Plan;
use crate::render::{Document, hash_header, yaml};

#[derive(Serialize)]
struct Blueprint {
    services: Vec<RService>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    databases: Vec<Database>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RService {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<ImageRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    docker_command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    num_instances: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scaling: Option<Scaling>,
    #[serde(skip_serializing_if = "Option::is_none")]
    health_check_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disk: Option<Disk>,
    #[serde(skip_serializing_if = "Option::is_none")]
    maxmemory_policy: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_allow_list: Option<Vec<Allow>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env_vars: Vec<EnvVar>,
}

#[derive(Serialize)]
struct ImageRef {
    url: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Scaling {
    min_instances: u32,
    max_instances: u32,
    #[serde(rename = "targetCPUPercent", skip_serializing_if = "Option::is_none")]
    target_cpu_percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_memory_percent: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Disk {
    name: String,
    mount_path: String,
    #[serde(rename = "sizeGB", skip_serializing_if = "Option::is_none")]
    size_gb: Option<u64>,
}

#[derive(Serialize)]
struct Allow {
    source: String,
    description: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum EnvVar {
    Value {
        key: String,
        value: String,
    },
    Sync {
        key: String,
        sync: bool,
    },
    #[serde(rename_all = "camelCase")]
    FromDatabase {
        key: String,
        from_database: FromDatabase,
    },
    #[serde(rename_all = "camelCase")]
    FromService {
        key: String,
        from_service: FromService,
    },
}

#[derive(Serialize)]
struct FromDatabase {
    name: String,
    property: &'static str,
}

#[derive(Serialize)]
struct FromService {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    property: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Database {
    name: String,
    database_name: String,
    user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    postgres_major_version: String,
    #[serde(rename = "diskSizeGB", skip_serializing_if = "Option::is_none")]
    disk_size_gb: Option<u64>,
    ip_allow_list: Vec<Allow>,
}

fn gib(bytes: u64) -> u64 {
    bytes.div_ceil(1 << 30)
}

/// Renders `render.yaml` and its README.
pub fn render(plan: &Plan<'_>) -> Vec<Document> {
    let stack = plan.stack();
    let p = Platform::Render;
    let o = &stack.paas.render;
    let deployed = plan.paas_services(p);
    let mut bp = Blueprint {
        services: Vec::new(),
        databases: Vec::new(),
    };
    let mut notes = Vec::new();
    for svc in &deployed {
        let storage = svc.mounts.iter().find_map(|m| match &m.source {
            VolumeSource::Persistent { size, .. } => Some(size.map(|s| gib(s.bytes()))),
            _ => None,
        });
        match svc.backing.as_ref().map(|b| &b.kind) {
            Some(BackingKind::Postgres {
                database,
                user,
                major_version,
                ..
            }) => {
                bp.databases.push(Database {
                    name: svc.name.clone(),
                    database_name: database.clone(),
                    user: user.clone(),
                    plan: o.database_plan.clone(),
                    region: o.region.clone(),
                    postgres_major_version: major_version.to_string(),
                    disk_size_gb: storage.flatten(),
                    ip_allow_list: Vec::new(),
                });
                notes.push(format!("`{}`: Render generates the database's credentials, password included; consumers get them inside `connectionString`.", svc.name));
                continue;
            }
            Some(BackingKind::Redis { .. }) => {
                bp.services.push(RService {
                    kind: "keyvalue",
                    name: svc.name.clone(),
                    runtime: None,
                    image: None,
                    docker_command: None,
                    region: o.region.clone(),
                    plan: o.key_value_plan.clone(),
                    num_instances: None,
                    scaling: None,
                    health_check_path: None,
                    disk: None,
                    maxmemory_policy: Some("noeviction"),
                    ip_allow_list: Some(Vec::new()),
                    env_vars: Vec::new(),
                });
                notes.push(format!("`{}`: a Key Value instance with an empty IP allow list is reachable on the private network only, and without a password.", svc.name));
                continue;
            }
            _ => {}
        }
        let kind = render_type(svc);
        let mut env_vars = Vec::new();
        for var in &svc.env {
            let key = var.name.clone();
            let v = match env_value(plan, p, &deployed, var) {
                Ok(Value::Literal(value)) => EnvVar::Value { key, value },
                Ok(Value::Secret(_) | Value::InPlatform(_)) => EnvVar::Sync { key, sync: false },
                Ok(Value::Database { name, property }) => EnvVar::FromDatabase {
                    key,
                    from_database: FromDatabase {
                        name: name.to_owned(),
                        property,
                    },
                },
                Ok(Value::FromService {
                    name,
                    kind,
                    property,
                }) => EnvVar::FromService {
                    key,
                    from_service: FromService {
                        kind,
                        name: name.to_owned(),
                        property,
                    },
                },
                Err(_) => continue,
            };
            env_vars.push(v);
        }
        let disk = svc.mounts.iter().find_map(|m| match &m.source {
            VolumeSource::Persistent { name, size } => Some(Disk {
                name: name.clone(),
                mount_path: m.path.clone(),
                size_gb: size.map(|s| gib(s.bytes())),
            }),
            _ => None,
        });
        bp.services.push(RService {
            kind,
            name: svc.name.clone(),
            runtime: Some("image"),
            image: svc
                .source
                .image
                .as_ref()
                .map(|i| ImageRef { url: i.to_string() }),
            docker_command: super::command_line(svc),
            region: o.region.clone(),
            plan: o.plan.clone(),
            num_instances: svc.autoscale.is_none().then_some(svc.replicas),
            scaling: svc.autoscale.as_ref().map(|a| Scaling {
                min_instances: a.min,
                max_instances: a.max,
                target_cpu_percent: a.cpu,
                target_memory_percent: a.memory,
            }),
            health_check_path: (kind != "worker")
                .then(|| health_path(svc).map(str::to_owned))
                .flatten(),
            disk,
            maxmemory_policy: None,
            ip_allow_list: None,
            env_vars,
        });
    }
    let apps = super::apps(plan, p);
    if apps.iter().any(|s| s.probes.liveness.is_some()) {
        notes.push("Liveness and startup probes: Render restarts instances whose health check fails and holds traffic until it passes.".into());
    }
    let mut text = hash_header(stack);
    text.push_str("# Secrets and platform variables are `sync: false`: Render asks for them when the Blueprint is created (README.md).\n");
    yaml::write(&mut text, &bp);
    vec![
        Document::new(format!("{}/render.yaml", stack.paas_dir(p)), text),
        super::readme(
            plan,
            Readme {
                platform: p,
                deployed,
                deploy: vec![
                    "render blueprints validate render.yaml".into(),
                    "# then: Render Dashboard → New → Blueprint, pointing at this file".into(),
                ],
                set_command: None,
                not_carried: notes,
            },
        ),
    ]
}
