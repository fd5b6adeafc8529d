//! Intents: what the user wants ("autoscale between 2 and 10", "expose with TLS", "harden
//! the container"); targets derive their objects from these.

use super::Window;

/// Restart policy (Compose `restart`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Restart {
    /// Restart unless stopped by the operator (long-running services).
    #[default]
    UnlessStopped,
    /// Always restart.
    Always,
    /// Restart after a non-zero exit.
    OnFailure,
    /// Never restart (one-shot tasks).
    Never,
}

impl Restart {
    /// Compose spelling.
    pub const fn compose(self) -> &'static str {
        match self {
            Restart::UnlessStopped => "unless-stopped",
            Restart::Always => "always",
            Restart::OnFailure => "on-failure",
            Restart::Never => "no",
        }
    }
}

/// Container hardening. Every service starts [`Security::restricted`] (what the
/// Kubernetes "restricted" Pod Security Standard asks, plus a read-only root filesystem and
/// no service-account token); each relaxation takes a reason, which is kept in the model.
///
/// ```
/// use stackdsl::prelude::*;
/// let s = Security::restricted().writable_root_fs("postgres writes its socket and pid under /var/run");
/// assert!(!s.read_only_root_fs);
/// assert_eq!(s.relaxations.len(), 1);
/// assert!(Security::restricted().is_restricted());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Security {
    /// Refuse to start as uid 0 (Kubernetes `runAsNonRoot`).
    pub run_as_non_root: bool,
    /// Fixed uid, when the image's user is not numeric.
    pub run_as_user: Option<u32>,
    /// Fixed primary gid (Kubernetes `runAsGroup`; Compose `user: "<uid>:<gid>"`).
    pub run_as_group: Option<u32>,
    /// Group that owns mounted volumes (Kubernetes `fsGroup`).
    pub fs_group: Option<u32>,
    /// Root filesystem mounted read-only.
    pub read_only_root_fs: bool,
    /// `no-new-privileges` / `allowPrivilegeEscalation: false`.
    pub no_privilege_escalation: bool,
    /// Drop every Linux capability.
    pub drop_all_capabilities: bool,
    /// Capabilities added back after dropping ALL.
    pub add_capabilities: Vec<String>,
    /// The container runtime's default seccomp profile.
    pub seccomp_runtime_default: bool,
    /// Mount a Kubernetes service-account token into the pod.
    pub service_account_token: bool,
    /// Every relaxation with its reason, in the order made.
    pub relaxations: Vec<(Relaxation, String)>,
}

impl Default for Security {
    fn default() -> Self {
        Security::restricted()
    }
}

impl Security {
    /// Non-root, read-only root filesystem, no privilege escalation, all capabilities
    /// dropped, default seccomp profile, no service-account token.
    pub fn restricted() -> Self {
        Security {
            run_as_non_root: true,
            run_as_user: None,
            run_as_group: None,
            fs_group: None,
            read_only_root_fs: true,
            no_privilege_escalation: true,
            drop_all_capabilities: true,
            add_capabilities: Vec::new(),
            seccomp_runtime_default: true,
            service_account_token: false,
            relaxations: Vec::new(),
        }
    }

    /// Does this meet the Kubernetes "restricted" Pod Security Standard?
    pub fn is_restricted(&self) -> bool {
        self.run_as_non_root
            && self.no_privilege_escalation
            && self.drop_all_capabilities
            && self.seccomp_runtime_default
            && self
                .add_capabilities
                .iter()
                .all(|c| c == "NET_BIND_SERVICE")
    }

    fn relax(mut self, what: Relaxation, reason: impl Into<String>) -> Self {
        self.relaxations.push((what, reason.into()));
        self
    }

    /// Only `runAsNonRoot`: every other restriction relaxed, for one `reason`. For
    /// workloads whose platform enforces hardening elsewhere, and for benchmarks.
    pub fn non_root_only(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Security::restricted()
            .writable_root_fs(reason.clone())
            .allow_privilege_escalation(reason.clone())
            .keep_default_capabilities(reason.clone())
            .unconfined_seccomp(reason.clone())
            .service_account_token(reason)
    }

    /// Allows writes to the root filesystem.
    pub fn writable_root_fs(mut self, reason: impl Into<String>) -> Self {
        self.read_only_root_fs = false;
        self.relax(Relaxation::WritableRootFs, reason)
    }

    /// Allows the container to start as root (its entrypoint drops privileges itself).
    pub fn allow_root(mut self, reason: impl Into<String>) -> Self {
        self.run_as_non_root = false;
        self.relax(Relaxation::Root, reason)
    }

    /// Allows privilege escalation (setuid binaries).
    pub fn allow_privilege_escalation(mut self, reason: impl Into<String>) -> Self {
        self.no_privilege_escalation = false;
        self.relax(Relaxation::PrivilegeEscalation, reason)
    }

    /// Keeps the runtime's default capabilities instead of dropping all.
    pub fn keep_default_capabilities(mut self, reason: impl Into<String>) -> Self {
        self.drop_all_capabilities = false;
        self.relax(Relaxation::DefaultCapabilities, reason)
    }

    /// Adds a Linux capability back (e.g. `NET_BIND_SERVICE`).
    pub fn add_capability(mut self, cap: impl Into<String>, reason: impl Into<String>) -> Self {
        let cap = cap.into();
        self.add_capabilities.push(cap.clone());
        self.relax(Relaxation::Capability(cap), reason)
    }

    /// Leaves the seccomp profile to the node's configuration.
    pub fn unconfined_seccomp(mut self, reason: impl Into<String>) -> Self {
        self.seccomp_runtime_default = false;
        self.relax(Relaxation::UnconfinedSeccomp, reason)
    }

    /// Mounts the pod's service-account token (the app talks to the Kubernetes API).
    pub fn service_account_token(mut self, reason: impl Into<String>) -> Self {
        self.service_account_token = true;
        self.relax(Relaxation::ServiceAccountToken, reason)
    }

    /// Runs as a fixed numeric uid (satisfies `runAsNonRoot` for images with named users).
    pub fn run_as_user(mut self, uid: u32) -> Self {
        self.run_as_user = Some(uid);
        self
    }

    /// Runs with primary group `gid` (Kubernetes `runAsGroup`). Compose sets it with the
    /// uid (`user: "<uid>:<gid>"`), so it needs [`run_as_user`](Self::run_as_user) there.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let s = Security::restricted().run_as_user(1000).run_as_group(3000).fs_group(2000);
    /// assert_eq!((s.run_as_user, s.run_as_group, s.fs_group), (Some(1000), Some(3000), Some(2000)));
    /// ```
    pub fn run_as_group(mut self, gid: u32) -> Self {
        self.run_as_group = Some(gid);
        self
    }

    /// Makes mounted volumes group-owned by `gid` (Kubernetes `fsGroup`; Compose has no
    /// counterpart: the image's volumes keep their ownership).
    pub fn fs_group(mut self, gid: u32) -> Self {
        self.fs_group = Some(gid);
        self
    }
}

/// One way a service's [`Security`] is weaker than [`Security::restricted`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Relaxation {
    /// Writable root filesystem.
    WritableRootFs,
    /// May start as root.
    Root,
    /// Privilege escalation allowed.
    PrivilegeEscalation,
    /// The runtime's default capabilities kept.
    DefaultCapabilities,
    /// A capability added back.
    Capability(String),
    /// No seccomp profile set.
    UnconfinedSeccomp,
    /// Service-account token mounted.
    ServiceAccountToken,
}

impl std::fmt::Display for Relaxation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Relaxation::WritableRootFs => f.write_str("writable root filesystem"),
            Relaxation::Root => f.write_str("may start as root"),
            Relaxation::PrivilegeEscalation => f.write_str("privilege escalation"),
            Relaxation::DefaultCapabilities => f.write_str("default capabilities kept"),
            Relaxation::Capability(c) => write!(f, "capability {c}"),
            Relaxation::UnconfinedSeccomp => f.write_str("no seccomp profile"),
            Relaxation::ServiceAccountToken => f.write_str("service-account token mounted"),
        }
    }
}

/// How a service's configuration values ([`ServiceBuilder::config`](crate::builder::ServiceBuilder::config))
/// reach its container in Kubernetes. Either way they are the data of the service's
/// ConfigMap `<service>-config`; Compose, which has no ConfigMaps, always passes them as
/// environment variables.
///
/// ```
/// use stackdsl::prelude::*;
/// let b = Service::new("api")
///     .image(Image::new("acme/api").tag("1.0"))
///     .config("LOG_LEVEL", "info")
///     .kubernetes(|k| k.config_map_use(ConfigMapUse::ReadByApp));
/// assert_eq!(b.peek().config_map_use, ConfigMapUse::ReadByApp);
/// assert_eq!(ConfigMapUse::default(), ConfigMapUse::EnvKeyRefs);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigMapUse {
    /// Each value is an environment variable of the container, read from the ConfigMap
    /// (`valueFrom.configMapKeyRef`), in declaration order among the other variables.
    #[default]
    EnvKeyRefs,
    /// The ConfigMap is published and the pod does not reference it: the application reads
    /// it itself, through the Kubernetes API (Spring Cloud Kubernetes, a config reloader)
    /// or a tool of the cluster's platform. The container gets no variable for these values.
    ReadByApp,
}

/// How a Deployment replaces its pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rollout {
    /// Start up to `max_surge` new pods before stopping old ones, never more than
    /// `max_unavailable` below the desired count.
    Rolling {
        /// Extra pods during the rollout.
        max_surge: u32,
        /// Pods that may be missing during the rollout.
        max_unavailable: u32,
    },
    /// Stop every old pod before starting new ones (single-writer volumes).
    Recreate,
}

impl Rollout {
    /// A rolling update.
    pub fn rolling(max_surge: u32, max_unavailable: u32) -> Self {
        Rollout::Rolling {
            max_surge,
            max_unavailable,
        }
    }
}

/// How replicas of a service are spread over nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Spread {
    /// Topology spread constraints across nodes (`kubernetes.io/hostname`), best effort.
    AcrossNodes,
    /// Topology spread across zones (`topology.kubernetes.io/zone`), best effort.
    AcrossZones,
    /// Preferred pod anti-affinity on `kubernetes.io/hostname` with weight 100.
    AntiAffinity,
    /// No spreading rules.
    None,
}

/// How many replicas voluntary disruptions (drains, upgrades) may take down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disruption {
    /// Keep at least this many running.
    MinAvailable(u32),
    /// Take down at most this many at once.
    MaxUnavailable(u32),
    /// No PodDisruptionBudget.
    None,
}

/// Egress to something outside the stack (the internet, an external database).
///
/// ```
/// use stackdsl::prelude::*;
/// let e = Egress::internet().port(443);
/// assert_eq!(e.ports, [443]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Egress {
    /// Destination network.
    pub cidr: String,
    /// Networks excluded from `cidr`.
    pub except: Vec<String>,
    /// TCP ports (empty: all).
    pub ports: Vec<u16>,
}

impl Egress {
    /// Public internet addresses (private ranges excluded).
    pub fn internet() -> Self {
        Egress {
            cidr: "0.0.0.0/0".into(),
            except: vec![
                "10.0.0.0/8".into(),
                "172.16.0.0/12".into(),
                "192.168.0.0/16".into(),
            ],
            ports: Vec::new(),
        }
    }

    /// A specific network.
    pub fn cidr(cidr: impl Into<String>) -> Self {
        Egress {
            cidr: cidr.into(),
            except: Vec::new(),
            ports: Vec::new(),
        }
    }

    /// Only this TCP port (repeatable).
    pub fn port(mut self, port: u16) -> Self {
        self.ports.push(port);
        self
    }
}

/// Horizontal autoscaling between `min` and `max` replicas on CPU and/or memory utilisation.
///
/// Kubernetes renders a HorizontalPodAutoscaler; the PaaS platforms their own scaling
/// settings from the bounds. How fast the count may move ([`scale_up`](Self::scale_up),
/// [`scale_down`](Self::scale_down)) is the HPA's `behavior`.
///
/// ```
/// use stackdsl::prelude::*;
/// let a = Autoscale::between(3, 20)
///     .cpu(70)
///     .memory(80)
///     .scale_up(Scaling::percent(50).every(Window::minutes(1)).stabilized_over(Window::minutes(1)))
///     .scale_down(Scaling::percent(10).every(Window::minutes(1)).stabilized_over(Window::minutes(5)));
/// assert_eq!((a.min, a.max, a.cpu, a.memory), (3, 20, Some(70), Some(80)));
/// assert_eq!(a.scale_down.unwrap().stabilization, Some(Window::minutes(5)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Autoscale {
    /// Minimum replicas.
    pub min: u32,
    /// Maximum replicas.
    pub max: u32,
    /// Target average CPU utilisation, percent of requests.
    pub cpu: Option<u32>,
    /// Target average memory utilisation, percent of requests.
    pub memory: Option<u32>,
    /// How fast replicas are added (`None`: the Kubernetes default).
    pub scale_up: Option<Scaling>,
    /// How fast replicas are removed (`None`: the Kubernetes default).
    pub scale_down: Option<Scaling>,
}

impl Autoscale {
    /// Between `min` and `max` replicas.
    pub fn between(min: u32, max: u32) -> Self {
        Autoscale {
            min,
            max,
            cpu: None,
            memory: None,
            scale_up: None,
            scale_down: None,
        }
    }

    /// Target CPU utilisation (percent of requests).
    pub fn cpu(mut self, percent: u32) -> Self {
        self.cpu = Some(percent);
        self
    }

    /// Target memory utilisation (percent of requests).
    pub fn memory(mut self, percent: u32) -> Self {
        self.memory = Some(percent);
        self
    }

    /// How fast replicas are added (Kubernetes' default without it: at most double, or
    /// four more pods, per minute, no stabilization).
    pub fn scale_up(mut self, scaling: Scaling) -> Self {
        self.scale_up = Some(scaling);
        self
    }

    /// How fast replicas are removed (Kubernetes' default without it: down to `min` at
    /// once, after a five-minute stabilization).
    pub fn scale_down(mut self, scaling: Scaling) -> Self {
        self.scale_down = Some(scaling);
        self
    }
}

/// How fast an [`Autoscale`] may change the replica count in one direction: by at most a
/// percentage of the current replicas per period, acting on the most cautious
/// recommendation of a stabilization window so that a short spike or dip does not move it
/// (the HPA's `behavior.scaleUp`/`scaleDown`, with one `Percent` policy).
///
/// ```
/// use stackdsl::prelude::*;
/// let calm = Scaling::percent(10).every(Window::minutes(1)).stabilized_over(Window::minutes(5));
/// assert_eq!((calm.percent, calm.every.as_secs()), (10, 60));
/// assert_eq!(calm.stabilization.map(Window::as_secs), Some(300));
/// // The period defaults to a minute; without a window, Kubernetes' default applies.
/// assert_eq!(Scaling::percent(50), Scaling::percent(50).every(Window::minutes(1)));
/// assert_eq!(Scaling::percent(50).stabilization, None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Scaling {
    /// At most this percentage of the current replicas is added or removed per period.
    pub percent: u32,
    /// The period the percentage applies to (default one minute).
    pub every: Window,
    /// The stabilization window (`None`: Kubernetes' default, none for scaling up and five
    /// minutes for scaling down).
    pub stabilization: Option<Window>,
}

impl Scaling {
    /// By at most `percent` % of the current replicas per minute.
    pub const fn percent(percent: u32) -> Self {
        Scaling {
            percent,
            every: Window::minutes(1),
            stabilization: None,
        }
    }

    /// The period the percentage applies to.
    pub const fn every(mut self, period: Window) -> Self {
        self.every = period;
        self
    }

    /// Acts on the most cautious recommendation of the last `window`: the lowest when
    /// scaling up, the highest when scaling down.
    pub const fn stabilized_over(mut self, window: Window) -> Self {
        self.stabilization = Some(window);
        self
    }
}
