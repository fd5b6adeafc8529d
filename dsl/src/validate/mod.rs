//! Validation: the rules every stack must satisfy, whatever it renders to.
//!
//! The rules are split by concern, one file each, with unit tests beside them: the stack
//! ([`stack`](self) rules), a service's image and hardening, ports, environment and secrets,
//! probes, mounts, scaling, clusters, the dependency graph, migrations, and the operations
//! settings (metrics, monitoring, backups). Rules only one target imposes live beside that
//! target's renderer (each backend's `check`); [`crate::validate()`] runs both and returns
//! the validated [`Plan`].
//!
//! Every rule reports into one [`Errors`]: each problem with a path into the stack
//! (`tsdev-monolith.services[api].ports[http]`), a message saying what is wrong and a hint
//! saying how to fix it. Nothing is rendered from a stack that has errors.
//!
//! ```
//! use stackdsl::prelude::*;
//! use stackdsl::validate::ErrorKind;
//!
//! let mut s = Stack::new("shop", Env::Dev);
//! s.add(Service::new("api").image(Image::new("acme/api").tag("1")));
//! s.add(Service::new("api").image(Image::new("acme/api").tag("1")));
//! s.add(Service::new("Web_1").image(Image::new("acme/web").tag("1")));
//! let errors = stackdsl::validate(&s).unwrap_err();
//! let kinds: Vec<_> = errors.iter().map(|e| e.kind).collect();
//! // Per-service rules first, in declaration order; then rules across services.
//! assert_eq!(kinds, [ErrorKind::InvalidName, ErrorKind::DuplicateName]);
//! assert_eq!(errors.iter().next().unwrap().path, "shop.services[Web_1]");
//! ```

mod backing;
mod bounds;
mod cluster;
mod containers;
mod env;
mod graph;
mod handles;
mod interpolation;
pub mod leaks;
mod monitoring;
mod mounts;
pub mod names;
mod ops;
mod ports;
mod probes;
pub(crate) mod reference;
mod routes;
mod runtime;
mod scaling;
mod secrets;
mod security;
mod service;
mod stack;
mod text;

use std::collections::BTreeMap;

pub use crate::diagnostics::{Error, ErrorKind, Errors, Path, Warning};
use crate::model::{Service, Stack};
use crate::plan::Plan;
pub use bounds::{MAX_CLUSTER_NODES, MAX_REPLICAS};

pub use containers::MAX_GRACE_PERIOD;
pub(crate) use ports::port_list;

/// Runs every target-independent rule over a plan's stack; returns every problem found.
pub(crate) fn rules(plan: &Plan<'_>) -> Errors {
    let mut v = Validator::new(plan);
    v.stack_rules();
    for svc in &plan.stack().services {
        v.service_rules(svc);
    }
    v.cross_service_rules();
    v.monitoring_rules();
    v.stack_secret_rules();
    v.backing_rules();
    handles::update_rules(plan.stack(), &mut v.errors);
    v.errors
}

pub(crate) use backing::warnings;

/// Checks shared by the rules of validation and of the targets: the stack under
/// validation, its services by name and the errors found so far.
pub(crate) struct Validator<'a> {
    pub(crate) plan: &'a Plan<'a>,
    pub(crate) stack: &'a Stack,
    /// Services by name (the first of duplicates wins; duplicates are reported separately).
    pub(crate) by_name: BTreeMap<&'a str, &'a Service>,
    pub(crate) errors: Errors,
}

/// Longest name of a clustered service: Kubernetes labels each StatefulSet pod with
/// `controller-revision-hash: <name>-<10 characters>`, a label value of at most 63.
pub const MAX_CLUSTER_NAME: usize = 52;

impl<'a> Validator<'a> {
    /// A validator for `plan`'s stack, with no errors yet.
    pub(crate) fn new(plan: &'a Plan<'a>) -> Self {
        let stack = plan.stack();
        let by_name = stack
            .services
            .iter()
            .rev()
            .map(|s| (s.name.as_str(), s))
            .collect();
        Validator {
            plan,
            stack,
            by_name,
            errors: Errors::default(),
        }
    }

    /// Reports a broken rule.
    pub(crate) fn err(
        &mut self,
        kind: ErrorKind,
        path: impl Into<Path>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.errors.push(Error::new(kind, path, message, hint));
    }

    /// The path of a service: `<stack>.services[<name>]`.
    pub(crate) fn svc_path(&self, svc: &Service) -> String {
        format!("{}.services[{}]", self.stack.name, svc.name)
    }

    /// Is `svc` the service its name stands for (and not a later duplicate)?
    pub(crate) fn is_first(&self, svc: &Service) -> bool {
        self.by_name
            .get(svc.name.as_str())
            .is_some_and(|s| std::ptr::eq(*s, svc))
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the rules' unit tests.

    use super::*;
    use crate::model::Env;

    /// The errors the target-independent rules find in `stack`.
    pub(crate) fn errors(stack: &Stack) -> Vec<Error> {
        rules(&Plan::derive(stack)).into_iter().collect()
    }

    /// `(kind, path)` of every error, in order.
    pub(crate) fn found(stack: &Stack) -> Vec<(ErrorKind, String)> {
        errors(stack)
            .into_iter()
            .map(|e| (e.kind, e.path.to_string()))
            .collect()
    }

    /// A stack `t` in `env` holding `services`.
    pub(crate) fn stack(
        env: Env,
        services: impl IntoIterator<Item = crate::builder::ServiceBuilder<crate::builder::HasImage>>,
    ) -> Stack {
        let mut s = Stack::new("t", env);
        for b in services {
            s.add(b);
        }
        s
    }
}
