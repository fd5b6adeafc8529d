//! Rules across services: unique names, references to services, the dependency graph
//! (targets, cycles, replicas where traffic is routed), host ports and secret variables.

use std::collections::BTreeMap;

use super::{ErrorKind, Validator};
use crate::model::{Service, ServiceRef, Target};

impl<'a> Validator<'a> {
    pub(super) fn cross_service_rules(&mut self) {
        let stack = self.stack;
        // Duplicate service names.
        let mut first: BTreeMap<&str, &Service> = BTreeMap::new();
        for svc in &stack.services {
            if let Some(prev) = first.insert(&svc.name, svc) {
                first.insert(&prev.name, prev);
                let (message, hint) = if prev.origin == svc.origin {
                    (
                        format!(
                            "service name `{}` is used twice, both declared at {}: a component (or loop) that adds it ran twice",
                            svc.name, svc.origin
                        ),
                        "call the component once, or give its service a name parameter; mark the component function `#[track_caller]` so errors name the lines that call it",
                    )
                } else {
                    (
                        format!(
                            "service name `{}` is used twice: declared at {} and again at {}",
                            svc.name, prev.origin, svc.origin
                        ),
                        "rename one of them; if both come from components, add the second under another name",
                    )
                };
                self.err(ErrorKind::DuplicateName, self.svc_path(svc), message, hint);
            }
        }
        self.secret_var_rules();
        self.host_port_rules();
        // A service must not reach one that its target does not render.
        for svc in &stack.services {
            for d in svc.dependencies() {
                let Some(&dep) = self.by_name.get(d.name()) else {
                    continue;
                };
                // PaaS platforms run a subset of the services; `paas_rules` checks those.
                for t in stack
                    .targets
                    .iter()
                    .filter(|t| !matches!(t, Target::Paas(_)))
                {
                    if svc.renders_on(*t) && !dep.renders_on(*t) {
                        self.err(
                            ErrorKind::Unsupported,
                            format!("{}.depends_on[{}]", self.svc_path(svc), dep.name),
                            format!("service `{}` is rendered for {t} but depends on `{}`, which is not", svc.name, dep.name),
                            "render both for the same targets (`only_on`), or drop the dependency",
                        );
                    }
                }
            }
        }
        // References to services, and depends_on.
        for svc in &stack.services {
            for d in &svc.depends_on {
                let path = format!("{}.depends_on[{}]", self.svc_path(svc), d.name());
                self.check_ref(&d.service, &path);
                if d.name() == svc.name {
                    self.err(
                        ErrorKind::DependencyCycle,
                        path,
                        format!("service `{}` depends on itself", svc.name),
                        "remove the dependency",
                    );
                }
            }
        }
        // Replicas of 0 where traffic is routed.
        for svc in &stack.services {
            if svc.replicas > 0 {
                continue;
            }
            let dependant = stack
                .services
                .iter()
                .find(|o| o.dependencies().iter().any(|d| d.name() == svc.name));
            let reason = if !svc.publish.is_empty() {
                Some("it publishes host ports".to_owned())
            } else if !svc.routes.is_empty() {
                Some(format!("it is exposed on `{}`", svc.routes[0].host))
            } else {
                dependant.map(|d| format!("service `{}` depends on it", d.name))
            };
            if let Some(reason) = reason {
                self.err(
                    ErrorKind::NoReplicas,
                    format!("{}.replicas", self.svc_path(svc)),
                    format!("service `{}` has 0 replicas but {reason}", svc.name),
                    "run at least one replica, or remove what routes traffic to it",
                );
            }
        }
        self.cycle_rules();
        self.file_name_rules();
    }

    pub(super) fn check_ref(&mut self, r: &ServiceRef, path: &str) {
        if !self.by_name.contains_key(r.name()) || r.stack() != self.stack.name {
            self.err(
                ErrorKind::UnknownService,
                path.to_owned(),
                format!(
                    "refers to service `{}` of stack `{}` (declared at {}), which is not in stack `{}`",
                    r.name(),
                    r.stack(),
                    r.origin(),
                    self.stack.name
                ),
                "add that service to this stack (call the component that declares it) and use the handle it returns",
            );
        }
    }

    fn cycle_rules(&mut self) {
        let stack = self.stack;
        let index: BTreeMap<&str, usize> = stack
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let edges: Vec<Vec<usize>> = stack
            .services
            .iter()
            .map(|s| {
                s.dependencies()
                    .iter()
                    .filter(|d| d.name() != s.name)
                    .filter_map(|d| index.get(d.name()).copied())
                    .collect()
            })
            .collect();
        // Iterative DFS with colours; report each cycle once, from its first service.
        let mut colour = vec![0u8; edges.len()];
        for start in 0..edges.len() {
            if colour[start] != 0 {
                continue;
            }
            let mut stack_: Vec<(usize, usize)> = vec![(start, 0)];
            colour[start] = 1;
            while let Some(&mut (node, ref mut next)) = stack_.last_mut() {
                if let Some(&to) = edges[node].get(*next) {
                    *next += 1;
                    match colour[to] {
                        0 => {
                            colour[to] = 1;
                            stack_.push((to, 0));
                        }
                        1 => {
                            let pos = stack_.iter().position(|(n, _)| *n == to).unwrap_or(0);
                            let mut names: Vec<&str> = stack_[pos..]
                                .iter()
                                .map(|(n, _)| stack.services[*n].name.as_str())
                                .collect();
                            names.push(&stack.services[to].name);
                            let svc = &stack.services[to];
                            self.err(
                                ErrorKind::DependencyCycle,
                                format!("{}.depends_on", self.svc_path(svc)),
                                format!("services depend on each other in a cycle: {}", names.join(" → ")),
                                "no order can start these; remove one dependency (a URL in `env` counts as one)",
                            );
                        }
                        _ => {}
                    }
                } else {
                    colour[node] = 2;
                    stack_.pop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Env, Image, Port, Service, Stack, Target};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::found;

    const HTTP: Port = Port::http("http", 80);

    fn svc(name: &str) -> crate::builder::ServiceBuilder<crate::builder::HasImage> {
        Service::new(name)
            .image(Image::new("a").tag("1"))
            .port(HTTP)
    }

    #[test]
    fn service_names_are_unique() {
        let mut s = Stack::new("t", Env::Dev);
        s.add(svc("api"));
        s.add(svc("api"));
        assert_eq!(found(&s), [(DuplicateName, "t.services[api]".to_owned())]);
    }

    #[track_caller]
    fn component(s: &mut Stack) {
        s.add(
            Service::new("cache")
                .image(Image::new("valkey/valkey").tag("8"))
                .security(crate::model::Security::drops_privileges(
                    999,
                    999,
                    ["CHOWN", "SETUID", "SETGID"],
                    "the entrypoint chowns /data and steps down to valkey",
                )),
        );
    }

    fn untracked_component(s: &mut Stack) {
        s.add(svc("cache"));
    }

    #[test]
    fn a_component_called_twice_names_both_call_sites_or_says_why_it_cannot() {
        let mut s = Stack::new("t", Env::Dev);
        let first = line!() + 1;
        component(&mut s);
        component(&mut s);
        let e = crate::validate::testing::errors(&s);
        assert_eq!(e.len(), 1, "{e:?}");
        let file = file!();
        assert!(
            e[0].message.contains(&format!(
                "declared at {file}:{first} and again at {file}:{}",
                first + 1
            )),
            "{}",
            e[0].message
        );
        let mut s = Stack::new("t", Env::Dev);
        untracked_component(&mut s);
        untracked_component(&mut s);
        let e = crate::validate::testing::errors(&s);
        assert!(e[0].message.contains("ran twice"), "{}", e[0].message);
        assert!(e[0].hint.contains("#[track_caller]"), "{}", e[0].hint);
    }

    #[test]
    fn dependencies_point_into_the_stack_and_not_in_a_cycle() {
        let mut other = Stack::new("other", Env::Dev);
        let foreign = other.add(svc("db"));
        let mut s = Stack::new("t", Env::Dev);
        s.add(svc("api").depends_on(&foreign));
        assert_eq!(
            found(&s),
            [(UnknownService, "t.services[api].depends_on[db]".to_owned())]
        );

        let mut s = Stack::new("t", Env::Dev);
        let a = s.add(svc("a"));
        let b = s.add(svc("b").depends_on(&a));
        s.update(&a, |x| x.depends_on(&b));
        assert_eq!(
            found(&s),
            [(DependencyCycle, "t.services[a].depends_on".to_owned())]
        );
    }

    #[test]
    fn a_dependency_renders_wherever_its_dependant_does() {
        let mut s = Stack::new("t", Env::Dev);
        s.targets([Target::Compose, Target::Kubernetes]);
        let db = s.add(svc("db").only_on([Target::Compose]));
        s.add(svc("api").depends_on(&db));
        assert_eq!(
            found(&s),
            [(Unsupported, "t.services[api].depends_on[db]".to_owned())]
        );
    }

    #[test]
    fn traffic_needs_a_replica() {
        let mut s = Stack::new("t", Env::Dev);
        let db = s.add(svc("db").replicas(0));
        s.add(svc("api").depends_on(&db));
        assert_eq!(
            found(&s),
            [(NoReplicas, "t.services[db].replicas".to_owned())]
        );
    }
}
