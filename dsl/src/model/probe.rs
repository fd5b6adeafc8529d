//! Health probes on named ports.

use super::Port;

/// What a probe does.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProbeAction {
    /// `GET path` on a named port; 2xx/3xx is healthy.
    HttpGet {
        /// Request path.
        path: String,
        /// The service's own port.
        port: Port,
    },
    /// A TCP connect to a named port.
    Tcp {
        /// The service's own port.
        port: Port,
    },
    /// A command inside the container; exit status 0 is healthy.
    Exec {
        /// argv.
        command: Vec<String>,
    },
}

/// A probe with its timing. Unset timings take Kubernetes' defaults (period 10 s, timeout
/// 1 s, failure threshold 3), which Compose uses too, so both targets probe alike.
///
/// ```
/// use stackdsl::prelude::*;
/// let http = Port::http("http", 3000);
/// let p = Probe::http_get("/ready", http).period(5).failure_threshold(2);
/// assert_eq!(p.port().map(|p| p.name), Some("http"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Probe {
    /// The check.
    pub action: ProbeAction,
    /// Seconds before the first check.
    pub initial_delay: Option<u32>,
    /// Seconds between checks (default 10).
    pub period: Option<u32>,
    /// Seconds before a check times out (default 1).
    pub timeout: Option<u32>,
    /// Consecutive failures before the container counts as unhealthy (default 3).
    pub failure_threshold: Option<u32>,
}

impl Probe {
    fn with(action: ProbeAction) -> Self {
        Probe {
            action,
            initial_delay: None,
            period: None,
            timeout: None,
            failure_threshold: None,
        }
    }

    /// An HTTP GET on one of the service's named ports.
    pub fn http_get(path: impl Into<String>, port: Port) -> Self {
        Probe::with(ProbeAction::HttpGet {
            path: path.into(),
            port,
        })
    }

    /// A TCP connect to one of the service's named ports.
    pub fn tcp(port: Port) -> Self {
        Probe::with(ProbeAction::Tcp { port })
    }

    /// A command run inside the container.
    pub fn exec<I, S>(command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Probe::with(ProbeAction::Exec {
            command: command.into_iter().map(Into::into).collect(),
        })
    }

    /// Seconds before the first check.
    pub fn initial_delay(mut self, seconds: u32) -> Self {
        self.initial_delay = Some(seconds);
        self
    }

    /// Seconds between checks.
    pub fn period(mut self, seconds: u32) -> Self {
        self.period = Some(seconds);
        self
    }

    /// Seconds before a check times out.
    pub fn timeout(mut self, seconds: u32) -> Self {
        self.timeout = Some(seconds);
        self
    }

    /// Consecutive failures before the container counts as unhealthy.
    pub fn failure_threshold(mut self, n: u32) -> Self {
        self.failure_threshold = Some(n);
        self
    }

    /// Seconds between checks, defaulted.
    pub fn effective_period(&self) -> u32 {
        self.period.unwrap_or(10)
    }

    /// Seconds before a check times out, defaulted.
    pub fn effective_timeout(&self) -> u32 {
        self.timeout.unwrap_or(1)
    }

    /// Failures before unhealthy, defaulted.
    pub fn effective_failure_threshold(&self) -> u32 {
        self.failure_threshold.unwrap_or(3)
    }

    /// The port the probe targets, if it targets one.
    pub fn port(&self) -> Option<Port> {
        match &self.action {
            ProbeAction::HttpGet { port, .. } | ProbeAction::Tcp { port } => Some(*port),
            ProbeAction::Exec { .. } => None,
        }
    }
}

/// The three probe slots of a service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Probes {
    /// Restart the container when this fails.
    pub liveness: Option<Probe>,
    /// Stop routing traffic to the container when this fails.
    pub readiness: Option<Probe>,
    /// Hold liveness and readiness until this first succeeds.
    pub startup: Option<Probe>,
}

impl Probes {
    /// `(kind, probe)` for every probe that is set, in liveness/readiness/startup order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Probe)> {
        [
            ("liveness", &self.liveness),
            ("readiness", &self.readiness),
            ("startup", &self.startup),
        ]
        .into_iter()
        .filter_map(|(k, p)| p.as_ref().map(|p| (k, p)))
    }
}

/// How Compose performs an HTTP or TCP probe from inside the container. Compose has no
/// built-in HTTP check; it runs a command, so the image must ship a client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthTool {
    /// BusyBox/GNU `wget` (Alpine and Debian-based images).
    #[default]
    Wget,
    /// `curl`.
    Curl,
    /// `node -e` with the built-in `http` module (Node images without wget).
    Node,
    /// `python -c` with `urllib` (Python slim images ship neither curl nor wget).
    Python,
    /// The image has no shell or client (distroless, scratch): no Compose healthcheck;
    /// dependants wait for `service_started` only.
    None,
}
