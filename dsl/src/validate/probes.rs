//! Probe rules: the port a probe uses, its command, and its timing.

use super::{ErrorKind, Validator, port_list};
use crate::model::{Protocol, Service};

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
                    Some(_) => self.check_own_port(svc, port, &ppath, &format!("probes ({kind})")),
                }
            }
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
}
