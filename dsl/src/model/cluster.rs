//! Clustered nodes: members that find each other through seed addresses and gossip on a
//! cluster port.

use super::{Port, SecretRef};

/// How a cluster's members are managed when they start and stop (Kubernetes
/// `podManagementPolicy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PodManagement {
    /// One member at a time, in order: member 0 (the first seed) is ready before 1 starts.
    #[default]
    OrderedReady,
    /// All at once (faster; seeds must tolerate peers that are not up yet).
    Parallel,
}

/// How a seed address is written in the seeds variable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeedFormat {
    /// `node@host:port` (noex, Erlang-style).
    #[default]
    NameAtHostPort,
    /// `host:port`.
    HostPort,
}

/// A service whose replicas form a cluster: the intent behind a StatefulSet, a headless
/// Service, derived seed addresses, a quorum-safe disruption budget and member-only
/// NetworkPolicies.
///
/// Members are numbered from 0; the first [`seeds`](Self::seeds) members are the seeds every
/// member is told about. Compose renders member 0 as `<name>-seed` and the others as
/// `<name>-worker-<i>`; Kubernetes as the StatefulSet's pods `<name>-<i>`.
///
/// ```
/// use stackdsl::prelude::*;
/// let gossip = Port::tcp("cluster", 4369);
/// let c = Cluster::new(gossip)
///     .secret("CLUSTER_SECRET", &SecretRef::new("noex-secrets", "cluster-secret"))
///     .seeds(1)
///     .graceful_shutdown(30);
/// assert_eq!(c.quorum(5), 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cluster {
    /// The port members talk to each other on.
    pub port: Port,
    /// How many of the first members are seeds (default 1).
    pub seeds: u32,
    /// Variable that receives the comma-separated seed addresses (default `CLUSTER_SEEDS`).
    pub seeds_env: String,
    /// Variable that receives the member's own node name (default `NODE_NAME`).
    pub node_name_env: String,
    /// How seed addresses are written.
    pub seed_format: SeedFormat,
    /// The shared secret members authenticate each other with, and its variable.
    pub secret: Option<(String, SecretRef)>,
    /// Seconds a member gets to leave the cluster on shutdown (default 30).
    pub grace_period: u32,
    /// Seconds a stopping member keeps serving before it is signalled, so endpoints and
    /// peers see it leave first (default 5).
    pub pre_stop_delay: u32,
    /// Start/stop ordering.
    pub pod_management: PodManagement,
    /// Rolling update partition: members below this ordinal keep the old version (canary).
    pub partition: Option<u32>,
    /// Voluntary disruptions must leave at least this many members (default: a majority).
    pub min_available: Option<u32>,
}

impl Cluster {
    /// A cluster whose members talk on `port`.
    pub fn new(port: Port) -> Self {
        Cluster {
            port,
            seeds: 1,
            seeds_env: "CLUSTER_SEEDS".into(),
            node_name_env: "NODE_NAME".into(),
            seed_format: SeedFormat::default(),
            secret: None,
            grace_period: 30,
            pre_stop_delay: 5,
            pod_management: PodManagement::default(),
            partition: None,
            min_available: None,
        }
    }

    /// The first `n` members are seeds.
    pub fn seeds(mut self, n: u32) -> Self {
        self.seeds = n;
        self
    }

    /// Names the seeds variable.
    pub fn seeds_env(mut self, var: impl Into<String>) -> Self {
        self.seeds_env = var.into();
        self
    }

    /// Names the node-name variable.
    pub fn node_name_env(mut self, var: impl Into<String>) -> Self {
        self.node_name_env = var.into();
        self
    }

    /// How seed addresses are written.
    pub fn seed_format(mut self, format: SeedFormat) -> Self {
        self.seed_format = format;
        self
    }

    /// The shared cluster secret, passed as `var` (by reference, as every secret).
    pub fn secret(mut self, var: impl Into<String>, secret: &SecretRef) -> Self {
        self.secret = Some((var.into(), secret.clone()));
        self
    }

    /// Seconds a member gets to leave the cluster on shutdown.
    pub fn graceful_shutdown(mut self, seconds: u32) -> Self {
        self.grace_period = seconds;
        self
    }

    /// Seconds a stopping member keeps serving before it is signalled.
    pub fn pre_stop_delay(mut self, seconds: u32) -> Self {
        self.pre_stop_delay = seconds;
        self
    }

    /// Start/stop ordering.
    pub fn pod_management(mut self, p: PodManagement) -> Self {
        self.pod_management = p;
        self
    }

    /// Canary updates: members below `ordinal` keep the old version.
    pub fn partition(mut self, ordinal: u32) -> Self {
        self.partition = Some(ordinal);
        self
    }

    /// Voluntary disruptions must leave at least `n` members (default: a majority).
    pub fn min_available(mut self, n: u32) -> Self {
        self.min_available = Some(n);
        self
    }

    /// A majority of `nodes`.
    pub fn quorum(&self, nodes: u32) -> u32 {
        nodes / 2 + 1
    }

    /// The disruption floor for `nodes` members: as set, else a majority.
    pub fn min_available_for(&self, nodes: u32) -> u32 {
        self.min_available.unwrap_or_else(|| self.quorum(nodes))
    }
}
