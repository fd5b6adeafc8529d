//! Railway: `railway.toml`, the build and deploy settings of the one app (Railway's config
//! as code covers one service's deployment; variables live in the service, see README).
//!
//! - `[build]`: Railpack (default) or a Dockerfile, and the build command;
//! - `[deploy]`: start command (as set, else the service's command and arguments), replicas
//!   (in a region when one is set), health check path and timeout from the readiness and
//!   startup probes, restart policy from the model's, and the mount path a persistent
//!   volume must be attached at.

use indexmap::IndexMap;
use serde::Serialize;

use super::{Readme, Value, apps, env_value, health_path};
use crate::model::{Platform, RailwayBuilder, Restart, VolumeSource};
use crate::plan::Plan;
use crate::render::{Document, hash_header};

#[derive(Serialize)]
struct RailwayToml {
    build: Build,
    deploy: Deploy,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Build {
    builder: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dockerfile_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    build_command: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Deploy {
    #[serde(skip_serializing_if = "Option::is_none")]
    start_command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    num_replicas: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck_timeout: Option<u32>,
    restart_policy_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    restart_policy_max_retries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    required_mount_path: Option<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    multi_region_config: IndexMap<String, Region>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    num_replicas: u32,
}

/// Renders `railway.toml` and its README.
pub fn render(plan: &Plan<'_>) -> Vec<Document> {
    let stack = plan.stack();
    let p = Platform::Railway;
    let o = &stack.paas.railway;
    let deployed = plan.paas_services(p);
    let Some(svc) = apps(plan, p).into_iter().next() else {
        return Vec::new();
    };
    let (builder, dockerfile_path) = match &o.builder {
        RailwayBuilder::Railpack => ("RAILPACK", None),
        RailwayBuilder::Dockerfile(path) => ("DOCKERFILE", Some(path.clone())),
    };
    let restart = match svc.restart {
        Restart::OnFailure => "ON_FAILURE",
        Restart::Never => "NEVER",
        _ => "ALWAYS",
    };
    let mut regions = IndexMap::new();
    if let Some(r) = &o.region {
        regions.insert(
            r.clone(),
            Region {
                num_replicas: svc.replicas,
            },
        );
    }
    let health = health_path(svc).map(str::to_owned);
    let file = RailwayToml {
        build: Build {
            builder,
            dockerfile_path,
            build_command: o.build_command.clone(),
        },
        deploy: Deploy {
            start_command: o.start_command.clone().or_else(|| super::command_line(svc)),
            num_replicas: o.region.is_none().then_some(svc.replicas),
            healthcheck_timeout: health.as_ref().map(|_| super::start_budget(svc).max(1)),
            healthcheck_path: health,
            restart_policy_type: restart,
            restart_policy_max_retries: (restart == "ON_FAILURE")
                .then_some(o.max_restarts)
                .flatten(),
            required_mount_path: svc.mounts.iter().find_map(|m| {
                matches!(m.source, VolumeSource::Persistent { .. }).then(|| m.path.clone())
            }),
            multi_region_config: regions,
        },
    };
    let mut text = hash_header(stack);
    text.push_str("# Variables are set on the Railway service, not in this file (README.md).\n\n");
    text.push_str(&toml::to_string(&file).unwrap_or_else(|e| {
        panic!("renderer produced a value the TOML serializer cannot write: {e}")
    }));
    let mut not_carried = Vec::new();
    let literals: Vec<String> = svc
        .env
        .iter()
        .filter_map(|var| match env_value(plan, p, &deployed, var) {
            Ok(Value::Literal(v)) => Some(format!("{}={}", var.name, shell_arg(&v))),
            _ => None,
        })
        .collect();
    if let Some(a) = &svc.autoscale {
        not_carried.push(format!(
            "Autoscaling between {} and {} replicas: Railway runs a fixed {} replicas (it scales each one vertically, not out).",
            a.min, a.max, svc.replicas
        ));
    }
    if svc.probes.liveness.is_some() {
        not_carried.push("Liveness probes: Railway checks health only while a deployment goes live; the restart policy handles crashes after that.".into());
    }
    if svc.source.image.is_some() {
        not_carried.push(
            "The pinned image: Railway builds the app from this repository with the builder above."
                .into(),
        );
    }
    let mut deploy = Vec::new();
    if !literals.is_empty() {
        deploy.push(format!(
            "railway variables --service {} --skip-deploys{}",
            svc.name,
            literals
                .iter()
                .map(|l| format!(" \\\n  --set {l}"))
                .collect::<String>()
        ));
    }
    if let Some(m) = svc
        .mounts
        .iter()
        .find(|m| matches!(m.source, VolumeSource::Persistent { .. }))
    {
        deploy.push(format!("railway volume add --mount-path {}", m.path));
    }
    deploy.push(format!("railway up --service {}", svc.name));
    vec![
        Document::new(format!("{}/railway.toml", stack.paas_dir(p)), text),
        super::readme(
            plan,
            Readme {
                platform: p,
                deployed: vec![svc],
                deploy,
                set_command: Some(|v| format!("railway variables --set '{}=…'", v.name)),
                not_carried,
            },
        ),
    ]
}

fn shell_arg(v: &str) -> String {
    super::shell_quote(v)
}
