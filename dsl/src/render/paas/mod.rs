//! PaaS renderers: one file per platform under `out/<stack>/paas/<platform>/`, each with a
//! `README.md` naming what the operator sets in the platform.
//!
//! | platform | file | deploys |
//! |---|---|---|
//! | Fly.io | `fly.toml` | the app's pushed image on Fly Machines |
//! | Render | `render.yaml` | every service (image runtime), catalog Postgres as databases, catalog Redis as Key Value |
//! | Railway | `railway.toml` | the app, built from the repository |
//! | Vercel | `vercel.json` | the app as a serverless function built from the repository |
//! | Serverless | `serverless.yml` | the app as an AWS Lambda function behind an HTTP API |
//!
//! Every file is built from typed structs (TOML with `toml`, YAML with [`super::yaml`],
//! JSON with `serde_json`) and carries the marker comment where the format has comments
//! (not JSON: `vercel.json` is recognised by the manifest's content hash alone).
//!
//! Environment values travel as far as each platform allows, and never as a secret value:
//! literals inline; secrets by reference (`fly secrets set`, Render's `sync: false` prompt,
//! `${ssm:…}` parameters, or the platform's variables listed in the README); URLs to
//! services the platform runs as Render `fromDatabase`/`fromService` references; anything
//! else only when the stack declares it with
//! [`PaasOptions::set_in_platform`](crate::model::PaasOptions::set_in_platform). What a
//! platform cannot do is a validation error (each platform's `check`), never a silent omission.
//!
//! Not expressible on any PaaS and listed in each README instead: the container hardening
//! (the platforms isolate workloads themselves), and per platform what the README's "Not
//! carried over" section says.

pub mod fly;
pub mod railway;
pub mod render;
mod rules;
pub mod serverless;
pub mod vercel;

pub(crate) use rules::stack_rules;

use crate::diagnostics::Errors;
use crate::model::{
    AppProtocol, BackingKind, EnvValue, EnvVar, Part, Platform, PlatformVar, Port, Probe,
    ProbeAction, SecretRef, Service, Target, Template,
};
use crate::plan::Plan;
use crate::render::{Backend, Document, Environments};

/// The backend of one platform.
#[derive(Clone, Copy, Debug)]
pub struct Paas(pub Platform);

impl Backend for Paas {
    fn target(&self) -> Target {
        Target::Paas(self.0)
    }

    fn check(&self, plan: &Plan<'_>) -> Errors {
        rules::problems(plan, self.0)
    }

    fn render(&self, plan: &Plan<'_>, _: &Environments<'_, '_>) -> Result<Vec<Document>, Errors> {
        Ok(render(plan, self.0))
    }
}

/// How one environment variable of a service reaches a platform.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Value<'a> {
    /// A literal, written into the file.
    Literal(String),
    /// A secret: its value is set in the platform, by reference.
    Secret(&'a SecretRef),
    /// Set by the operator in the platform ([`PlatformVar`]).
    InPlatform(&'a PlatformVar),
    /// Render: a property of a Render Postgres database (`fromDatabase`).
    Database {
        /// The database (the catalog service's name).
        name: &'a str,
        /// `connectionString`, `host` or `port`.
        property: &'static str,
    },
    /// Render: a property of another Render service (`fromService`).
    FromService {
        /// The service.
        name: &'a str,
        /// Its Render type (`pserv`, `web`, `keyvalue`, …).
        kind: &'static str,
        /// `host`, `port`, `hostport` or (Key Value) `connectionString`.
        property: &'static str,
    },
}

/// Something the stack needs that a platform cannot do: a message and a hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// What is unsupported.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

fn problem(message: impl Into<String>, hint: impl Into<String>) -> Problem {
    Problem {
        message: message.into(),
        hint: hint.into(),
    }
}

/// The Render service type of a service: `web` when it is exposed publicly, `pserv`
/// (private service) when it listens on ports, `worker` otherwise; `keyvalue` for a catalog
/// Redis.
pub fn render_type(svc: &Service) -> &'static str {
    match &svc.backing {
        Some(b) if matches!(b.kind, BackingKind::Redis { .. }) => "keyvalue",
        _ if !svc.routes.is_empty() => "web",
        _ if !svc.ports.is_empty() => "pserv",
        _ => "worker",
    }
}

/// The port the platform routes HTTP to: the first exposed port, else the first HTTP port.
pub fn http_port(svc: &Service) -> Option<Port> {
    svc.routes.first().map(|i| i.port).or_else(|| {
        svc.ports
            .iter()
            .copied()
            .find(|p| p.app == AppProtocol::Http)
    })
}

/// The path of the readiness probe, when it is an HTTP GET.
pub fn health_path(svc: &Service) -> Option<&str> {
    match &svc.probes.readiness.as_ref()?.action {
        ProbeAction::HttpGet { path, .. } => Some(path),
        _ => None,
    }
}

/// Seconds a new instance may take to become healthy: the startup probe's budget, else
/// the readiness probe's initial delay plus its failure budget.
pub fn start_budget(svc: &Service) -> u32 {
    let budget = |p: &Probe| {
        p.initial_delay.unwrap_or(0) + p.effective_period() * p.effective_failure_threshold()
    };
    match (&svc.probes.startup, &svc.probes.readiness) {
        (Some(s), _) => budget(s),
        (None, Some(r)) => budget(r),
        (None, None) => 0,
    }
}

/// Memory limit (else request) in MiB, rounded up.
pub fn memory_mib(svc: &Service) -> Option<u64> {
    let r = svc.resources?;
    let m = r.limits.memory.or(r.requests.memory)?;
    Some(m.bytes().div_ceil(1 << 20))
}

/// The service's command and arguments as one shell command line (single-quoted where
/// needed), for platforms that take a start command as a string.
pub fn command_line(svc: &Service) -> Option<String> {
    let argv: Vec<&String> = svc
        .command
        .iter()
        .flatten()
        .chain(svc.args.iter().flatten())
        .collect();
    if argv.is_empty() {
        return None;
    }
    Some(
        argv.iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// How `var` of `svc` reaches `platform`, or why it cannot. `deployed` are the services the
/// platform runs ([`Plan::paas_services`](crate::plan::Plan::paas_services)).
pub fn env_value<'a>(
    plan: &'a Plan<'_>,
    platform: Platform,
    deployed: &[&'a Service],
    var: &'a EnvVar,
) -> Result<Value<'a>, Problem> {
    let stack = plan.stack();
    if let Some(pv) = stack.paas.platform_var(&var.name) {
        return Ok(Value::InPlatform(pv));
    }
    let t = match &var.value {
        EnvValue::Plain(s) | EnvValue::Config(s) => return Ok(Value::Literal(s.clone())),
        EnvValue::Secret(s) => return Ok(Value::Secret(s)),
        EnvValue::Template(t) => t,
    };
    let services = t.services();
    let secrets = t.secrets();
    if services.is_empty() && secrets.is_empty() {
        return Ok(Value::Literal(t.preview()));
    }
    let hint = format!(
        "declare it with `s.paas(|p| p.set_in_platform(\"{}\", \"…what to set\"))` and set it in {}",
        var.name,
        platform.name()
    );
    if let Some(missing) = services
        .iter()
        .find(|r| !deployed.iter().any(|d| d.name == r.name()))
    {
        let runs = if platform.multi_service() {
            "does not run it (the service does not render there)".to_owned()
        } else {
            let names: Vec<&str> = deployed.iter().map(|d| d.name.as_str()).collect();
            format!("deploys `{}` only", names.join("`, `"))
        };
        return Err(problem(
            format!(
                "`{}` points at service `{}` (`{}`), but {} {runs}",
                var.name,
                missing.name(),
                t.preview(),
                platform.name()
            ),
            format!(
                "{hint}, or deploy `{}` on a platform that runs both",
                missing.name()
            ),
        ));
    }
    if platform == Platform::Render
        && let Some(v) = render_reference(plan, t)
    {
        return Ok(v);
    }
    if services.is_empty() {
        let names: Vec<String> = secrets.iter().map(|s| format!("`{}`", s.var())).collect();
        let why = match platform {
            Platform::Fly => {
                "Fly.io's `[env]` holds plain values only and `fly secrets set` takes whole values"
                    .to_owned()
            }
            p => format!(
                "{} takes a secret as a whole variable, not spliced into text",
                p.name()
            ),
        };
        return Err(problem(
            format!(
                "`{}` embeds secret {} in a composed value (`{}`); {why}",
                var.name,
                names.join(", "),
                t.preview()
            ),
            format!("{hint} (the whole value, as a secret)"),
        ));
    }
    Err(problem(
        format!(
            "`{}` is composed from another service's address (`{}`); {} passes a service's host, port or host:port, or a catalog database's connection string, but cannot build other text around them",
            var.name,
            t.preview(),
            platform.name()
        ),
        format!("{hint}, or pass `Template::host_port(&endpoint)` and build the URL in the app"),
    ))
}

/// A Render reference for a template that is exactly a host, port or host:port of another
/// Render service, or a catalog database's URL.
fn render_reference<'a>(plan: &'a Plan<'_>, t: &Template) -> Option<Value<'a>> {
    let stack = plan.stack();
    let service = |name: &str| stack.services.iter().find(|s| s.name == name);
    let (name, property) = match t.parts() {
        [Part::Host(s)] => (s.name(), "host"),
        [Part::Port(e)] => (e.service().name(), "port"),
        [Part::Host(s), Part::Text(colon), Part::Port(e)]
            if colon == ":" && s.name() == e.service().name() =>
        {
            (s.name(), "hostport")
        }
        _ => {
            // A catalog URL: the one service it names is a Postgres or Redis whose canonical
            // URL this is.
            let refs = t.services();
            let svc = service(refs.first()?.name())?;
            let port = svc.ports.first()?.number;
            let url = match &svc.backing.as_ref()?.kind {
                BackingKind::Postgres {
                    database,
                    user,
                    password,
                    ..
                } => format!(
                    "postgresql://{user}:${{{}}}@{}:{port}/{database}",
                    password.var(),
                    svc.name
                ),
                BackingKind::Redis { auth } => match auth.password() {
                    Some(p) => format!("redis://:${{{}}}@{}:{port}/0", p.var(), svc.name),
                    None => format!("redis://{}:{port}/0", svc.name),
                },
                _ => return None,
            };
            if t.preview() != url {
                return None;
            }
            (svc.name.as_str(), "connectionString")
        }
    };
    let svc = service(name)?;
    match svc.backing.as_ref().map(|b| &b.kind) {
        Some(BackingKind::Postgres { .. }) => (property != "hostport").then_some(Value::Database {
            name: &svc.name,
            property,
        }),
        Some(BackingKind::Redis { .. }) | None => Some(Value::FromService {
            name: &svc.name,
            kind: render_type(svc),
            property,
        }),
        Some(_) => None,
    }
}

/// One variable the operator sets in the platform, for a README.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToSet {
    /// Services that read it.
    pub services: Vec<String>,
    /// Variable name.
    pub name: String,
    /// What to set it to.
    pub what: String,
    /// Is it a secret?
    pub secret: bool,
    /// The secret it is, when its value is exactly one.
    pub reference: Option<SecretRef>,
}

/// Every variable of `deployed` whose value is set in the platform (secrets and
/// [`PlatformVar`]s), deduplicated by name, in first-use order.
pub fn to_set(plan: &Plan<'_>, platform: Platform, deployed: &[&Service]) -> Vec<ToSet> {
    let mut out: Vec<ToSet> = Vec::new();
    for svc in deployed.iter().filter(|s| s.backing.is_none()) {
        for var in &svc.env {
            let (what, secret, reference) = match env_value(plan, platform, deployed, var) {
                Ok(Value::Secret(s)) => (
                    format!(
                        "{}key `{}` of secret `{}`",
                        s.description()
                            .map(|d| format!("{d}: "))
                            .unwrap_or_default(),
                        s.key(),
                        s.name()
                    ),
                    true,
                    Some(s.clone()),
                ),
                Ok(Value::InPlatform(pv)) => (
                    pv.description.clone(),
                    !var.value.secrets().is_empty(),
                    None,
                ),
                _ => continue,
            };
            match out.iter_mut().find(|o| o.name == var.name) {
                Some(o) => o.services.push(svc.name.clone()),
                None => out.push(ToSet {
                    services: vec![svc.name.clone()],
                    name: var.name.clone(),
                    what,
                    secret,
                    reference,
                }),
            }
        }
    }
    out
}

/// Renders `platform`'s files for a stack that passed validation.
pub fn render(plan: &Plan<'_>, platform: Platform) -> Vec<Document> {
    match platform {
        Platform::Fly => fly::render(plan),
        Platform::Render => render::render(plan),
        Platform::Railway => railway::render(plan),
        Platform::Vercel => vercel::render(plan),
        Platform::Serverless => serverless::render(plan),
    }
}

/// What a platform README says beyond the variables.
pub(crate) struct Readme<'a> {
    pub platform: Platform,
    pub deployed: Vec<&'a Service>,
    /// Commands that deploy the file, in order (after the variables are set).
    pub deploy: Vec<String>,
    /// How a variable is set: `name` → command line (`None`: set it in the dashboard).
    pub set_command: Option<fn(&ToSet) -> String>,
    /// What the model declares that this platform does not do, and what happens instead.
    pub not_carried: Vec<String>,
}

pub(crate) fn readme(plan: &Plan<'_>, r: Readme<'_>) -> Document {
    let stack = plan.stack();
    let mut t = crate::render::html_header(stack);
    let p = r.platform;
    let apps: Vec<String> = r.deployed.iter().map(|s| format!("`{}`", s.name)).collect();
    t.push_str(&format!(
        "\n# `{}` on {}\n\n`{}` deploys {} from the prod model.\n",
        stack.name,
        p.name(),
        p.file(),
        apps.join(", ")
    ));
    let vars = to_set(plan, p, &r.deployed);
    if !vars.is_empty() {
        t.push_str(
            "\n## Set in the platform first\n\nNever committed; the file references them by name.\n\n| variable | used by | value |\n|---|---|---|\n",
        );
        for v in &vars {
            t.push_str(&format!(
                "| `{}`{} | {} | {} |\n",
                v.name,
                if v.secret { " (secret)" } else { "" },
                v.services.join(", "),
                v.what
            ));
        }
        if let Some(cmd) = r.set_command {
            t.push_str("\n```sh\n");
            for v in &vars {
                t.push_str(&cmd(v));
                t.push('\n');
            }
            t.push_str("```\n");
        }
    }
    if !r.deploy.is_empty() {
        t.push_str("\n## Deploy\n\n```sh\n");
        for c in &r.deploy {
            t.push_str(c);
            t.push('\n');
        }
        t.push_str("```\n");
    }
    let mut notes = r.not_carried;
    notes.push("Container hardening (read-only root filesystem, dropped capabilities, fixed user): the platform isolates workloads itself and has no such settings.".into());
    t.push_str("\n## Not carried over\n\n");
    for n in notes {
        t.push_str(&format!("- {n}\n"));
    }
    Document::new(format!("{}/README.md", stack.paas_dir(p)), t)
}

/// The services of `stack` on `platform` that are apps (not catalog databases).
pub(crate) fn apps<'s>(plan: &Plan<'s>, platform: Platform) -> Vec<&'s Service> {
    plan.paas_services(platform)
        .into_iter()
        .filter(|s| s.backing.is_none())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("node"), "node");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
