//! The Serverless Framework (v3): `serverless.yml` for the one HTTP app as an AWS Lambda
//! function behind an API Gateway HTTP API.
//!
//! - `provider`: runtime, region, the `prod` stage, memory from the service's limit, the
//!   declared timeout, and the environment — literals inline, secrets by reference to SSM
//!   parameters `${ssm:/<secret>/<key>}`, platform variables as `${param:NAME}` (stage
//!   parameters); no value is ever written;
//! - `functions.<app>`: the declared handler, with an `httpApi` event per exposed path
//!   prefix (`*` for the whole API);
//! - `configValidationMode: error`, so the framework refuses the file if it ever drifts
//!   from its schema.

use indexmap::IndexMap;
use serde::Serialize;

use super::{Readme, Value, apps, env_value, memory_mib};
use crate::model::{Platform, SecretRef};
use crate::plan::Plan;
use crate::render::{Document, hash_header, yaml};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerlessYml {
    service: String,
    framework_version: &'static str,
    config_validation_mode: &'static str,
    provider: Provider,
    functions: IndexMap<String, Function>,
    #[serde(skip_serializing_if = "Option::is_none")]
    package: Option<Package>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Provider {
    name: &'static str,
    runtime: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    stage: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_size: Option<u64>,
    timeout: u32,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    environment: IndexMap<String, String>,
}

#[derive(Serialize)]
struct Function {
    handler: String,
    events: Vec<Event>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    http_api: HttpApi,
}

#[derive(Serialize)]
struct HttpApi {
    method: &'static str,
    path: String,
}

#[derive(Serialize)]
struct Package {
    patterns: Vec<String>,
}

/// The SSM parameter a secret is read from: `/<secret name>/<key>`.
pub fn ssm_parameter(secret: &SecretRef) -> String {
    format!("/{}/{}", secret.name(), secret.key())
}

/// Renders `serverless.yml` and its README.
pub fn render(plan: &Plan<'_>) -> Vec<Document> {
    let stack = plan.stack();
    let p = Platform::Serverless;
    let o = &stack.paas.serverless;
    let deployed = plan.paas_services(p);
    let (Some(svc), Some(handler)) = (apps(plan, p).into_iter().next(), &o.handler) else {
        return Vec::new();
    };
    let mut environment = IndexMap::new();
    for var in &svc.env {
        let v = match env_value(plan, p, &deployed, var) {
            Ok(Value::Literal(v)) => v,
            Ok(Value::Secret(s)) => format!("${{ssm:{}}}", ssm_parameter(s)),
            Ok(Value::InPlatform(pv)) => format!("${{param:{}}}", pv.name),
            _ => continue,
        };
        environment.insert(var.name.clone(), v);
    }
    let mut events = Vec::new();
    let mut prefixes: Vec<&str> = svc.routes.iter().map(|i| i.path.as_str()).collect();
    prefixes.dedup();
    if prefixes.is_empty() || prefixes.contains(&"/") {
        prefixes = vec!["/"];
    }
    for prefix in prefixes {
        let prefix = prefix.trim_end_matches('/');
        if prefix.is_empty() {
            events.push(Event {
                http_api: HttpApi {
                    method: "*",
                    path: "*".into(),
                },
            });
        } else {
            for path in [prefix.to_owned(), format!("{prefix}/{{proxy+}}")] {
                events.push(Event {
                    http_api: HttpApi { method: "*", path },
                });
            }
        }
    }
    let file = ServerlessYml {
        service: stack.name.clone(),
        framework_version: "3",
        config_validation_mode: "error",
        provider: Provider {
            name: "aws",
            runtime: o.runtime.clone(),
            region: o.region.clone(),
            stage: "prod",
            memory_size: memory_mib(svc),
            timeout: o.timeout,
            environment,
        },
        functions: IndexMap::from([(
            svc.name.clone(),
            Function {
                handler: handler.clone(),
                events,
            },
        )]),
        package: (!o.patterns.is_empty()).then(|| Package {
            patterns: o.patterns.clone(),
        }),
    };
    let mut text = hash_header(stack);
    text.push_str("# Secrets are SSM parameters and platform variables stage parameters, by reference (README.md).\n");
    yaml::write(&mut text, &file);
    let mut not_carried = vec![format!(
        "Replicas and autoscaling: Lambda runs as many instances as requests need (the model runs {}).",
        svc.autoscale
            .as_ref()
            .map_or(svc.replicas.to_string(), |a| format!("{}–{}", a.min, a.max))
    )];
    if svc.probes.iter().next().is_some() {
        not_carried.push("Probes: a function has no long-running process to probe.".into());
    }
    if svc.source.image.is_some() {
        not_carried.push(format!(
            "The pinned image: the framework packages `{handler}` from this repository's build."
        ));
    }
    let mut deploy = "serverless deploy --stage prod --config serverless.yml".to_owned();
    for v in super::to_set(plan, p, &deployed) {
        if v.reference.is_none() {
            deploy.push_str(&format!(" \\\n  --param=\"{}=…\"", v.name));
        }
    }
    vec![
        Document::new(format!("{}/serverless.yml", stack.paas_dir(p)), text),
        super::readme(
            plan,
            Readme {
                platform: p,
                deployed: vec![svc],
                deploy: vec![deploy],
                set_command: Some(|v| match &v.reference {
                    Some(s) => format!(
                        "aws ssm put-parameter --type SecureString --name {} --value …   # {}",
                        ssm_parameter(s),
                        v.name
                    ),
                    None => format!(
                        "# {}: a stage parameter, passed to `serverless deploy` below",
                        v.name
                    ),
                }),
                not_carried,
            },
        ),
    ]
}
