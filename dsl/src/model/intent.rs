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
