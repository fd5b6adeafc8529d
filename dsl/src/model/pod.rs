//! How a service's pods are placed, identified and stopped: scheduling (node selectors,
//! tolerations, priority), image pull credentials, the pod's service account and cloud
//! workload identity, and the hook that runs before a container is stopped.
//!
//! Scheduling, pull secrets and the service account are Kubernetes settings (set inside
//! [`ServiceBuilder::kubernetes`](crate::builder::ServiceBuilder::kubernetes)); the stop
//! hook and grace period are the service's own, because Compose renders them too.

use std::collections::BTreeMap;

/// Kubernetes-only settings of a service's pods (set through
/// [`ServiceKubernetes`](crate::builder::ServiceKubernetes)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PodSettings {
    /// Node labels a node must carry to run the pods (`nodeSelector`).
    pub node_selector: BTreeMap<String, String>,
    /// Taints the pods tolerate.
    pub tolerations: Vec<Toleration>,
    /// Secrets holding registry credentials the kubelet pulls the images with.
    pub image_pull_secrets: Vec<PullSecret>,
    /// The PriorityClass of the pods (`priorityClassName`).
    pub priority_class: Option<String>,
    /// The service account, when asked for (hardened stacks render one per service
    /// anyway; see [`ServiceAccount`]).
    pub service_account: Option<ServiceAccount>,
    /// Why the pods keep Kubernetes' service-link variables (`<SERVICE>_PORT=tcp://…` for
    /// every Service of the namespace); `None`, the default, turns them off
    /// (`enableServiceLinks: false`), so they never shadow the app's own variables. Set
    /// with [`ServiceKubernetes::service_links`](crate::builder::ServiceKubernetes::service_links).
    pub service_links: Option<String>,
}

/// What a taint does to pods that do not tolerate it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum TaintEffect {
    /// New pods are not scheduled on the node.
    NoSchedule,
    /// The scheduler avoids the node when it can.
    PreferNoSchedule,
    /// Running pods are evicted (after `tolerationSeconds`, when tolerated for a while).
    NoExecute,
}

impl TaintEffect {
    /// The Kubernetes spelling.
    pub const fn k8s(self) -> &'static str {
        match self {
            TaintEffect::NoSchedule => "NoSchedule",
            TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            TaintEffect::NoExecute => "NoExecute",
        }
    }
}

/// A taint the pods tolerate: a key with a value (`Equal`) or any value (`Exists`), for one
/// effect or all of them.
///
/// ```
/// use stackdsl::model::{TaintEffect, Toleration};
/// let gpu = Toleration::equal("nvidia.com/gpu", "present").effect(TaintEffect::NoSchedule);
/// let spot = Toleration::exists("cloud.google.com/gke-spot");
/// let flaky = Toleration::exists("node.kubernetes.io/unreachable")
///     .effect(TaintEffect::NoExecute)
///     .for_seconds(30);
/// assert_eq!(gpu.value.as_deref(), Some("present"));
/// assert_eq!((spot.value, spot.effect), (None, None));
/// assert_eq!(flaky.seconds, Some(30));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Toleration {
    /// The taint's key.
    pub key: String,
    /// The taint's value (`Equal`); `None`: any value (`Exists`).
    pub value: Option<String>,
    /// The effect tolerated; `None`: every effect.
    pub effect: Option<TaintEffect>,
    /// How long a `NoExecute` taint is tolerated before eviction (`None`: forever).
    pub seconds: Option<u32>,
}

impl Toleration {
    /// Tolerates the taint `key=value`.
    pub fn equal(key: impl Into<String>, value: impl Into<String>) -> Self {
        Toleration {
            key: key.into(),
            value: Some(value.into()),
            effect: None,
            seconds: None,
        }
    }

    /// Tolerates the taint `key` whatever its value.
    pub fn exists(key: impl Into<String>) -> Self {
        Toleration {
            key: key.into(),
            value: None,
            effect: None,
            seconds: None,
        }
    }

    /// Only this effect.
    pub fn effect(mut self, effect: TaintEffect) -> Self {
        self.effect = Some(effect);
        self
    }

    /// Stays this many seconds on a node that gets the (`NoExecute`) taint, then is
    /// evicted.
    pub fn for_seconds(mut self, seconds: u32) -> Self {
        self.seconds = Some(seconds);
        self
    }
}

/// A reference to a Secret of type `kubernetes.io/dockerconfigjson` that the kubelet pulls
/// the service's images with. Like [`SecretRef`](crate::model::SecretRef) it has no value:
/// the cluster owner creates it (the Kubernetes README says how).
///
/// ```
/// use stackdsl::model::PullSecret;
/// let ghcr = PullSecret::new("ghcr-pull").describe("Read-only token for ghcr.io/acme");
/// assert_eq!(ghcr.name, "ghcr-pull");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub struct PullSecret {
    /// The Secret's name.
    pub name: String,
    /// What it holds, for the README.
    pub description: Option<String>,
}

impl PullSecret {
    /// The registry credentials in Secret `name`.
    pub fn new(name: impl Into<String>) -> Self {
        PullSecret {
            name: name.into(),
            description: None,
        }
    }

    /// Says what the credentials are (one line, shown in the README).
    pub fn describe(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// A cloud identity the pods act as, through their Kubernetes service account.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkloadIdentity {
    /// GKE Workload Identity: the Google service account
    /// (`NAME@PROJECT.iam.gserviceaccount.com`), annotated as
    /// `iam.gke.io/gcp-service-account`.
    Gke(String),
    /// EKS IAM roles for service accounts: the role's ARN
    /// (`arn:aws:iam::<account>:role/<name>`), annotated as `eks.amazonaws.com/role-arn`.
    Eks(String),
}

impl WorkloadIdentity {
    /// The ServiceAccount annotation that binds the identity.
    pub fn annotation(&self) -> (&'static str, &str) {
        match self {
            WorkloadIdentity::Gke(sa) => ("iam.gke.io/gcp-service-account", sa),
            WorkloadIdentity::Eks(arn) => ("eks.amazonaws.com/role-arn", arn),
        }
    }
}

/// The Kubernetes ServiceAccount of a service's pods: named after the service, its token
/// not mounted (the pod opts in with
/// [`Security::service_account_token`](crate::model::Security::service_account_token) and a
/// reason), optionally bound to a cloud identity.
///
/// Hardened stacks (the default) render one for every service, so no pod runs as the
/// namespace's `default` account and granting one service a role or a cloud identity
/// touches that service alone; a [`plain`](crate::model::KubernetesOptions::plain) stack
/// renders one only for a service that sets it.
///
/// ```
/// use stackdsl::model::ServiceAccount;
/// let sa = ServiceAccount::new()
///     .gke("ledger@acme-prod.iam.gserviceaccount.com")
///     .annotation("example.com/owner", "payments");
/// assert_eq!(sa.annotations().len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceAccount {
    /// Cloud identities the account is bound to.
    pub identities: Vec<WorkloadIdentity>,
    /// Other annotations, in order.
    pub extra_annotations: Vec<(String, String)>,
}

impl ServiceAccount {
    /// An account with no identity or annotation.
    pub fn new() -> Self {
        ServiceAccount::default()
    }

    /// Acts as the Google service account `email` (GKE Workload Identity). The Google
    /// account must grant `roles/iam.workloadIdentityUser` to
    /// `serviceAccount:<project>.svc.id.goog[<namespace>/<service>]`.
    pub fn gke(mut self, email: impl Into<String>) -> Self {
        self.identities.push(WorkloadIdentity::Gke(email.into()));
        self
    }

    /// Assumes the IAM role `arn` (EKS IAM roles for service accounts). The role's trust
    /// policy must name `system:serviceaccount:<namespace>:<service>`.
    pub fn eks(mut self, arn: impl Into<String>) -> Self {
        self.identities.push(WorkloadIdentity::Eks(arn.into()));
        self
    }

    /// Adds an annotation (another cloud's binding, say). Repeatable.
    pub fn annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_annotations.push((key.into(), value.into()));
        self
    }

    /// Every annotation of the account: identities first, then the others.
    pub fn annotations(&self) -> Vec<(&str, &str)> {
        self.identities
            .iter()
            .map(|i| -> (&str, &str) { i.annotation() })
            .chain(
                self.extra_annotations
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .collect()
    }
}

/// What runs before a container is asked to stop (Kubernetes `preStop`; Compose `pre_stop`).
///
/// ```
/// use stackdsl::model::PreStop;
/// // Keep serving while endpoints and load balancers drop the pod, then get SIGTERM.
/// let drain = PreStop::sleep(5);
/// let flush = PreStop::exec(["/app/flush", "--timeout=10s"]);
/// assert_ne!(drain, flush);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PreStop {
    /// Wait this many seconds (the kubelet's own `sleep` action: no binary needed). It lets
    /// Services and load balancers stop routing to the pod first; Compose has no endpoints
    /// to drain and renders nothing for it.
    Sleep(u32),
    /// Run a command inside the container (both targets run it).
    Exec(Vec<String>),
}

impl PreStop {
    /// Waits `seconds` before the container is signalled.
    pub fn sleep(seconds: u32) -> Self {
        PreStop::Sleep(seconds)
    }

    /// Runs `argv` in the container before it is signalled.
    pub fn exec<I: IntoIterator<Item = T>, T: Into<String>>(argv: I) -> Self {
        PreStop::Exec(argv.into_iter().map(Into::into).collect())
    }

    /// Seconds the hook is known to take (a sleep's length; 0 for a command).
    pub fn seconds(&self) -> u32 {
        match self {
            PreStop::Sleep(s) => *s,
            PreStop::Exec(_) => 0,
        }
    }
}
