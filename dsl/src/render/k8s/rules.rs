//! Rules only the Kubernetes target imposes: a namespace that is a DNS label, images (not
//! builds) to run, ReadWriteOnce volumes on one pod, autoscaling metrics with requests,
//! disruption budgets drains can satisfy, object names that do not collide, and (in
//! [`pod`]) how Services are exposed and pods scheduled, identified and pulled (the route
//! API's, secret store's and GitOps settings' rules are in `options_rules`).

mod pod;

use std::collections::BTreeMap;

use crate::diagnostics::{ErrorKind, Errors};
use crate::model::{Condition, Disruption, EnvValue, Service, Target, VolumeSource};
use crate::plan::Plan;
use crate::validate::{Validator, names};

/// Every Kubernetes rule of the plan's stack.
pub(super) fn check(plan: &Plan<'_>) -> Errors {
    let mut v = Validator::new(plan);
    v.kubernetes_namespace_rules();
    for svc in plan.services(Target::Kubernetes) {
        let path = v.svc_path(svc);
        v.kubernetes_service_rules(svc, &path);
        v.exposure_rules(svc, &path);
        v.pod_settings_rules(svc, &path);
    }
    v.node_port_rules();
    v.kubernetes_name_rules();
    v.kubernetes_option_rules();
    v.errors
}

impl Validator<'_> {
    fn kubernetes_namespace_rules(&mut self) {
        let name = &self.stack.name;
        if let Some(problem) = names::dns1123_problem(&self.stack.namespace()) {
            self.err(
                ErrorKind::InvalidName,
                format!("{name}.namespace"),
                format!("namespace `{}` {problem}", self.stack.namespace()),
                "use a DNS-1123 label such as `shop-prod`",
            );
        }
    }

    /// Rules only the Kubernetes target imposes.
    fn kubernetes_service_rules(&mut self, svc: &Service, path: &str) {
        if let Some(name) = &svc.main_container_name
            && let Some(problem) = names::dns1123_problem(name)
        {
            self.err(
                ErrorKind::InvalidName,
                format!("{path}.main_container_name"),
                format!("container name `{name}` {problem}; Kubernetes container names are DNS-1123 labels"),
                format!("use a name such as `{}`", names::suggest_label(name)),
            );
        }
        for (key, value) in &svc.annotations {
            let problem = names::label_key_problem(key)
                .map(|p| format!("annotation key `{key}` {p}"))
                .or_else(|| {
                    value.chars().any(char::is_control).then(|| {
                        format!("the value of annotation `{key}` contains a control character")
                    })
                });
            if let Some(problem) = problem {
                self.err(
                    ErrorKind::InvalidName,
                    format!("{path}.annotations[{key}]"),
                    problem,
                    "use a key such as `acme.io/owner` (an optional DNS prefix, `/`, and a name of letters, digits, `-`, `_` and `.`) and a one-line value",
                );
            }
        }
        self.kubernetes_runtime_rules(svc, path);
        if svc.source.image.is_none() {
            self.err(
                ErrorKind::UnpinnedImage,
                format!("{path}.image"),
                "Kubernetes runs images, but this service only has a build",
                "add `.image(registry.image(\"name\").tag(version))`; CI builds and pushes it",
            );
        }
        let persistent = svc
            .mounts
            .iter()
            .find(|m| matches!(m.source, VolumeSource::Persistent { .. }));
        if let Some(m) = persistent
            && svc.cluster.is_none()
            && (svc.replicas > 1 || svc.autoscale.is_some())
        {
            self.err(
                ErrorKind::Unsupported,
                format!("{path}.mounts[{}]", m.path),
                format!(
                    "service `{}` runs {} replicas (or autoscales) but mounts a ReadWriteOnce volume, which only one pod can use",
                    svc.name, svc.replicas
                ),
                "run one replica, move the state to a backing service, or make it a cluster (StatefulSet) with a volume per member",
            );
        }
        if let Some(a) = &svc.autoscale {
            let req = svc.resources.map(|r| r.requests).unwrap_or_default();
            for (metric, target, has) in [
                ("cpu", a.cpu, req.cpu.is_some()),
                ("memory", a.memory, req.memory.is_some()),
            ] {
                if target.is_some() && !has {
                    self.err(
                        ErrorKind::MissingResources,
                        format!("{path}.autoscale"),
                        format!("autoscaling on {metric} utilisation needs a {metric} request to measure against"),
                        format!("set `requests.{metric}` in `.resources(…)`"),
                    );
                }
            }
        }
        let floor = svc.autoscale.as_ref().map_or(svc.replicas, |a| a.min);
        // Clusters have their own, quorum-aware rules.
        let disruption = if svc.cluster.is_some() {
            None
        } else {
            svc.disruption
        };
        match disruption {
            Some(Disruption::MinAvailable(n)) if n >= floor => self.err(
                ErrorKind::InvalidValue,
                format!("{path}.disruption"),
                format!("minAvailable {n} is not below the {floor} replicas the service may run, so no pod could ever be evicted and node drains would hang"),
                format!("use at most {}", floor.saturating_sub(1)),
            ),
            Some(Disruption::MaxUnavailable(0)) => self.err(
                ErrorKind::InvalidValue,
                format!("{path}.disruption"),
                "maxUnavailable 0 forbids every voluntary eviction, so node drains would hang",
                "allow at least 1",
            ),
            _ => {}
        }
    }

    /// What a pod cannot be given that a Compose container can: a host device, a host
    /// folder named by a deploy-time parameter, a wait for another workload to complete.
    fn kubernetes_runtime_rules(&mut self, svc: &Service, path: &str) {
        if let Some(d) = svc.devices.first() {
            self.err(
                ErrorKind::Unsupported,
                format!("{path}.devices[{}]", d.host),
                format!(
                    "Kubernetes cannot give the pods of `{}` host device `{}`: pods get devices only through a device plugin's resource",
                    svc.name, d.host
                ),
                "keep the service off Kubernetes (`.only_on([Target::Compose])`), or drop the device there and request the device plugin's resource with `.kubernetes(|k| k.pod(…))`",
            );
        }
        for m in svc
            .mounts
            .iter()
            .chain(svc.containers().flat_map(|c| &c.mounts))
        {
            if let VolumeSource::HostDir(p) = &m.source {
                self.err(
                    ErrorKind::Unsupported,
                    format!("{path}.mounts[{}]", m.path),
                    format!(
                        "Kubernetes has no deploy-time parameter `{}` naming a folder of the Docker host",
                        p.name()
                    ),
                    "keep the data in a persistent volume (`Mount::persistent`), or keep the service off Kubernetes (`.only_on([Target::Compose])`)",
                );
            }
        }
        for dep in &svc.depends_on {
            if dep.condition == Some(Condition::CompletedSuccessfully) {
                self.err(
                    ErrorKind::Unsupported,
                    format!("{path}.depends_on[{}]", dep.name()),
                    format!(
                        "Kubernetes cannot start `{}` after `{}` has completed: workloads start in any order",
                        svc.name,
                        dep.name()
                    ),
                    "run the one-shot as the service's init container (`.init_container(…)`) or migration (`.migrations(…)`), or wait for `Condition::Started`",
                );
            }
        }
    }

    /// Objects of one kind share a name space per namespace. The Kubernetes target derives
    /// names (`<service>-config`, `<service>-headless`, the `default-deny` policy) next to
    /// names the stack chooses (services, config files, volumes): two objects of one kind
    /// and name would silently replace each other on apply.
    fn kubernetes_name_rules(&mut self) {
        let stack = self.stack;
        // (kind, name) → (who claims it, whether a config file does).
        let mut claims: BTreeMap<(&'static str, String), (String, bool)> = BTreeMap::new();
        let mut claim = |v: &mut Self,
                         kind: &'static str,
                         name: String,
                         who: String,
                         path: String,
                         file: bool| {
            match claims.get(&(kind, name.clone())) {
                None => {
                    claims.insert((kind, name), (who, file));
                }
                // Two config files of one name are reported by the file rule already.
                Some((_, true)) if file => {}
                Some((first, _)) => {
                    let hint = if kind == "PersistentVolumeClaim" {
                        "a ReadWriteOnce claim serves one pod: give each service a volume of its own"
                    } else {
                        "rename one of them; the Kubernetes target also names objects `<service>-config`, `<service>-headless` and `default-deny`"
                    };
                    v.err(
                        ErrorKind::DuplicateName,
                        path,
                        format!("Kubernetes {kind} `{name}` would be rendered for {who} and for {first}; applying the manifests would keep only one"),
                        hint,
                    );
                }
            }
        };
        if stack.kubernetes.hardened {
            claim(
                self,
                "NetworkPolicy",
                super::network::DEFAULT_DENY.into(),
                "the stack's deny-all policy".into(),
                stack.name.clone(),
                false,
            );
        }
        for svc in stack
            .services
            .iter()
            .filter(|s| s.renders_on(Target::Kubernetes))
        {
            // Services of one name are reported as duplicates already.
            if !self.is_first(svc) {
                continue;
            }
            let path = self.svc_path(svc);
            let who = format!("service `{}`", svc.name);
            if stack.kubernetes.hardened {
                claim(
                    self,
                    "NetworkPolicy",
                    svc.name.clone(),
                    who.clone(),
                    path.clone(),
                    false,
                );
            }
            let gossip = svc.cluster.as_ref().map(|c| c.port.name);
            if svc.ports.iter().any(|p| Some(p.name) != gossip) {
                claim(
                    self,
                    "Service",
                    svc.name.clone(),
                    who.clone(),
                    path.clone(),
                    false,
                );
            }
            if svc.cluster.is_some() {
                let name = crate::plan::headless_name(&svc.name);
                claim(
                    self,
                    "Service",
                    name,
                    format!("the discovery Service of cluster `{}`", svc.name),
                    format!("{path}.cluster"),
                    false,
                );
            }
            if let Some(var) = svc
                .env
                .iter()
                .find(|v| matches!(v.value, EnvValue::Config(_)))
            {
                let name = super::config_map_name(&svc.name);
                claim(
                    self,
                    "ConfigMap",
                    name,
                    format!("the configuration of service `{}`", svc.name),
                    format!("{path}.env[{}]", var.name),
                    false,
                );
            }
            let mut volumes: Vec<&str> = Vec::new();
            for m in &svc.mounts {
                let mpath = format!("{path}.mounts[{}]", m.path);
                match &m.source {
                    VolumeSource::File(f) => claim(
                        self,
                        "ConfigMap",
                        f.name.clone(),
                        format!("config file `{}` of service `{}`", f.name, svc.name),
                        mpath,
                        true,
                    ),
                    // A cluster's claims are per-member templates (`<volume>-<set>-<i>`).
                    VolumeSource::Persistent { name, .. }
                        if svc.cluster.is_none() && !volumes.contains(&name.as_str()) =>
                    {
                        volumes.push(name);
                        claim(
                            self,
                            "PersistentVolumeClaim",
                            name.clone(),
                            format!("volume `{name}` of service `{}`", svc.name),
                            mpath,
                            false,
                        );
                    }
                    _ => {}
                }
            }
        }
        // Route objects and their policies are named after their service (`<service>`,
        // `<service>-2`, …), the redirect route after the Gateway.
        if let Some(gw) = super::gateway::gateway(stack) {
            // HTTPRoutes and GRPCRoutes share their policies' names: one name space.
            for g in super::gateway::groups(self.plan, gw) {
                let who = format!("the routes of service `{}` on `{}`", g.svc.name, g.host);
                let path = format!("{}.routes[{}]", self.svc_path(g.svc), g.host);
                claim(self, "route", g.name, who, path, false);
            }
            if gw.is_own() && !super::gateway::tls_hosts(self.plan).is_empty() {
                let name = super::gateway::redirect_name(&super::gateway::gateway_name(stack, gw));
                claim(
                    self,
                    "route",
                    name,
                    "the Gateway's HTTPS redirect".into(),
                    format!("{}.kubernetes.routes", stack.name),
                    false,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostics::ErrorKind::{self, *};
    use crate::model::{Autoscale, Build, Env, Image, Mount, Service, Stack, Target};
    use crate::plan::Plan;

    fn found(s: &Stack) -> Vec<(ErrorKind, String)> {
        super::check(&Plan::derive(s))
            .into_iter()
            .map(|e| (e.kind, e.path.to_string()))
            .collect()
    }

    fn k8s() -> Stack {
        let mut s = Stack::new("t", Env::Dev);
        s.targets([Target::Kubernetes]);
        s
    }

    #[test]
    fn the_namespace_is_a_label() {
        let mut s = k8s();
        s.in_namespace("Bad_NS");
        assert_eq!(found(&s), [(InvalidName, "t.namespace".to_owned())]);
    }

    #[test]
    fn kubernetes_runs_images_and_one_pod_per_volume() {
        let mut s = k8s();
        s.add(Service::new("web").build(Build::new(".")));
        s.add(
            Service::new("db")
                .image(Image::new("p").tag("1"))
                .replicas(2)
                .mount(Mount::persistent("data", "/data")),
        );
        assert_eq!(
            found(&s),
            [
                (UnpinnedImage, "t.services[web].image".to_owned()),
                (Unsupported, "t.services[db].mounts[/data]".to_owned()),
            ]
        );
    }

    #[test]
    fn autoscaling_on_a_metric_needs_its_request() {
        let mut s = k8s();
        s.add(
            Service::new("api")
                .image(Image::new("a").tag("1"))
                .autoscale(Autoscale::between(1, 3).cpu(70)),
        );
        assert_eq!(
            found(&s),
            [(MissingResources, "t.services[api].autoscale".to_owned())]
        );
    }

    #[test]
    fn derived_object_names_do_not_collide() {
        let mut s = k8s();
        s.add(Service::new("default-deny").image(Image::new("a").tag("1")));
        assert_eq!(
            found(&s),
            [(DuplicateName, "t.services[default-deny]".to_owned())]
        );
    }
}
