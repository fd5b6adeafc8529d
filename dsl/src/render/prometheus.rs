//! Prometheus and Grafana from the model: scrape configs, alert rules and a dashboard.
//!
//! - Every service with [`Metrics`] is a scrape job named after the service, so the same
//!   `job` label identifies it in Compose (a `prometheus.yml` job) and in Kubernetes (the
//!   Prometheus Operator names a ServiceMonitor's job after the Service).
//! - Alert expressions are assembled from typed pieces ([`Expr`]): the metric names the
//!   service declares and a selector derived from its job (and, in Kubernetes, its
//!   namespace). Nothing is a string template with holes.
//! - Compose (with [`Monitoring`](crate::model::Monitoring) enabled) gets
//!   `prometheus/prometheus.yml`, `prometheus/rules.yml` (referenced from `rule_files`),
//!   and with Grafana `grafana/provisioning/…` and `grafana/dashboards/<stack>.json`.
//!   The dashboard has one row per service with HTTP metrics (request rate, 5xx errors,
//!   p99 latency) and references only metrics those services declare.

use std::fmt;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Value, json};

use crate::model::{Alert, AlertKind, Metrics, Quantile, Service, Stack, Target, Window};
use crate::plan::{GRAFANA_DASHBOARDS, PROM_PORT, PROMETHEUS, Plan};
use crate::render::{Document, MARKER, hash_header, yaml};

// --- PromQL, typed ---------------------------------------------------------------------

/// How a label matcher compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Eq,
    /// `=~` (RE2, fully anchored)
    Re,
}

/// One label matcher, `label="value"` or `label=~"regex"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matcher {
    /// Label name.
    pub label: String,
    /// Comparison.
    pub op: MatchOp,
    /// Value (escaped when written).
    pub value: String,
}

impl Matcher {
    /// `label="value"`.
    pub fn eq(label: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            label: label.into(),
            op: MatchOp::Eq,
            value: value.into(),
        }
    }

    /// `label=~"regex"`.
    pub fn re(label: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            label: label.into(),
            op: MatchOp::Re,
            value: value.into(),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            MatchOp::Eq => "=",
            MatchOp::Re => "=~",
        };
        let v = self.value.replace('\\', "\\\\").replace('"', "\\\"");
        write!(f, "{}{op}\"{v}\"", self.label)
    }
}

/// A PromQL expression built from typed pieces.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `metric{matchers}`.
    Series {
        /// Metric name.
        metric: String,
        /// Label matchers.
        matchers: Vec<Matcher>,
    },
    /// `expr[window]`.
    Range(Box<Expr>, Window),
    /// `f(args…)`.
    Call(&'static str, Vec<Expr>),
    /// `op by (labels) (expr)` (or `op(expr)` without labels).
    Aggregate {
        /// `sum`, `count`, …
        op: &'static str,
        /// Grouping labels.
        by: Vec<&'static str>,
        /// The aggregated expression.
        expr: Box<Expr>,
    },
    /// A number literal.
    Number(String),
    /// `lhs op rhs`.
    Binary(Box<Expr>, &'static str, Box<Expr>),
    /// `(expr)`.
    Paren(Box<Expr>),
}

impl Expr {
    /// `metric{matchers}`.
    pub fn series(metric: impl Into<String>, matchers: Vec<Matcher>) -> Self {
        Expr::Series {
            metric: metric.into(),
            matchers,
        }
    }

    /// `rate(self[w])`.
    pub fn rate(self, w: Window) -> Self {
        Expr::Call("rate", vec![Expr::Range(Box::new(self), w)])
    }

    /// `op by (labels) (self)`.
    pub fn aggregate(self, op: &'static str, by: Vec<&'static str>) -> Self {
        Expr::Aggregate {
            op,
            by,
            expr: Box::new(self),
        }
    }

    /// `self op rhs`.
    pub fn op(self, op: &'static str, rhs: Expr) -> Self {
        Expr::Binary(Box::new(self), op, Box::new(rhs))
    }

    /// A number, written in its shortest form (`0.05`, `1`).
    pub fn number(n: f64) -> Self {
        Expr::Number(format!("{n}"))
    }

    /// `(self)`.
    pub fn paren(self) -> Self {
        Expr::Paren(Box::new(self))
    }

    /// The expression for reading: a long binary expression is broken before its top-level
    /// operators, one operand per line (PromQL ignores the line breaks).
    pub fn pretty(&self) -> String {
        let flat = self.to_string();
        match self {
            Expr::Binary(a, op, b) if flat.len() > 80 => {
                format!("{}\n{op} {}", a.pretty(), b.pretty())
            }
            _ => flat,
        }
    }

    /// Every metric name the expression reads.
    pub fn metrics(&self) -> Vec<&str> {
        match self {
            Expr::Series { metric, .. } => vec![metric.as_str()],
            Expr::Range(e, _) | Expr::Paren(e) | Expr::Aggregate { expr: e, .. } => e.metrics(),
            Expr::Call(_, args) => args.iter().flat_map(Expr::metrics).collect(),
            Expr::Number(_) => Vec::new(),
            Expr::Binary(a, _, b) => {
                let mut v = a.metrics();
                v.extend(b.metrics());
                v
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Series { metric, matchers } => {
                f.write_str(metric)?;
                if !matchers.is_empty() {
                    let m: Vec<String> = matchers.iter().map(ToString::to_string).collect();
                    write!(f, "{{{}}}", m.join(", "))?;
                }
                Ok(())
            }
            Expr::Range(e, w) => write!(f, "{e}[{w}]"),
            Expr::Call(name, args) => {
                let a: Vec<String> = args.iter().map(ToString::to_string).collect();
                write!(f, "{name}({})", a.join(", "))
            }
            Expr::Aggregate { op, by, expr } if by.is_empty() => write!(f, "{op}({expr})"),
            Expr::Aggregate { op, by, expr } => write!(f, "{op} by ({}) ({expr})", by.join(", ")),
            Expr::Number(n) => f.write_str(n),
            Expr::Binary(a, op, b) => write!(f, "{a} {op} {b}"),
            Expr::Paren(e) => write!(f, "({e})"),
        }
    }
}

// --- Rules -----------------------------------------------------------------------------

/// One alerting rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rule {
    /// Alert name.
    pub alert: String,
    /// PromQL.
    #[serde(serialize_with = "expr_text")]
    pub expr: Expr,
    /// How long the condition must hold.
    #[serde(rename = "for", serialize_with = "display")]
    pub after: Window,
    /// `severity`, `service`.
    pub labels: IndexMap<&'static str, String>,
    /// `summary`, `description`.
    pub annotations: IndexMap<&'static str, String>,
}

/// A long expression as a literal block, one operand per line.
fn expr_text<S: serde::Serializer>(e: &Expr, s: S) -> Result<S::Ok, S::Error> {
    let text = e.pretty();
    if text.contains('\n') {
        serde_saphyr::LitString(text).serialize(s)
    } else {
        s.serialize_str(&text)
    }
}

fn display<T: fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.to_string())
}

/// A rule group: one per service.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleGroup {
    /// Group name (the service's name).
    pub name: String,
    /// Its rules.
    pub rules: Vec<Rule>,
}

/// The labels that select a service's series on `target`: its job, and in Kubernetes its
/// namespace too (one Prometheus scrapes every namespace).
pub fn job_matchers(stack: &Stack, svc: &Service, target: Target) -> Vec<Matcher> {
    let mut m = vec![Matcher::eq("job", &svc.name)];
    if target == Target::Kubernetes {
        m.push(Matcher::eq("namespace", stack.namespace()));
    }
    m
}

fn camel(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn with(mut base: Vec<Matcher>, extra: Matcher) -> Vec<Matcher> {
    base.push(extra);
    base
}

/// `sum(rate(requests{job, status=~"5.."}[w])) / sum(rate(requests{job}[w]))`.
fn error_ratio(m: &Metrics, sel: &[Matcher], w: Window) -> Option<Expr> {
    let h = m.http.as_ref()?;
    let errors = Expr::series(
        &h.requests,
        with(sel.to_vec(), Matcher::re(&h.status_label, "5..")),
    )
    .rate(w)
    .aggregate("sum", vec![]);
    let all = Expr::series(&h.requests, sel.to_vec())
        .rate(w)
        .aggregate("sum", vec![]);
    Some(errors.op("/", all))
}

/// `sum(rate(requests{job}[w]))`.
fn request_rate(m: &Metrics, sel: &[Matcher], w: Window) -> Option<Expr> {
    let h = m.http.as_ref()?;
    Some(
        Expr::series(&h.requests, sel.to_vec())
            .rate(w)
            .aggregate("sum", vec![]),
    )
}

/// `histogram_quantile(q, sum by (le) (rate(duration_bucket{job}[w])))`.
fn latency(m: &Metrics, sel: &[Matcher], q: Quantile, w: Window) -> Option<Expr> {
    let h = m.http.as_ref()?;
    let buckets = Expr::series(format!("{}_bucket", h.duration), sel.to_vec())
        .rate(w)
        .aggregate("sum", vec!["le"]);
    Some(Expr::Call(
        "histogram_quantile",
        vec![Expr::Number(q.as_str().to_owned()), buckets],
    ))
}

fn rule(
    svc: &Service,
    a: &Alert,
    suffix: &str,
    expr: Expr,
    summary: String,
    description: &str,
) -> Rule {
    Rule {
        alert: format!("{}{suffix}", camel(&svc.name)),
        expr,
        after: a.after,
        labels: IndexMap::from([
            ("severity", a.severity.as_str().to_owned()),
            ("service", svc.name.clone()),
        ]),
        annotations: IndexMap::from([
            ("summary", summary),
            ("description", description.to_owned()),
        ]),
    }
}

/// The rules of one alert. Validation guarantees the metrics each needs are declared;
/// an alert whose metrics are missing yields no rule.
fn rules_of(stack: &Stack, svc: &Service, m: &Metrics, a: &Alert, target: Target) -> Vec<Rule> {
    let sel = job_matchers(stack, svc, target);
    let name = &svc.name;
    match a.kind {
        AlertKind::ErrorRate { max_permille } => error_ratio(m, &sel, a.window)
            .map(|e| {
                let pct = f64::from(max_permille) / 10.0;
                vec![rule(
                    svc,
                    a,
                    "HighErrorRate",
                    e.op(">", Expr::number(f64::from(max_permille) / 1000.0)),
                    format!("More than {pct}% of {name} requests fail with 5xx"),
                    "{{ $value | humanizePercentage }} of requests failed over the last window.",
                )]
            })
            .unwrap_or_default(),
        AlertKind::Latency { quantile, max_ms } => latency(m, &sel, quantile, a.window)
            .map(|e| {
                vec![rule(
                    svc,
                    a,
                    "HighLatency",
                    e.op(">", Expr::number(f64::from(max_ms) / 1000.0)),
                    format!("{name} {} latency above {max_ms}ms", quantile.label()),
                    "The latency quantile is {{ $value | humanizeDuration }}.",
                )]
            })
            .unwrap_or_default(),
        AlertKind::MemberDown => {
            let Some(c) = &svc.cluster else {
                return Vec::new();
            };
            let up = |v: &str| Expr::series("up", sel.clone()).op("==", Expr::Number(v.into()));
            let live = up("1").aggregate("count", vec![]);
            let quorum = c.min_available_for(svc.replicas);
            let mut out = vec![
                rule(
                    svc,
                    a,
                    "MemberDown",
                    up("0"),
                    format!("A {name} cluster member cannot be scraped"),
                    "{{ $labels.instance }} has been down for the alert's hold time.",
                ),
                rule(
                    svc,
                    a,
                    "BelowQuorum",
                    live.clone()
                        .op("or", Expr::Call("vector", vec![Expr::Number("0".into())]))
                        .paren()
                        .op("<", Expr::Number(quorum.to_string())),
                    format!("Fewer than {quorum} {name} members are up"),
                    "{{ $value }} members are up; the cluster needs a majority.",
                ),
            ];
            if let Some(peers) = &m.peers {
                out.push(rule(
                    svc,
                    a,
                    "MemberIsolated",
                    Expr::series(peers, sel.clone()).op(
                        "<",
                        Expr::Call("scalar", vec![live]).op("-", Expr::Number("1".into())),
                    ),
                    format!("A {name} member sees fewer peers than are up"),
                    "{{ $labels.instance }} is connected to {{ $value }} peers, fewer than the other members that are up (a partition).",
                ));
            }
            out
        }
    }
}

/// The rule group of a service on `target` (`None` when it has no alerts).
pub fn rule_group(stack: &Stack, svc: &Service, target: Target) -> Option<RuleGroup> {
    let m = svc.metrics.as_ref()?;
    let rules: Vec<Rule> = m
        .alerts
        .iter()
        .flat_map(|a| rules_of(stack, svc, m, a, target))
        .collect();
    (!rules.is_empty()).then(|| RuleGroup {
        name: svc.name.clone(),
        rules,
    })
}

// --- Compose: prometheus.yml -----------------------------------------------------------

#[derive(Serialize)]
struct PromConfig {
    global: Global,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rule_files: Vec<&'static str>,
    scrape_configs: Vec<ScrapeConfig>,
}

#[derive(Serialize)]
struct Global {
    #[serde(serialize_with = "display")]
    scrape_interval: Window,
    #[serde(serialize_with = "display")]
    evaluation_interval: Window,
}

#[derive(Serialize)]
struct ScrapeConfig {
    job_name: String,
    #[serde(serialize_with = "display")]
    scrape_interval: Window,
    metrics_path: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    static_configs: Vec<StaticConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dns_sd_configs: Vec<DnsSdConfig>,
}

#[derive(Serialize)]
struct StaticConfig {
    targets: Vec<String>,
}

#[derive(Serialize)]
struct DnsSdConfig {
    names: Vec<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    port: u16,
}

/// Services Prometheus scrapes in Compose, in declaration order.
pub fn compose_scraped<'p, 's>(
    plan: &'p Plan<'s>,
) -> impl Iterator<Item = (&'s Service, &'s Metrics)> + 'p {
    plan.services(Target::Compose)
        .filter_map(|s| s.metrics.as_ref().map(|m| (s, m)))
}

fn scrape_config(plan: &Plan<'_>, svc: &Service, m: &Metrics) -> ScrapeConfig {
    let port = m.port.number;
    let (static_configs, dns_sd_configs) = if svc.cluster.is_none() && svc.replicas > 1 {
        // Compose replicas share the service's DNS name: every address is a target.
        (
            Vec::new(),
            vec![DnsSdConfig {
                names: vec![svc.name.clone()],
                kind: "A",
                port,
            }],
        )
    } else {
        (
            vec![StaticConfig {
                targets: plan
                    .members(svc)
                    .iter()
                    .map(|h| format!("{h}:{port}"))
                    .collect(),
            }],
            Vec::new(),
        )
    };
    ScrapeConfig {
        job_name: svc.name.clone(),
        scrape_interval: Window::secs(m.interval),
        metrics_path: m.path.clone(),
        static_configs,
        dns_sd_configs,
    }
}

const RULES_FILE: &str = "rules.yml";

fn rules_document(plan: &Plan<'_>) -> Option<String> {
    let stack = plan.stack();
    #[derive(Serialize)]
    struct RulesFile {
        groups: Vec<RuleGroup>,
    }
    let groups: Vec<RuleGroup> = compose_scraped(plan)
        .filter_map(|(s, _)| rule_group(stack, s, Target::Compose))
        .collect();
    if groups.is_empty() {
        return None;
    }
    let mut text = hash_header(stack);
    yaml::write(&mut text, &RulesFile { groups });
    Some(text)
}

fn prometheus_yml(plan: &Plan<'_>, has_rules: bool) -> String {
    let stack = plan.stack();
    let every = stack
        .monitoring
        .evaluation_interval
        .unwrap_or(Window::secs(30));
    let config = PromConfig {
        global: Global {
            scrape_interval: every,
            evaluation_interval: every,
        },
        rule_files: if has_rules { vec![RULES_FILE] } else { vec![] },
        scrape_configs: compose_scraped(plan)
            .map(|(s, m)| scrape_config(plan, s, m))
            .collect(),
    };
    let mut text = hash_header(stack);
    yaml::write(&mut text, &config);
    text
}

// --- Compose: Grafana --------------------------------------------------------------------

/// The dashboard: one row per service with HTTP metrics (request rate, 5xx errors, p99
/// latency). Every query is built from the service's declared metrics.
pub fn dashboard(plan: &Plan<'_>) -> Value {
    let stack = plan.stack();
    let mut panels = Vec::new();
    let w = Window::minutes(5);
    let mut y = 0;
    for (svc, m) in compose_scraped(plan) {
        let sel = job_matchers(stack, svc, Target::Compose);
        let (Some(rate), Some(errors), Some(p99)) = (
            request_rate(m, &sel, w),
            error_ratio(m, &sel, w),
            latency(m, &sel, Quantile::P99, w),
        ) else {
            continue;
        };
        panels.push(json!({
            "type": "row",
            "title": svc.name,
            "collapsed": false,
            "gridPos": { "h": 1, "w": 24, "x": 0, "y": y },
            "id": panels.len() + 1,
            "panels": [],
        }));
        y += 1;
        for (i, (title, expr, unit)) in [
            ("Request rate", rate, "reqps"),
            ("5xx error ratio", errors, "percentunit"),
            ("p99 latency", p99, "s"),
        ]
        .into_iter()
        .enumerate()
        {
            panels.push(json!({
                "type": "timeseries",
                "title": format!("{} — {title}", svc.name),
                "datasource": { "type": "prometheus", "uid": "prometheus" },
                "fieldConfig": { "defaults": { "unit": unit }, "overrides": [] },
                "gridPos": { "h": 8, "w": 8, "x": 8 * i, "y": y },
                "id": panels.len() + 1,
                "targets": [{ "refId": "A", "expr": expr.to_string() }],
            }));
        }
        y += 8;
    }
    json!({
        "title": format!("{} ({})", stack.name, stack.env),
        "uid": format!("{}-{}", stack.name, stack.env),
        "description": format!(
            "{MARKER} from {} (stack `{}`, env `{}`). Do not edit. Regenerate: {}",
            crate::marker::source_path(stack.source),
            stack.name,
            stack.env,
            stack.regenerate_command()
        ),
        "editable": false,
        "schemaVersion": 39,
        "tags": ["stackdsl", stack.name],
        "time": { "from": "now-1h", "to": "now" },
        "refresh": "30s",
        "panels": panels,
    })
}

fn grafana_files(plan: &Plan<'_>, dir: &str) -> Vec<Document> {
    let stack = plan.stack();
    let datasources = json!({
        "apiVersion": 1,
        "datasources": [{
            "name": "Prometheus",
            "uid": "prometheus",
            "type": "prometheus",
            "access": "proxy",
            "url": format!("http://{PROMETHEUS}:{}", PROM_PORT.number),
            "isDefault": true,
            "editable": false,
        }],
    });
    let providers = json!({
        "apiVersion": 1,
        "providers": [{
            "name": "stackdsl",
            "type": "file",
            "disableDeletion": true,
            "allowUiUpdates": false,
            "options": { "path": GRAFANA_DASHBOARDS },
        }],
    });
    let yaml_doc = |v: &Value| {
        let mut t = hash_header(stack);
        yaml::write(&mut t, v);
        t
    };
    let mut json_text =
        serde_json::to_string_pretty(&dashboard(plan)).unwrap_or_else(|_| "{}".into());
    json_text.push('\n');
    vec![
        Document::new(
            format!("{dir}/grafana/provisioning/datasources/prometheus.yaml"),
            yaml_doc(&datasources),
        ),
        Document::new(
            format!("{dir}/grafana/provisioning/dashboards/stackdsl.yaml"),
            yaml_doc(&providers),
        ),
        Document::new(
            format!("{dir}/grafana/dashboards/{}.json", stack.name),
            json_text,
        ),
    ]
}

// --- Compose: files -------------------------------------------------------------------

/// Prometheus's configuration and rules (and Grafana's provisioning and dashboard), when
/// the stack enables monitoring in Compose ([`Plan::monitoring`] holds the services).
pub fn compose_files(plan: &Plan<'_>) -> Vec<Document> {
    let stack = plan.stack();
    if plan.monitoring().is_empty() {
        return Vec::new();
    }
    let dir = stack.out_dir();
    let rules = rules_document(plan);
    let mut docs = vec![Document::new(
        format!("{dir}/prometheus/prometheus.yml"),
        prometheus_yml(plan, rules.is_some()),
    )];
    if let Some(r) = rules {
        docs.push(Document::new(format!("{dir}/prometheus/{RULES_FILE}"), r));
    }
    if stack.monitoring.grafana.is_some() {
        docs.extend(grafana_files(plan, &dir));
    }
    docs
}
