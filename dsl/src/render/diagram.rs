//! Architecture README: `out/<stack>/README.md`, one per stack, spanning its environments.
//!
//! Rendered by the prod run from the stack function (like the GitHub Actions pipeline), so
//! it can show what differs between environments:
//!
//! - a Mermaid `flowchart` (GitHub renders it in pull requests): one node per service,
//!   backing services as cylinders, grouped in subgraphs by the environments they run in;
//!   node labels carry replicas and where the service runs when those differ; edges are
//!   the dependencies the model derives, labelled with the ports used, and annotated with
//!   their environments when not in all; clients reach exposed services by host and path;
//!   a migration is a node that runs before its service;
//! - tables of services, ports, environment variable *names* (with their kind, never a
//!   value), routes, and the Secrets to create.
//!
//! Everything comes from the model in declaration order, so the file is byte-stable and
//! adding a service adds it here with no other edit.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use indexmap::IndexMap;

use crate::model::{AppProtocol, Env, EnvValue, Part, Port, SecretRef, Service, Target};
use crate::plan::Plan;
use crate::render::{Document, html_header};

/// A set of environments, in promotion order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
struct Envs([bool; 3]);

impl Envs {
    fn add(&mut self, env: Env) {
        self.0[index(env)] = true;
    }

    fn has(self, env: Env) -> bool {
        self.0[index(env)]
    }

    fn list(self) -> String {
        Env::ALL
            .into_iter()
            .filter(|e| self.has(*e))
            .map(Env::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn index(env: Env) -> usize {
    match env {
        Env::Dev => 0,
        Env::Staging => 1,
        Env::Prod => 2,
    }
}

/// One service across the environments it exists in.
struct Node<'a> {
    /// Per environment, the service as declared there.
    by_env: Vec<(Env, &'a Plan<'a>, &'a Service)>,
}

impl<'a> Node<'a> {
    fn envs(&self) -> Envs {
        let mut e = Envs::default();
        self.by_env.iter().for_each(|(env, ..)| e.add(*env));
        e
    }

    fn first(&self) -> &'a Service {
        self.by_env[0].2
    }

    /// `f` per environment, as one value when every environment agrees, else each value
    /// with the environments that have it.
    fn per_env(&self, f: impl Fn(&Plan<'_>, &Service) -> String) -> String {
        let mut values: IndexMap<String, Envs> = IndexMap::new();
        for (env, st, svc) in &self.by_env {
            values.entry(f(st, svc)).or_default().add(*env);
        }
        if values.len() == 1 {
            return values.into_keys().next().unwrap_or_default();
        }
        values
            .into_iter()
            .map(|(v, envs)| format!("{v} ({})", envs.list()))
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

/// Where a service runs in one environment: the targets that render it.
fn runs_on(plan: &Plan<'_>, svc: &Service) -> String {
    let mut out: Vec<&str> = Vec::new();
    for t in &plan.stack().targets {
        match t {
            Target::Compose if svc.renders_on(Target::Compose) => out.push("Compose"),
            Target::Kubernetes if svc.renders_on(Target::Kubernetes) => {
                out.push(match &svc.backing {
                    Some(b) if plan.is_helm_installed(svc) => b.install.label(),
                    _ => "Kubernetes",
                })
            }
            Target::Paas(_) if svc.renders_on(*t) && !out.contains(&"PaaS") => out.push("PaaS"),
            _ => {}
        }
    }
    if out.is_empty() {
        "—".to_owned()
    } else {
        out.join(" + ")
    }
}

fn mermaid_id(name: &str) -> String {
    format!("s_{}", name.replace('-', "_"))
}

/// Text safe inside a quoted Mermaid label.
fn label(text: &str) -> String {
    text.replace('"', "#quot;")
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The ports `svc`'s environment uses to reach `target`, by name, in first-use order.
fn ports_used<'a>(svc: &'a Service, target: &str) -> Vec<&'a Port> {
    let mut out: Vec<&Port> = Vec::new();
    for var in &svc.env {
        if let EnvValue::Template(t) = &var.value {
            for p in t.parts() {
                if let Part::Port(e) = p
                    && e.service().name() == target
                    && !out.iter().any(|o| o.name == e.port().name)
                {
                    out.push(
                        // Prefer the port as the target declares it.
                        &e.port,
                    );
                }
            }
        }
    }
    out
}

fn port_label(p: &Port) -> String {
    format!("{} {}", p.name, p.number)
}

/// Renders `out/<stack>/README.md` from the stack in every environment (`stacks`, in any
/// order; the prod stack, if present, names the file's marker).
///
/// ```
/// use stackdsl::prelude::*;
/// let shop = |env: Env| {
///     let mut s = Stack::new("shop", env);
///     let pg = Port::tcp("postgres", 5432);
///     let sized = Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(256));
///     let db = s.add(Service::new("db").image(Image::new("postgres").tag("17"))
///         .security(Security::restricted().run_as_user(999)).port(pg).resources(sized));
///     s.add(Service::new("api").image(Image::new("acme/api").tag("1"))
///         .env("DB", db.endpoint(pg).url()).resources(sized));
///     s
/// };
/// let stacks: Vec<Stack> = Env::ALL.into_iter().map(shop).collect();
/// let plans: Vec<stackdsl::Plan> = stacks.iter().map(|s| stackdsl::validate(s).expect("valid")).collect();
/// let doc = stackdsl::render::diagram::render(&plans.iter().collect::<Vec<_>>());
/// assert_eq!(doc.path, "shop/README.md");
/// assert!(doc.contents.contains("```mermaid\nflowchart LR\n"));
/// assert!(doc.contents.contains("s_api -->|\"postgres 5432\"| s_db"));
/// ```
pub fn render(plans: &[&Plan<'_>]) -> Document {
    render_linked(plans, &[])
}

/// Like [`render`], ending with links to the stack's other generated READMEs (`files`:
/// paths relative to the output root, e.g. `shop/prod/k8s/README.md`), which hold each
/// environment's details (the Secrets to create with their commands, the Terraform apply
/// order, the pipeline's secrets), so this file does not repeat them.
pub fn render_linked(plans: &[&Plan<'_>], files: &[String]) -> Document {
    let mut ordered: Vec<&Plan<'_>> = plans.to_vec();
    ordered.sort_by_key(|p| p.stack().env);
    let marker = ordered.last().copied().expect("at least one stack").stack();
    let name = &marker.name;

    // Services, in first-declaration order across environments.
    // Compose's nginx edge is a service of the rendered files, not of the model.
    let mut nodes: IndexMap<&str, Node<'_>> = IndexMap::new();
    for st in &ordered {
        for svc in st.stack().services.iter().chain(st.edge()) {
            nodes
                .entry(svc.name.as_str())
                .or_insert_with(|| Node { by_env: Vec::new() })
                .by_env
                .push((st.stack().env, *st, svc));
        }
    }
    let mut all = Envs::default();
    ordered.iter().for_each(|s| all.add(s.stack().env));

    let mut t = html_header(marker);
    t.push('\n');
    let _ = writeln!(t, "# `{name}` — architecture\n");
    let _ = writeln!(
        t,
        "Derived from the stack's model in {} (each environment's files are under `out/{name}/<env>/`). \
         Services are grouped by the environments they run in; edges are the dependencies the \
         model derives from each service's environment, labelled with the ports used.\n",
        all.list()
    );

    // The flowchart.
    t.push_str("```mermaid\nflowchart LR\n");
    let has_routes = nodes.values().any(|n| {
        n.by_env.iter().any(|(_, _, s)| {
            !s.routes.is_empty() || s.publish.iter().any(|p| p.host_ip.is_unspecified())
        })
    });
    if has_routes {
        t.push_str("    clients([\"clients\"])\n");
    }
    let mut groups: IndexMap<Envs, Vec<&str>> = IndexMap::new();
    for (name, node) in &nodes {
        groups.entry(node.envs()).or_default().push(name);
    }
    let mut group_ids: Vec<Envs> = groups.keys().copied().collect();
    group_ids.sort_by_key(|e| std::cmp::Reverse((e.0.iter().filter(|b| **b).count(), e.0)));
    for envs in group_ids {
        let title = if envs == all {
            format!("in {}", envs.list())
        } else {
            format!("only in {}", envs.list())
        };
        let gid = format!("env_{}", envs.list().replace(", ", "_"));
        let _ = writeln!(t, "    subgraph {gid}[\"{}\"]", label(&title));
        for svc_name in &groups[&envs] {
            let node = &nodes[svc_name];
            let svc = node.first();
            let mut lines = vec![svc_name.to_string()];
            let replicas = node.per_env(|_, s| format!("×{}", s.replicas));
            if replicas != "×1" {
                lines.push(replicas);
            }
            lines.push(node.per_env(runs_on));
            let text = label(&lines.join("<br/>"));
            let id = mermaid_id(svc_name);
            if svc.backing.is_some() {
                let _ = writeln!(t, "        {id}[(\"{text}\")]");
            } else {
                let _ = writeln!(t, "        {id}[\"{text}\"]");
            }
            if let Some(m) = &svc.migrations {
                let _ = writeln!(
                    t,
                    "        {id}_migrate[/\"{}-migrate<br/>{}\"/]",
                    svc_name,
                    label(&m.argv.join(" "))
                );
            }
        }
        t.push_str("    end\n");
    }
    // Edges: (from, to, label) → environments.
    let mut edges: IndexMap<(String, String, String), Envs> = IndexMap::new();
    for (svc_name, node) in &nodes {
        for (env, st, svc) in &node.by_env {
            // One edge per host, naming its paths.
            let mut hosts: IndexMap<String, Vec<&str>> = IndexMap::new();
            for ing in &svc.routes {
                let scheme = if ing.tls.is_some() { "https" } else { "http" };
                let paths = hosts.entry(format!("{scheme}://{}", ing.host)).or_default();
                if ing.path != "/" {
                    paths.push(&ing.path);
                }
            }
            for (host, paths) in hosts {
                let lbl = if paths.is_empty() {
                    host
                } else {
                    format!("{host} {}", paths.join(", "))
                };
                edges
                    .entry(("clients".into(), mermaid_id(svc_name), lbl))
                    .or_default()
                    .add(*env);
            }
            let public: Vec<String> = svc
                .publish
                .iter()
                .filter(|p| p.host_ip.is_unspecified())
                .map(|p| format!(":{}", p.host_port))
                .collect();
            if !public.is_empty() {
                edges
                    .entry(("clients".into(), mermaid_id(svc_name), public.join(", ")))
                    .or_default()
                    .add(*env);
            }
            for dep in svc.dependencies() {
                let ports = ports_used(svc, dep.name());
                let lbl = if ports.is_empty() {
                    st.stack()
                        .service(dep.name())
                        .map(|d| d.ports.iter().map(port_label).collect::<Vec<_>>())
                        .unwrap_or_default()
                        .join(", ")
                } else {
                    ports
                        .iter()
                        .map(|p| port_label(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                edges
                    .entry((mermaid_id(svc_name), mermaid_id(dep.name()), lbl))
                    .or_default()
                    .add(*env);
            }
            if svc.migrations.is_some() {
                let id = mermaid_id(svc_name);
                edges
                    .entry((format!("{id}_migrate"), id, "runs first".into()))
                    .or_default()
                    .add(*env);
            }
        }
    }
    let node_envs: BTreeMap<String, Envs> = nodes
        .iter()
        .map(|(n, node)| (mermaid_id(n), node.envs()))
        .collect();
    for ((from, to, lbl), envs) in &edges {
        // An edge is annotated when it exists in fewer environments than both its ends.
        let ends = |id: &str| node_envs.get(id).copied().unwrap_or(all);
        let mut span = all;
        for e in Env::ALL {
            if !(ends(from).has(e) && ends(to).has(e)) {
                span.0[index(e)] = false;
            }
        }
        let lbl = if *envs != span {
            format!("{lbl} ({})", envs.list())
        } else {
            lbl.clone()
        };
        let arrow = if lbl.starts_with("runs first") {
            "-.->"
        } else {
            "-->"
        };
        if lbl.is_empty() {
            let _ = writeln!(t, "    {from} {arrow} {to}");
        } else {
            let _ = writeln!(t, "    {from} {arrow}|\"{}\"| {to}", label(&lbl));
        }
    }
    t.push_str("```\n\n");

    // Tables.
    t.push_str("## Services\n\n| service | image | replicas | runs on | environments |\n|---|---|---|---|---|\n");
    for (svc_name, node) in &nodes {
        let image = node.per_env(|_, s| {
            s.source
                .image
                .as_ref()
                .map(|i| format!("`{i}`"))
                .unwrap_or_else(|| "built from source".to_owned())
        });
        let kind = if node.first().backing.is_some() {
            " (backing)"
        } else {
            ""
        };
        let _ = writeln!(
            t,
            "| `{svc_name}`{kind} | {} | {} | {} | {} |",
            cell(&image),
            node.per_env(|_, s| s.replicas.to_string()),
            node.per_env(runs_on),
            node.envs().list()
        );
    }

    t.push_str("\n## Ports\n\n| service | port | container | service port | protocol |\n|---|---|---|---|---|\n");
    for (svc_name, node) in &nodes {
        let mut seen: Vec<(&str, u16)> = Vec::new();
        for (_, _, svc) in &node.by_env {
            for p in &svc.ports {
                if seen.contains(&(p.name, p.number)) {
                    continue;
                }
                seen.push((p.name, p.number));
                let _ = writeln!(
                    t,
                    "| `{svc_name}` | `{}` | {} | {} | {} |",
                    p.name,
                    p.number,
                    p.client_port(),
                    match p.app {
                        AppProtocol::Http => "HTTP",
                        AppProtocol::Grpc => "gRPC",
                        AppProtocol::Tcp => "TCP",
                        AppProtocol::Udp => "UDP",
                    }
                );
            }
        }
    }

    let routes: Vec<(String, Envs)> = {
        let mut r: IndexMap<String, Envs> = IndexMap::new();
        for (svc_name, node) in &nodes {
            for (env, _, svc) in &node.by_env {
                for ing in &svc.routes {
                    let row = format!(
                        "| `{}` | `{}` | `{svc_name}` | `{}` ({}) | {} |",
                        ing.host,
                        ing.path,
                        ing.port.name,
                        ing.port.client_port(),
                        ing.tls
                            .as_ref()
                            .map_or_else(|| "no".to_owned(), |i| format!("`{}`", i.0))
                    );
                    r.entry(row).or_default().add(*env);
                }
            }
        }
        r.into_iter().collect()
    };
    if !routes.is_empty() {
        t.push_str("\n## Routes\n\n| host | path | service | port | TLS issuer | environments |\n|---|---|---|---|---|---|\n");
        for (row, envs) in routes {
            let _ = writeln!(t, "{row} {} |", envs.list());
        }
    }

    t.push_str("\n## Environment variables\n\nNames only: values live in the model (and secrets in your secret store).\n\n| service | variable | kind | environments |\n|---|---|---|---|\n");
    for (svc_name, node) in &nodes {
        let mut vars: IndexMap<(&str, String), Envs> = IndexMap::new();
        for (env, _, svc) in &node.by_env {
            for v in &svc.env {
                let kind = match &v.value {
                    EnvValue::Plain(_) => "literal".to_owned(),
                    EnvValue::Config(_) => "configuration".to_owned(),
                    EnvValue::Secret(s) => format!("secret `{}/{}`", s.name(), s.key()),
                    EnvValue::Template(tpl) => {
                        let targets: Vec<String> = tpl
                            .services()
                            .iter()
                            .map(|s| format!("`{}`", s.name()))
                            .fold(Vec::new(), |mut acc, s| {
                                if !acc.contains(&s) {
                                    acc.push(s);
                                }
                                acc
                            });
                        let secrets = if tpl.secrets().is_empty() {
                            ""
                        } else {
                            " + secret"
                        };
                        if targets.is_empty() {
                            format!("derived{secrets}")
                        } else {
                            format!("derived from {}{secrets}", targets.join(", "))
                        }
                    }
                };
                vars.entry((v.name.as_str(), kind)).or_default().add(*env);
            }
        }
        let node_envs = node.envs();
        for ((var, kind), envs) in vars {
            let where_ = if envs == node_envs {
                "all".to_owned()
            } else {
                envs.list()
            };
            let _ = writeln!(t, "| `{svc_name}` | `{var}` | {kind} | {where_} |");
        }
    }

    let mut secrets: IndexMap<(String, String), (&SecretRef, Vec<String>)> = IndexMap::new();
    for (svc_name, node) in &nodes {
        for (_, _, svc) in &node.by_env {
            for s in svc.secrets() {
                let entry = secrets
                    .entry((s.name().to_owned(), s.key().to_owned()))
                    .or_insert((s, Vec::new()));
                if !entry.1.iter().any(|u| u == svc_name) {
                    entry.1.push(svc_name.to_string());
                }
            }
            // What only the service's backup job reads (the bucket's credentials).
            for s in svc.backup.iter().flat_map(|b| b.secrets()) {
                let entry = secrets
                    .entry((s.name().to_owned(), s.key().to_owned()))
                    .or_insert((s, Vec::new()));
                let job = format!("{svc_name}-backup");
                if !entry.1.contains(&job) {
                    entry.1.push(job);
                }
            }
        }
    }
    if secrets.is_empty() {
        t.push_str("\nThe stack references no secrets.\n");
    } else {
        t.push_str("\n## Required secrets\n\nReferences only: no value is ever generated. Kubernetes reads the Secret's key; Compose the variable from `.env`.\n\n| Secret | key | Compose variable | used by | description |\n|---|---|---|---|---|\n");
        for ((name, key), (s, users)) in &secrets {
            let users: Vec<String> = users.iter().map(|u| format!("`{u}`")).collect();
            let _ = writeln!(
                t,
                "| `{name}` | `{key}` | `{}` | {} | {} |",
                s.var(),
                users.join(", "),
                cell(s.description().unwrap_or(""))
            );
        }
    }
    let prefix = format!("{name}/");
    let own = format!("{name}/README.md");
    let mut links: Vec<&str> = files
        .iter()
        .filter(|f| f.ends_with("README.md") && **f != own)
        .filter_map(|f| f.strip_prefix(&prefix))
        .collect();
    links.sort_unstable();
    links.dedup();
    if !links.is_empty() {
        t.push_str("\n## Per-environment details\n\n");
        for l in links {
            let _ = writeln!(t, "- [`{l}`]({l})");
        }
    }
    Document::new(own, t)
}
