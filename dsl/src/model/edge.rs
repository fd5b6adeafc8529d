//! The edge: how outside traffic reaches the stack's routes.
//!
//! Routes are the services' [`Route`](super::Route) declarations (host, path prefix →
//! service port, TLS, per-route rate limit, timeouts and body size). The stack's [`Edge`]
//! holds what the whole edge shares: the nginx image Compose runs, where TLS certificates
//! come from, security headers, gzip and the default timeouts and body size. From these,
//! Compose gets an nginx service with a rendered `nginx.conf`, and Kubernetes gets what
//! its [`RouteApi`](super::RouteApi) expresses of the same values: Gateway API routes with
//! header filters and request timeouts plus Envoy Gateway policies (rate limits, body
//! sizes, connect timeouts, compression, TLS settings), or Ingresses with ingress-nginx
//! annotations. What the chosen API cannot express is listed in the Kubernetes README.

use super::{HealthTool, Image};

/// A `limit_req` zone: requests per second per client address, with a burst per route.
///
/// Routes that name the same zone share one budget per client (nginx `limit_req_zone`);
/// on Kubernetes ingress-nginx keeps one zone per Ingress object, with the same rate and
/// burst (`limit-rps`, `limit-burst-multiplier`), and Envoy Gateway one bucket per route
/// and proxy replica holding one second's requests (a `BackendTrafficPolicy` local limit
/// per client address; a different burst is listed in the Kubernetes README).
///
/// ```
/// use stackdsl::prelude::*;
/// let api = RateLimit::per_client("api_limit", 10).burst(20);
/// assert_eq!((api.rps, api.burst, api.nodelay), (10, 20, true));
/// let webhooks = api.clone().burst(100);
/// assert_eq!(webhooks.zone, "api_limit");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Zone name (an nginx identifier: letters, digits, `_`).
    pub zone: String,
    /// Requests per second per client address.
    pub rps: u32,
    /// Shared-memory size of the zone in MiB (default 10: about 160 000 addresses).
    pub zone_mb: u32,
    /// Requests above the rate a client may queue (default: 5 × rate, ingress-nginx's).
    pub burst: u32,
    /// Serve burst requests at once instead of spacing them out (default, as ingress-nginx).
    pub nodelay: bool,
}

impl RateLimit {
    /// `rps` requests per second per client address in zone `zone`.
    pub fn per_client(zone: impl Into<String>, rps: u32) -> Self {
        RateLimit {
            zone: zone.into(),
            rps,
            zone_mb: 10,
            burst: rps.saturating_mul(5),
            nodelay: true,
        }
    }

    /// Requests above the rate a client may send at once.
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst;
        self
    }

    /// Space burst requests out at the rate instead of serving them at once.
    pub fn delayed(mut self) -> Self {
        self.nodelay = false;
        self
    }

    /// Shared-memory size of the zone in MiB.
    pub fn zone_mb(mut self, mb: u32) -> Self {
        self.zone_mb = mb;
        self
    }
}

/// Proxy timeouts to the upstream, in seconds.
///
/// ```
/// use stackdsl::prelude::*;
/// let t = Timeouts::all(60).read(120);
/// assert_eq!((t.connect, t.send, t.read), (60, 60, 120));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Establishing the connection (`proxy_connect_timeout`).
    pub connect: u32,
    /// Between two writes of the request (`proxy_send_timeout`).
    pub send: u32,
    /// Between two reads of the response (`proxy_read_timeout`).
    pub read: u32,
}

impl Timeouts {
    /// The same timeout for connect, send and read.
    pub fn all(seconds: u32) -> Self {
        Timeouts {
            connect: seconds,
            send: seconds,
            read: seconds,
        }
    }

    /// Connect timeout.
    pub fn connect(mut self, seconds: u32) -> Self {
        self.connect = seconds;
        self
    }

    /// Send timeout.
    pub fn send(mut self, seconds: u32) -> Self {
        self.send = seconds;
        self
    }

    /// Read timeout.
    pub fn read(mut self, seconds: u32) -> Self {
        self.read = seconds;
        self
    }
}

/// How the edge spreads requests over a service's replicas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Balance {
    /// To the replica with the fewest active connections (`least_conn`).
    #[default]
    LeastConn,
    /// In turn.
    RoundRobin,
    /// By client address, so a client sticks to one replica (`ip_hash`).
    IpHash,
}

/// Response compression.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Gzip {
    /// MIME types compressed besides `text/html` (which nginx always compresses).
    pub types: Vec<String>,
    /// Smallest response compressed, in bytes.
    pub min_length: u32,
}

impl Gzip {
    /// Compress these MIME types (plus `text/html`), responses of 1 KiB and more.
    pub fn types<I: IntoIterator<Item = T>, T: Into<String>>(types: I) -> Self {
        Gzip {
            types: types.into_iter().map(Into::into).collect(),
            min_length: 1024,
        }
    }
}

/// The stack's edge: what every route shares. Set it with `Stack::edge`.
///
/// ```
/// use stackdsl::prelude::*;
/// let edge = Edge::nginx()
///     .certificates("/etc/easyflow/tls")
///     .header("X-Frame-Options", "DENY")
///     .hsts(31_536_000)
///     .gzip(Gzip::types(["application/json"]))
///     .timeouts(Timeouts::all(60))
///     .client_body_mb(10);
/// assert_eq!(edge.service, "edge");
/// assert_eq!(edge.tls_protocols, ["TLSv1.2", "TLSv1.3"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Edge {
    /// Compose service name of the proxy (default `edge`).
    pub service: String,
    /// The nginx image Compose runs (pinned; it runs as uid 101 and listens unprivileged).
    pub image: Image,
    /// The client Compose probes the proxy's `/healthz` with: BusyBox `wget` for the
    /// default (Alpine) image; unstated after [`Edge::image`] until
    /// [`Edge::health_tool`] states it.
    pub health_tool: Option<HealthTool>,
    /// Host port for plain HTTP (default 80).
    pub http_port: u16,
    /// Host port for HTTPS (default 443).
    pub https_port: u16,
    /// Host folder holding `<host>/fullchain.pem` and `<host>/privkey.pem` for every TLS
    /// host, mounted read-only (never generated or committed).
    pub certificates: Option<String>,
    /// TLS protocol versions.
    pub tls_protocols: Vec<String>,
    /// TLS cipher list (`None`: nginx's default).
    pub tls_ciphers: Option<String>,
    /// Response headers added to every response, in order.
    pub headers: Vec<(String, String)>,
    /// `Strict-Transport-Security` max-age in seconds, on TLS hosts.
    pub hsts: Option<u32>,
    /// Response compression.
    pub gzip: Option<Gzip>,
    /// Default proxy timeouts (a route may set its own).
    pub timeouts: Option<Timeouts>,
    /// Default largest request body in MiB (a route may set its own).
    pub client_body_mb: Option<u32>,
    /// Load balancing over replicas.
    pub balance: Balance,
}

impl Edge {
    /// An nginx edge: `nginxinc/nginx-unprivileged:1.27.3-alpine`, ports 80 and 443,
    /// TLS 1.2 and 1.3, least-connections balancing, nothing else until set.
    pub fn nginx() -> Self {
        Edge {
            service: "edge".into(),
            image: Image::new("nginxinc/nginx-unprivileged").tag("1.27.3-alpine"),
            // The Alpine image's BusyBox.
            health_tool: Some(HealthTool::Wget),
            http_port: 80,
            https_port: 443,
            certificates: None,
            tls_protocols: vec!["TLSv1.2".into(), "TLSv1.3".into()],
            tls_ciphers: None,
            headers: Vec::new(),
            hsts: None,
            gzip: None,
            timeouts: None,
            client_body_mb: None,
            balance: Balance::default(),
        }
    }

    /// Names the Compose service of the proxy.
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.service = name.into();
        self
    }

    /// Another (pinned) nginx image. What it ships is unknown until
    /// [`health_tool`](Self::health_tool) states it: until then Compose gives the proxy no
    /// healthcheck (and warns).
    pub fn image(mut self, image: Image) -> Self {
        self.image = image;
        self.health_tool = None;
        self
    }

    /// The client Compose probes the proxy with inside its image (see [`HealthTool`]).
    ///
    /// ```
    /// use stackdsl::prelude::*;
    /// let e = Edge::nginx().image(Image::new("nginx").tag("1.27.3")).health_tool(HealthTool::Curl);
    /// assert_eq!(e.health_tool, Some(HealthTool::Curl));
    /// ```
    pub fn health_tool(mut self, tool: HealthTool) -> Self {
        self.health_tool = Some(tool);
        self
    }

    /// Host ports for HTTP and HTTPS.
    pub fn ports(mut self, http: u16, https: u16) -> Self {
        self.http_port = http;
        self.https_port = https;
        self
    }

    /// Host folder with `<host>/fullchain.pem` and `<host>/privkey.pem` per TLS host.
    pub fn certificates(mut self, host_dir: impl Into<String>) -> Self {
        self.certificates = Some(host_dir.into());
        self
    }

    /// TLS protocol versions (default TLS 1.2 and 1.3).
    pub fn tls_protocols<I: IntoIterator<Item = T>, T: Into<String>>(mut self, p: I) -> Self {
        self.tls_protocols = p.into_iter().map(Into::into).collect();
        self
    }

    /// TLS cipher list.
    pub fn tls_ciphers(mut self, ciphers: impl Into<String>) -> Self {
        self.tls_ciphers = Some(ciphers.into());
        self
    }

    /// Adds a header to every response.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `Strict-Transport-Security: max-age=<seconds>` on TLS hosts.
    pub fn hsts(mut self, max_age: u32) -> Self {
        self.hsts = Some(max_age);
        self
    }

    /// Compresses responses.
    pub fn gzip(mut self, gzip: Gzip) -> Self {
        self.gzip = Some(gzip);
        self
    }

    /// Default proxy timeouts.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// Default largest request body, in MiB.
    pub fn client_body_mb(mut self, mb: u32) -> Self {
        self.client_body_mb = Some(mb);
        self
    }

    /// Load balancing over replicas.
    pub fn balance(mut self, balance: Balance) -> Self {
        self.balance = balance;
        self
    }
}
