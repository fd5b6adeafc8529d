//! A service's Compose-only settings: [`ServiceCompose`], the group lent to
//! [`ServiceBuilder::compose`]; and the stack's, [`Stack::compose`].
//!
//! # Why the typed settings and the raw keys share one group
//!
//! `.compose(|c| …)` is to Compose what `.kubernetes(|k| …)` is to Kubernetes: the
//! settings only that target reads, typed (`c.container_name(…)`, `c.profile(…)`,
//! `c.env_file(…)`, `c.pass_env(…)`) next to the target's escape hatch (`c.extra(…)`,
//! `c.replace(…)`), as `k.pod(…)` sits next to `k.rollout(…)`. One group means one place
//! to look for "what only Compose gets", and a raw key that has a typed setter is refused
//! with a hint naming the setter in the same closure. Settings every target has an answer
//! for (shared memory, ulimits, devices, start conditions) are setters of the service
//! itself, like `.replicas(…)`: Kubernetes renders its equivalent or validation says why
//! it cannot.

use serde::Serialize;

use super::ServiceBuilder;
use crate::model::{ComposeKey, ComposeOptions, EnvFile, Origin, Service, Stack};

impl<S> ServiceBuilder<S> {
    /// Settings only the Compose target reads (see [`ServiceCompose`]): a fixed container
    /// name, profiles, env files, variables passed through from `.env`, and raw keys of
    /// the Compose Specification that stackdsl does not model.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("chrome").image(Image::new("browserless/chrome").tag("1.61"))
    ///     .compose(|c| c.container_name("chrome").profile("browser").extra("labels", ["team=web"]));
    /// assert_eq!(b.peek().compose.container_name.as_deref(), Some("chrome"));
    /// assert_eq!(b.peek().hatches.compose.len(), 1);
    /// ```
    pub fn compose(self, f: impl FnOnce(&mut ServiceCompose) -> &mut ServiceCompose) -> Self {
        let mut group = ServiceCompose {
            service: self.inner,
        };
        f(&mut group);
        ServiceBuilder {
            inner: group.service,
            state: self.state,
        }
    }
}

impl Stack {
    /// Sets how the Compose target renders this stack (see [`ComposeOptions`]).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let mut s = Stack::new("plausible", Env::Dev);
    /// s.compose(|c| c.project_name("plausible-ce"));
    /// assert_eq!(s.compose.project_name.as_deref(), Some("plausible-ce"));
    /// ```
    pub fn compose(
        &mut self,
        f: impl FnOnce(&mut ComposeOptions) -> &mut ComposeOptions,
    ) -> &mut Self {
        f(&mut self.compose);
        self
    }
}

/// A service's Compose-only settings, set inside [`ServiceBuilder::compose`]: typed
/// settings the other targets have no word for, and raw keys of the Compose Specification.
///
/// Typed:
///
/// | setter | Compose | elsewhere |
/// |---|---|---|
/// | [`container_name`](Self::container_name) | `container_name` | nothing (pods have generated names) |
/// | [`profile`](Self::profile) | `profiles` (on the service and the one-shots, init containers and sidecars Compose runs for it) | rendered as usual (leave it out with `not_on`) |
/// | [`env_file`](Self::env_file) | `env_file` | nothing reads the file: the run warns where Kubernetes renders the service |
/// | [`pass_env`](Self::pass_env) | `environment: {NAME: null}` (from `.env` or the shell when set there) | not set: the run warns where Kubernetes renders the service |
///
/// Raw keys: every key must be a service key of the Compose Specification (or an `x-`
/// extension); [`extra`](Self::extra) adds a key stackdsl never writes, and
/// [`replace`](Self::replace) replaces one it does, so an override is always explicit.
/// A key that has a typed setter (`shm_size`, `ulimits`, `devices`, `container_name`,
/// `profiles`, `env_file`) is refused with a hint naming the setter. Values are data
/// (`serde_json::json!`, a string, a number, any `Serialize` type), written in the order
/// given; `docker compose config` checks their shape. Cluster members get the raw keys too;
/// a migration one-shot does not.
#[derive(Debug)]
pub struct ServiceCompose {
    service: Box<Service>,
}

impl ServiceCompose {
    /// A fixed container name (`container_name`) instead of Compose's
    /// `<project>-<service>-1`: letters, digits, `_`, `.` and `-`, unique in the stack.
    /// Compose cannot scale a service with a fixed name, so one with more than one replica,
    /// or a cluster, is refused.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("db").image(Image::new("postgres").tag("16-alpine"))
    ///     .compose(|c| c.container_name("shop_postgres"));
    /// assert_eq!(b.peek().compose.container_name.as_deref(), Some("shop_postgres"));
    /// ```
    pub fn container_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.service.compose.container_name = Some(name.into());
        self
    }

    /// Starts the service only with profile `name` enabled (`docker compose --profile
    /// <name> up`); repeatable (any one of them enables it). For optional services: an
    /// admin UI, a debugging tool. A service that Compose always starts may not depend on
    /// it (Compose would refuse the file), which validation checks.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("pgadmin").image(Image::new("dpage/pgadmin4").tag("9.3"))
    ///     .compose(|c| c.profile("admin"));
    /// assert_eq!(b.peek().compose.profiles, ["admin"]);
    /// ```
    pub fn profile(&mut self, name: impl Into<String>) -> &mut Self {
        self.service.compose.profiles.push(name.into());
        self
    }

    /// Reads `KEY=value` lines from a file into the container's environment (`env_file`);
    /// repeatable, in order. The path is relative to the compose file's folder, beside
    /// `.env`; give an [`EnvFile`] to make it optional. Every line of the file reaches the
    /// container, so an env file shared with `.env` hands the service every other
    /// service's secrets too: prefer [`pass_env`](Self::pass_env) for a list of names.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// use stackdsl::model::EnvFile;
    /// let b = Service::new("app").image(Image::new("acme/app").tag("1.0"))
    ///     .compose(|c| c.env_file("app.env").env_file(EnvFile::new("local.env").optional()));
    /// assert_eq!(b.peek().compose.env_files.len(), 2);
    /// assert!(!b.peek().compose.env_files[1].required);
    /// ```
    pub fn env_file(&mut self, file: impl Into<EnvFile>) -> &mut Self {
        self.service.compose.env_files.push(file.into());
        self
    }

    /// Passes variables through from `.env` (or the shell running Compose) when they are
    /// set there, and leaves them unset in the container otherwise (`environment: {NAME:
    /// null}`): the optional settings an app reads with its own defaults, which the
    /// deployer may set. Repeatable, in order; a name may not also be set with `.env(…)`.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("app").image(Image::new("acme/app").tag("1.0"))
    ///     .compose(|c| c.pass_env(["SMTP_HOST_ADDR", "SMTP_HOST_PORT"]));
    /// assert_eq!(b.peek().compose.pass_env, ["SMTP_HOST_ADDR", "SMTP_HOST_PORT"]);
    /// ```
    pub fn pass_env<I: IntoIterator<Item = T>, T: Into<String>>(&mut self, names: I) -> &mut Self {
        self.service
            .compose
            .pass_env
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds `key`, which stackdsl does not write, e.g. `labels`, `stop_signal`, `sysctls`.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1"))
    ///     .compose(|c| c.extra("stop_signal", "SIGINT"));
    /// assert_eq!(b.peek().hatches.compose[0].key, "stop_signal");
    /// ```
    #[track_caller]
    pub fn extra(&mut self, key: impl Into<String>, value: impl Serialize) -> &mut Self {
        self.push(key.into(), &value, false, Origin::caller())
    }

    /// Replaces `key`, which stackdsl writes (`restart`, `healthcheck`, `deploy`, …), with
    /// `value`.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let b = Service::new("api").image(Image::new("acme/api").tag("1"))
    ///     .compose(|c| c.replace("restart", "on-failure:5"));
    /// assert!(b.peek().hatches.compose[0].replaces);
    /// ```
    #[track_caller]
    pub fn replace(&mut self, key: impl Into<String>, value: impl Serialize) -> &mut Self {
        self.push(key.into(), &value, true, Origin::caller())
    }

    fn push(
        &mut self,
        key: String,
        value: &impl Serialize,
        replaces: bool,
        origin: Origin,
    ) -> &mut Self {
        let (value, error) = match serde_json::to_value(value) {
            Ok(v) => (v, None),
            Err(e) => (serde_json::Value::Null, Some(e.to_string())),
        };
        self.service.hatches.compose.push(ComposeKey {
            key,
            value,
            replaces,
            origin,
            error,
        });
        self
    }
}
