//! Backing services (databases, caches, brokers): what a Helm release needs to install one.
//! The catalog ([`crate::catalog`]) fills these in; renderers read them.

use std::collections::BTreeMap;

use super::SecretRef;

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
    /// The values (never secrets: those go through [`BackingSpec::sensitive`]).
    pub values: serde_json::Value,
}

/// What a backing service is, so targets with a managed equivalent (Render's Postgres
/// databases and Key Value instances) can use it instead of running the container.
///
/// ```
/// use stackdsl::prelude::*;
/// use stackdsl::catalog::Postgres;
/// use stackdsl::model::BackingKind;
/// let mut s = Stack::new("shop", Env::Prod);
/// let pg = s.backing(Postgres::new("shop", SecretRef::new("shop-secrets", "pg")));
/// let spec = s.service(pg.service.name()).and_then(|svc| svc.backing.as_ref()).unwrap();
/// assert!(matches!(&spec.kind, BackingKind::Postgres { database, .. } if database == "shop"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackingKind {
    /// PostgreSQL with one role and database of the same name.
    Postgres {
        /// Role and database name.
        database: String,
        /// The role's password.
        password: SecretRef,
        /// Major version, e.g. 17.
        major_version: u32,
    },
    /// Redis with a password.
    Redis {
        /// The password every client sends.
        password: SecretRef,
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

/// How a backing service is installed where a stack renders Terraform: a Helm release of a
/// pinned chart, values split by concern, and the secret values passed to Helm as
/// sensitive Terraform variables.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BackingSpec {
    /// What it is.
    pub kind: BackingKind,
    /// The chart.
    pub chart: HelmChart,
    /// Values files, in the order Helm merges them.
    pub values: Vec<ValuesFile>,
    /// Chart values set from secrets: `(helm path, secret)`.
    pub sensitive: Vec<(String, SecretRef)>,
    /// Suffix the chart appends to the release's Service name (`-master` for Redis).
    pub host_suffix: String,
    /// Labels of the chart's pods (for NetworkPolicies written around them).
    pub pod_labels: BTreeMap<String, String>,
    /// How CI runs it as a service container for tests, if it can.
    pub ci: Option<CiService>,
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
