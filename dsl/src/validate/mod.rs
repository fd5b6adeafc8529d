//! Validation: every rule a stack must satisfy before anything is written.
//!
//! [`validate`] collects *all* problems, each with a path into the stack
//! (`tsdev-monolith.services[api].ports[http]`), a message saying what is wrong and a hint
//! saying how to fix it. Nothing is rendered from a stack that has errors.
//!
//! ```
//! use stackdsl::prelude::*;
//! use stackdsl::validate::{validate, ErrorKind};
//!
//! let mut s = Stack::new("shop", Env::Dev);
//! s.add(Service::new("api").image(Image::new("acme/api").tag("1")));
//! s.add(Service::new("api").image(Image::new("acme/api").tag("1")));
//! s.add(Service::new("Web_1").image(Image::new("acme/web").tag("1")));
//! let errors = validate(&s).unwrap_err();
//! let kinds: Vec<_> = errors.iter().map(|e| e.kind).collect();
//! // Per-service rules first, in declaration order; then rules across services.
//! assert_eq!(kinds, [ErrorKind::InvalidName, ErrorKind::DuplicateName]);
//! assert_eq!(errors.iter().next().unwrap().path, "shop.services[Web_1]");
//! ```

pub mod leaks;
mod monitoring;
pub mod names;
mod ops;
mod reference;

use std::collections::BTreeMap;
use std::fmt;

use crate::model::{
    Cluster, Disruption, Env, EnvValue, Ingress, Port, Protocol, Service, ServiceRef, Stack,
    Target, VolumeSource,
};

/// What kind of rule an [`Error`] breaks; stable for tests and tooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Two things share a name that must be unique.
    DuplicateName,
    /// A name breaks DNS-1123/DNS-1035/IANA/identifier rules.
    InvalidName,
    /// Two services publish the same host port.
    HostPortClash,
    /// Two ports of one service share a name or number.
    PortClash,
    /// Services depend on each other in a cycle.
    DependencyCycle,
    /// Traffic is routed to a service with no replicas.
    NoReplicas,
    /// A literal secret where only a reference may go.
    SecretLiteral,
    /// A handle points at a service that is not in this stack.
    UnknownService,
    /// A probe, URL, publish or ingress names a port the service does not declare.
    UnknownPort,
    /// A setting is out of range or inconsistent.
    InvalidValue,
    /// An image has no pinned tag where one is required.
    UnpinnedImage,
    /// Requests/limits missing where required.
    MissingResources,
    /// A setting a target cannot express.
    Unsupported,
    /// A rendered object names another that does not exist (or does not match).
    BrokenReference,
}

impl ErrorKind {
    /// Short kebab-case code shown in messages, e.g. `duplicate-name`.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::DuplicateName => "duplicate-name",
            ErrorKind::InvalidName => "invalid-name",
            ErrorKind::HostPortClash => "host-port-clash",
            ErrorKind::PortClash => "port-clash",
            ErrorKind::DependencyCycle => "dependency-cycle",
            ErrorKind::NoReplicas => "no-replicas",
            ErrorKind::SecretLiteral => "secret-literal",
            ErrorKind::UnknownService => "unknown-service",
            ErrorKind::UnknownPort => "unknown-port",
            ErrorKind::InvalidValue => "invalid-value",
            ErrorKind::UnpinnedImage => "unpinned-image",
            ErrorKind::MissingResources => "missing-resources",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::BrokenReference => "broken-reference",
        }
    }
}

/// One broken rule: where, what, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Error {
    /// Which rule.
    pub kind: ErrorKind,
    /// Path into the stack, e.g. `shop.services[api].probes.readiness`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl Error {
    /// A new error.
    pub fn new(
        kind: ErrorKind,
        path: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error {
            kind,
            path: path.into(),
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error[{}]: {}: {}\n  hint: {}",
            self.kind.code(),
            self.path,
            self.message,
            self.hint
        )
    }
}

/// Every error found, in stack order. Never empty when returned as `Err`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Errors(Vec<Error>);

impl Errors {
    /// Iterates over the errors.
    pub fn iter(&self) -> std::slice::Iter<'_, Error> {
        self.0.iter()
    }

    /// Number of errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `true` when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds an error.
    pub fn push(&mut self, e: Error) {
        self.0.push(e);
    }

    /// Moves all errors of `other` into `self`.
    pub fn extend(&mut self, other: Errors) {
        self.0.extend(other.0);
    }

    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), Errors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl IntoIterator for Errors {
    type Item = Error;
    type IntoIter = std::vec::IntoIter<Error>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Errors {
    type Item = &'a Error;
    type IntoIter = std::slice::Iter<'a, Error>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}

/// Validates several stacks that are synthesized together: each one, plus rules across them
/// (two stacks may not write the same output folder).
pub fn validate_all<'a>(stacks: impl IntoIterator<Item = &'a Stack>) -> Result<(), Errors> {
    let mut errors = Errors::default();
    let mut seen: BTreeMap<String, &Stack> = BTreeMap::new();
    for stack in stacks {
        if let Err(e) = validate(stack) {
            errors.extend(e);
        }
        if let Some(first) = seen.insert(stack.out_dir(), stack) {
            errors.push(Error::new(
                ErrorKind::DuplicateName,
                &stack.name,
                format!(
                    "two stacks write `out/{}/`: one declared at {}, another at {}",
                    stack.out_dir(),
                    first.origin,
                    stack.origin
                ),
                "give each stack a unique name, or register the stack function only once",
            ));
        }
    }
    errors.into_result()
}

/// Validates one stack; returns every problem found.
pub fn validate(stack: &Stack) -> Result<(), Errors> {
    let by_name = stack
        .services
        .iter()
        .rev()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let mut v = Validator {
        stack,
        by_name,
        errors: Errors::default(),
    };
    v.stack_rules();
    for svc in &stack.services {
        v.service_rules(svc);
    }
    v.cross_service_rules();
    v.edge_rules();
    v.monitoring_rules();
    v.paas_rules();
    v.errors.into_result()
}

struct Validator<'a> {
    stack: &'a Stack,
    /// Services by name (the first of duplicates wins; duplicates are reported separately).
    by_name: BTreeMap<&'a str, &'a Service>,
    errors: Errors,
}

const SECRET_MARK: char = '\u{0}';

/// Longest name of a clustered service: Kubernetes labels each StatefulSet pod with
/// `controller-revision-hash: <name>-<10 characters>`, a label value of at most 63.
pub const MAX_CLUSTER_NAME: usize = 52;

impl<'a> Validator<'a> {
    fn err(
        &mut self,
        kind: ErrorKind,
        path: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.errors.push(Error::new(kind, path, message, hint));
    }

    fn svc_path(&self, svc: &Service) -> String {
        format!("{}.services[{}]", self.stack.name, svc.name)
    }

    fn stack_rules(&mut self) {
        let name = &self.stack.name;
        if let Some(problem) = names::dns1123_problem(name) {
            self.err(
                ErrorKind::InvalidName,
                name.clone(),
                format!(
                    "stack name `{name}` {problem}; it names folders and Kubernetes namespaces"
                ),
                format!(
                    "use a DNS-1123 label such as `{}`",
                    names::suggest_label(name)
                ),
            );
        } else if name.len() + 1 + self.stack.env.as_str().len() > 63 {
            self.err(
                ErrorKind::InvalidName,
                name.clone(),
                format!(
                    "stack name `{name}` is too long to form the namespace `{name}-{}`",
                    self.stack.env
                ),
                "shorten the stack name to at most 55 characters",
            );
        }
        if self.stack.targets.contains(&Target::Kubernetes)
            && let Some(problem) = names::dns1123_problem(&self.stack.namespace())
        {
            self.err(
                ErrorKind::InvalidName,
                format!("{name}.namespace"),
                format!("namespace `{}` {problem}", self.stack.namespace()),
                "use a DNS-1123 label such as `shop-prod`",
            );
        }
        if self.stack.targets.contains(&Target::GitHubActions) {
            if self.stack.env != Env::Prod {
                self.err(
                    ErrorKind::Unsupported,
                    format!("{name}.targets"),
                    format!("the GitHub Actions pipeline is declared on the {} stack; it deploys every environment", self.stack.env),
                    "declare `Target::GitHubActions` on the prod stack only",
                );
            }
            if self.stack.ci.is_none() {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{name}.ci"),
                    "the GitHub Actions pipeline needs to know how to test the code",
                    "set `.ci(Ci::node(\"20\", PackageManager::Pnpm))` (or `Ci::python`, `Ci::go`)",
                );
            }
        }
        if self.stack.services.is_empty() {
            self.err(
                ErrorKind::InvalidValue,
                name.clone(),
                "the stack has no services",
                "add at least one with `Stack::add(Service::new(…).image(…))`",
            );
        }
        if self.stack.targets.is_empty() {
            self.err(
                ErrorKind::InvalidValue,
                format!("{name}.targets"),
                "the stack renders no targets",
                "pass at least one target to `Stack::targets`, e.g. `[Target::Compose]`",
            );
        }
    }

    fn service_rules(&mut self, svc: &'a Service) {
        let path = self.svc_path(svc);
        if let Some(problem) = names::dns1035_problem(&svc.name) {
            self.err(
                ErrorKind::InvalidName,
                path.clone(),
                format!("service name `{}` {problem}; service names become host names and Kubernetes Service names (DNS-1035 labels)", svc.name),
                format!("rename it, e.g. `{}` (declared at {})", names::suggest_label(&svc.name), svc.origin),
            );
        }
        self.image_rules(svc, &path);
        self.port_rules(svc, &path);
        self.env_rules(svc, &path);
        self.probe_rules(svc, &path);
        self.mount_rules(svc, &path);
        self.scaling_rules(svc, &path);
        self.migration_rules(svc, &path);
        if self.stack.targets.contains(&Target::Kubernetes) && svc.renders_on(Target::Kubernetes) {
            self.kubernetes_rules(svc, &path);
        }
        for (what, reason) in &svc.security.relaxations {
            if reason.trim().is_empty() {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{path}.security"),
                    format!("security relaxation ({what}) has no reason"),
                    "say why the container needs it, e.g. `.writable_root_fs(\"nginx writes its pid file to /var/run\")`",
                );
            }
        }
        for ingress in &svc.ingress {
            self.ingress_rules(svc, ingress, &path);
        }
        self.backup_rules(svc, &path);
        if let Some(m) = &svc.metrics {
            self.metrics_rules(svc, m, &path);
            self.check_own_port(svc, m.port, &format!("{path}.metrics"), "serves metrics on");
            if !m.path.starts_with('/') {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{path}.metrics"),
                    format!("metrics path `{}` does not start with '/'", m.path),
                    "use a path such as `/metrics`",
                );
            }
        }
        if let Some(c) = &svc.cluster {
            self.cluster_rules(svc, c, &format!("{path}.cluster"));
        }
    }

    /// Quorum and discovery rules of a clustered service.
    fn cluster_rules(&mut self, svc: &Service, c: &Cluster, path: &str) {
        let n = svc.replicas;
        let quorum = c.quorum(n);
        self.check_own_port(svc, c.port, path, "gossips on");
        // The variables the cluster sets on every member must not be set twice.
        let mut derived: Vec<(&str, &str)> = vec![
            (c.node_name_env.as_str(), "the member's own name"),
            (c.seeds_env.as_str(), "the seed addresses"),
        ];
        if let Some((var, _)) = &c.secret {
            derived.push((var.as_str(), "the cluster secret"));
        }
        for (i, (var, what)) in derived.iter().enumerate() {
            if derived[..i].iter().any(|(v, _)| v == var) {
                self.err(
                    ErrorKind::DuplicateName,
                    format!("{path}.env[{var}]"),
                    format!("cluster `{}` uses `{var}` for two things", svc.name),
                    "give the node name, the seeds and the secret distinct variables",
                );
            }
            if svc.env.iter().any(|e| e.name == *var) {
                self.err(
                    ErrorKind::DuplicateName,
                    format!("{}.env[{var}]", self.svc_path(svc)),
                    format!(
                        "service `{}` sets `{var}`, which its cluster derives ({what}) for each member",
                        svc.name
                    ),
                    "remove the `.env(…)` call, or name the cluster's variable differently on the `Cluster` builder",
                );
            }
        }
        if svc.name.len() > MAX_CLUSTER_NAME {
            self.err(
                ErrorKind::InvalidName,
                self.svc_path(svc),
                format!(
                    "cluster name `{}` has {} characters, too many for the names derived from it: `<name>-worker-<i>`, `<name>-headless` and the StatefulSet's `<name>-<revision hash>` label must each fit in 63",
                    svc.name,
                    svc.name.len()
                ),
                format!("shorten it to at most {MAX_CLUSTER_NAME} characters"),
            );
        }
        if self.stack.env == Env::Prod && n < 3 {
            self.err(
                ErrorKind::InvalidValue,
                format!("{path}.nodes"),
                format!(
                    "cluster `{}` runs {n} node{} in prod; losing one would lose the majority",
                    svc.name,
                    if n == 1 { "" } else { "s" }
                ),
                "run at least 3 nodes in prod (an odd number: 3, 5, 7)",
            );
        }
        if c.seeds == 0 || c.seeds > n {
            self.err(
                ErrorKind::UnknownService,
                format!("{path}.seeds"),
                format!("cluster `{}` names {} seed(s) but has {n} member(s): seed addresses would point at members that do not exist", svc.name, c.seeds),
                format!("use between 1 and {n} seeds"),
            );
        }
        let floor = svc.autoscale.as_ref().map_or(n, |a| a.min);
        let min_available = match svc.disruption {
            Some(Disruption::MinAvailable(m)) => Some(m),
            Some(Disruption::MaxUnavailable(k)) => Some(floor.saturating_sub(k)),
            Some(_) => None,
            None => Some(c.min_available_for(n)),
        };
        if let Some(m) = min_available {
            if m < quorum {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{path}.min_available"),
                    format!("a disruption budget of {m} available member(s) lets drains take cluster `{}` below its majority of {quorum}", svc.name),
                    format!("keep at least {quorum} members available"),
                );
            }
            if m >= floor {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{path}.min_available"),
                    format!(
                        "keeping {m} of {floor} members of cluster `{}` available forbids every eviction, so node drains would hang",
                        svc.name
                    ),
                    format!("run more than {m} members (or, with autoscaling, a minimum above {m})"),
                );
            }
        }
        if let Some(a) = &svc.autoscale
            && a.min < quorum
        {
            self.err(
                ErrorKind::InvalidValue,
                format!("{}.autoscale", self.svc_path(svc)),
                format!("autoscaling cluster `{}` down to {} members would lose the majority of {quorum} of its {n} nodes", svc.name, a.min),
                format!("use a minimum of at least {quorum}"),
            );
        }
        if let Some(m) = &svc.metrics
            && m.port.name == c.port.name
        {
            self.err(
                ErrorKind::InvalidValue,
                format!("{}.metrics", self.svc_path(svc)),
                "metrics are served on the cluster's gossip port",
                "serve metrics on the health port",
            );
        }
        if let Some((var, s)) = &c.secret {
            if let Some(problem) = names::env_name_problem(var) {
                self.err(
                    ErrorKind::InvalidName,
                    format!("{path}.secret"),
                    format!("variable `{var}` {problem}"),
                    "use a name such as `CLUSTER_SECRET`",
                );
            }
            self.secret_rules(s, &format!("{path}.secret"));
        }
        for member in svc.compose_members() {
            if self.by_name.contains_key(member.as_str()) {
                self.err(
                    ErrorKind::DuplicateName,
                    path.to_owned(),
                    format!(
                        "Compose member `{member}` of cluster `{}` has the name of another service",
                        svc.name
                    ),
                    "rename the cluster or the other service",
                );
            }
        }
    }

    fn image_rules(&mut self, svc: &Service, path: &str) {
        let env = self.stack.env;
        match &svc.source.image {
            Some(image) if env != Env::Dev => {
                let tag = image.tag.as_deref();
                if image.digest.is_none() && matches!(tag, None | Some("latest")) {
                    self.err(
                        ErrorKind::UnpinnedImage,
                        format!("{path}.image"),
                        format!("image `{image}` has no pinned tag; {env} deploys must be reproducible"),
                        "set an explicit version with `.tag(\"1.2.3\")` (or `.digest(\"sha256:…\")`)",
                    );
                }
            }
            None if env != Env::Dev => self.err(
                ErrorKind::UnpinnedImage,
                format!("{path}.image"),
                format!("service is built from source but has no image reference; {env} runs pushed images"),
                "add `.image(registry.image(\"name\").tag(version))` next to `.build(…)`",
            ),
            _ => {}
        }
        if svc.source.build.is_some() && svc.source.image.is_none() {
            return;
        }
        if let Some(image) = &svc.source.image
            && image.repository.trim().is_empty()
        {
            self.err(
                ErrorKind::InvalidValue,
                format!("{path}.image"),
                "image repository is empty",
                "name the image, e.g. `Image::new(\"redis\")`",
            );
        }
    }

    fn port_rules(&mut self, svc: &Service, path: &str) {
        let mut by_name: BTreeMap<&str, &Port> = BTreeMap::new();
        let mut by_number: BTreeMap<(u16, Protocol), &Port> = BTreeMap::new();
        for port in &svc.ports {
            let ppath = format!("{path}.ports[{}]", port.name);
            if let Some(problem) = names::port_name_problem(port.name) {
                self.err(
                    ErrorKind::InvalidName,
                    ppath.clone(),
                    format!(
                        "port name `{}` {problem}; Kubernetes requires IANA service names",
                        port.name
                    ),
                    "use at most 15 lowercase letters, digits and '-', e.g. `http`, `otlp-grpc`",
                );
            }
            if port.number == 0 {
                self.err(
                    ErrorKind::InvalidValue,
                    ppath.clone(),
                    "port number is 0",
                    "use the port the process listens on (1–65535)",
                );
            }
            if let Some(prev) = by_name.insert(port.name, port) {
                self.err(
                    ErrorKind::PortClash,
                    ppath.clone(),
                    format!(
                        "port name `{}` is declared twice ({} and {})",
                        port.name, prev.number, port.number
                    ),
                    "give each port of a service its own name",
                );
            }
            if let Some(prev) = by_number.insert((port.number, port.protocol), port) {
                self.err(
                    ErrorKind::PortClash,
                    ppath,
                    format!(
                        "ports `{}` and `{}` both use {}/{}",
                        prev.name,
                        port.name,
                        port.number,
                        port.protocol.k8s()
                    ),
                    "a container port can be declared once; remove the duplicate",
                );
            }
        }
        for p in &svc.publish {
            self.check_own_port(
                svc,
                p.port,
                &format!("{path}.publish[{}]", p.host_port),
                "publishes",
            );
            if p.host_port == 0 {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{path}.publish[{}]", p.host_port),
                    "host port is 0",
                    "pick a host port between 1 and 65535",
                );
            }
        }
        // (A cluster publishes from its seed member only.)
        if svc.replicas > 1
            && svc.cluster.is_none()
            && !svc.publish.is_empty()
            && self.stack.targets.contains(&Target::Compose)
            && svc.renders_on(Target::Compose)
        {
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
    }

    /// Checks that `port` is one the service itself declares, by name and number.
    fn check_own_port(&mut self, svc: &Service, port: Port, path: &str, verb: &str) {
        match svc.port(port.name) {
            None => self.err(
                ErrorKind::UnknownPort,
                path.to_owned(),
                format!(
                    "service `{}` {verb} port `{}` ({}), but declares no port of that name",
                    svc.name, port.name, port.number
                ),
                format!(
                    "declare it with `.port(Port::…(\"{}\", {}))` or use one of: {}",
                    port.name,
                    port.number,
                    port_list(svc)
                ),
            ),
            Some(own) if own.number != port.number || own.protocol != port.protocol => self.err(
                ErrorKind::UnknownPort,
                path.to_owned(),
                format!(
                    "service `{}` {verb} port `{}` as {}/{}, but declares `{}` as {}/{}",
                    svc.name,
                    port.name,
                    port.number,
                    port.protocol.k8s(),
                    own.name,
                    own.number,
                    own.protocol.k8s()
                ),
                "use the same `Port` value everywhere: declare it once in a `let` and pass that",
            ),
            Some(_) => {}
        }
    }

    fn env_rules(&mut self, svc: &Service, path: &str) {
        let mut seen: BTreeMap<&str, ()> = BTreeMap::new();
        for var in &svc.env {
            let vpath = format!("{path}.env[{}]", var.name);
            if let Some(problem) = names::env_name_problem(&var.name) {
                self.err(
                    ErrorKind::InvalidName,
                    vpath.clone(),
                    format!("variable name `{}` {problem}", var.name),
                    "use letters, digits and '_', e.g. `LOG_LEVEL`",
                );
            }
            if seen.insert(&var.name, ()).is_some() {
                self.err(
                    ErrorKind::DuplicateName,
                    vpath.clone(),
                    format!("variable `{}` is set twice", var.name),
                    "set each variable once; the later value would silently win",
                );
            }
            let literal = match &var.value {
                EnvValue::Plain(s) | EnvValue::Config(s) => Some(s.clone()),
                EnvValue::Template(t) => Some(t.render(|p| match p {
                    crate::model::Part::Text(s) => s.as_str().into(),
                    crate::model::Part::Secret(_) => SECRET_MARK.to_string().into(),
                    _ => "x".into(),
                })),
                EnvValue::Secret(_) => None,
            };
            if let Some(literal) = literal {
                let is_text = matches!(var.value, EnvValue::Plain(_) | EnvValue::Config(_));
                if is_text
                    && var.not_secret.is_none()
                    && names::looks_secret(&var.name)
                    && !literal.is_empty()
                {
                    self.err(
                        ErrorKind::SecretLiteral,
                        vpath.clone(),
                        format!("`{}` looks like a secret but is set to a literal, which would be written into every output", var.name),
                        format!(
                            "use a reference: `.env(\"{}\", SecretRef::new(\"{}-secrets\", \"{}\"))`; if it is not a secret, use `.env_not_secret(name, value, reason)`",
                            var.name,
                            self.stack.name,
                            var.name.to_ascii_lowercase().replace('_', "-")
                        ),
                    );
                } else if let Some(url) = names::url_with_literal_password(&literal, SECRET_MARK) {
                    self.err(
                        ErrorKind::SecretLiteral,
                        vpath.clone(),
                        format!("`{}` contains a URL with a literal password (`{url}`)", var.name),
                        "build the URL with `endpoint.url().user(…).password(&SecretRef::new(…))` so the password stays a reference",
                    );
                }
            }
            if let EnvValue::Template(t) = &var.value {
                let mut seen: Vec<&str> = Vec::new();
                for r in t.services() {
                    // A URL names its service twice (host and port); report it once.
                    if !seen.contains(&r.name()) {
                        seen.push(r.name());
                        self.check_ref(r, &vpath);
                    }
                }
                for part in t.parts() {
                    if let crate::model::Part::Port(e) = part {
                        self.check_endpoint_port(e.service(), e.port(), &vpath);
                    }
                }
            }
            for s in var.value.secrets() {
                self.secret_rules(s, &vpath);
            }
        }
    }

    pub(super) fn secret_rules(&mut self, s: &crate::model::SecretRef, path: &str) {
        if let Some(problem) = names::dns1123_problem(s.name()) {
            self.err(
                ErrorKind::InvalidName,
                path.to_owned(),
                format!("secret name `{}` {problem}", s.name()),
                "name Kubernetes Secrets with DNS-1123 labels, e.g. `app-secrets`",
            );
        }
        let key_ok = !s.key().is_empty()
            && !matches!(s.key(), "." | "..")
            && s.key().len() <= 253
            && s.key()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !key_ok {
            self.err(
                ErrorKind::InvalidName,
                path.to_owned(),
                format!("secret key `{}` is not a valid Secret key", s.key()),
                "use letters, digits, '-', '_' and '.' (and not `.` or `..` alone)",
            );
        }
        if let Some(d) = s.description()
            && d.chars().any(char::is_control)
        {
            self.err(
                ErrorKind::InvalidValue,
                path.to_owned(),
                format!(
                    "the description of secret `{}`/`{}` contains a line break or control character",
                    s.name(),
                    s.key()
                ),
                "descriptions are one line in `.env.example` and the README; remove the line break",
            );
        }
        if let Some(problem) = names::env_name_problem(&s.var()) {
            self.err(
                ErrorKind::InvalidName,
                path.to_owned(),
                format!("secret variable `{}` {problem}", s.var()),
                "set a valid name with `.var_name(\"MY_SECRET\")`",
            );
        }
    }

    fn check_ref(&mut self, r: &ServiceRef, path: &str) {
        if !self.by_name.contains_key(r.name()) || r.stack() != self.stack.name {
            self.err(
                ErrorKind::UnknownService,
                path.to_owned(),
                format!(
                    "refers to service `{}` of stack `{}` (declared at {}), which is not in stack `{}`",
                    r.name(),
                    r.stack(),
                    r.origin(),
                    self.stack.name
                ),
                "add that service to this stack (call the component that declares it) and use the handle it returns",
            );
        }
    }

    fn check_endpoint_port(&mut self, r: &ServiceRef, port: Port, path: &str) {
        if let Some(&target) = self.by_name.get(r.name())
            && r.stack() == self.stack.name
        {
            self.check_own_port(target, port, path, "is reached on");
        }
    }

    fn probe_rules(&mut self, svc: &Service, path: &str) {
        for (kind, probe) in svc.probes.iter() {
            let ppath = format!("{path}.probes.{kind}");
            if let Some(port) = probe.port() {
                match svc.port(port.name) {
                    None => self.err(
                        ErrorKind::UnknownPort,
                        ppath.clone(),
                        format!("{kind} probe of service `{}` uses port `{}`, which the service does not declare", svc.name, port.name),
                        format!("declare the port with `.port(…)` or point the probe at one of: {}", port_list(svc)),
                    ),
                    Some(declared) if declared.protocol == Protocol::Udp => self.err(
                        ErrorKind::InvalidValue,
                        ppath.clone(),
                        format!("{kind} probe of service `{}` targets UDP port `{}`; HTTP and TCP probes connect over TCP and would always fail", svc.name, port.name),
                        "probe a TCP port of the service, or use an exec probe",
                    ),
                    Some(_) => self.check_own_port(svc, port, &ppath, &format!("probes ({kind})")),
                }
            }
            if let crate::model::ProbeAction::Exec { command } = &probe.action
                && command.is_empty()
            {
                self.err(
                    ErrorKind::InvalidValue,
                    ppath.clone(),
                    "exec probe has an empty command",
                    "give the command and its arguments",
                );
            }
            if [probe.period, probe.timeout, probe.failure_threshold].contains(&Some(0)) {
                self.err(
                    ErrorKind::InvalidValue,
                    ppath.clone(),
                    "probe period, timeout and failure threshold must be at least 1",
                    "use seconds ≥ 1 and a threshold ≥ 1",
                );
            }
            if probe.effective_timeout() > probe.effective_period() {
                self.err(
                    ErrorKind::InvalidValue,
                    ppath,
                    format!(
                        "probe timeout ({}s) is longer than its period ({}s)",
                        probe.effective_timeout(),
                        probe.effective_period()
                    ),
                    "make the timeout at most the period",
                );
            }
        }
    }

    fn mount_rules(&mut self, svc: &Service, path: &str) {
        let mut seen: BTreeMap<&str, ()> = BTreeMap::new();
        for m in &svc.mounts {
            let mpath = format!("{path}.mounts[{}]", m.path);
            if !m.path.starts_with('/') {
                self.err(
                    ErrorKind::InvalidValue,
                    mpath.clone(),
                    format!("mount path `{}` is not absolute", m.path),
                    "mount at an absolute path such as `/data`",
                );
            }
            if seen.insert(&m.path, ()).is_some() {
                self.err(
                    ErrorKind::DuplicateName,
                    mpath.clone(),
                    format!("two volumes are mounted at `{}`", m.path),
                    "mount each path once",
                );
            }
            match &m.source {
                VolumeSource::Persistent { name, .. } => {
                    if let Some(problem) = names::dns1123_problem(name) {
                        self.err(
                            ErrorKind::InvalidName,
                            mpath.clone(),
                            format!("volume name `{name}` {problem}"),
                            format!(
                                "use a DNS-1123 label such as `{}`",
                                names::suggest_label(name)
                            ),
                        );
                    }
                }
                VolumeSource::Bind { host_path } => {
                    if self.stack.env != Env::Dev {
                        self.err(
                            ErrorKind::Unsupported,
                            mpath.clone(),
                            format!("bind mount of `{host_path}` in {}; host directories exist only on a developer's machine", self.stack.env),
                            "bake the files into the image, or mount a `Mount::file` rendered from the stack",
                        );
                    }
                    if host_path.starts_with('/') || host_path.split('/').any(|c| c == "..") {
                        self.err(
                            ErrorKind::InvalidValue,
                            mpath.clone(),
                            format!("bind mount source `{host_path}` leaves the repository"),
                            "use a path relative to the repository root, without `..`",
                        );
                    }
                }
                VolumeSource::File(f) => {
                    if let Some(problem) = names::dns1123_problem(&f.name) {
                        self.err(
                            ErrorKind::InvalidName,
                            mpath.clone(),
                            format!("config file name `{}` {problem}", f.name),
                            "use a DNS-1123 label such as `collector-config`",
                        );
                    }
                    if !f.content.secrets().is_empty() {
                        self.err(
                            ErrorKind::SecretLiteral,
                            mpath.clone(),
                            format!("config file `{}` splices in a secret; files are written to `out/` in clear text", f.name),
                            "pass the secret as an environment variable and reference it from the file (e.g. `${env:VAR}`)",
                        );
                    }
                    for r in f.content.services() {
                        self.check_ref(r, &mpath);
                    }
                }
                VolumeSource::Scratch => {}
            }
        }
    }

    /// Rules only the Kubernetes target imposes.
    fn kubernetes_rules(&mut self, svc: &Service, path: &str) {
        if svc.source.image.is_none() {
            self.err(
                ErrorKind::UnpinnedImage,
                format!("{path}.image"),
                "Kubernetes runs images, but this service only has a build",
                "add `.image(registry.image(\"name\").tag(version))`; CI builds and pushes it",
            );
        }
        let persistent = svc
            .mounts
            .iter()
            .find(|m| matches!(m.source, VolumeSource::Persistent { .. }));
        if let Some(m) = persistent
            && svc.cluster.is_none()
            && (svc.replicas > 1 || svc.autoscale.is_some())
        {
            self.err(
                ErrorKind::Unsupported,
                format!("{path}.mounts[{}]", m.path),
                format!(
                    "service `{}` runs {} replicas (or autoscales) but mounts a ReadWriteOnce volume, which only one pod can use",
                    svc.name, svc.replicas
                ),
                "run one replica, move the state to a backing service, or make it a cluster (StatefulSet) with a volume per member",
            );
        }
        if let Some(a) = &svc.autoscale {
            let req = svc.resources.map(|r| r.requests).unwrap_or_default();
            for (metric, target, has) in [
                ("cpu", a.cpu, req.cpu.is_some()),
                ("memory", a.memory, req.memory.is_some()),
            ] {
                if target.is_some() && !has {
                    self.err(
                        ErrorKind::MissingResources,
                        format!("{path}.autoscale"),
                        format!("autoscaling on {metric} utilisation needs a {metric} request to measure against"),
                        format!("set `requests.{metric}` in `.resources(…)`"),
                    );
                }
            }
        }
        for i in &svc.ingress {
            if (i.limit.is_some() || i.timeouts.is_some() || i.client_body_mb.is_some())
                && i.class.as_deref() != Some("nginx")
            {
                self.err(
                    ErrorKind::Unsupported,
                    format!("{path}.ingress[{}]", i.host),
                    "rate limits, timeouts and body sizes are rendered as ingress-nginx annotations, but this ingress is not of class `nginx`",
                    "set `.class(\"nginx\")` or drop `.rate_limit(…)`/`.limit(…)`, `.timeouts(…)` and `.client_body_mb(…)`",
                );
            }
        }
        let floor = svc.autoscale.as_ref().map_or(svc.replicas, |a| a.min);
        // Clusters have their own, quorum-aware rules.
        let disruption = if svc.cluster.is_some() {
            None
        } else {
            svc.disruption
        };
        match disruption {
            Some(Disruption::MinAvailable(n)) if n >= floor => self.err(
                ErrorKind::InvalidValue,
                format!("{path}.disruption"),
                format!("minAvailable {n} is not below the {floor} replicas the service may run, so no pod could ever be evicted and node drains would hang"),
                format!("use at most {}", floor.saturating_sub(1)),
            ),
            Some(Disruption::MaxUnavailable(0)) => self.err(
                ErrorKind::InvalidValue,
                format!("{path}.disruption"),
                "maxUnavailable 0 forbids every voluntary eviction, so node drains would hang",
                "allow at least 1",
            ),
            _ => {}
        }
    }

    fn scaling_rules(&mut self, svc: &Service, path: &str) {
        if let Some(a) = &svc.autoscale {
            let apath = format!("{path}.autoscale");
            if a.min == 0 || a.min > a.max {
                self.err(
                    ErrorKind::InvalidValue,
                    apath.clone(),
                    format!("autoscale bounds {}..{} are invalid", a.min, a.max),
                    "use 1 ≤ min ≤ max",
                );
            }
            if a.cpu.is_none() && a.memory.is_none() {
                self.err(
                    ErrorKind::InvalidValue,
                    apath.clone(),
                    "autoscale has no metric",
                    "add `.cpu(70)` and/or `.memory(80)`",
                );
            }
            for (metric, target) in [("cpu", a.cpu), ("memory", a.memory)] {
                if target == Some(0) {
                    self.err(
                        ErrorKind::InvalidValue,
                        apath.clone(),
                        format!("{metric} target is 0%"),
                        "use a utilisation target above 0, e.g. 70",
                    );
                }
            }
        }
        if let Some(r) = &svc.resources {
            for (what, req, lim) in [
                (
                    "cpu",
                    r.requests.cpu.map(|c| c.millicores() as u64),
                    r.limits.cpu.map(|c| c.millicores() as u64),
                ),
                (
                    "memory",
                    r.requests.memory.map(|m| m.bytes()),
                    r.limits.memory.map(|m| m.bytes()),
                ),
            ] {
                if let (Some(req), Some(lim)) = (req, lim)
                    && req > lim
                {
                    self.err(
                        ErrorKind::InvalidValue,
                        format!("{path}.resources"),
                        format!("{what} request is larger than its limit"),
                        "raise the limit or lower the request",
                    );
                }
            }
        }
        if self.stack.env != Env::Dev {
            let r = svc.resources.unwrap_or_default();
            let missing: Vec<&str> = [
                ("requests.cpu", r.requests.cpu.is_some()),
                ("requests.memory", r.requests.memory.is_some()),
                ("limits.cpu", r.limits.cpu.is_some()),
                ("limits.memory", r.limits.memory.is_some()),
            ]
            .into_iter()
            .filter_map(|(k, ok)| (!ok).then_some(k))
            .collect();
            if !missing.is_empty() {
                self.err(
                    ErrorKind::MissingResources,
                    format!("{path}.resources"),
                    format!("service `{}` has no {} in {}", svc.name, missing.join(", "), self.stack.env),
                    "set `.resources(Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(512)))`",
                );
            }
        }
    }

    fn ingress_rules(&mut self, svc: &Service, ingress: &Ingress, path: &str) {
        let ipath = format!("{path}.ingress[{}]", ingress.host);
        self.check_own_port(svc, ingress.port, &ipath, "exposes");
        if !ingress.path.starts_with('/') {
            self.err(
                ErrorKind::InvalidValue,
                ipath.clone(),
                format!("ingress path `{}` does not start with '/'", ingress.path),
                "use a path such as `/` or `/api`",
            );
        }
        let host_ok = !ingress.host.is_empty()
            && ingress.host.len() <= 253
            && ingress
                .host
                .split('.')
                .all(|l| names::dns1123_problem(l).is_none());
        if !host_ok {
            self.err(
                ErrorKind::InvalidName,
                ipath,
                format!("`{}` is not a valid host name", ingress.host),
                "use a lowercase DNS name such as `api.example.com`",
            );
        }
    }

    fn cross_service_rules(&mut self) {
        let stack = self.stack;
        // Duplicate service names.
        let mut first: BTreeMap<&str, &Service> = BTreeMap::new();
        for svc in &stack.services {
            if let Some(prev) = first.insert(&svc.name, svc) {
                first.insert(&prev.name, prev);
                self.err(
                    ErrorKind::DuplicateName,
                    self.svc_path(svc),
                    format!("service name `{}` is used twice: declared at {} and again at {}", svc.name, prev.origin, svc.origin),
                    "rename one of them; if both come from components, add the second under another name",
                );
            }
        }
        // Two different secrets must not share a variable name: Compose `.env` and CI secrets
        // would silently hand one value to both.
        let mut vars: BTreeMap<String, (&crate::model::SecretRef, &Service)> = BTreeMap::new();
        for svc in &stack.services {
            for s in svc.secrets() {
                let var = s.var();
                match vars.get(&var) {
                    Some((prev, owner)) if (prev.name(), prev.key()) != (s.name(), s.key()) => {
                        self.err(
                            ErrorKind::DuplicateName,
                            self.svc_path(svc),
                            format!(
                                "secret `{}`/`{}` and secret `{}`/`{}` (used by service `{}`) both map to the variable `{var}`",
                                s.name(),
                                s.key(),
                                prev.name(),
                                prev.key(),
                                owner.name
                            ),
                            "give one of them its own variable with `.var_name(\"…\")`",
                        );
                    }
                    Some(_) => {}
                    None => {
                        vars.insert(var, (s, svc));
                    }
                }
            }
        }
        // Host port clashes.
        let mut host_ports: BTreeMap<(u16, Protocol), Vec<(&Service, std::net::IpAddr)>> =
            BTreeMap::new();
        for svc in &stack.services {
            for p in &svc.publish {
                let slot = host_ports
                    .entry((p.host_port, p.port.protocol))
                    .or_default();
                if let Some((other, _)) = slot.iter().find(|(_, ip)| {
                    *ip == p.host_ip || ip.is_unspecified() || p.host_ip.is_unspecified()
                }) {
                    self.err(
                        ErrorKind::HostPortClash,
                        format!("{}.publish[{}]", self.svc_path(svc), p.host_port),
                        format!(
                            "host port {} is already published by service `{}`",
                            p.host_port, other.name
                        ),
                        "publish one of them on a different host port",
                    );
                }
                slot.push((svc, p.host_ip));
            }
        }
        // A service must not reach one that its target does not render.
        for svc in &stack.services {
            for d in svc.dependencies() {
                let Some(&dep) = self.by_name.get(d.name()) else {
                    continue;
                };
                // PaaS platforms run a subset of the services; `paas_rules` checks those.
                for t in stack
                    .targets
                    .iter()
                    .filter(|t| !matches!(t, Target::Paas(_)))
                {
                    if svc.renders_on(*t) && !dep.renders_on(*t) {
                        self.err(
                            ErrorKind::Unsupported,
                            format!("{}.depends_on[{}]", self.svc_path(svc), dep.name),
                            format!("service `{}` is rendered for {t} but depends on `{}`, which is not", svc.name, dep.name),
                            "render both for the same targets (`only_on`), or drop the dependency",
                        );
                    }
                }
            }
        }
        // References to services, and depends_on.
        for svc in &stack.services {
            for d in &svc.depends_on {
                let path = format!("{}.depends_on[{}]", self.svc_path(svc), d.name());
                self.check_ref(d, &path);
                if d.name() == svc.name {
                    self.err(
                        ErrorKind::DependencyCycle,
                        path,
                        format!("service `{}` depends on itself", svc.name),
                        "remove the dependency",
                    );
                }
            }
        }
        // Replicas of 0 where traffic is routed.
        for svc in &stack.services {
            if svc.replicas > 0 {
                continue;
            }
            let dependant = stack
                .services
                .iter()
                .find(|o| o.dependencies().iter().any(|d| d.name() == svc.name));
            let reason = if !svc.publish.is_empty() {
                Some("it publishes host ports".to_owned())
            } else if !svc.ingress.is_empty() {
                Some(format!("it is exposed on `{}`", svc.ingress[0].host))
            } else {
                dependant.map(|d| format!("service `{}` depends on it", d.name))
            };
            if let Some(reason) = reason {
                self.err(
                    ErrorKind::NoReplicas,
                    format!("{}.replicas", self.svc_path(svc)),
                    format!("service `{}` has 0 replicas but {reason}", svc.name),
                    "run at least one replica, or remove what routes traffic to it",
                );
            }
        }
        self.cycle_rules();
        self.kubernetes_name_rules();
        // Config file names are unique across the stack.
        let mut files: BTreeMap<&str, &str> = BTreeMap::new();
        for svc in &stack.services {
            for m in &svc.mounts {
                if let VolumeSource::File(f) = &m.source
                    && let Some(owner) = files.insert(&f.name, &svc.name)
                {
                    self.err(
                        ErrorKind::DuplicateName,
                        format!("{}.mounts[{}]", self.svc_path(svc), m.path),
                        format!(
                            "config file name `{}` is also used by service `{owner}`",
                            f.name
                        ),
                        "give each generated file a unique name",
                    );
                }
            }
        }
    }

    /// PaaS targets: prod only, and everything [`crate::render::paas::problems`] finds.
    fn paas_rules(&mut self) {
        let stack = self.stack;
        let platforms: Vec<crate::model::Platform> = stack
            .targets
            .iter()
            .filter_map(|t| match t {
                Target::Paas(p) => Some(*p),
                _ => None,
            })
            .collect();
        if platforms.is_empty() {
            return;
        }
        if stack.env != Env::Prod {
            let names: Vec<&str> = platforms.iter().map(|p| p.name()).collect();
            self.err(
                ErrorKind::Unsupported,
                format!("{}.targets", stack.name),
                format!(
                    "PaaS targets ({}) are rendered from prod only, but this is {}",
                    names.join(", "),
                    stack.env
                ),
                format!(
                    "add them to the prod targets only: `out/{}/paas/` has no environment folder, so exactly one environment's run owns it",
                    stack.name
                ),
            );
        }
        for pv in &stack.paas.set_in_platform {
            if let Some(problem) = names::env_name_problem(&pv.name) {
                self.err(
                    ErrorKind::InvalidName,
                    format!("{}.paas.set_in_platform[{}]", stack.name, pv.name),
                    format!("variable `{}` {problem}", pv.name),
                    "use the name of an environment variable the services read",
                );
            }
        }
        for p in platforms {
            self.errors.extend(crate::render::paas::problems(stack, p));
        }
    }

    /// Objects of one kind share a name space per namespace. The Kubernetes target derives
    /// names (`<service>-config`, `<service>-headless`, the `default-deny` policy) next to
    /// names the stack chooses (services, config files, volumes): two objects of one kind
    /// and name would silently replace each other on apply.
    fn kubernetes_name_rules(&mut self) {
        let stack = self.stack;
        if !stack.targets.contains(&Target::Kubernetes) {
            return;
        }
        // (kind, name) → (who claims it, whether a config file does).
        let mut claims: BTreeMap<(&'static str, String), (String, bool)> = BTreeMap::new();
        let mut claim = |v: &mut Self,
                         kind: &'static str,
                         name: String,
                         who: String,
                         path: String,
                         file: bool| {
            match claims.get(&(kind, name.clone())) {
                None => {
                    claims.insert((kind, name), (who, file));
                }
                // Two config files of one name are reported by the file rule already.
                Some((_, true)) if file => {}
                Some((first, _)) => {
                    let hint = if kind == "PersistentVolumeClaim" {
                        "a ReadWriteOnce claim serves one pod: give each service a volume of its own"
                    } else {
                        "rename one of them; the Kubernetes target also names objects `<service>-config`, `<service>-headless` and `default-deny`"
                    };
                    v.err(
                        ErrorKind::DuplicateName,
                        path,
                        format!("Kubernetes {kind} `{name}` would be rendered for {who} and for {first}; applying the manifests would keep only one"),
                        hint,
                    );
                }
            }
        };
        if stack.kubernetes.hardened {
            claim(
                self,
                "NetworkPolicy",
                "default-deny".into(),
                "the stack's deny-all policy".into(),
                stack.name.clone(),
                false,
            );
        }
        for svc in stack
            .services
            .iter()
            .filter(|s| s.renders_on(Target::Kubernetes))
        {
            // Services of one name are reported as duplicates already.
            if !self
                .by_name
                .get(svc.name.as_str())
                .is_some_and(|s| std::ptr::eq(*s, svc))
            {
                continue;
            }
            let path = self.svc_path(svc);
            let who = format!("service `{}`", svc.name);
            if stack.kubernetes.hardened {
                claim(
                    self,
                    "NetworkPolicy",
                    svc.name.clone(),
                    who.clone(),
                    path.clone(),
                    false,
                );
            }
            let gossip = svc.cluster.as_ref().map(|c| c.port.name);
            if svc.ports.iter().any(|p| Some(p.name) != gossip) {
                claim(
                    self,
                    "Service",
                    svc.name.clone(),
                    who.clone(),
                    path.clone(),
                    false,
                );
            }
            if svc.cluster.is_some() {
                let name = crate::render::k8s::headless_name(&svc.name);
                claim(
                    self,
                    "Service",
                    name,
                    format!("the discovery Service of cluster `{}`", svc.name),
                    format!("{path}.cluster"),
                    false,
                );
            }
            if let Some(var) = svc
                .env
                .iter()
                .find(|v| matches!(v.value, EnvValue::Config(_)))
            {
                let name = crate::render::k8s::config_map_name(&svc.name);
                claim(
                    self,
                    "ConfigMap",
                    name,
                    format!("the configuration of service `{}`", svc.name),
                    format!("{path}.env[{}]", var.name),
                    false,
                );
            }
            let mut volumes: Vec<&str> = Vec::new();
            for m in &svc.mounts {
                let mpath = format!("{path}.mounts[{}]", m.path);
                match &m.source {
                    VolumeSource::File(f) => claim(
                        self,
                        "ConfigMap",
                        f.name.clone(),
                        format!("config file `{}` of service `{}`", f.name, svc.name),
                        mpath,
                        true,
                    ),
                    // A cluster's claims are per-member templates (`<volume>-<set>-<i>`).
                    VolumeSource::Persistent { name, .. }
                        if svc.cluster.is_none() && !volumes.contains(&name.as_str()) =>
                    {
                        volumes.push(name);
                        claim(
                            self,
                            "PersistentVolumeClaim",
                            name.clone(),
                            format!("volume `{name}` of service `{}`", svc.name),
                            mpath,
                            false,
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    fn cycle_rules(&mut self) {
        let stack = self.stack;
        let index: BTreeMap<&str, usize> = stack
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let edges: Vec<Vec<usize>> = stack
            .services
            .iter()
            .map(|s| {
                s.dependencies()
                    .iter()
                    .filter(|d| d.name() != s.name)
                    .filter_map(|d| index.get(d.name()).copied())
                    .collect()
            })
            .collect();
        // Iterative DFS with colours; report each cycle once, from its first service.
        let mut colour = vec![0u8; edges.len()];
        for start in 0..edges.len() {
            if colour[start] != 0 {
                continue;
            }
            let mut stack_: Vec<(usize, usize)> = vec![(start, 0)];
            colour[start] = 1;
            while let Some(&mut (node, ref mut next)) = stack_.last_mut() {
                if let Some(&to) = edges[node].get(*next) {
                    *next += 1;
                    match colour[to] {
                        0 => {
                            colour[to] = 1;
                            stack_.push((to, 0));
                        }
                        1 => {
                            let pos = stack_.iter().position(|(n, _)| *n == to).unwrap_or(0);
                            let mut names: Vec<&str> = stack_[pos..]
                                .iter()
                                .map(|(n, _)| stack.services[*n].name.as_str())
                                .collect();
                            names.push(&stack.services[to].name);
                            let svc = &stack.services[to];
                            self.err(
                                ErrorKind::DependencyCycle,
                                format!("{}.depends_on", self.svc_path(svc)),
                                format!("services depend on each other in a cycle: {}", names.join(" → ")),
                                "no order can start these; remove one dependency (a URL in `env` counts as one)",
                            );
                        }
                        _ => {}
                    }
                } else {
                    colour[node] = 2;
                    stack_.pop();
                }
            }
        }
    }
}

fn port_list(svc: &Service) -> String {
    if svc.ports.is_empty() {
        return "(the service declares no ports)".to_owned();
    }
    svc.ports
        .iter()
        .map(|p| format!("`{}` ({})", p.name, p.number))
        .collect::<Vec<_>>()
        .join(", ")
}
