//! Environment values: literals, configuration, secret references and derived values.

use std::borrow::Cow;

use heck::ToShoutySnakeCase;

use super::{AppProtocol, Endpoint, ServiceRef};

/// One environment variable of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Its value.
    pub value: EnvValue,
    /// Set by [`ServiceBuilder::env_not_secret`](crate::builder::ServiceBuilder::env_not_secret):
    /// a literal whose name looks like a secret was declared not to be one, with this reason.
    pub not_secret: Option<String>,
}

/// The value of an environment variable.
///
/// `&str`/`String` convert to [`EnvValue::Plain`], [`SecretRef`] to [`EnvValue::Secret`],
/// [`Url`] and [`Template`] to [`EnvValue::Template`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvValue {
    /// A literal, written inline in every target.
    Plain(String),
    /// Non-secret configuration: inline in Compose, a ConfigMap key in Kubernetes.
    Config(String),
    /// A reference to a secret; no target ever sees a value.
    Secret(SecretRef),
    /// A value assembled from literals, other services' hosts and ports, and secrets.
    Template(Template),
}

impl EnvValue {
    /// The services this value points at (for derived dependencies).
    pub fn services(&self) -> Vec<&ServiceRef> {
        match self {
            EnvValue::Template(t) => t.services(),
            _ => Vec::new(),
        }
    }

    /// The secrets this value references.
    pub fn secrets(&self) -> Vec<&SecretRef> {
        match self {
            EnvValue::Secret(s) => vec![s],
            EnvValue::Template(t) => t.secrets(),
            _ => Vec::new(),
        }
    }
}

impl From<&str> for EnvValue {
    fn from(s: &str) -> Self {
        EnvValue::Plain(s.to_owned())
    }
}

impl From<String> for EnvValue {
    fn from(s: String) -> Self {
        EnvValue::Plain(s)
    }
}

impl From<&String> for EnvValue {
    fn from(s: &String) -> Self {
        EnvValue::Plain(s.clone())
    }
}

macro_rules! env_from_number {
    ($($t:ty),*) => {$(
        impl From<$t> for EnvValue {
            fn from(n: $t) -> Self {
                EnvValue::Plain(n.to_string())
            }
        }
    )*};
}
env_from_number!(u16, u32, u64, i32, i64, usize);

impl From<SecretRef> for EnvValue {
    fn from(s: SecretRef) -> Self {
        EnvValue::Secret(s)
    }
}

impl From<&SecretRef> for EnvValue {
    fn from(s: &SecretRef) -> Self {
        EnvValue::Secret(s.clone())
    }
}

impl From<Template> for EnvValue {
    fn from(t: Template) -> Self {
        EnvValue::Template(t)
    }
}

impl From<Url> for EnvValue {
    fn from(u: Url) -> Self {
        EnvValue::Template(u.template())
    }
}

impl From<&Endpoint> for EnvValue {
    /// The endpoint's `host:port`.
    fn from(e: &Endpoint) -> Self {
        EnvValue::Template(Template::host_port(e))
    }
}

/// A reference to one key of a secret the operator provides. It has no value, so no
/// target can write one: Kubernetes renders a `secretKeyRef`, Compose a required
/// `${VAR:?…}` interpolation listed in `.env.example`, CI `${{ secrets.VAR }}`.
///
/// ```
/// use stackdsl::prelude::*;
/// let jwt = SecretRef::new("tsdev-secrets", "jwt-signing-key").describe("HMAC key for session tokens");
/// assert_eq!(jwt.var(), "TSDEV_SECRETS_JWT_SIGNING_KEY");
/// assert_eq!(jwt.clone().var_name("JWT_SECRET").var(), "JWT_SECRET");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretRef {
    name: String,
    key: String,
    var: Option<String>,
    description: Option<String>,
}

impl SecretRef {
    /// Key `key` of the secret named `name` (a Kubernetes Secret the cluster owner creates).
    pub fn new(name: impl Into<String>, key: impl Into<String>) -> Self {
        SecretRef {
            name: name.into(),
            key: key.into(),
            var: None,
            description: None,
        }
    }

    /// Names the variable that carries the secret outside Kubernetes (Compose `.env`, CI
    /// secrets). Defaults to `NAME_KEY` in shouty snake case.
    pub fn var_name(mut self, var: impl Into<String>) -> Self {
        self.var = Some(var.into());
        self
    }

    /// A one-line description for `.env.example` and the list of required secrets.
    pub fn describe(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// The Secret's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key inside the Secret.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The variable name outside Kubernetes.
    pub fn var(&self) -> String {
        match &self.var {
            Some(v) => v.clone(),
            None => format!("{}_{}", self.name, self.key).to_shouty_snake_case(),
        }
    }

    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
}

/// A Secret the operator creates outside stackdsl, named once: [`key`](Self::key) makes
/// the [`SecretRef`] to one of its keys. A stack declares its Secret as a constant beside
/// its registry and version, and every password, token and key of the stack comes from it,
/// so the Secret's name is written once and the keys read as a list.
///
/// With [`var_prefix`](Self::var_prefix), the variables that carry the keys outside
/// Kubernetes (Compose `.env`, CI secrets) are named `<PREFIX>_<KEY>` instead of
/// `<SECRET>_<KEY>`; one key can still be renamed with [`SecretRef::var_name`]. A Secret
/// whose name is only known at run time is referenced with [`SecretRef::new`].
///
/// ```
/// use stackdsl::prelude::*;
///
/// const SECRETS: Secrets = Secrets::external("shop-secrets");
/// let db = SECRETS.key("db-password").describe("Password of the shop role");
/// assert_eq!(db, SecretRef::new("shop-secrets", "db-password").describe("Password of the shop role"));
/// assert_eq!(db.var(), "SHOP_SECRETS_DB_PASSWORD");
/// assert_eq!(SECRETS.key("jwt").var_name("JWT_SECRET").var(), "JWT_SECRET");
///
/// const UPLOADER: Secrets = Secrets::external("shop-backup-s3").var_prefix("SHOP_BACKUP");
/// assert_eq!(UPLOADER.key("access-key-id").var(), "SHOP_BACKUP_ACCESS_KEY_ID");
/// assert_eq!(UPLOADER.key("access-key-id").name(), "shop-backup-s3");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Secrets {
    name: &'static str,
    var_prefix: Option<&'static str>,
}

impl Secrets {
    /// The Secret named `name` (a Kubernetes Secret the cluster owner creates).
    pub const fn external(name: &'static str) -> Secrets {
        Secrets {
            name,
            var_prefix: None,
        }
    }

    /// Names the keys' variables outside Kubernetes `<PREFIX>_<KEY>` (shouty snake case)
    /// instead of `<SECRET>_<KEY>`.
    pub const fn var_prefix(self, prefix: &'static str) -> Secrets {
        Secrets {
            name: self.name,
            var_prefix: Some(prefix),
        }
    }

    /// A reference to key `key` of this Secret; describe it with [`SecretRef::describe`].
    pub fn key(&self, key: impl Into<String>) -> SecretRef {
        let secret = SecretRef::new(self.name, key);
        match self.var_prefix {
            Some(prefix) => {
                let var = format!("{prefix}_{}", secret.key).to_shouty_snake_case();
                secret.var_name(var)
            }
            None => secret,
        }
    }

    /// The Secret's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

/// One piece of a [`Template`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// Literal text.
    Text(String),
    /// The host name of a service (its name in Compose and Kubernetes).
    Host(ServiceRef),
    /// The port number a client uses for an endpoint: the container port in Compose, the
    /// Service port in Kubernetes.
    Port(Endpoint),
    /// A secret, spliced in by reference (`${VAR}` in Compose, `$(VAR)` in Kubernetes).
    Secret(SecretRef),
}

/// A string assembled from literal text, service hosts and ports, and secret references.
/// Each target resolves the parts its own way, so one declaration gives the right value
/// everywhere.
///
/// ```
/// use stackdsl::prelude::*;
/// let pg = Port::tcp("postgres", 5432);
/// let mut s = Stack::new("shop", Env::Dev);
/// let db = s.add(Service::new("db").image(Image::new("postgres").tag("17.2")).port(pg));
/// let t = Template::new().text("host=").host(&db).text(" port=").port(&db.endpoint(pg));
/// assert_eq!(t.preview(), "host=db port=5432");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// An empty template.
    pub fn new() -> Self {
        Template::default()
    }

    /// `host:port` of an endpoint.
    pub fn host_port(e: &Endpoint) -> Self {
        Template::new().host(&e.service).text(":").port(e)
    }

    /// Appends literal text.
    pub fn text(mut self, s: impl Into<String>) -> Self {
        let s = s.into();
        if let Some(Part::Text(prev)) = self.parts.last_mut() {
            prev.push_str(&s);
        } else if !s.is_empty() {
            self.parts.push(Part::Text(s));
        }
        self
    }

    /// Appends a service's host name.
    pub fn host(mut self, service: &ServiceRef) -> Self {
        self.parts.push(Part::Host(service.clone()));
        self
    }

    /// Appends an endpoint's port number.
    pub fn port(mut self, endpoint: &Endpoint) -> Self {
        self.parts.push(Part::Port(endpoint.clone()));
        self
    }

    /// Appends a secret reference.
    pub fn secret(mut self, secret: &SecretRef) -> Self {
        self.parts.push(Part::Secret(secret.clone()));
        self
    }

    /// The parts in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    pub(crate) fn parts_mut(&mut self) -> &mut [Part] {
        &mut self.parts
    }

    /// Services the template points at.
    pub fn services(&self) -> Vec<&ServiceRef> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Host(s) => Some(s),
                Part::Port(e) => Some(&e.service),
                _ => None,
            })
            .collect()
    }

    /// Secrets the template references.
    pub fn secrets(&self) -> Vec<&SecretRef> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Secret(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    /// Resolves every part with `f` and concatenates the results.
    pub fn render<'a>(&'a self, mut f: impl FnMut(&'a Part) -> Cow<'a, str>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            out.push_str(&f(p));
        }
        out
    }

    /// A human-readable resolution (container ports, `${VAR}` for secrets), for docs and
    /// error messages.
    pub fn preview(&self) -> String {
        self.render(|p| match p {
            Part::Text(t) => Cow::Borrowed(t.as_str()),
            Part::Host(s) => Cow::Borrowed(s.name()),
            Part::Port(e) => Cow::Owned(e.port.number.to_string()),
            Part::Secret(s) => Cow::Owned(format!("${{{}}}", s.var())),
        })
    }
}

/// A URL to an [`Endpoint`], built from typed parts; converts into an environment value.
///
/// ```
/// use stackdsl::prelude::*;
/// let pg = Port::tcp("postgres", 5432);
/// let mut s = Stack::new("shop", Env::Dev);
/// let db = s.add(Service::new("db").image(Image::new("postgres").tag("17.2")).port(pg));
/// let pw = SecretRef::new("db", "password");
/// let url = db.endpoint(pg).url().scheme("postgresql").user("shop").password(&pw).path("/shop");
/// assert_eq!(url.template().preview(), "postgresql://shop:${DB_PASSWORD}@db:5432/shop");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    endpoint: Endpoint,
    scheme: Option<String>,
    user: Option<String>,
    password: Option<SecretRef>,
    path: String,
}

impl Url {
    pub(crate) fn new(endpoint: Endpoint) -> Self {
        Url {
            endpoint,
            scheme: None,
            user: None,
            password: None,
            path: String::new(),
        }
    }

    /// Sets the scheme (`postgresql`, `redis`, `amqp`, …).
    pub fn scheme(mut self, scheme: impl Into<String>) -> Self {
        self.scheme = Some(scheme.into());
        self
    }

    /// Sets the user name.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Sets the password, by reference.
    pub fn password(mut self, password: &SecretRef) -> Self {
        self.password = Some(password.clone());
        self
    }

    /// Appends to the path (include the leading `/`).
    pub fn path(mut self, path: impl AsRef<str>) -> Self {
        self.path.push_str(path.as_ref());
        self
    }

    /// The endpoint the URL points at.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The URL as a template.
    pub fn template(&self) -> Template {
        let scheme = match &self.scheme {
            Some(s) => s.as_str(),
            None => match self.endpoint.port.app {
                AppProtocol::Http | AppProtocol::Grpc => "http",
                AppProtocol::Tcp => "tcp",
                AppProtocol::Udp => "udp",
            },
        };
        let mut t = Template::new().text(format!("{scheme}://"));
        match (&self.user, &self.password) {
            (Some(u), Some(p)) => t = t.text(format!("{u}:")).secret(p).text("@"),
            (Some(u), None) => t = t.text(format!("{u}@")),
            (None, Some(p)) => t = t.text(":").secret(p).text("@"),
            (None, None) => {}
        }
        t.host(&self.endpoint.service)
            .text(":")
            .port(&self.endpoint)
            .text(self.path.clone())
    }
}
