//! The keys a real compose file uses beyond stackdsl's core, from typed settings: shared
//! memory, ulimits, devices, env files, variables passed through from `.env`, a fixed
//! container name, profiles, host folders given as parameters and explicit `depends_on`
//! conditions; and the rules that keep each of them something Compose runs.

use indexmap::IndexMap;
use serde::Serialize;

use super::{ComposeService, compose_service};
use crate::diagnostics::ErrorKind;
use crate::model::{Condition, Dependency, Param, Restart, Service, Target};
use crate::plan::Plan;
use crate::validate::{Validator, names};

/// A service's `environment`: values, and `null` for a variable passed through from
/// `.env` or the shell (set there, or left unset in the container).
#[derive(Serialize, Default)]
#[serde(transparent)]
pub(super) struct Environment(IndexMap<String, Option<String>>);

impl Environment {
    pub(super) fn insert(&mut self, name: String, value: String) {
        self.0.insert(name, Some(value));
    }

    fn pass(&mut self, name: String) {
        self.0.insert(name, None);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn clear(&mut self) {
        self.0.clear();
    }
}

/// One `env_file` entry: a path, or `{path, required: false}`.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum EnvFileDef {
    Required(String),
    Optional { path: String, required: bool },
}

/// One `ulimits` entry.
#[derive(Serialize)]
pub(super) struct UlimitDef {
    pub(super) soft: i64,
    pub(super) hard: i64,
}

/// `${NAME:?…}`: a value Compose requires from `.env` (a secret's variable or a
/// parameter), with the message Compose prints when it is unset.
pub(super) fn required_var(name: &str) -> String {
    format!("${{{name}:?set it in .env (see .env.example)}}")
}

/// A parameter's required interpolation.
pub(super) fn param_var(p: &Param) -> String {
    required_var(p.name())
}

/// The settings of `svc` that its Compose service and its migration one-shot share: env
/// files, passed-through variables, shared memory, devices and ulimits.
pub(super) fn apply(svc: &Service, out: &mut ComposeService) {
    out.env_file = svc
        .compose
        .env_files
        .iter()
        .map(|f| match f.required {
            true => EnvFileDef::Required(f.path.clone()),
            false => EnvFileDef::Optional {
                path: f.path.clone(),
                required: false,
            },
        })
        .collect();
    for name in &svc.compose.pass_env {
        out.environment.pass(name.clone());
    }
    out.shm_size = svc.shm_size.map(|m| m.compose());
    out.devices = svc.devices.iter().map(|d| d.compose()).collect();
    out.ulimits = svc
        .ulimits
        .iter()
        .map(|u| {
            let limit = UlimitDef {
                soft: u.soft,
                hard: u.hard,
            };
            (u.name.clone(), limit)
        })
        .collect();
}

/// The settings that belong to `svc`'s Compose services as a group (`services`: every
/// service Compose runs for it, in file order): the fixed container name on the service
/// itself, the profiles on all of them (a one-shot or sidecar of an optional service is
/// optional too).
pub(super) fn finish<'a>(
    svc: &Service,
    services: impl Iterator<Item = (&'a String, &'a mut ComposeService)>,
) {
    for (name, s) in services {
        if *name == svc.name {
            s.container_name.clone_from(&svc.compose.container_name);
        }
        s.profiles.clone_from(&svc.compose.profiles);
    }
}

/// The `depends_on` condition of `dep`: as stated, else healthy where Compose knows when
/// the dependency is healthy, started otherwise.
pub(super) fn condition(plan: &Plan<'_>, dep: &Dependency) -> &'static str {
    match dep.condition {
        Some(c) => c.compose(),
        None => derived(plan, dep.name()),
    }
}

/// The derived condition of a dependency on the Compose service `name`.
pub(super) fn derived(plan: &Plan<'_>, name: &str) -> &'static str {
    let healthy = compose_service(plan, name).is_some_and(|d| plan.compose_healthy(d));
    if healthy {
        Condition::Healthy.compose()
    } else {
        Condition::Started.compose()
    }
}

/// What Compose cannot run of the settings above.
pub(super) fn rules(v: &mut Validator<'_>) {
    let plan = v.plan;
    let stack = plan.stack();
    if let Some(name) = &stack.compose.project_name
        && let Some(problem) = project_name_problem(name)
    {
        v.err(
            ErrorKind::InvalidName,
            format!("{}.compose.project_name", stack.name),
            format!("Compose project name `{name}` {problem}"),
            "use lowercase letters, digits, `-` and `_`, starting with a letter or digit, e.g. `shop-dev`",
        );
    }
    let mut containers: IndexMap<&str, &Service> = IndexMap::new();
    for svc in plan.services(Target::Compose) {
        let path = v.svc_path(svc);
        if let Some(name) = &svc.compose.container_name {
            container_name_rules(v, svc, &path, name);
            if let Some(other) = containers.insert(name, svc) {
                v.err(
                    ErrorKind::DuplicateName,
                    format!("{path}.compose.container_name"),
                    format!(
                        "container name `{name}` is also the container name of service `{}`",
                        other.name
                    ),
                    "give each service its own container name",
                );
            }
        }
        for p in &svc.compose.profiles {
            if let Some(problem) = profile_problem(p) {
                v.err(
                    ErrorKind::InvalidName,
                    format!("{path}.compose.profiles[{p}]"),
                    format!("profile `{p}` {problem}"),
                    "use letters, digits, `_`, `.` and `-`, starting with a letter or digit",
                );
            }
        }
        env_rules(v, svc, &path);
        dependency_rules(v, svc, &path);
    }
    if let Some(edge) = plan.edge() {
        for dep in &edge.depends_on {
            if let Some(target) = compose_service(plan, dep.name()) {
                let path = format!("{}.edge.depends_on[{}]", stack.name, dep.name());
                profile_rule(v, edge, &path, target);
            }
        }
    }
    // A parameter and a secret may not share a variable: `.env` gives each one value.
    let secrets = plan.secrets(Target::Compose);
    for u in plan.params(Target::Compose) {
        if let Some(s) = secrets.iter().find(|s| s.secret.var() == u.param.name()) {
            v.err(
                ErrorKind::DuplicateName,
                format!(
                    "{}.mounts[${}]",
                    v.svc_path(u.users[0]),
                    u.param.name()
                ),
                format!(
                    "parameter `{}` has the name of the variable that carries secret `{}` key `{}` in `.env`",
                    u.param.name(),
                    s.secret.name(),
                    s.secret.key()
                ),
                "rename the parameter, or the secret's variable with `SecretRef::var_name`",
            );
        }
    }
}

fn container_name_rules(v: &mut Validator<'_>, svc: &Service, path: &str, name: &str) {
    if let Some(problem) = container_name_problem(name) {
        v.err(
            ErrorKind::InvalidName,
            format!("{path}.compose.container_name"),
            format!("container name `{name}` {problem}"),
            "use letters, digits, `_`, `.` and `-`, starting with a letter or digit",
        );
    }
    if svc.replicas > 1 || svc.cluster.is_some() {
        v.err(
            ErrorKind::Unsupported,
            format!("{path}.compose.container_name"),
            format!(
                "Compose cannot run {} containers of `{}` under one fixed name `{name}`",
                svc.replicas, svc.name
            ),
            "drop the container name, or run one replica in Compose",
        );
    }
}

/// Env files stay beside the compose file; passed-through names are variables, set once.
fn env_rules(v: &mut Validator<'_>, svc: &Service, path: &str) {
    let mut files: Vec<&str> = Vec::new();
    for f in &svc.compose.env_files {
        let fpath = format!("{path}.compose.env_file[{}]", f.path);
        if f.path.is_empty() || f.path.starts_with('/') || f.path.split('/').any(|c| c == "..") {
            v.err(
                ErrorKind::InvalidValue,
                fpath.clone(),
                format!(
                    "env file `{}` is not a path inside the compose file's folder",
                    f.path
                ),
                "give a relative path without `..`, e.g. `app.env` beside `compose.yaml`",
            );
        }
        if files.contains(&f.path.as_str()) {
            v.err(
                ErrorKind::DuplicateName,
                fpath,
                format!("env file `{}` is read twice", f.path),
                "read each file once",
            );
        }
        files.push(&f.path);
    }
    let mut seen: Vec<&str> = Vec::new();
    for name in &svc.compose.pass_env {
        let epath = format!("{path}.compose.pass_env[{name}]");
        if let Some(problem) = names::env_name_problem(name) {
            v.err(
                ErrorKind::InvalidName,
                epath.clone(),
                format!("variable `{name}` {problem}"),
                "use the name of an environment variable the app reads",
            );
        }
        if seen.contains(&name.as_str()) || svc.env.iter().any(|e| &e.name == name) {
            v.err(
                ErrorKind::DuplicateName,
                epath,
                format!(
                    "variable `{name}` is passed through from `.env` and also set by the service"
                ),
                "either set it (`.env(…)`) or pass it through, once",
            );
        }
        seen.push(name);
    }
}

/// Explicit conditions Compose can wait for, and dependencies that start whenever the
/// dependant does.
fn dependency_rules(v: &mut Validator<'_>, svc: &Service, path: &str) {
    let plan = v.plan;
    for dep in &svc.depends_on {
        let Some(target) = compose_service(plan, dep.name()) else {
            continue;
        };
        let dpath = format!("{path}.depends_on[{}]", dep.name());
        match dep.condition {
            Some(Condition::Healthy) if !plan.compose_healthy(target) => v.err(
                ErrorKind::Unsupported,
                dpath.clone(),
                format!(
                    "`{}` waits for `{}` to be healthy, but Compose gives `{}` no healthcheck",
                    svc.name, target.name, target.name
                ),
                format!(
                    "give `{}` a probe with a `.health_tool(…)` that runs it (or `HealthTool::ImageHealthcheck`), or wait for `Condition::Started`",
                    target.name
                ),
            ),
            Some(Condition::CompletedSuccessfully)
                if target.cluster.is_some()
                    || !matches!(target.restart, Restart::Never | Restart::OnFailure) =>
            {
                v.err(
                    ErrorKind::Unsupported,
                    dpath.clone(),
                    format!(
                        "`{}` waits for `{}` to complete, but `{}` is restarted whenever it exits (restart `{}`), so it never completes",
                        svc.name,
                        target.name,
                        target.name,
                        target.restart.compose()
                    ),
                    "make the dependency a one-shot with `.restart(Restart::Never)`, or wait for `Condition::Started`",
                )
            }
            _ => {}
        }
    }
    for dep in svc.dependencies() {
        if let Some(target) = compose_service(plan, dep.name()) {
            profile_rule(
                v,
                svc,
                &format!("{path}.depends_on[{}]", dep.name()),
                target,
            );
        }
    }
}

/// Compose refuses a file where a service it starts depends on one it does not start: a
/// dependant starts only with profiles that start its dependency too.
pub(super) fn profile_rule(v: &mut Validator<'_>, svc: &Service, path: &str, target: &Service) {
    let needed = &target.compose.profiles;
    if needed.is_empty() {
        return;
    }
    let when = if svc.compose.profiles.is_empty() {
        Some("always starts".to_owned())
    } else {
        svc.compose
            .profiles
            .iter()
            .find(|p| !needed.contains(p))
            .map(|p| format!("starts with profile `{p}`"))
    };
    let Some(when) = when else {
        return;
    };
    let edge = v.plan.edge().is_some_and(|e| std::ptr::eq(e, svc));
    let hint = if edge {
        format!(
            "Compose's edge always runs: keep the routes of `{}` off Compose, or give it no profile",
            target.name
        )
    } else {
        format!(
            "start `{}` only with profiles that start `{}` too, or drop the dependency",
            svc.name, target.name
        )
    };
    let profiles: Vec<String> = needed.iter().map(|p| format!("`{p}`")).collect();
    v.err(
        ErrorKind::Unsupported,
        path.to_owned(),
        format!(
            "`{}` {when}, but depends on `{}`, which starts only with profile {}",
            svc.name,
            target.name,
            profiles.join(" or ")
        ),
        hint,
    );
}

/// Why `name` is not a Compose project name: `^[a-z0-9][a-z0-9_-]*$`.
fn project_name_problem(name: &str) -> Option<&'static str> {
    let mut bytes = name.bytes();
    match bytes.next() {
        None => Some("is empty"),
        Some(b) if !(b.is_ascii_lowercase() || b.is_ascii_digit()) => {
            Some("must start with a lowercase letter or a digit")
        }
        _ if !bytes
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_') =>
        {
            Some("contains characters other than a-z, 0-9, '-' and '_'")
        }
        _ => None,
    }
}

/// Why `name` is not a Docker container name: `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`.
fn container_name_problem(name: &str) -> Option<&'static str> {
    let mut bytes = name.bytes();
    match bytes.next() {
        None => Some("is empty"),
        Some(b) if !b.is_ascii_alphanumeric() => Some("must start with a letter or a digit"),
        _ if name.len() < 2 => Some("needs at least two characters"),
        _ if !bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) => {
            Some("contains characters other than letters, digits, '_', '.' and '-'")
        }
        _ => None,
    }
}

/// Why `name` is not a Compose profile name: `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`.
fn profile_problem(name: &str) -> Option<&'static str> {
    match container_name_problem(name) {
        Some("needs at least two characters") => None,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each refusal names its own reason: the reason is what the user reads.
    #[test]
    fn names_follow_compose_and_docker() {
        assert_eq!(project_name_problem("plausible-ce_1"), None);
        assert_eq!(
            project_name_problem("Plausible"),
            Some("must start with a lowercase letter or a digit")
        );
        assert_eq!(
            project_name_problem("-x"),
            Some("must start with a lowercase letter or a digit")
        );
        assert_eq!(
            project_name_problem("ab.c"),
            Some("contains characters other than a-z, 0-9, '-' and '_'")
        );
        assert_eq!(project_name_problem(""), Some("is empty"));
        assert_eq!(container_name_problem("app_server.1"), None);
        assert_eq!(container_name_problem(""), Some("is empty"));
        assert_eq!(
            container_name_problem("a"),
            Some("needs at least two characters")
        );
        assert_eq!(
            container_name_problem("_a"),
            Some("must start with a letter or a digit")
        );
        assert_eq!(
            container_name_problem("a b"),
            Some("contains characters other than letters, digits, '_', '.' and '-'")
        );
        assert_eq!(profile_problem("x"), None);
        assert!(profile_problem(".x").is_some());
    }
}
