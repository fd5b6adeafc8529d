//! Port rules: names, numbers and clashes of a service's ports, what it publishes, and that
//! every reference to a port names one the service declares.

use std::collections::BTreeMap;

use super::{ErrorKind, Validator, names};
use crate::model::{Port, Protocol, Service, ServiceRef};

impl<'a> Validator<'a> {
    pub(super) fn port_rules(&mut self, svc: &Service, path: &str) {
        let mut by_name: BTreeMap<&str, &Port> = BTreeMap::new();
        let mut by_number: BTreeMap<(u16, Protocol), &Port> = BTreeMap::new();
        for port in &svc.ports {
            let ppath = format!("{path}.ports[{}]", port.name);
            if let Some(problem) = names::port_name_problem(port.name) {
                self.err(
                    ErrorKind::InvalidName,
                    ppath.clone(),
                    format!(
                        "port name `{}` {problem}; Kubernetes requires IANA service names",
                        port.name
                    ),
                    "use at most 15 lowercase letters, digits and '-', e.g. `http`, `otlp-grpc`",
                );
            }
            if port.number == 0 {
                self.err(
                    ErrorKind::InvalidValue,
                    ppath.clone(),
                    "port number is 0",
                    "use the port the process listens on (1–65535)",
                );
            }
            if let Some(prev) = by_name.insert(port.name, port) {
                self.err(
                    ErrorKind::PortClash,
                    ppath.clone(),
                    format!(
                        "port name `{}` is declared twice ({} and {})",
                        port.name, prev.number, port.number
                    ),
                    "give each port of a service its own name",
                );
            }
            if let Some(prev) = by_number.insert((port.number, port.protocol), port) {
                self.err(
                    ErrorKind::PortClash,
                    ppath,
                    format!(
                        "ports `{}` and `{}` both use {}/{}",
                        prev.name,
                        port.name,
                        port.number,
                        port.protocol.k8s()
                    ),
                    "a container port can be declared once; remove the duplicate",
                );
            }
        }
        for p in &svc.publish {
            self.check_own_port(
                svc,
                p.port,
                &format!("{path}.publish[{}]", p.host_port),
                "publishes",
            );
            if p.host_port == 0 {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{path}.publish[{}]", p.host_port),
                    "host port is 0",
                    "pick a host port between 1 and 65535",
                );
            }
        }
    }

    /// Checks that `port` is one the service itself declares, by name and number.
    pub(crate) fn check_own_port(&mut self, svc: &Service, port: Port, path: &str, verb: &str) {
        match svc.port(port.name) {
            None => self.err(
                ErrorKind::UnknownPort,
                path.to_owned(),
                format!(
                    "service `{}` {verb} port `{}` ({}), but declares no port of that name",
                    svc.name, port.name, port.number
                ),
                format!(
                    "declare it with `.port(Port::…(\"{}\", {}))` or use one of: {}",
                    port.name,
                    port.number,
                    port_list(svc)
                ),
            ),
            Some(own) if own.number != port.number || own.protocol != port.protocol => self.err(
                ErrorKind::UnknownPort,
                path.to_owned(),
                format!(
                    "service `{}` {verb} port `{}` as {}/{}, but declares `{}` as {}/{}",
                    svc.name,
                    port.name,
                    port.number,
                    port.protocol.k8s(),
                    own.name,
                    own.number,
                    own.protocol.k8s()
                ),
                "use the same `Port` value everywhere: declare it once in a `let` and pass that",
            ),
            Some(_) => {}
        }
    }

    pub(super) fn check_endpoint_port(&mut self, r: &ServiceRef, port: Port, path: &str) {
        if let Some(&target) = self.by_name.get(r.name())
            && r.stack() == self.stack.name
        {
            self.check_own_port(target, port, path, "is reached on");
        }
    }

    /// No two services publish one host port on overlapping addresses.
    pub(super) fn host_port_rules(&mut self) {
        let stack = self.stack;
        let mut host_ports: BTreeMap<(u16, Protocol), Vec<(&Service, std::net::IpAddr)>> =
            BTreeMap::new();
        for svc in &stack.services {
            for p in &svc.publish {
                let slot = host_ports
                    .entry((p.host_port, p.port.protocol))
                    .or_default();
                if let Some((other, _)) = slot.iter().find(|(_, ip)| {
                    *ip == p.host_ip || ip.is_unspecified() || p.host_ip.is_unspecified()
                }) {
                    self.err(
                        ErrorKind::HostPortClash,
                        format!("{}.publish[{}]", self.svc_path(svc), p.host_port),
                        format!(
                            "host port {} is already published by service `{}`",
                            p.host_port, other.name
                        ),
                        "publish one of them on a different host port",
                    );
                }
                slot.push((svc, p.host_ip));
            }
        }
    }
}

/// The declared ports of a service, for hints.
pub(crate) fn port_list(svc: &Service) -> String {
    if svc.ports.is_empty() {
        return "(the service declares no ports)".to_owned();
    }
    svc.ports
        .iter()
        .map(|p| format!("`{}` ({})", p.name, p.number))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use crate::model::{Env, Image, Port, Probe, Service};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::{found, stack};

    fn api() -> crate::builder::ServiceBuilder<crate::builder::HasImage> {
        Service::new("api").image(Image::new("a").tag("1"))
    }

    #[test]
    fn port_names_are_iana_names_and_numbers_are_not_zero() {
        let s = stack(
            Env::Dev,
            [api()
                .port(Port::http("HTTP_port", 80))
                .port(Port::tcp("x", 0))],
        );
        assert_eq!(
            found(&s),
            [
                (InvalidName, "t.services[api].ports[HTTP_port]".to_owned()),
                (InvalidValue, "t.services[api].ports[x]".to_owned()),
            ]
        );
    }

    #[test]
    fn a_port_name_or_number_is_declared_once() {
        let s = stack(
            Env::Dev,
            [api()
                .port(Port::http("a", 80))
                .port(Port::http("a", 81))
                .port(Port::tcp("b", 80))],
        );
        let kinds: Vec<_> = found(&s).into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, [PortClash, PortClash]);
    }

    #[test]
    fn references_name_a_declared_port_with_its_number() {
        let http = Port::http("http", 80);
        let s = stack(
            Env::Dev,
            [api()
                .port(http)
                .readiness(Probe::http_get("/", Port::http("http", 81)))],
        );
        assert_eq!(
            found(&s),
            [(UnknownPort, "t.services[api].probes.readiness".to_owned())]
        );
    }

    #[test]
    fn host_ports_are_published_once_per_address() {
        let http = Port::http("http", 80);
        let s = stack(
            Env::Dev,
            [
                api().port(http).publish(http, 8080),
                Service::new("web")
                    .image(Image::new("w").tag("1"))
                    .port(http)
                    .publish_public(http, 8080),
            ],
        );
        assert_eq!(
            found(&s),
            [(HostPortClash, "t.services[web].publish[8080]".to_owned())]
        );
        let zero = stack(Env::Dev, [api().port(http).publish(http, 0)]);
        assert_eq!(
            found(&zero),
            [(InvalidValue, "t.services[api].publish[0]".to_owned())]
        );
    }
}
