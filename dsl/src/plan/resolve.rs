//! The one template resolver. A [`Template`] is text, service hosts, endpoint ports and
//! secret references; each target writes those parts its own way, described by a
//! [`Style`], and this is the only code that walks a template's parts to produce a value.

use std::borrow::Cow;

use crate::model::{Part, SecretRef, Template};

use super::Plan;

/// How a target writes a service's host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hosts {
    /// The service name (Compose: containers resolve each other by service name).
    Name,
    /// The in-cluster host ([`Plan::k8s_host`]): the operator's or chart's Service where Terraform
    /// installs the service.
    Kubernetes,
    /// `localhost` (a CI job's service containers publish their ports on the runner).
    Localhost,
}

/// How a target writes an endpoint's port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ports {
    /// The container port (Compose, CI).
    Container,
    /// The port clients use in Kubernetes: the Service port.
    Service,
}

/// How one target writes a [`Template`]: hosts, ports, secrets, and how literal text is
/// escaped for the format it lands in.
///
/// ```
/// use std::borrow::Cow;
/// use stackdsl::plan::{Hosts, Ports, Style};
/// use stackdsl::prelude::*;
///
/// let pg = Port::tcp("postgres", 5432).service_port(15432);
/// let mut s = Stack::new("shop", Env::Dev);
/// let db = s.add(Service::new("db").image(Image::new("postgres").tag("17"))
///     .security(Security::restricted().run_as_user(999)).port(pg));
/// let plan = stackdsl::validate(&s).expect("valid");
/// let t = Template::host_port(&db.endpoint(pg));
/// let compose = Style::new(Hosts::Name, Ports::Container, &|s| Cow::Owned(s.var()));
/// let k8s = Style::new(Hosts::Kubernetes, Ports::Service, &|s| Cow::Owned(s.var()));
/// assert_eq!(plan.resolve(&t, &compose), "db:5432");
/// assert_eq!(plan.resolve(&t, &k8s), "db:15432");
/// ```
#[derive(Clone, Copy)]
pub struct Style<'f> {
    hosts: Hosts,
    ports: Ports,
    secret: &'f dyn Fn(&SecretRef) -> Cow<'static, str>,
    escape: fn(&str) -> Cow<'_, str>,
}

impl std::fmt::Debug for Style<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Style")
            .field("hosts", &self.hosts)
            .field("ports", &self.ports)
            .finish_non_exhaustive()
    }
}

impl<'f> Style<'f> {
    /// Hosts, ports and how a secret is referenced; literal text as is.
    pub const fn new(
        hosts: Hosts,
        ports: Ports,
        secret: &'f dyn Fn(&SecretRef) -> Cow<'static, str>,
    ) -> Self {
        Style {
            hosts,
            ports,
            secret,
            escape: as_is,
        }
    }

    /// Escapes literal text with `escape` (e.g. Compose's `$` → `$$`).
    #[must_use]
    pub const fn escape(mut self, escape: fn(&str) -> Cow<'_, str>) -> Self {
        self.escape = escape;
        self
    }
}

fn as_is(s: &str) -> Cow<'_, str> {
    Cow::Borrowed(s)
}

pub(super) fn resolve(plan: &Plan<'_>, t: &Template, style: &Style<'_>) -> String {
    t.render(|p| match p {
        Part::Text(s) => (style.escape)(s),
        Part::Host(s) => match style.hosts {
            Hosts::Name => Cow::Borrowed(s.name()),
            Hosts::Localhost => Cow::Borrowed("localhost"),
            Hosts::Kubernetes => match plan.stack.service(s.name()) {
                Some(svc) => Cow::Owned(plan.k8s_host(svc)),
                None => Cow::Borrowed(s.name()),
            },
        },
        Part::Port(e) => Cow::Owned(match style.ports {
            Ports::Container => e.port().number.to_string(),
            Ports::Service => e.port().client_port().to_string(),
        }),
        Part::Secret(s) => (style.secret)(s),
    })
}
