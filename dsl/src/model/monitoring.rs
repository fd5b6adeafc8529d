//! Monitoring: where a service exposes Prometheus metrics, which metric families it
//! declares, the alerts derived from them, and the stack-wide Prometheus/Grafana settings.
//!
//! Alert expressions are never written by hand: they are assembled (in
//! [`crate::render::prometheus`]) from the metric families a service declares and the
//! service's own job, so a renamed service or metric changes every rule with it.

use std::fmt;

use super::{Port, Stack};

/// A Prometheus duration (`30s`, `5m`, `1h`), kept in seconds and written in its largest
/// whole unit.
///
/// ```
/// use stackdsl::model::Window;
/// assert_eq!(Window::minutes(5).to_string(), "5m");
/// assert_eq!(Window::secs(90).to_string(), "90s");
/// assert_eq!(Window::hours(2).to_string(), "2h");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window(u32);

impl Window {
    /// `n` seconds.
    pub const fn secs(n: u32) -> Self {
        Window(n)
    }

    /// `n` minutes.
    pub const fn minutes(n: u32) -> Self {
        Window(n * 60)
    }

    /// `n` hours.
    pub const fn hours(n: u32) -> Self {
        Window(n * 3600)
    }

    /// The length in seconds.
    pub const fn as_secs(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s != 0 && s.is_multiple_of(3600) {
            write!(f, "{}h", s / 3600)
        } else if s != 0 && s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

/// What a metric family is (the Prometheus `# TYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricKind {
    /// A monotonically increasing counter (`*_total`).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A histogram: `<name>_bucket{le}`, `<name>_sum`, `<name>_count`.
    Histogram,
}

/// One metric family a service exposes.
///
/// ```
/// use stackdsl::model::{MetricFamily, MetricKind};
/// let f = MetricFamily::gauge("noex_connected_nodes", "Number of connected nodes");
/// assert_eq!(f.kind, MetricKind::Gauge);
/// assert_eq!(f.series(), vec!["noex_connected_nodes".to_owned()]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricFamily {
    /// Metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`).
    pub name: String,
    /// Its type.
    pub kind: MetricKind,
    /// The `# HELP` text (shown in dashboards).
    pub help: String,
    /// Labels the family carries beyond the target labels (`job`, `instance`).
    pub labels: Vec<String>,
}

impl MetricFamily {
    fn new(name: impl Into<String>, kind: MetricKind, help: impl Into<String>) -> Self {
        MetricFamily {
            name: name.into(),
            kind,
            help: help.into(),
            labels: Vec::new(),
        }
    }

    /// A counter.
    pub fn counter(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, MetricKind::Counter, help)
    }

    /// A gauge.
    pub fn gauge(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, MetricKind::Gauge, help)
    }

    /// A histogram.
    pub fn histogram(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, MetricKind::Histogram, help)
    }

    /// Adds a label the family carries.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.labels.push(label.into());
        self
    }

    /// The series names Prometheus stores for this family (a histogram has three).
    pub fn series(&self) -> Vec<String> {
        match self.kind {
            MetricKind::Counter | MetricKind::Gauge => vec![self.name.clone()],
            MetricKind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{}{s}", self.name))
                .collect(),
        }
    }
}

/// The HTTP server metrics the error-rate and latency alerts and the dashboard are built
/// from: a request counter with a status-code label and a request-duration histogram.
///
/// ```
/// use stackdsl::model::HttpMetrics;
/// let h = HttpMetrics::standard();
/// assert_eq!(h.requests, "http_requests_total");
/// assert_eq!(h.status_label, "status");
/// assert_eq!(h.duration, "http_request_duration_seconds");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpMetrics {
    /// Counter of handled requests.
    pub requests: String,
    /// Label of `requests` carrying the HTTP status code.
    pub status_label: String,
    /// Histogram of request durations in seconds.
    pub duration: String,
}

impl HttpMetrics {
    /// `http_requests_total{status}` and `http_request_duration_seconds` (the names the
    /// Potter and Easy Flow seeds use; the Prometheus client libraries' conventions).
    pub fn standard() -> Self {
        HttpMetrics {
            requests: "http_requests_total".into(),
            status_label: "status".into(),
            duration: "http_request_duration_seconds".into(),
        }
    }

    /// Names the request counter.
    pub fn requests(mut self, name: impl Into<String>) -> Self {
        self.requests = name.into();
        self
    }

    /// Names the counter's status-code label.
    pub fn status_label(mut self, label: impl Into<String>) -> Self {
        self.status_label = label.into();
        self
    }

    /// Names the duration histogram.
    pub fn duration(mut self, name: impl Into<String>) -> Self {
        self.duration = name.into();
        self
    }

    /// The two families these metrics are.
    pub fn families(&self) -> [MetricFamily; 2] {
        [
            MetricFamily::counter(&self.requests, "HTTP requests handled")
                .label(&self.status_label),
            MetricFamily::histogram(&self.duration, "HTTP request duration in seconds"),
        ]
    }
}

/// A latency quantile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Quantile {
    /// The median.
    P50,
    /// The 90th percentile.
    P90,
    /// The 95th percentile.
    P95,
    /// The 99th percentile.
    P99,
}

impl Quantile {
    /// The value `histogram_quantile` takes, e.g. `0.95`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Quantile::P50 => "0.5",
            Quantile::P90 => "0.9",
            Quantile::P95 => "0.95",
            Quantile::P99 => "0.99",
        }
    }

    /// `p95` etc., for rule names and panel titles.
    pub const fn label(self) -> &'static str {
        match self {
            Quantile::P50 => "p50",
            Quantile::P90 => "p90",
            Quantile::P95 => "p95",
            Quantile::P99 => "p99",
        }
    }
}

/// How urgent an alert is (its `severity` label, which Alertmanager routes on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Severity {
    /// Someone looks at it during working hours.
    Warning,
    /// Someone is paged.
    Critical,
}

impl Severity {
    /// `warning` or `critical`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// What an alert watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlertKind {
    /// The share of requests answered with a 5xx status exceeds `max_permille` ‰ over the
    /// window (needs [`HttpMetrics`]).
    ErrorRate {
        /// Threshold in per mille (50 = 5 %).
        max_permille: u32,
    },
    /// The latency quantile over the window exceeds `max_ms` milliseconds (needs
    /// [`HttpMetrics`]).
    Latency {
        /// Which quantile.
        quantile: Quantile,
        /// Threshold in milliseconds.
        max_ms: u32,
    },
    /// A cluster member is down: a member Prometheus cannot scrape, fewer live members
    /// than the quorum, or (with `peers` declared) a member that sees fewer peers than
    /// are up (needs [`Service::cluster`](super::Service)).
    MemberDown,
}

/// A typed alert rule of a service, rendered as a Prometheus rule (Compose) and in a
/// `PrometheusRule` (Kubernetes).
///
/// ```
/// use stackdsl::model::{Alert, Quantile, Severity, Window};
/// let a = Alert::error_rate(50).window(Window::minutes(5)).after(Window::minutes(5));
/// assert_eq!(a.severity, Severity::Critical);
/// let l = Alert::latency(Quantile::P95, 1000);
/// assert_eq!(l.window, Window::minutes(5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Alert {
    /// What it watches.
    pub kind: AlertKind,
    /// Rate window of the expression (default 5m).
    pub window: Window,
    /// How long the condition must hold before the alert fires (`for`, default 5m).
    pub after: Window,
    /// Its severity.
    pub severity: Severity,
}

impl Alert {
    fn new(kind: AlertKind, severity: Severity) -> Self {
        Alert {
            kind,
            window: Window::minutes(5),
            after: Window::minutes(5),
            severity,
        }
    }

    /// More than `max_permille` ‰ of requests fail with a 5xx status (critical).
    pub fn error_rate(max_permille: u32) -> Self {
        Self::new(AlertKind::ErrorRate { max_permille }, Severity::Critical)
    }

    /// The `quantile` latency exceeds `max_ms` milliseconds (warning).
    pub fn latency(quantile: Quantile, max_ms: u32) -> Self {
        Self::new(AlertKind::Latency { quantile, max_ms }, Severity::Warning)
    }

    /// A cluster member is down (critical; fires after 1m).
    pub fn member_down() -> Self {
        Alert {
            after: Window::minutes(1),
            ..Self::new(AlertKind::MemberDown, Severity::Critical)
        }
    }

    /// The rate window.
    pub fn window(mut self, w: Window) -> Self {
        self.window = w;
        self
    }

    /// How long the condition must hold (`for`).
    pub fn after(mut self, w: Window) -> Self {
        self.after = w;
        self
    }

    /// The severity.
    pub fn severity(mut self, s: Severity) -> Self {
        self.severity = s;
        self
    }
}

/// Where a service exposes Prometheus metrics, what it exposes there, and its alerts.
///
/// ```
/// use stackdsl::prelude::*;
/// use stackdsl::model::{Alert, HttpMetrics, Quantile};
/// let m = Metrics::new(Port::http("metrics", 9090))
///     .interval(15)
///     .http(HttpMetrics::standard())
///     .alert(Alert::error_rate(50))
///     .alert(Alert::latency(Quantile::P95, 1000));
/// assert_eq!(m.families().len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// The port serving metrics.
    pub port: Port,
    /// HTTP path (default `/metrics`).
    pub path: String,
    /// Scrape interval in seconds (default 30).
    pub interval: u32,
    /// HTTP server metrics, if the service serves HTTP and instruments it.
    pub http: Option<HttpMetrics>,
    /// Other metric families it exposes.
    pub families: Vec<MetricFamily>,
    /// For a cluster: the gauge of peers each member is connected to.
    pub peers: Option<String>,
    /// Alert rules.
    pub alerts: Vec<Alert>,
}

impl Metrics {
    /// Metrics on `port` at `/metrics`.
    pub fn new(port: Port) -> Self {
        Metrics {
            port,
            path: "/metrics".into(),
            interval: 30,
            http: None,
            families: Vec::new(),
            peers: None,
            alerts: Vec::new(),
        }
    }

    /// HTTP path.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Scrape interval in seconds.
    pub fn interval(mut self, seconds: u32) -> Self {
        self.interval = seconds;
        self
    }

    /// Declares the HTTP server metrics.
    pub fn http(mut self, http: HttpMetrics) -> Self {
        self.http = Some(http);
        self
    }

    /// Declares another metric family.
    pub fn family(mut self, family: MetricFamily) -> Self {
        self.families.push(family);
        self
    }

    /// Declares the gauge a cluster member reports its connected peers in (a family of
    /// its own, used by [`Alert::member_down`]).
    pub fn peers_gauge(mut self, name: impl Into<String>, help: impl Into<String>) -> Self {
        let name = name.into();
        self.families.push(MetricFamily::gauge(&name, help));
        self.peers = Some(name);
        self
    }

    /// Adds an alert rule.
    pub fn alert(mut self, alert: Alert) -> Self {
        self.alerts.push(alert);
        self
    }

    /// Every family the service exposes: the HTTP ones first, then the others.
    pub fn families(&self) -> Vec<MetricFamily> {
        let mut out: Vec<MetricFamily> = self.http.iter().flat_map(HttpMetrics::families).collect();
        out.extend(self.families.iter().cloned());
        out
    }
}

/// A pinned image for a monitoring container, with its loopback host port in Compose.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MonitoringTool {
    /// Image tag (exact release).
    pub tag: String,
    /// Host port Compose publishes it on (loopback).
    pub host_port: u16,
}

/// Stack-wide monitoring for Compose: a Prometheus that scrapes every service with
/// [`Metrics`] and evaluates their alerts, and optionally a Grafana with a provisioned
/// dashboard. (Kubernetes uses the cluster's Prometheus Operator: ServiceMonitors and
/// PrometheusRules are rendered whenever a service has metrics.)
///
/// ```
/// use stackdsl::prelude::*;
/// use stackdsl::model::Monitoring;
/// let mut s = Stack::new("shop", Env::Dev);
/// s.monitoring(Monitoring::prometheus().grafana());
/// assert!(s.monitoring.grafana.is_some());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Monitoring {
    /// Run Prometheus in Compose.
    pub prometheus: Option<MonitoringTool>,
    /// Run Grafana in Compose with a dashboard of the services' HTTP metrics.
    pub grafana: Option<MonitoringTool>,
    /// Global scrape and rule-evaluation interval (default 30s).
    pub evaluation_interval: Option<Window>,
}

impl Monitoring {
    /// Prometheus `v2.53.3` (the 2.53 long-term-support release) on host port 9090.
    pub fn prometheus() -> Self {
        Monitoring {
            prometheus: Some(MonitoringTool {
                tag: "v2.53.3".into(),
                host_port: 9090,
            }),
            grafana: None,
            evaluation_interval: None,
        }
    }

    /// Adds Grafana `11.4.0` on host port 3000.
    pub fn grafana(mut self) -> Self {
        self.grafana = Some(MonitoringTool {
            tag: "11.4.0".into(),
            host_port: 3000,
        });
        self
    }

    /// Publishes Prometheus on `port` instead of 9090.
    pub fn prometheus_host_port(mut self, port: u16) -> Self {
        if let Some(p) = &mut self.prometheus {
            p.host_port = port;
        }
        self
    }

    /// Publishes Grafana on `port` instead of 3000.
    pub fn grafana_host_port(mut self, port: u16) -> Self {
        if let Some(g) = &mut self.grafana {
            g.host_port = port;
        }
        self
    }

    /// The global scrape and evaluation interval.
    pub fn evaluation_interval(mut self, w: Window) -> Self {
        self.evaluation_interval = Some(w);
        self
    }
}

impl Stack {
    /// Enables monitoring in Compose (see [`Monitoring`]).
    pub fn monitoring(&mut self, monitoring: Monitoring) -> &mut Self {
        self.monitoring = monitoring;
        self
    }
}
