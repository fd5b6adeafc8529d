//! The secret inventory: every secret reference of the stack with who reads it, and per
//! target the secrets that target needs (Compose's `.env.example`, the Kubernetes README,
//! Terraform's sensitive variables, the pipeline's repository secrets).

use crate::model::{BackingSpec, Install, OperatorSource, SecretRef, Service, Stack, Target};

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
    /// The chart or operator installing the (backing) service, reading a key of the
    /// stack's Secret in the namespace ([`BackingSpec::reads`](crate::model::BackingSpec::reads)).
    Installed(&'s Service),
}

impl<'s> User<'s> {
    /// The service the reader belongs to.
    pub fn service(&self) -> &'s Service {
        match *self {
            User::Service(s) | User::Backup(s) | User::Chart(s) | User::Installed(s) => s,
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
/// secret, then its backup's credentials, then its chart's sensitive values, then the keys
/// its chart or operator reads in the namespace.
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
        if let Some(b) = &svc.backing {
            out.extend(sensitive(b).map(|s| (s, User::Chart(svc))));
            out.extend(b.reads.iter().map(|s| (s, User::Installed(svc))));
        }
    }
    out
}

/// The secrets a Helm release of the service (or of its operator) takes as sensitive values.
fn sensitive(b: &BackingSpec) -> impl Iterator<Item = &SecretRef> {
    let release = match &b.install {
        Install::Chart(r) => Some(r),
        Install::Operator(o) => match &o.operator.source {
            OperatorSource::Chart(r) => Some(r),
            OperatorSource::Manifest { .. } => None,
        },
    };
    release
        .into_iter()
        .flat_map(|r| r.sensitive.iter().map(|(_, s)| s))
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
        // A chart or operator reads the stack's Secret in the namespace.
        (Target::Kubernetes, User::Installed(s)) => plan.is_helm_installed(s),
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
    // Workload references come before backup ones, and those before the ones only a chart
    // or operator reads (the Kubernetes README lists them so).
    let mut ordered: Vec<&(&'s SecretRef, User<'s>)> = plan.secrets.iter().collect();
    ordered.sort_by_key(|(_, u)| match u {
        User::Backup(_) => 1,
        User::Installed(_) => 2,
        _ => 0,
    });
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
