//! Backing services (databases, caches, brokers): what installs one where a stack renders
//! Terraform. The catalog ([`crate::catalog`]) fills these in; renderers read them.
//!
//! A backing service is installed one of two ways ([`Install`]):
//!
//! - a Helm release of a chart that runs the service itself ([`Release`]: Valkey's and
//!   NATS's own charts, or a Bitnami chart chosen explicitly), in the stack's namespace;
//! - an [`Operator`] (installed once per cluster by Terraform) and the
//!   [`CustomResource`]s that ask it for the service, which the Kubernetes manifests carry
//!   in the stack's namespace (CloudNativePG's `Cluster`, Strimzi's `Kafka`, …).
//!
//! Either way the Kubernetes manifests leave the service's own workload out, consumers
//! reach the Service named by [`BackingSpec::host`], and NetworkPolicies select the pods by
//! [`BackingSpec::pod_labels`].

use std::collections::BTreeMap;

use super::{SecretRef, Template};

/// A pinned Helm chart.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HelmChart {
    /// Repository URL (`https://…` or `oci://…`).
    pub repository: String,
    /// Chart name.
    pub chart: String,
    /// Exact chart version.
    pub version: String,
}

impl HelmChart {
    /// A chart at an exact version.
    pub fn new(
        repository: impl Into<String>,
        chart: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        HelmChart {
            repository: repository.into(),
            chart: chart.into(),
            version: version.into(),
        }
    }
}

/// One small values file of a release, named after its concern (`topology`, `resources`…).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValuesFile {
    /// Concern, used in the file name `<release>-<concern>.yaml`.
    pub concern: String,
    /// The values (never secrets: those go through [`Release::sensitive`] or a Secret the
    /// chart reads).
    pub values: serde_json::Value,
}

impl ValuesFile {
    /// Values for one concern.
    pub fn new(concern: impl Into<String>, values: serde_json::Value) -> Self {
        ValuesFile {
            concern: concern.into(),
            values,
        }
    }
}

/// What a backing service is, so targets with a managed equivalent (Render's Postgres
/// databases and Key Value instances) can use it instead of running the container.
///
/// ```
/// use stackdsl::prelude::*;
/// use stackdsl::catalog::Postgres;
/// use stackdsl::model::BackingKind;
/// let mut s = Stack::new("shop", Env::Prod);
/// let pg = s.backing(Postgres::new("shop", SecretRef::new("shop-secrets", "pg")).user("app"));
/// let spec = s.service(pg.service.name()).and_then(|svc| svc.backing.as_ref()).unwrap();
/// assert!(matches!(&spec.kind, BackingKind::Postgres { database, user, .. } if database == "shop" && user == "app"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackingKind {
    /// PostgreSQL with one database and the role that owns it.
    Postgres {
        /// Database name.
        database: String,
        /// The role that owns it and that clients log in as.
        user: String,
        /// The role's password.
        password: SecretRef,
        /// Major version, e.g. 18.
        major_version: u32,
    },
    /// Redis or a compatible server (Valkey by default).
    Redis {
        /// How clients authenticate.
        auth: Auth,
    },
    /// MongoDB.
    MongoDb,
    /// RabbitMQ.
    RabbitMq,
    /// NATS.
    Nats,
    /// Apache Kafka.
    Kafka,
}

impl BackingKind {
    /// The product's name in messages.
    pub fn product(&self) -> &'static str {
        match self {
            BackingKind::Postgres { .. } => "PostgreSQL",
            BackingKind::Redis { .. } => "Redis",
            BackingKind::MongoDb => "MongoDB",
            BackingKind::RabbitMq => "RabbitMQ",
            BackingKind::Nats => "NATS",
            BackingKind::Kafka => "Kafka",
        }
    }
}

/// How clients authenticate to a backing service.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// Every client sends this password.
    Password(SecretRef),
    /// No password, by the stack's explicit choice: only the network (NetworkPolicies in
    /// Kubernetes) fences the service.
    NoPassword {
        /// Why none is needed, as the stack said it.
        reason: String,
    },
}

impl Auth {
    /// The password, if there is one.
    pub fn password(&self) -> Option<&SecretRef> {
        match self {
            Auth::Password(p) => Some(p),
            Auth::NoPassword { .. } => None,
        }
    }
}

/// How a backing service is installed where a stack renders Terraform, and how the rest of
/// the stack reaches it there.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackingSpec {
    /// What it is.
    pub kind: BackingKind,
    /// How Terraform (and, for an operator's custom resources, the manifests) install it.
    pub install: Install,
    /// The Service clients use in the namespace where it is installed this way: the
    /// release's or the operator's Service, e.g. `postgres-rw`, `kafka-kafka-bootstrap`.
    pub host: String,
    /// Labels of the pods that serve it (for NetworkPolicies written around them).
    pub pod_labels: BTreeMap<String, String>,
    /// Secrets the chart or operator reads as they are (a key of a Secret the stack
    /// references elsewhere too).
    pub reads: Vec<SecretRef>,
    /// Secrets the chart or operator needs in a fixed shape of its own, filled from the
    /// stack's secrets (CloudNativePG's `kubernetes.io/basic-auth` credentials).
    pub shaped_secrets: Vec<ShapedSecret>,
    /// How CI runs it as a service container for tests, if it can.
    pub ci: Option<CiService>,
    /// Why Terraform cannot install it as declared (a choice the chart does not support):
    /// validation reports it where the stack renders Terraform.
    pub not_installable: Option<String>,
}

/// How Terraform installs a backing service.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Install {
    /// A Helm release of a chart that runs the service, in the stack's namespace, named
    /// after the service.
    Chart(Release),
    /// An operator, and the custom resources (in the stack's namespace) it turns into the
    /// service.
    Operator(Operated),
}

impl Install {
    /// A word for where the service comes from, for tables and diagrams (`Helm`,
    /// `Operator`).
    pub fn label(&self) -> &'static str {
        match self {
            Install::Chart(_) => "Helm",
            Install::Operator(_) => "Operator",
        }
    }
}

/// A Helm release: a pinned chart, its values by concern, and values set from secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Release {
    /// The chart.
    pub chart: HelmChart,
    /// Values files, in the order Helm merges them.
    pub values: Vec<ValuesFile>,
    /// Chart values set from secrets, `(helm path, secret)`: Terraform passes them as
    /// sensitive variables.
    pub sensitive: Vec<(String, SecretRef)>,
    /// Chart values that name one of the stack's Secrets or a key of it (never a value),
    /// `(helm path, name)`: Terraform sets them beside the values files. They are names, but
    /// secret scanners (detect-secrets, checkov) take any `…Secret:` or `password…:` key of
    /// a YAML file for a secret, so they stay out of the values files.
    pub secret_names: Vec<(String, String)>,
}

impl Release {
    /// A release of `chart` with `values`, no secret values.
    pub fn new(chart: HelmChart, values: Vec<ValuesFile>) -> Self {
        Release {
            chart,
            values,
            sensitive: Vec::new(),
            secret_names: Vec::new(),
        }
    }

    /// Also sets the chart value at `path` from `secret`.
    #[must_use]
    pub fn sensitive(mut self, path: impl Into<String>, secret: SecretRef) -> Self {
        self.sensitive.push((path.into(), secret));
        self
    }

    /// Also sets the chart value at `path` to `name`, the name of a Secret or of a key of
    /// one the chart reads.
    #[must_use]
    pub fn secret_name(mut self, path: impl Into<String>, name: impl Into<String>) -> Self {
        self.secret_names.push((path.into(), name.into()));
        self
    }
}

/// A service an operator runs: the operator, the custom resources asking for the service,
/// and what its pods need from the network and the namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operated {
    /// The operator (shared by every service of the stack it manages).
    pub operator: Operator,
    /// The custom resources, in apply order.
    pub resources: Vec<CustomResource>,
    /// The managed pods call the Kubernetes API server (CloudNativePG's instance manager,
    /// MongoDB's agent); their NetworkPolicy admits it.
    pub api_server: bool,
    /// The ServiceAccount the managed pods run as, which must exist in the stack's
    /// namespace with these permissions (MongoDB's database pods).
    pub service_account: Option<ServiceAccountGrant>,
}

/// An operator, installed once per cluster in its own namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operator {
    /// Short name: the Helm release and Terraform resource name (`cnpg`,
    /// `strimzi-kafka-operator`).
    pub name: String,
    /// The product, in READMEs (`CloudNativePG`).
    pub product: String,
    /// The operator's namespace.
    pub namespace: String,
    /// Where it is installed from.
    pub source: OperatorSource,
    /// Labels of the operator's pods.
    pub pod_labels: BTreeMap<String, String>,
    /// Ports of the managed pods the operator connects to (status endpoints, admin
    /// listeners).
    pub ports: Vec<u16>,
}

/// Where an operator is installed from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OperatorSource {
    /// A Helm chart (installed by a `helm_release`).
    Chart(Release),
    /// The operator's own release manifest at a pinned URL (a project that publishes no
    /// Helm chart), applied object by object with `kubernetes_manifest`.
    Manifest {
        /// The manifest's URL, pinned to a release.
        url: String,
        /// The release, for READMEs.
        version: String,
    },
}

/// A custom resource of an operator's API, in the stack's namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CustomResource {
    /// `group/version`, e.g. `postgresql.cnpg.io/v1`.
    pub api_version: String,
    /// Kind, e.g. `Cluster`.
    pub kind: String,
    /// Object name.
    pub name: String,
    /// Labels the operator reads (Strimzi's `strimzi.io/cluster` on a node pool), besides
    /// the stack's own.
    pub labels: BTreeMap<String, String>,
    /// The `spec`.
    pub spec: serde_json::Value,
}

impl CustomResource {
    /// A resource of `kind` named `name`.
    pub fn new(
        api_version: impl Into<String>,
        kind: impl Into<String>,
        name: impl Into<String>,
        spec: serde_json::Value,
    ) -> Self {
        CustomResource {
            api_version: api_version.into(),
            kind: kind.into(),
            name: name.into(),
            labels: BTreeMap::new(),
            spec,
        }
    }

    /// Adds a label.
    #[must_use]
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}

/// A ServiceAccount with a namespaced Role.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceAccountGrant {
    /// The ServiceAccount's (and its Role's and RoleBinding's) name.
    pub name: String,
    /// The Role's rules.
    pub rules: Vec<RoleRule>,
}

/// One rule of a Role: verbs on resources of an API group.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoleRule {
    /// API group (`""` for the core group).
    pub api_group: String,
    /// Resources, e.g. `pods`.
    pub resources: Vec<String>,
    /// Verbs, e.g. `get`.
    pub verbs: Vec<String>,
}

impl RoleRule {
    /// `verbs` on `resources` of `api_group`.
    pub fn new(api_group: &str, resources: &[&str], verbs: &[&str]) -> Self {
        RoleRule {
            api_group: api_group.to_owned(),
            resources: resources.iter().map(|r| (*r).to_owned()).collect(),
            verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        }
    }
}

/// A Secret in the shape a chart or operator requires, each key's value assembled from
/// literal text and the stack's secret references (never a value): the Kubernetes README
/// tells the cluster owner how to create it from the same variables.
///
/// ```
/// use stackdsl::prelude::*;
/// use stackdsl::model::ShapedSecret;
/// let pw = SecretRef::new("shop-secrets", "postgres-password");
/// let creds = ShapedSecret::new("postgres-credentials")
///     .kind("kubernetes.io/basic-auth")
///     .key("username", Template::new().text("shop"))
///     .key("password", Template::new().secret(&pw));
/// assert_eq!(creds.secrets(), [&pw]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShapedSecret {
    /// The Secret's name.
    pub name: String,
    /// Its `type`, when the reader requires one (`kubernetes.io/basic-auth`).
    pub kind: Option<String>,
    /// Keys and how each value is assembled, in order.
    pub data: Vec<(String, Template)>,
}

impl ShapedSecret {
    /// A Secret named `name` with no keys yet.
    pub fn new(name: impl Into<String>) -> Self {
        ShapedSecret {
            name: name.into(),
            kind: None,
            data: Vec::new(),
        }
    }

    /// Sets the Secret's `type`.
    #[must_use]
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Adds a key.
    #[must_use]
    pub fn key(mut self, key: impl Into<String>, value: Template) -> Self {
        self.data.push((key.into(), value));
        self
    }

    /// The secret references its values are made of, each once, in order.
    pub fn secrets(&self) -> Vec<&SecretRef> {
        let mut out: Vec<&SecretRef> = Vec::new();
        for s in self.data.iter().flat_map(|(_, t)| t.secrets()) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }
}

/// A backing service as a CI service container (GitHub Actions `services:`), which takes
/// an image, environment and health options but no command.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CiService {
    /// Environment of the container; [`CiService::PASSWORD`] stands for the per-run password.
    pub env: Vec<(String, String)>,
    /// `--health-cmd` (shell form).
    pub health_cmd: Option<String>,
    /// Whether the container can require the password; if not, consumers' URLs carry an
    /// empty one in CI.
    pub password: bool,
}

impl CiService {
    /// Placeholder for the password of a CI service container: a per-run value, not a
    /// secret (the container lives for one job on one runner).
    pub const PASSWORD: &'static str = "ci-${{ github.run_id }}-${{ github.run_attempt }}";
}
