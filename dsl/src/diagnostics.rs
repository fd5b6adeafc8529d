//! Diagnostics: what every layer reports a broken rule with.
//!
//! An [`Error`] says where ([`Path`] into the stack, and the [`Origin`] in the user's source
//! when one is known), what is wrong and how to fix it. [`Errors`] collects all of them:
//! validation never stops at the first. A [`Warning`] has the same parts but stops nothing:
//! it reports what the output does not do (a Compose service left without a healthcheck)
//! or a choice with a known cost (a chart whose images get no fixes). The
//! [`Plan`](crate::plan::Plan) carries them ([`Plan::warnings`](crate::plan::Plan::warnings))
//! and the CLI prints them.
//!
//! ```
//! use stackdsl::diagnostics::{Error, ErrorKind, Path};
//! let e = Error::new(
//!     ErrorKind::UnknownPort,
//!     Path::service("shop", "api").field("probes").field("readiness"),
//!     "readiness probe of service `api` uses port `http`, which the service does not declare",
//!     "declare the port with `.port(…)`",
//! );
//! assert_eq!(e.path, "shop.services[api].probes.readiness");
//! assert!(e.to_string().starts_with("error[unknown-port]: shop.services[api].probes.readiness: "));
//! ```

use std::fmt;

pub use crate::model::Origin;

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
    /// A probe, URL, publish or route names a port the service does not declare.
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

/// Where in a stack a problem is: `stack.services[api].ports[http]`.
///
/// Built from the stack's name with [`Path::stack`] or [`Path::service`], then
/// [`field`](Path::field)s and [`key`](Path::key)s; it compares equal to its text.
///
/// ```
/// use stackdsl::diagnostics::Path;
/// let p = Path::service("shop", "api").field("ports").key("http");
/// assert_eq!(p, "shop.services[api].ports[http]");
/// assert_eq!(p.stack_name(), "shop");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path(String);

impl Path {
    /// The stack itself.
    pub fn stack(name: &str) -> Path {
        Path(name.to_owned())
    }

    /// A service of a stack: `<stack>.services[<service>]`.
    pub fn service(stack: &str, service: &str) -> Path {
        Path(format!("{stack}.services[{service}]"))
    }

    /// A field below this path: `<path>.<name>`.
    #[must_use]
    pub fn field(mut self, name: &str) -> Path {
        self.0.push('.');
        self.0.push_str(name);
        self
    }

    /// An element of a list or map below this path: `<path>[<key>]`.
    #[must_use]
    pub fn key(mut self, key: impl fmt::Display) -> Path {
        use fmt::Write as _;
        let _ = write!(self.0, "[{key}]");
        self
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stack the path starts at.
    pub fn stack_name(&self) -> &str {
        let end = self.0.find(['.', '[']).unwrap_or(self.0.len());
        &self.0[..end]
    }
}

impl std::ops::Deref for Path {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Path {
    fn from(s: String) -> Path {
        Path(s)
    }
}

impl From<&String> for Path {
    fn from(s: &String) -> Path {
        Path(s.clone())
    }
}

impl From<&str> for Path {
    fn from(s: &str) -> Path {
        Path(s.to_owned())
    }
}

impl PartialEq<str> for Path {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Path {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Path {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One broken rule: where, what, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Error {
    /// Which rule.
    pub kind: ErrorKind,
    /// Path into the stack, e.g. `shop.services[api].probes.readiness`.
    pub path: Path,
    /// Where the offending part was declared in the user's source, when known.
    pub origin: Option<Origin>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl Error {
    /// A new error.
    pub fn new(
        kind: ErrorKind,
        path: impl Into<Path>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error {
            kind,
            path: path.into(),
            origin: None,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The same error, noting where the offending part was declared.
    #[must_use]
    pub fn at(mut self, origin: Origin) -> Self {
        self.origin = Some(origin);
        self
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

impl std::error::Error for Error {}

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
    pub fn extend(&mut self, other: impl IntoIterator<Item = Error>) {
        self.0.extend(other);
    }

    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), Errors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl FromIterator<Error> for Errors {
    fn from_iter<I: IntoIterator<Item = Error>>(iter: I) -> Self {
        Errors(iter.into_iter().collect())
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

/// What kind of concern a [`Warning`] raises; stable for tests and tooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum WarningKind {
    /// A probe Compose cannot run inside the image (no health-check tool is stated for an
    /// image the stack does not build): the service gets no healthcheck and its dependants
    /// wait for it to start, not to be ready.
    NoHealthCheck,
    /// A backing service installed from a Bitnami chart, chosen explicitly: Bitnami's free
    /// catalog is gone, so its images get no fixes.
    BitnamiChart,
    /// A setting one target cannot express, where its absence does not stop the app from
    /// starting (a ulimit Kubernetes leaves to the node, variables Compose passes from
    /// `.env` that no Kubernetes pod gets): that target's output goes without it.
    TargetGap,
    /// A Compose service mounts a volume Docker creates root-owned, and nothing says which
    /// user its image runs as, so Compose cannot hand the volume to that user.
    VolumeOwner,
    /// A container runs non-root with no stated user, from an image the stack does not
    /// build and whose user the plan does not know: it starts only if the image's `USER`
    /// is a non-zero numeric uid.
    ImageUser,
}

impl WarningKind {
    /// Short kebab-case code shown in messages, e.g. `no-health-check`.
    pub const fn code(self) -> &'static str {
        match self {
            WarningKind::NoHealthCheck => "no-health-check",
            WarningKind::BitnamiChart => "bitnami-chart",
            WarningKind::TargetGap => "target-gap",
            WarningKind::VolumeOwner => "volume-owner",
            WarningKind::ImageUser => "image-user",
        }
    }
}

/// Something that does not stop synthesis but that the user should know: the output is
/// written, and the CLI prints each warning (`warning[<code>]: <path>: <message>`).
///
/// ```
/// use stackdsl::diagnostics::{Path, Warning, WarningKind};
/// let w = Warning::new(
///     WarningKind::NoHealthCheck,
///     Path::service("shop", "api").field("health_tool"),
///     "Compose cannot probe `api`",
///     "state the tool with `.health_tool(…)`",
/// );
/// assert!(w.to_string().starts_with("warning[no-health-check]: shop.services[api].health_tool: "));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Warning {
    /// Which concern.
    pub kind: WarningKind,
    /// Path into the stack.
    pub path: Path,
    /// Where the part was declared in the user's source, when known.
    pub origin: Option<Origin>,
    /// What the output does not do, or what the choice costs.
    pub message: String,
    /// How to address it.
    pub hint: String,
}

impl Warning {
    /// A new warning.
    pub fn new(
        kind: WarningKind,
        path: impl Into<Path>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Warning {
            kind,
            path: path.into(),
            origin: None,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The same warning, noting where the part was declared.
    #[must_use]
    pub fn at(mut self, origin: Origin) -> Self {
        self.origin = Some(origin);
        self
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "warning[{}]: {}: {}\n  hint: {}",
            self.kind.code(),
            self.path,
            self.message,
            self.hint
        )
    }
}
