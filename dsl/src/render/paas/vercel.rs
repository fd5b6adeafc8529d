//! Vercel: `vercel.json` for the one HTTP app, served by a function built from the
//! repository.
//!
//! - `functions`: the declared function source with the service's memory limit and the
//!   declared maximum duration; `regions`, install and build commands as declared;
//! - `rewrites`: every exposed path prefix (or the whole site) to the function;
//! - `env`: literals only; secrets and platform variables are project environment
//!   variables (`vercel env add`, README), never values in the file.
//!
//! JSON has no comments, so the file carries no marker; the manifest's content hash is
//! what lets `emit` recognise (and clean up) it.

use indexmap::IndexMap;
use serde::Serialize;

use super::{Readme, Value, apps, env_value, memory_mib};
use crate::model::Platform;
use crate::plan::Plan;
use crate::render::Document;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VercelJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    install_command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    build_command: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    regions: Vec<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    env: IndexMap<String, String>,
    functions: IndexMap<String, Function>,
    rewrites: Vec<Rewrite>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Function {
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_duration: Option<u32>,
}

#[derive(Serialize)]
struct Rewrite {
    source: String,
    destination: String,
}

/// The route Vercel serves a function file at: `api/index.ts` → `/api`.
fn function_route(file: &str) -> String {
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    let stem = stem.strip_suffix("/index").unwrap_or(stem);
    format!("/{}", stem.trim_start_matches('/'))
}

/// Renders `vercel.json` and its README.
pub fn render(plan: &Plan<'_>) -> Vec<Document> {
    let stack = plan.stack();
    let p = Platform::Vercel;
    let o = &stack.paas.vercel;
    let deployed = plan.paas_services(p);
    let (Some(svc), Some(function)) = (apps(plan, p).into_iter().next(), &o.function) else {
        return Vec::new();
    };
    let mut env = IndexMap::new();
    for var in &svc.env {
        if let Ok(Value::Literal(v)) = env_value(plan, p, &deployed, var) {
            env.insert(var.name.clone(), v);
        }
    }
    let destination = function_route(function);
    let mut prefixes: Vec<&str> = svc.routes.iter().map(|i| i.path.as_str()).collect();
    if prefixes.is_empty() {
        prefixes.push("/");
    }
    prefixes.dedup();
    let rewrites = prefixes
        .into_iter()
        .map(|prefix| Rewrite {
            source: format!("{}/:path*", prefix.trim_end_matches('/')),
            destination: destination.clone(),
        })
        .collect();
    let file = VercelJson {
        install_command: o.install_command.clone(),
        build_command: o.build_command.clone(),
        regions: o.regions.clone(),
        env,
        functions: IndexMap::from([(
            function.clone(),
            Function {
                memory: memory_mib(svc),
                max_duration: o.max_duration,
            },
        )]),
        rewrites,
    };
    // Serializing plain structs to a string cannot fail.
    let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
    text.push('\n');
    let mut not_carried = vec![format!(
        "Replicas and autoscaling: Vercel runs as many function instances as requests need (the model runs {}).",
        svc.autoscale
            .as_ref()
            .map_or(svc.replicas.to_string(), |a| format!("{}–{}", a.min, a.max))
    )];
    if svc.probes.iter().next().is_some() {
        not_carried.push("Probes: a function has no long-running process to probe.".into());
    }
    if svc.source.image.is_some() {
        not_carried.push(format!(
            "The pinned image: Vercel builds `{function}` from this repository."
        ));
    }
    let hosts: Vec<String> = svc
        .routes
        .iter()
        .map(|i| format!("vercel domains add {}", i.host))
        .collect();
    let mut deploy = vec!["vercel deploy --prod --local-config vercel.json".to_owned()];
    deploy.extend(hosts);
    vec![
        Document::new(format!("{}/vercel.json", stack.paas_dir(p)), text),
        super::readme(
            plan,
            Readme {
                platform: p,
                deployed: vec![svc],
                deploy,
                set_command: Some(|v| {
                    format!(
                        "vercel env add {} production{}",
                        v.name,
                        if v.secret { " --sensitive" } else { "" }
                    )
                }),
                not_carried,
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::function_route;

    #[test]
    fn routes_of_function_files() {
        assert_eq!(function_route("api/index.ts"), "/api");
        assert_eq!(function_route("api/server.js"), "/api/server");
        assert_eq!(function_route("/api/v1/index.mjs"), "/api/v1");
    }
}
