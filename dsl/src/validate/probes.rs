//! Probe rules: the port a probe uses and what speaks on it, its command, its request
//! headers, and its timing.

use super::{ErrorKind, Validator, port_list};
use crate::model::{AppProtocol, ProbeAction, Protocol, Service};

impl<'a> Validator<'a> {
    pub(super) fn probe_rules(&mut self, svc: &Service, path: &str) {
        for (kind, probe) in svc.probes.iter() {
            let ppath = format!("{path}.probes.{kind}");
            if let Some(port) = probe.port() {
                match svc.port(port.name) {
                    None => self.err(
                        ErrorKind::UnknownPort,
                        ppath.clone(),
                        format!("{kind} probe of service `{}` uses port `{}`, which the service does not declare", svc.name, port.name),
                        format!("declare the port with `.port(…)` or point the probe at one of: {}", port_list(svc)),
                    ),
                    Some(declared) if declared.protocol == Protocol::Udp => self.err(
                        ErrorKind::InvalidValue,
                        ppath.clone(),
                        format!("{kind} probe of service `{}` targets UDP port `{}`; HTTP and TCP probes connect over TCP and would always fail", svc.name, port.name),
                        "probe a TCP port of the service, or use an exec probe",
                    ),
                    Some(declared) => {
                        self.probe_style_rules(svc, kind, &probe.action, *declared, &ppath);
                        self.check_own_port(svc, port, &ppath, &format!("probes ({kind})"));
                    }
                }
            }
            self.probe_detail_rules(probe, &ppath);
            if let crate::model::ProbeAction::Exec { command } = &probe.action
                && command.is_empty()
            {
                self.err(
                    ErrorKind::InvalidValue,
                    ppath.clone(),
                    "exec probe has an empty command",
                    "give the command and its arguments",
                );
            }
            if [probe.period, probe.timeout, probe.failure_threshold].contains(&Some(0)) {
                self.err(
                    ErrorKind::InvalidValue,
                    ppath.clone(),
                    "probe period, timeout and failure threshold must be at least 1",
                    "use seconds ≥ 1 and a threshold ≥ 1",
                );
            }
            if probe.effective_timeout() > probe.effective_period() {
                self.err(
                    ErrorKind::InvalidValue,
                    ppath,
                    format!(
                        "probe timeout ({}s) is longer than its period ({}s)",
                        probe.effective_timeout(),
                        probe.effective_period()
                    ),
                    "make the timeout at most the period",
                );
            }
        }
    }
}

impl Validator<'_> {
    /// The port's application protocol decides the probe style: gRPC health checks only on
    /// gRPC ports, and no HTTP/1.1 GET against a gRPC (HTTP/2-only) server.
    fn probe_style_rules(
        &mut self,
        svc: &Service,
        kind: &str,
        action: &ProbeAction,
        port: crate::model::Port,
        ppath: &str,
    ) {
        let (app, port) = (port.app, port.name);
        match (action, app) {
            (ProbeAction::Grpc { .. }, AppProtocol::Grpc) => {}
            (ProbeAction::Grpc { .. }, _) => self.err(
                ErrorKind::InvalidValue,
                ppath.to_owned(),
                format!("{kind} probe of service `{}` is a gRPC health check, but port `{port}` is not declared as gRPC", svc.name),
                format!("declare the port with `Port::grpc(\"{port}\", …)` if the server speaks gRPC there, or use an HTTP or TCP probe"),
            ),
            (ProbeAction::HttpGet { .. }, AppProtocol::Grpc) => self.err(
                ErrorKind::InvalidValue,
                ppath.to_owned(),
                format!("{kind} probe of service `{}` sends an HTTP/1.1 GET to gRPC port `{port}`, which a gRPC server does not answer", svc.name),
                "use `Probe::grpc(port)` (the server must implement grpc.health.v1), or probe an HTTP port",
            ),
            _ => {}
        }
    }

    /// HTTP paths and headers, and gRPC service names, are well-formed.
    fn probe_detail_rules(&mut self, probe: &crate::model::Probe, ppath: &str) {
        match &probe.action {
            ProbeAction::HttpGet { path, .. } if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) => self.err(
                ErrorKind::InvalidValue,
                ppath.to_owned(),
                format!("HTTP probe path `{path}` does not start with '/' or contains a space or control character"),
                "use an absolute path, percent-encoding anything else, e.g. `/health?full=1`",
            ),
            ProbeAction::Grpc { service: Some(s), .. } if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) => self.err(
                ErrorKind::InvalidValue,
                ppath.to_owned(),
                format!("gRPC health service name `{s}` is empty or contains a space or control character"),
                "name the service as the server registers it, e.g. `hipstershop.CartService`, or use `Probe::grpc(port)` for the whole server",
            ),
            _ => {}
        }
        if probe.headers.is_empty() {
            return;
        }
        if !matches!(probe.action, ProbeAction::HttpGet { .. }) {
            self.err(
                ErrorKind::InvalidValue,
                format!("{ppath}.headers"),
                format!("a {} probe sends no request headers", probe.action.kind()),
                "drop `.header(…)`, or probe over HTTP with `Probe::http_get(path, port)`",
            );
            return;
        }
        for (name, value) in &probe.headers {
            // RFC 9110 tokens are wider, but Kubernetes accepts only these characters.
            let name_ok =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !name_ok {
                self.err(
                    ErrorKind::InvalidName,
                    format!("{ppath}.headers[{name}]"),
                    format!("probe header name `{name}` is not a valid HTTP header name"),
                    "use letters, digits and '-', e.g. `Host` or `X-Probe`",
                );
            }
            if value.chars().any(char::is_control) {
                self.err(
                    ErrorKind::InvalidValue,
                    format!("{ppath}.headers[{name}]"),
                    format!("the value of probe header `{name}` contains a line break or control character"),
                    "a header value is one line of visible characters",
                );
            }
            if let Some(finding) = super::leaks::check_value(Some(name), value) {
                self.err(
                    ErrorKind::SecretLiteral,
                    format!("{ppath}.headers[{name}]"),
                    format!(
                        "probe header `{name}` {}; probe headers are written into the manifests and the Compose file as they are",
                        finding.message()
                    ),
                    "probe an endpoint that needs no credential (a health endpoint should not), or use an exec probe that reads the secret from the environment",
                );
            }
        }
    }
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
    fn a_probe_uses_a_declared_tcp_port() {
        let s = stack(Env::Dev, [api().liveness(Probe::tcp(Port::tcp("x", 1)))]);
        assert_eq!(
            found(&s),
            [(UnknownPort, "t.services[api].probes.liveness".to_owned())]
        );
        let dns = Port::udp("dns", 53);
        let s = stack(Env::Dev, [api().port(dns).liveness(Probe::tcp(dns))]);
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].probes.liveness".to_owned())]
        );
    }

    #[test]
    fn exec_probes_have_a_command_and_timings_are_sane() {
        let empty: [&str; 0] = [];
        let s = stack(Env::Dev, [api().readiness(Probe::exec(empty))]);
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].probes.readiness".to_owned())]
        );
        let s = stack(Env::Dev, [api().readiness(Probe::exec(["true"]).period(0))]);
        assert!(!found(&s).is_empty());
        let s = stack(
            Env::Dev,
            [api().readiness(Probe::exec(["true"]).period(2).timeout(5))],
        );
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].probes.readiness".to_owned())]
        );
    }

    #[test]
    fn the_port_protocol_decides_the_probe_style() {
        let grpc = Port::grpc("grpc", 7070);
        let http = Port::http("http", 8080);
        let ok = stack(
            Env::Dev,
            [api()
                .port(grpc)
                .port(http)
                .readiness(Probe::grpc(grpc))
                .liveness(Probe::grpc_service(grpc, "shop.Cart"))
                .startup(Probe::http_get("/", http))],
        );
        assert_eq!(found(&ok), []);
        let s = stack(
            Env::Dev,
            [api()
                .port(grpc)
                .port(http)
                .readiness(Probe::grpc(http))
                .liveness(Probe::http_get("/", grpc))],
        );
        assert_eq!(
            found(&s),
            [
                (InvalidValue, "t.services[api].probes.liveness".to_owned()),
                (InvalidValue, "t.services[api].probes.readiness".to_owned()),
            ]
        );
        let s = stack(
            Env::Dev,
            [api().port(grpc).readiness(Probe::grpc_service(grpc, "a b"))],
        );
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].probes.readiness".to_owned())]
        );
    }

    #[test]
    fn only_http_probes_send_headers_and_they_are_well_formed() {
        let http = Port::http("http", 8080);
        let ok = stack(
            Env::Dev,
            [api()
                .port(http)
                .readiness(Probe::http_get("/ready", http).header("Host", "shop.example.com"))],
        );
        assert_eq!(found(&ok), []);
        let s = stack(
            Env::Dev,
            [api()
                .port(http)
                .readiness(Probe::tcp(http).header("Host", "x"))
                .liveness(
                    Probe::http_get("/live", http)
                        .header("Bad Name", "x")
                        .header("X-Trace", "a\nb")
                        .header("Authorization", "Bearer 3q9ZkP2vX8mL4tR7wN1yB6cF0hJ5sD"),
                )
                .startup(Probe::http_get("health", http))],
        );
        assert_eq!(
            found(&s),
            [
                (
                    InvalidName,
                    "t.services[api].probes.liveness.headers[Bad Name]".to_owned()
                ),
                (
                    InvalidValue,
                    "t.services[api].probes.liveness.headers[X-Trace]".to_owned()
                ),
                (
                    SecretLiteral,
                    "t.services[api].probes.liveness.headers[Authorization]".to_owned()
                ),
                (
                    InvalidValue,
                    "t.services[api].probes.readiness.headers".to_owned()
                ),
                (InvalidValue, "t.services[api].probes.startup".to_owned()),
            ]
        );
    }
}
