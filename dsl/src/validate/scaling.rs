//! Scaling rules: autoscaling bounds and metrics, and resource requests and limits.

use super::{ErrorKind, Validator};
use crate::model::{Env, Service};

impl<'a> Validator<'a> {
    pub(super) fn scaling_rules(&mut self, svc: &Service, path: &str) {
        if let Some(a) = &svc.autoscale {
            let apath = format!("{path}.autoscale");
            if a.min == 0 || a.min > a.max {
                self.err(
                    ErrorKind::InvalidValue,
                    apath.clone(),
                    format!("autoscale bounds {}..{} are invalid", a.min, a.max),
                    "use 1 ≤ min ≤ max",
                );
            }
            if a.cpu.is_none() && a.memory.is_none() {
                self.err(
                    ErrorKind::InvalidValue,
                    apath.clone(),
                    "autoscale has no metric",
                    "add `.cpu(70)` and/or `.memory(80)`",
                );
            }
            for (metric, target) in [("cpu", a.cpu), ("memory", a.memory)] {
                if target == Some(0) {
                    self.err(
                        ErrorKind::InvalidValue,
                        apath.clone(),
                        format!("{metric} target is 0%"),
                        "use a utilisation target above 0, e.g. 70",
                    );
                }
            }
        }
        if let Some(r) = &svc.resources {
            for (what, req, lim) in [
                (
                    "cpu",
                    r.requests.cpu.map(|c| c.millicores() as u64),
                    r.limits.cpu.map(|c| c.millicores() as u64),
                ),
                (
                    "memory",
                    r.requests.memory.map(|m| m.bytes()),
                    r.limits.memory.map(|m| m.bytes()),
                ),
            ] {
                if let (Some(req), Some(lim)) = (req, lim)
                    && req > lim
                {
                    self.err(
                        ErrorKind::InvalidValue,
                        format!("{path}.resources"),
                        format!("{what} request is larger than its limit"),
                        "raise the limit or lower the request",
                    );
                }
            }
        }
        if self.stack.env != Env::Dev {
            let r = svc.resources.unwrap_or_default();
            let missing: Vec<&str> = [
                ("requests.cpu", r.requests.cpu.is_some()),
                ("requests.memory", r.requests.memory.is_some()),
                ("limits.cpu", r.limits.cpu.is_some()),
                ("limits.memory", r.limits.memory.is_some()),
            ]
            .into_iter()
            .filter_map(|(k, ok)| (!ok).then_some(k))
            .collect();
            if !missing.is_empty() {
                self.err(
                    ErrorKind::MissingResources,
                    format!("{path}.resources"),
                    format!("service `{}` has no {} in {}", svc.name, missing.join(", "), self.stack.env),
                    "set `.resources(Resources::requests(Cpu::m(100), Memory::mi(128)).limits(Cpu::m(500), Memory::mi(512)))`",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Autoscale, Cpu, Env, Image, Memory, Resources, Service};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::{found, stack};

    fn api() -> crate::builder::ServiceBuilder<crate::builder::HasImage> {
        Service::new("api").image(Image::new("a").tag("1"))
    }

    #[test]
    fn autoscaling_bounds_and_metrics() {
        let s = stack(Env::Dev, [api().autoscale(Autoscale::between(3, 2))]);
        let kinds: Vec<_> = found(&s).into_iter().map(|(k, _)| k).collect();
        // bounds, and no metric
        assert_eq!(kinds, [InvalidValue, InvalidValue]);
        let s = stack(Env::Dev, [api().autoscale(Autoscale::between(1, 2).cpu(0))]);
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].autoscale".to_owned())]
        );
    }

    #[test]
    fn requests_do_not_exceed_limits_and_are_required_outside_dev() {
        let r =
            Resources::requests(Cpu::m(500), Memory::mi(64)).limits(Cpu::m(100), Memory::mi(128));
        let s = stack(Env::Dev, [api().resources(r)]);
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[api].resources".to_owned())]
        );
        assert_eq!(found(&stack(Env::Dev, [api()])), []);
        assert_eq!(
            found(&stack(Env::Prod, [api()])),
            [(MissingResources, "t.services[api].resources".to_owned())]
        );
    }
}
