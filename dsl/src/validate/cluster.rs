//! Cluster rules: quorum, seeds, disruption budgets and the variables a cluster derives.

use super::{ErrorKind, MAX_CLUSTER_NAME, Validator, names};
use crate::model::{Cluster, Disruption, Env, Service};

impl<'a> Validator<'a> {
    /// Quorum and discovery rules of a clustered service.
    pub(super) fn cluster_rules(&mut self, svc: &Service, c: &Cluster, path: &str) {
        let n = svc.replicas;
        let quorum = c.quorum(n);
        self.check_own_port(svc, c.port, path, "gossips on");
        // The variables the cluster sets on every member must not be set twice.
        let mut derived: Vec<(&str, &str)> = vec![
            (c.node_name_env.as_str(), "the member's own name"),
            (c.seeds_env.as_str(), "the seed addresses"),
        ];
        if let Some((var, _)) = &c.secret {
            derived.push((var.as_str(), "the cluster secret"));
        }
        for (i, (var, what)) in derived.iter().enumerate() {
            if derived[..i].iter().any(|(v, _)| v == var) {
                self.err(
                    ErrorKind::DuplicateName,
                    format!("{path}.env[{var}]"),
                    format!("cluster `{}` uses `{var}` for two things", svc.name),
                    "give the node name, the seeds and the secret distinct variables",
                );
            }
            if svc.env.iter().any(|e| e.name == *var) {
                self.err(
                    ErrorKind::DuplicateName,
                    format!("{}.env[{var}]", self.svc_path(svc)),
                    format!(
                        "service `{}` sets `{var}`, which its cluster derives ({what}) for each member",
                        svc.name
                    ),
                    "remove the `.env(…)` call, or name the cluster's variable differently on the `Cluster` builder",
                );
            }
        }
        if svc.name.len() > MAX_CLUSTER_NAME {
            self.err(
                ErrorKind::InvalidName,
                self.svc_path(svc),
                format!(
                    "cluster name `{}` has {} characters, too many for the names derived from it: `<name>-worker-<i>`, `<name>-headless` and the StatefulSet's `<name>-<revision hash>` label must each fit in 63",
                    svc.name,
                    svc.name.len()
                ),
                format!("shorten it to at most {MAX_CLUSTER_NAME} characters"),
            );
        }
        if self.stack.env == Env::Prod && n < 3 {
            self.err(
                ErrorKind::InvalidValue,
                format!("{path}.nodes"),
                format!(
                    "cluster `{}` runs {n} node{} in prod; losing one would lose the majority",
                    svc.name,
                    if n == 1 { "" } else { "s" }
                ),
                "run at least 3 nodes in prod (an odd number: 3, 5, 7)",
            );
        }
        if c.seeds == 0 || c.seeds > n {
            self.err(
                ErrorKind::UnknownService,
                format!("{path}.seeds"),
                format!("cluster `{}` names {} seed(s) but has {n} member(s): seed addresses would point at members that do not exist", svc.name, c.seeds),
                format!("use between 1 and {n} seeds"),
            );
        }
        if let Some(p) = c.partition.filter(|p| *p > n) {
            self.err(
                ErrorKind::InvalidValue,
                format!("{path}.partition"),
                format!(
                    "cluster `{}` holds updates back below ordinal {p} but has {n} member(s): no member would ever update",
                    svc.name
                ),
                format!("use a partition between 0 and {n} (members at or above it update)"),
            );
        }
        let floor = svc.autoscale.as_ref().map_or(n, |a| a.min);
        let min_available = match svc.disruption {
            Some(Disruption::MinAvailable(m)) => Some(m),
            Some(Disruption::MaxUnavailable(k)) => Some(floor.saturating_sub(k)),
            Some(_) => None,
            None => Some(c.min_available_for(n)),
        };
        if let Some(m) = min_available {
            if m < quorum {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{path}.min_available"),
                    format!("a disruption budget of {m} available member(s) lets drains take cluster `{}` below its majority of {quorum}", svc.name),
                    format!("keep at least {quorum} members available"),
                );
            }
            if m >= floor {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{path}.min_available"),
                    format!(
                        "keeping {m} of {floor} members of cluster `{}` available forbids every eviction, so node drains would hang",
                        svc.name
                    ),
                    format!("run more than {m} members (or, with autoscaling, a minimum above {m})"),
                );
            }
        }
        if let Some(a) = &svc.autoscale
            && a.min < quorum
        {
            self.err(
                ErrorKind::InvalidValue,
                format!("{}.autoscale", self.svc_path(svc)),
                format!("autoscaling cluster `{}` down to {} members would lose the majority of {quorum} of its {n} nodes", svc.name, a.min),
                format!("use a minimum of at least {quorum}"),
            );
        }
        if let Some(m) = &svc.metrics
            && m.port.name == c.port.name
        {
            self.err(
                ErrorKind::InvalidValue,
                format!("{}.metrics", self.svc_path(svc)),
                "metrics are served on the cluster's gossip port",
                "serve metrics on the health port",
            );
        }
        if let Some((var, s)) = &c.secret {
            if let Some(problem) = names::env_name_problem(var) {
                self.err(
                    ErrorKind::InvalidName,
                    format!("{path}.secret"),
                    format!("variable `{var}` {problem}"),
                    "use a name such as `CLUSTER_SECRET`",
                );
            }
            self.secret_rules(s, &format!("{path}.secret"));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Cluster, Env, Image, Port, Service};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::{found, stack};

    const GOSSIP: Port = Port::tcp("gossip", 4369);

    fn node(replicas: u32) -> crate::builder::ServiceBuilder<crate::builder::HasImage> {
        Service::new("node")
            .image(Image::new("n").tag("1"))
            .port(GOSSIP)
            .replicas(replicas)
            .cluster(Cluster::new(GOSSIP))
    }

    #[test]
    fn prod_clusters_keep_a_majority() {
        assert_eq!(found(&stack(Env::Dev, [node(3)])), []);
        let errors = found(&stack(Env::Prod, [node(2)]));
        assert!(errors.contains(&(InvalidValue, "t.services[node].cluster.nodes".to_owned())));
    }

    #[test]
    fn seeds_point_at_members() {
        let s = stack(Env::Dev, [node(3).cluster(Cluster::new(GOSSIP).seeds(4))]);
        assert_eq!(
            found(&s),
            [(UnknownService, "t.services[node].cluster.seeds".to_owned())]
        );
    }

    #[test]
    fn a_partition_is_at_most_the_member_count() {
        let at = |p: u32| {
            found(&stack(
                Env::Dev,
                [node(3).cluster(Cluster::new(GOSSIP).partition(p))],
            ))
        };
        // Every member held back (3) is a canary pause, not an error.
        assert_eq!(at(3), []);
        assert_eq!(
            at(4),
            [(
                InvalidValue,
                "t.services[node].cluster.partition".to_owned()
            )]
        );
        assert_eq!(at(u32::MAX).len(), 1);
    }

    #[test]
    fn the_variables_a_cluster_derives_are_not_set_by_hand() {
        let s = stack(Env::Dev, [node(3).env("CLUSTER_SEEDS", "x")]);
        assert_eq!(
            found(&s),
            [(
                DuplicateName,
                "t.services[node].env[CLUSTER_SEEDS]".to_owned()
            )]
        );
    }

    #[test]
    fn a_cluster_name_leaves_room_for_derived_names() {
        let long = "n".repeat(crate::validate::MAX_CLUSTER_NAME + 1);
        let s = stack(
            Env::Dev,
            [Service::new(long.clone())
                .image(Image::new("n").tag("1"))
                .port(GOSSIP)
                .replicas(3)
                .cluster(Cluster::new(GOSSIP))],
        );
        assert_eq!(found(&s), [(InvalidName, format!("t.services[{long}]"))]);
    }
}
