//! Upper bounds of every count, duration and threshold a stack sets.
//!
//! The model uses unsigned integers; Kubernetes fields are `int32`, and a value that does
//! not fit would wrap into a negative number. More often a huge value is a typo (a cluster
//! of 200 000 nodes renders a 111 MB Compose file). Each bound below is far above what a
//! real deployment uses and well inside `i32`, so every value that passes renders exactly.

use super::{ErrorKind, Validator};
use crate::model::{Disruption, Rollout, Service};

/// Most replicas (or autoscaling maximum) of one service.
pub const MAX_REPLICAS: u32 = 10_000;
/// Most members of a cluster (each is a Compose service and a StatefulSet pod with an
/// address every member is told about).
pub const MAX_CLUSTER_NODES: u32 = 100;
/// Longest probe period, timeout or initial delay, and metrics scrape interval (an hour).
pub const MAX_PROBE_SECONDS: u32 = 3_600;
/// Most consecutive probe failures before a container is restarted or unready.
pub const MAX_PROBE_FAILURES: u32 = 1_000;
/// Longest HPA scaling period (Kubernetes' own limit).
pub const MAX_SCALING_PERIOD: u32 = 1_800;
/// Longest HPA stabilization window (Kubernetes' own limit).
pub const MAX_STABILIZATION: u32 = 3_600;
/// Most retries, and most finished jobs kept, of a backup CronJob.
pub const MAX_JOB_COUNT: u32 = 100;
/// Longest backup retention, in days (ten years).
pub const MAX_RETENTION_DAYS: u32 = 3_650;

impl Validator<'_> {
    fn bound(&mut self, path: String, what: &str, value: u32, max: u32, hint: &str) {
        if value > max {
            self.err(
                ErrorKind::InvalidValue,
                path,
                format!("{what} is {value}, above the {max} stackdsl accepts (a typo?)"),
                hint.to_owned(),
            );
        }
    }

    /// Every count, duration and threshold of one service, against its upper bound.
    pub(super) fn bound_rules(&mut self, svc: &Service, path: &str) {
        let max_nodes = if svc.cluster.is_some() {
            MAX_CLUSTER_NODES
        } else {
            MAX_REPLICAS
        };
        let what = if svc.cluster.is_some() {
            "the number of cluster members"
        } else {
            "the replica count"
        };
        self.bound(
            format!("{path}.replicas"),
            what,
            svc.replicas,
            max_nodes,
            "run fewer replicas; for more, autoscale between bounds instead",
        );
        if let Some(a) = &svc.autoscale {
            let apath = format!("{path}.autoscale");
            for (what, v) in [
                ("the autoscaling minimum", a.min),
                ("the autoscaling maximum", a.max),
            ] {
                self.bound(
                    apath.clone(),
                    what,
                    v,
                    max_nodes,
                    "use bounds a real deployment reaches",
                );
            }
            for (dir, policy) in [("scale_up", &a.scale_up), ("scale_down", &a.scale_down)] {
                let Some(p) = policy else { continue };
                let ppath = format!("{apath}.{dir}");
                if p.percent == 0 {
                    self.err(
                        ErrorKind::InvalidValue,
                        ppath.clone(),
                        "a scaling policy of 0 % never changes the replica count",
                        "use a percentage of at least 1",
                    );
                }
                self.bound(
                    ppath.clone(),
                    "the scaling percentage",
                    p.percent,
                    1_000,
                    "use at most 1000 % per period",
                );
                let period = p.every.as_secs();
                if period == 0 {
                    self.err(
                        ErrorKind::InvalidValue,
                        ppath.clone(),
                        "the scaling period is 0 s",
                        "use a period of 1 to 1800 s",
                    );
                }
                self.bound(
                    ppath.clone(),
                    "the scaling period (seconds)",
                    period,
                    MAX_SCALING_PERIOD,
                    "Kubernetes accepts periods of 1 to 1800 s",
                );
                if let Some(w) = p.stabilization {
                    self.bound(
                        ppath,
                        "the stabilization window (seconds)",
                        w.as_secs(),
                        MAX_STABILIZATION,
                        "Kubernetes accepts windows of 0 to 3600 s",
                    );
                }
            }
        }
        for (kind, probe) in svc.probes.iter() {
            let ppath = format!("{path}.probes.{kind}");
            for (what, v) in [
                ("the initial delay (seconds)", probe.initial_delay),
                ("the period (seconds)", probe.period),
                ("the timeout (seconds)", probe.timeout),
            ] {
                if let Some(v) = v {
                    self.bound(
                        ppath.clone(),
                        &format!("{kind} probe {what}"),
                        v,
                        MAX_PROBE_SECONDS,
                        "use at most an hour; a slow starter wants a startup probe",
                    );
                }
            }
            if let Some(v) = probe.failure_threshold {
                self.bound(
                    ppath,
                    &format!("{kind} probe failure threshold"),
                    v,
                    MAX_PROBE_FAILURES,
                    "use a threshold of at most 1000",
                );
            }
        }
        if let Some(c) = &svc.cluster {
            self.bound(
                format!("{path}.cluster.seeds"),
                "the number of seeds",
                c.seeds,
                MAX_CLUSTER_NODES,
                "name a few members as seeds (1 to 3)",
            );
        }
        if let Some(Rollout::Rolling {
            max_surge,
            max_unavailable,
        }) = svc.rollout
        {
            for (what, v) in [("maxSurge", max_surge), ("maxUnavailable", max_unavailable)] {
                self.bound(
                    format!("{path}.rollout"),
                    what,
                    v,
                    MAX_REPLICAS,
                    "use at most the replica count",
                );
            }
        }
        if let Some(Disruption::MinAvailable(n) | Disruption::MaxUnavailable(n)) = svc.disruption {
            self.bound(
                format!("{path}.disruption"),
                "the disruption budget",
                n,
                MAX_REPLICAS,
                "use at most the replica count",
            );
        }
        if let Some(m) = &svc.metrics {
            self.bound(
                format!("{path}.metrics"),
                "the scrape interval (seconds)",
                m.interval,
                MAX_PROBE_SECONDS,
                "scrape at least once an hour",
            );
            if m.interval == 0 {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{path}.metrics"),
                    "the scrape interval is 0 s",
                    "scrape every 15 to 60 s",
                );
            }
        }
        if let Some(b) = &svc.backup {
            let bpath = format!("{path}.backup");
            self.bound(
                bpath.clone(),
                "the retry count",
                b.retries,
                MAX_JOB_COUNT,
                "retry a few times (the default is 2)",
            );
            for (what, v) in [
                ("successful jobs kept", b.history.0),
                ("failed jobs kept", b.history.1),
            ] {
                self.bound(
                    bpath.clone(),
                    what,
                    v,
                    MAX_JOB_COUNT,
                    "keep a few finished jobs for their logs",
                );
            }
            self.bound(
                bpath,
                "the retention (days)",
                b.retention_days,
                MAX_RETENTION_DAYS,
                "keep backups for at most ten years",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Autoscale, Cluster, Env, Image, Port, Probe, Service};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::{found, stack};

    fn api() -> crate::builder::ServiceBuilder<crate::builder::HasImage> {
        Service::new("api").image(Image::new("a").tag("1"))
    }

    #[test]
    fn counts_above_their_bound_are_errors_at_their_path() {
        let s = stack(Env::Dev, [api().replicas(u32::MAX)]);
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].replicas".to_owned())]
        );
        let s = stack(
            Env::Dev,
            [api().autoscale(Autoscale::between(1, u32::MAX).cpu(70))],
        );
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].autoscale".to_owned())]
        );
        let s = stack(
            Env::Dev,
            [api().liveness(Probe::exec(["true"]).period(u32::MAX).timeout(1))],
        );
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].probes.liveness".to_owned())]
        );
    }

    #[test]
    fn bounds_leave_real_values_alone() {
        let s = stack(
            Env::Dev,
            [api()
                .replicas(super::MAX_REPLICAS)
                .liveness(Probe::exec(["true"]).period(60).timeout(5))],
        );
        assert_eq!(found(&s), []);
    }

    #[test]
    fn a_cluster_has_at_most_a_hundred_members() {
        let gossip = Port::tcp("gossip", 4369);
        let node = |n: u32| {
            Service::new("node")
                .image(Image::new("n").tag("1"))
                .port(gossip)
                .replicas(n)
                .cluster(Cluster::new(gossip))
        };
        assert_eq!(found(&stack(Env::Dev, [node(99)])), []);
        let errors = found(&stack(Env::Dev, [node(200_000)]));
        assert!(
            errors.contains(&(InvalidValue, "t.services[node].replicas".to_owned())),
            "{errors:?}"
        );
    }
}
