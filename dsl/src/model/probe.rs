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
    /// A call of the gRPC health-checking protocol (`grpc.health.v1.Health/Check`) on a
    /// named gRPC port; `SERVING` is healthy. Kubernetes runs it natively (the `grpc`
    /// probe); Compose only through a tool the image ships
    /// ([`HealthTool::GrpcHealthProbe`]).
    Grpc {
        /// The service's own gRPC port.
        port: Port,
        /// The health service name to ask about (`None`: the server as a whole).
        service: Option<String>,
    },
}

/// A probe with its timing. Unset timings take Kubernetes' defaults (period 10 s, timeout
/// 1 s, failure threshold 3). Compose probes as often and gives up as soon, but its check
/// is a process started inside the container (a `wget`, a `node -e`), not the kubelet's
/// own request, so an unset timeout is 5 s there (never more than the period), and with
/// no startup probe or initial delay it allows a 60 s start period, during which failures
/// do not count: the time a database takes to initialize its volume on first start (the
/// start period Plausible's official compose file gives Postgres and ClickHouse). A
/// dependant waiting for `service_healthy` still starts as soon as the first check passes.
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
    /// Seconds before a check times out (default 1 in Kubernetes, 5 in Compose).
    pub timeout: Option<u32>,
    /// Consecutive failures before the container counts as unhealthy (default 3).
    pub failure_threshold: Option<u32>,
    /// Request headers of an HTTP probe, in order (Kubernetes `httpHeaders`; Compose passes
    /// them with its health-check tool). Only HTTP probes send headers: on any other probe
    /// they are a validation error.
    pub headers: Vec<(String, String)>,
}

impl Probe {
    fn with(action: ProbeAction) -> Self {
        Probe {
            action,
            initial_delay: None,
            period: None,
            timeout: None,
            failure_threshold: None,
            headers: Vec::new(),
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

    /// A gRPC health check (`grpc.health.v1`) of the whole server on one of the service's
    /// gRPC ports.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let grpc = Port::grpc("grpc", 7070);
    /// let p = Probe::grpc(grpc).period(5);
    /// assert_eq!(p.port(), Some(grpc));
    /// ```
    pub fn grpc(port: Port) -> Self {
        Probe::with(ProbeAction::Grpc {
            port,
            service: None,
        })
    }

    /// A gRPC health check of one named health service (the `service` field of the
    /// `HealthCheckRequest`, e.g. `hipstershop.CartService`).
    pub fn grpc_service(port: Port, service: impl Into<String>) -> Self {
        Probe::with(ProbeAction::Grpc {
            port,
            service: Some(service.into()),
        })
    }

    /// Sends a request header with an HTTP probe (repeatable), e.g. the `Host` a virtual
    /// server answers to. Header values are written into the manifests and the Compose
    /// file as they are: never put a credential here.
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let http = Port::http("http", 8080);
    /// let p = Probe::http_get("/healthz", http).header("Host", "shop.example.com");
    /// assert_eq!(p.headers, [("Host".to_owned(), "shop.example.com".to_owned())]);
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
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
            ProbeAction::HttpGet { port, .. }
            | ProbeAction::Tcp { port }
            | ProbeAction::Grpc { port, .. } => Some(*port),
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

/// The client Compose runs inside the container to perform an HTTP, TCP or gRPC probe.
/// Compose has no built-in network check: its healthcheck is a command, so the image must
/// ship the client, and only the stack can know which one it ships.
///
/// Set it with [`ServiceBuilder::health_tool`](crate::builder::ServiceBuilder::health_tool).
/// Unstated, Compose assumes BusyBox `wget` only for an image the stack builds itself
/// (its own Dockerfile); for any other image it renders no healthcheck, dependants wait
/// for `service_started`, and the run warns. Exec probes need no tool: they run the
/// command the stack gives.
///
/// Which to choose: look in the image (`docker run --rm --entrypoint sh <image> -c 'command
/// -v wget curl node python python3'`), or at its Dockerfile. Alpine and BusyBox images
/// have `wget` (and `nc`); Debian and Ubuntu ones often only `curl`, or neither; Node and
/// Python images have their runtime; distroless images have nothing. An image whose
/// Dockerfile declares a `HEALTHCHECK` brings its own check: `ImageHealthcheck` uses it.
///
/// | tool | HTTP | TCP | gRPC |
/// |---|---|---|---|
/// | `Wget` | `wget -q --spider` | `nc -z` | — |
/// | `Curl` | `curl -fsS` | — | — |
/// | `Node` | `node -e` (`http`) | `node -e` (`net`) | — |
/// | `Python` | `python -c` (`urllib`) | `python -c` (`socket`) | — |
/// | `GrpcHealthProbe` | — | — | `grpc_health_probe` |
/// | `ImageHealthcheck` | the image's `HEALTHCHECK` | same | same |
///
/// A stated tool that cannot run the service's probe (`Curl` for a TCP probe, say) is a
/// validation error of the Compose target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HealthTool {
    /// BusyBox `wget` for HTTP and its `nc` for TCP (Alpine-based images).
    Wget,
    /// `curl` (HTTP only).
    Curl,
    /// `node -e` with the built-in `http` and `net` modules (Node images without wget).
    Node,
    /// `python -c` with `urllib` and `socket` (Python slim images ship neither curl nor wget).
    Python,
    /// [`grpc_health_probe`](https://github.com/grpc-ecosystem/grpc-health-probe) on the
    /// image's `PATH` (gRPC only): the binary gRPC images copy in for exactly this.
    GrpcHealthProbe,
    /// The image has no shell or client (distroless, scratch): no Compose healthcheck;
    /// dependants wait for `service_started` only. Stating it silences the warning.
    None,
    /// The image's own `HEALTHCHECK` (its Dockerfile's): Compose writes no healthcheck, so
    /// Docker runs the image's, and dependants wait for `service_healthy`. Whatever the
    /// service's probes (Kubernetes still runs those; Docker's `HEALTHCHECK` means nothing
    /// to Kubernetes, and the run warns when a service Kubernetes renders has no probe).
    /// An image without a `HEALTHCHECK` makes `docker compose up` fail on its dependants
    /// ("has no healthcheck configured"), so state it only for an image that has one.
    ImageHealthcheck,
}

impl HealthTool {
    /// Can this tool run `probe`? (Every tool can "run" an exec probe: it needs none; and
    /// [`ImageHealthcheck`](Self::ImageHealthcheck) runs none: the image checks itself.)
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let grpc = Port::grpc("grpc", 7070);
    /// assert!(HealthTool::GrpcHealthProbe.runs(&Probe::grpc(grpc)));
    /// assert!(!HealthTool::Curl.runs(&Probe::tcp(Port::tcp("db", 5432))));
    /// ```
    pub fn runs(self, probe: &Probe) -> bool {
        use HealthTool::*;
        match probe.action {
            _ if self == ImageHealthcheck => true,
            ProbeAction::Exec { .. } => true,
            ProbeAction::HttpGet { .. } => matches!(self, Wget | Curl | Node | Python),
            ProbeAction::Tcp { .. } => matches!(self, Wget | Node | Python),
            ProbeAction::Grpc { .. } => matches!(self, GrpcHealthProbe),
        }
    }

    /// The tool's name as the builder spells it, e.g. `HealthTool::Curl`.
    pub const fn name(self) -> &'static str {
        match self {
            HealthTool::Wget => "HealthTool::Wget",
            HealthTool::Curl => "HealthTool::Curl",
            HealthTool::Node => "HealthTool::Node",
            HealthTool::Python => "HealthTool::Python",
            HealthTool::GrpcHealthProbe => "HealthTool::GrpcHealthProbe",
            HealthTool::None => "HealthTool::None",
            HealthTool::ImageHealthcheck => "HealthTool::ImageHealthcheck",
        }
    }
}

impl ProbeAction {
    /// `HTTP`, `TCP`, `exec` or `gRPC`: what kind of check this is, for messages.
    pub const fn kind(&self) -> &'static str {
        match self {
            ProbeAction::HttpGet { .. } => "HTTP",
            ProbeAction::Tcp { .. } => "TCP",
            ProbeAction::Exec { .. } => "exec",
            ProbeAction::Grpc { .. } => "gRPC",
        }
    }
}
