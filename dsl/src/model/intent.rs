//! Intents: what the user wants ("autoscale between 2 and 10", "expose with TLS", "harden
//! the container"); targets derive their objects from these.

use super::Port;

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

/// Container hardening. Every service starts [`Security::restricted`]; each relaxation
/// takes a reason, which is kept in the model and shown next to the setting.
///
/// ```
/// use stackdsl::prelude::*;
/// let s = Security::restricted().writable_root_fs("postgres writes its socket and pid under /var/run");
/// assert!(!s.read_only_root_fs);
/// assert_eq!(s.relaxations.len(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Security {
    /// Refuse to start as uid 0 (Kubernetes `runAsNonRoot`).
    pub run_as_non_root: bool,
    /// Fixed uid, when the image's user is not numeric.
    pub run_as_user: Option<u32>,
    /// Root filesystem mounted read-only.
    pub read_only_root_fs: bool,
    /// `no-new-privileges` / `allowPrivilegeEscalation: false`.
    pub no_privilege_escalation: bool,
    /// Capabilities added back after dropping ALL.
    pub add_capabilities: Vec<String>,
    /// Every relaxation with its reason, in the order made.
    pub relaxations: Vec<(String, String)>,
}

impl Default for Security {
    fn default() -> Self {
        Security::restricted()
    }
}

impl Security {
    /// Non-root, read-only root filesystem, no privilege escalation, all capabilities dropped.
    pub fn restricted() -> Self {
        Security {
            run_as_non_root: true,
            run_as_user: None,
            read_only_root_fs: true,
            no_privilege_escalation: true,
            add_capabilities: Vec::new(),
            relaxations: Vec::new(),
        }
    }

    fn relax(mut self, what: &str, reason: impl Into<String>) -> Self {
        self.relaxations.push((what.to_owned(), reason.into()));
        self
    }

    /// Allows writes to the root filesystem.
    pub fn writable_root_fs(mut self, reason: impl Into<String>) -> Self {
        self.read_only_root_fs = false;
        self.relax("writable root filesystem", reason)
    }

    /// Allows the container to start as root (its entrypoint drops privileges itself).
    pub fn allow_root(mut self, reason: impl Into<String>) -> Self {
        self.run_as_non_root = false;
        self.relax("may start as root", reason)
    }

    /// Adds a Linux capability back (e.g. `NET_BIND_SERVICE`).
    pub fn add_capability(mut self, cap: impl Into<String>, reason: impl Into<String>) -> Self {
        let cap = cap.into();
        let what = format!("capability {cap}");
        self.add_capabilities.push(cap);
        self.relax(&what, reason)
    }

    /// Runs as a fixed numeric uid (satisfies `runAsNonRoot` for images with named users).
    pub fn run_as_user(mut self, uid: u32) -> Self {
        self.run_as_user = Some(uid);
        self
    }
}

/// Horizontal autoscaling between `min` and `max` replicas on CPU and/or memory utilisation.
///
/// ```
/// use stackdsl::prelude::*;
/// let a = Autoscale::between(2, 10).cpu(70).memory(80);
/// assert_eq!((a.min, a.max, a.cpu, a.memory), (2, 10, Some(70), Some(80)));
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
    /// Scale-up policy: `(stabilization window s, max percent, period s)`.
    pub scale_up: Option<(u32, u32, u32)>,
    /// Scale-down policy: `(stabilization window s, max percent, period s)`.
    pub scale_down: Option<(u32, u32, u32)>,
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

    /// Scale up by at most `percent` per `period` seconds after a `window`-second stabilization.
    pub fn scale_up(mut self, window: u32, percent: u32, period: u32) -> Self {
        self.scale_up = Some((window, percent, period));
        self
    }

    /// Scale down by at most `percent` per `period` seconds after a `window`-second stabilization.
    pub fn scale_down(mut self, window: u32, percent: u32, period: u32) -> Self {
        self.scale_down = Some((window, percent, period));
        self
    }
}

/// A cert-manager ClusterIssuer that signs an Ingress's TLS certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterIssuer(pub String);

impl ClusterIssuer {
    /// The issuer named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        ClusterIssuer(name.into())
    }
}

/// Exposes a port of a service over HTTP(S) on a host name.
///
/// ```
/// use stackdsl::prelude::*;
/// let http = Port::http("http", 3000);
/// let i = Ingress::host("api.example.com", http).tls(ClusterIssuer::new("letsencrypt-prod"));
/// assert_eq!(i.path, "/");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ingress {
    /// Public host name.
    pub host: String,
    /// Path prefix.
    pub path: String,
    /// The service's port traffic goes to.
    pub port: Port,
    /// Ingress class (default `nginx`).
    pub class: String,
    /// TLS via cert-manager.
    pub tls: Option<ClusterIssuer>,
    /// Requests per second per client, enforced by the ingress controller.
    pub rate_limit_rps: Option<u32>,
}

impl Ingress {
    /// Route `host` (all paths) to `port` of the service.
    pub fn host(host: impl Into<String>, port: Port) -> Self {
        Ingress {
            host: host.into(),
            path: "/".into(),
            port,
            class: "nginx".into(),
            tls: None,
            rate_limit_rps: None,
        }
    }

    /// Only this path prefix.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Ingress class.
    pub fn class(mut self, class: impl Into<String>) -> Self {
        self.class = class.into();
        self
    }

    /// Terminate TLS with a certificate from `issuer`.
    pub fn tls(mut self, issuer: ClusterIssuer) -> Self {
        self.tls = Some(issuer);
        self
    }

    /// Limit each client to `rps` requests per second.
    pub fn rate_limit(mut self, rps: u32) -> Self {
        self.rate_limit_rps = Some(rps);
        self
    }
}
