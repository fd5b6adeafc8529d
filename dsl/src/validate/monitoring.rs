//! Rules of the operations settings: metrics families and alerts, Compose monitoring, and
//! backup policies.

use super::{ErrorKind, Validator};
use crate::model::{AlertKind, Metrics, Service, Target};

/// Is `name` a valid Prometheus metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`)?
fn metric_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

impl Validator<'_> {
    pub(super) fn metrics_rules(&mut self, svc: &Service, m: &Metrics, path: &str) {
        let path = format!("{path}.metrics");
        if m.interval == 0 {
            self.err(
                ErrorKind::InvalidValue,
                &path,
                "the scrape interval is 0 seconds",
                "scrape every 15 or 30 seconds: `.interval(15)`",
            );
        }
        let families = m.families();
        for (i, f) in families.iter().enumerate() {
            if !metric_name_ok(&f.name) {
                self.err(
                    ErrorKind::InvalidName,
                    format!("{path}.families[{}]", f.name),
                    format!("`{}` is not a Prometheus metric name", f.name),
                    "use letters, digits, `_` and `:`, not starting with a digit, e.g. `http_requests_total`",
                );
            }
            if families[..i].iter().any(|g| g.name == f.name) {
                self.err(
                    ErrorKind::DuplicateName,
                    format!("{path}.families[{}]", f.name),
                    format!("metric `{}` is declared twice", f.name),
                    "declare each metric family once",
                );
            }
        }
        for (i, a) in m.alerts.iter().enumerate() {
            let apath = format!("{path}.alerts[{i}]");
            if a.window.as_secs() == 0 && !matches!(a.kind, AlertKind::MemberDown) {
                self.err(
                    ErrorKind::InvalidValue,
                    &apath,
                    "the alert's rate window is 0s",
                    "use a window of a few scrape intervals, e.g. `.window(Window::minutes(5))`",
                );
            }
            if !matches!(a.kind, AlertKind::MemberDown)
                && a.window.as_secs() > 0
                && a.window.as_secs() < 2 * m.interval
            {
                self.err(
                    ErrorKind::InvalidValue,
                    &apath,
                    format!(
                        "the rate window {} holds fewer than two scrapes (every {}s), so rate() is empty",
                        a.window, m.interval
                    ),
                    format!("use a window of at least {}s", 2 * m.interval),
                );
            }
            match a.kind {
                AlertKind::ErrorRate { max_permille } => {
                    if m.http.is_none() {
                        self.err(
                            ErrorKind::InvalidValue,
                            &apath,
                            "an error-rate alert needs the service's HTTP request counter",
                            "declare it: `.http(HttpMetrics::standard())` on the metrics",
                        );
                    }
                    if max_permille == 0 || max_permille >= 1000 {
                        self.err(
                            ErrorKind::InvalidValue,
                            &apath,
                            format!("error-rate threshold {max_permille}‰ is not between 0 and 100%"),
                            "use a threshold in per mille between 1 and 999, e.g. `Alert::error_rate(50)` for 5%",
                        );
                    }
                }
                AlertKind::Latency { max_ms, .. } => {
                    if m.http.is_none() {
                        self.err(
                            ErrorKind::InvalidValue,
                            &apath,
                            "a latency alert needs the service's request-duration histogram",
                            "declare it: `.http(HttpMetrics::standard())` on the metrics",
                        );
                    }
                    if max_ms == 0 {
                        self.err(
                            ErrorKind::InvalidValue,
                            &apath,
                            "the latency threshold is 0ms, so the alert always fires",
                            "use the latency your users notice, e.g. `Alert::latency(Quantile::P95, 1000)`",
                        );
                    }
                }
                AlertKind::MemberDown => {
                    if svc.cluster.is_none() {
                        self.err(
                            ErrorKind::InvalidValue,
                            &apath,
                            "a member-down alert is for clustered services",
                            "declare `.cluster(Cluster::new(port))`, or remove the alert",
                        );
                    }
                }
            }
        }
    }

    pub(super) fn monitoring_rules(&mut self) {
        let stack = self.stack;
        for (k, v) in &stack.kubernetes.prometheus_selector {
            let lpath = format!("{}.kubernetes.prometheus_selector[{k}]", stack.name);
            let problem = super::names::label_key_problem(k)
                .map(|p| format!("label key `{k}` {p}"))
                .or_else(|| {
                    super::names::label_part_problem(v, false)
                        .map(|p| format!("label value `{v}` {p}"))
                });
            if let Some(problem) = problem {
                self.err(
                    ErrorKind::InvalidName,
                    &lpath,
                    problem,
                    "use the labels your Prometheus selects by, e.g. `release: kube-prometheus-stack`",
                );
            }
            if k.starts_with("app.kubernetes.io/") {
                self.err(
                    ErrorKind::DuplicateName,
                    &lpath,
                    format!("`{k}` is a label stackdsl sets on every object itself"),
                    "select with a label of your own, e.g. `release`",
                );
            }
        }
        let path = format!("{}.monitoring", stack.name);
        let mon = &stack.monitoring;
        if mon.grafana.is_some() && mon.prometheus.is_none() {
            self.err(
                ErrorKind::InvalidValue,
                &path,
                "Grafana is enabled without the Prometheus it reads",
                "use `Monitoring::prometheus().grafana()`",
            );
        }
        if mon.prometheus.is_none() {
            return;
        }
        if !stack.targets.contains(&Target::Compose) {
            self.err(
                ErrorKind::Unsupported,
                &path,
                "Compose monitoring is enabled but the stack renders no Compose file",
                "enable it only where Compose renders (Kubernetes uses ServiceMonitors and PrometheusRules)",
            );
        }
        let tools = [
            ("prometheus", mon.prometheus.as_ref()),
            ("grafana", mon.grafana.as_ref()),
        ];
        for (name, tool) in tools {
            let Some(tool) = tool else { continue };
            if let Some(s) = stack
                .services
                .iter()
                .find(|s| s.name == name && s.renders_on(Target::Compose))
            {
                self.err(
                    ErrorKind::DuplicateName,
                    format!("{path}.{name}"),
                    format!(
                        "monitoring adds a Compose service `{name}`, and the stack already has one (declared at {})",
                        s.origin
                    ),
                    "rename your service, or drop it and use the stack's monitoring",
                );
            }
            for s in stack
                .services
                .iter()
                .filter(|s| s.renders_on(Target::Compose))
            {
                if s.publish.iter().any(|p| p.host_port == tool.host_port) {
                    self.err(
                        ErrorKind::HostPortClash,
                        format!("{path}.{name}"),
                        format!(
                            "{name} is published on host port {}, which service `{}` publishes too",
                            tool.host_port, s.name
                        ),
                        format!("choose another port: `.{name}_host_port(…)`"),
                    );
                }
            }
        }
        if let (Some(p), Some(g)) = (&mon.prometheus, &mon.grafana)
            && p.host_port == g.host_port
        {
            self.err(
                ErrorKind::HostPortClash,
                &path,
                format!(
                    "Prometheus and Grafana are both published on {}",
                    p.host_port
                ),
                "give them different host ports",
            );
        }
    }

    pub(super) fn backup_rules(&mut self, svc: &Service, path: &str) {
        let Some(b) = &svc.backup else { return };
        let path = format!("{path}.backup");
        if let Some(p) = b.schedule.problem() {
            self.err(
                ErrorKind::InvalidValue,
                format!("{path}.schedule"),
                p,
                "write five fields, e.g. `0 2 * * *` (daily at 02:00 UTC), or use `Schedule::daily_at(2, 0)`",
            );
        }
        if b.retention_days == 0 {
            self.err(
                ErrorKind::InvalidValue,
                format!("{path}.retention"),
                "retention is 0 days: every dump would be deleted as soon as it is written",
                "keep dumps for at least a day, e.g. `.keep_days(7)`",
            );
        }
        if b.deadline.as_secs() == 0 {
            self.err(
                ErrorKind::InvalidValue,
                format!("{path}.deadline"),
                "the job's deadline is 0s, so every run is stopped at once",
                "give a run time to finish, e.g. `.deadline(Window::hours(1))`",
            );
        }
        if b.resources.limits.memory.is_none() || b.resources.limits.cpu.is_none() {
            self.err(
                ErrorKind::MissingResources,
                format!("{path}.resources"),
                "the backup job has no CPU or memory limit",
                "set both: `.resources(Resources::requests(…).limits(Cpu::m(500), Memory::mi(512)))`",
            );
        }
        match (&svc.backing, &b.dump) {
            (Some(_), Some(_)) => {}
            (Some(spec), None) => self.err(
                ErrorKind::Unsupported,
                &path,
                format!(
                    "the catalog cannot dump {} yet, so there is no backup job to render",
                    spec.kind.product()
                ),
                "back up PostgreSQL, MongoDB or Redis with their `.backup(…)`; for others, use the product's own replication",
            ),
            (None, _) => self.err(
                ErrorKind::Unsupported,
                &path,
                "backups are for backing services from the catalog, which know their dump tool",
                "declare the database with `Stack::backing(Postgres::new(…).backup(…))`",
            ),
        }
        if let crate::model::BackupTarget::Bucket(bucket) = &b.target {
            let bpath = format!("{path}.bucket");
            if bucket.bucket().is_none()
                || bucket.url.chars().any(|c| c.is_whitespace() || c == '"')
            {
                self.err(
                    ErrorKind::InvalidValue,
                    &bpath,
                    format!("`{}` is not a bucket URL", bucket.url),
                    "write `s3://<bucket>/<prefix>`, e.g. `s3://shop-backups/postgres`",
                );
            }
            if let Some(e) = &bucket.endpoint
                && !(e.starts_with("https://") || e.starts_with("http://"))
            {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{bpath}.endpoint"),
                    format!("endpoint `{e}` is not an http(s) URL"),
                    "give the storage's URL, e.g. `https://minio.example.com:9000`",
                );
            }
            for s in [&bucket.access_key_id, &bucket.secret_access_key] {
                self.secret_rules(s, &format!("{bpath}.credentials"));
            }
        }
        if !self.stack.targets.contains(&Target::Kubernetes) {
            self.err(
                ErrorKind::Unsupported,
                &path,
                "backups run as Kubernetes CronJobs, and this stack renders no Kubernetes manifests",
                "add `Target::Kubernetes`, or declare the backup only where Kubernetes renders",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Env, Image, Metrics, Monitoring, Port, Service, Stack};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::found;

    #[test]
    fn metrics_are_served_on_a_declared_port_and_path() {
        let m = Port::http("metrics", 9090);
        let mut s = Stack::new("t", Env::Dev);
        s.add(
            Service::new("api")
                .image(Image::new("a").tag("1"))
                .metrics(Metrics::new(m)),
        );
        assert_eq!(
            found(&s),
            [(UnknownPort, "t.services[api].metrics".to_owned())]
        );
    }

    #[test]
    fn grafana_needs_prometheus_and_compose_monitoring_needs_compose() {
        let mut s = Stack::new("t", Env::Dev);
        s.monitoring(Monitoring::prometheus().grafana());
        s.add(Service::new("grafana").image(Image::new("g").tag("1")));
        assert_eq!(
            found(&s),
            [(DuplicateName, "t.monitoring.grafana".to_owned())]
        );
        let mut s = Stack::new("t", Env::Dev);
        s.targets([crate::model::Target::Kubernetes])
            .monitoring(Monitoring::prometheus());
        s.add(Service::new("api").image(Image::new("a").tag("1")));
        assert_eq!(found(&s), [(Unsupported, "t.monitoring".to_owned())]);
    }
}
