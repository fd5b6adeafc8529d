//! The deploy-time parameters a target needs ([`Param`]): each once, in first-use order,
//! with the services that use it.

use crate::model::{Param, Service, Target, VolumeSource};

use super::Plan;

/// One parameter and the services whose mounts use it (their own, or their init
/// containers' and sidecars').
#[derive(Debug)]
#[non_exhaustive]
pub struct ParamUse<'s> {
    /// The parameter (its first declaration, with its description).
    pub param: &'s Param,
    /// Its users, in declaration order, each once.
    pub users: Vec<&'s Service>,
}

pub(super) fn for_target<'s>(plan: &Plan<'s>, target: Target) -> Vec<ParamUse<'s>> {
    let mut out: Vec<ParamUse<'s>> = Vec::new();
    for svc in plan.services(target) {
        let mounts = svc
            .mounts
            .iter()
            .chain(svc.containers().flat_map(|c| &c.mounts));
        for m in mounts {
            let VolumeSource::HostDir(p) = &m.source else {
                continue;
            };
            match out.iter_mut().find(|u| u.param.name() == p.name()) {
                Some(u) if u.users.iter().any(|s| std::ptr::eq(*s, svc)) => {}
                Some(u) => u.users.push(svc),
                None => out.push(ParamUse {
                    param: p,
                    users: vec![svc],
                }),
            }
        }
    }
    out
}
