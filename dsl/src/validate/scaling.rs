//! Scaling rules: autoscaling bounds and metrics, and resource requests and limits.

use super::{ErrorKind, Validator};
use crate::model::{Env, Service};

/// Highest utilisation target accepted, in percent of the requests: a pod using ten times
/// what it requests is a typo or requests far too low.
pub const MAX_UTILIZATION: u32 = 1_000;

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
                } else if let Some(t) = target.filter(|t| *t > MAX_UTILIZATION) {
                    self.err(
                        ErrorKind::InvalidValue,
                        apath.clone(),
                        format!(
                            "{metric} target is {t}% of the requests, above {MAX_UTILIZATION}%"
                        ),
                        "use a utilisation target pods reach, e.g. 70 (raise the requests instead)",
                    );
                }
            }
        }
        if let Some(r) = &svc.resources {
            for (what, req, lim) in [
                (
                    "cpu",
                    r.requests.cpu.map(|c| u64::from(c.millicores())),
                    r.limits.cpu.map(|c| u64::from(c.millicores())),
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
        // Above the bound (an i32 on the wire: u32::MAX would wrap).
        for target in [super::MAX_UTILIZATION + 1, u32::MAX] {
            let s = stack(
                Env::Dev,
                [api().autoscale(Autoscale::between(1, 2).memory(target))],
            );
            assert_eq!(
                found(&s),
                [(InvalidValue, "t.services[api].autoscale".to_owned())]
            );
        }
        let s = stack(
            Env::Dev,
            [api().autoscale(Autoscale::between(1, 2).cpu(super::MAX_UTILIZATION))],
        );
        assert_eq!(found(&s), []);
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
