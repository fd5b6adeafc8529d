//! The secret inventory: every secret reference of the stack with who reads it, and per
//! target the secrets that target needs (Compose's `.env.example`, the Kubernetes README,
//! Terraform's sensitive variables, the pipeline's repository secrets).

use crate::model::{SecretRef, Service, Stack, Target};

use super::Plan;

/// Who reads a secret.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum User<'s> {
    /// The service's container: an environment value or its cluster secret.
    Service(&'s Service),
    /// The backup job of the service.
    Backup(&'s Service),
    /// The Helm release installing the (backing) service, through `set_sensitive`.
    Chart(&'s Service),
}

impl<'s> User<'s> {
    /// The service the reader belongs to.
    pub fn service(&self) -> &'s Service {
        match *self {
            User::Service(s) | User::Backup(s) | User::Chart(s) => s,
        }
    }

    /// Do both name the same reader (the same kind of reader of the same service)?
    fn same(&self, other: &User<'_>) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && self.service().name == other.service().name
    }
}

/// One secret a target needs, and who reads it there.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SecretUse<'s> {
    /// The secret (its first reference).
    pub secret: &'s SecretRef,
    /// Its readers on the target, services first, in stack order.
    pub users: Vec<User<'s>>,
}

/// Every reference in the stack, in stack order: each service's environment and cluster
/// secret, then its backup's credentials, then its chart's sensitive values.
pub(super) fn inventory(stack: &Stack) -> Vec<(&SecretRef, User<'_>)> {
    let mut out = Vec::new();
    for svc in &stack.services {
        out.extend(svc.secrets().into_iter().map(|s| (s, User::Service(svc))));
        out.extend(
            svc.backup
                .iter()
                .flat_map(|b| b.secrets())
                .map(|s| (s, User::Backup(svc))),
        );
        out.extend(
            svc.backing
                .iter()
                .flat_map(|b| b.sensitive.iter())
                .map(|(_, s)| (s, User::Chart(svc))),
        );
    }
    out
}

/// Which references `target` carries (`needed`), and whose readers it lists (`reader`).
fn carries(plan: &Plan<'_>, target: Target, user: &User<'_>, reader: bool) -> bool {
    match (target, user) {
        // `.env.example`: the services Compose runs.
        (Target::Compose, User::Service(s)) => plan.renders_service(Target::Compose, s),
        // The manifests reference a workload's secrets (a Helm release's own are the
        // chart's), then the backup jobs'; every Kubernetes service that reads one is listed,
        // Helm-installed ones included.
        (Target::Kubernetes, User::Service(s)) if reader => {
            plan.renders_service(Target::Kubernetes, s)
        }
        (Target::Kubernetes, User::Service(s)) => plan.manifests().any(|m| std::ptr::eq(m, *s)),
        (Target::Kubernetes, User::Backup(s)) => plan.renders_service(Target::Kubernetes, s),
        // Sensitive chart values, one Terraform variable each.
        (Target::Terraform, User::Chart(s)) => plan.is_helm_installed(s),
        _ => false,
    }
}

/// Are `a` and `b` the same secret on `target`? Kubernetes references a Secret's key;
/// Compose and Terraform read one variable per secret.
fn same(target: Target, a: &SecretRef, b: &SecretRef) -> bool {
    match target {
        Target::Kubernetes => a.name() == b.name() && a.key() == b.key(),
        _ => a.var() == b.var(),
    }
}

pub(super) fn for_target<'s>(plan: &Plan<'s>, target: Target) -> Vec<SecretUse<'s>> {
    // Workload references come before backup ones (the Kubernetes README lists them so).
    let mut ordered: Vec<&(&'s SecretRef, User<'s>)> = plan.secrets.iter().collect();
    ordered.sort_by_key(|(_, u)| matches!(u, User::Backup(_)));
    let mut out: Vec<SecretUse<'s>> = Vec::new();
    for (secret, _) in ordered
        .iter()
        .filter(|(_, u)| carries(plan, target, u, false))
    {
        if !out.iter().any(|u| same(target, u.secret, secret)) {
            out.push(SecretUse {
                secret,
                users: Vec::new(),
            });
        }
    }
    for entry in &mut out {
        for (secret, user) in &ordered {
            let listed = entry.users.iter().any(|u| u.same(user));
            if carries(plan, target, user, true) && same(target, entry.secret, secret) && !listed {
                entry.users.push(*user);
            }
        }
    }
    out
}
