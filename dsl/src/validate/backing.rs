//! Backing-service rules: what Terraform cannot install as declared, a password-less
//! service without NetworkPolicies to fence it; and the warning for a Bitnami chart.

use super::{ErrorKind, Validator};
use crate::catalog::BITNAMI;
use crate::diagnostics::{Warning, WarningKind};
use crate::model::{Auth, BackingKind, Install, Target};
use crate::plan::Plan;

impl Validator<'_> {
    pub(super) fn backing_rules(&mut self) {
        let plan = self.plan;
        for svc in &self.stack.services {
            let Some(b) = &svc.backing else { continue };
            let path = self.svc_path(svc);
            if let Some(why) = &b.not_installable
                && plan.is_helm_installed(svc)
            {
                self.errors.push(
                    super::Error::new(
                        ErrorKind::Unsupported,
                        path.clone(),
                        format!("Terraform cannot install `{}` as declared: {why}", svc.name),
                        "use an image the default installation runs, or name `.bitnami_chart()` to install it from Bitnami's chart",
                    )
                    .at(svc.origin),
                );
            }
            if let BackingKind::Redis {
                auth: Auth::NoPassword { reason },
            } = &b.kind
            {
                if reason.trim().is_empty() {
                    self.err(
                        ErrorKind::InvalidValue,
                        format!("{path}.auth"),
                        format!("`{}` has no password and gives no reason", svc.name),
                        "say why the network alone may fence it, e.g. `Redis::without_password(\"only the app's pods reach it; it caches public pages\")`",
                    );
                }
                if plan.renders_service(Target::Kubernetes, svc) && !self.stack.kubernetes.hardened
                {
                    self.errors.push(
                        super::Error::new(
                            ErrorKind::Unsupported,
                            format!("{path}.auth"),
                            format!(
                                "`{}` has no password, so only NetworkPolicies fence it in Kubernetes, and this stack renders none (`hardened` is off)",
                                svc.name
                            ),
                            "keep the stack's hardening on (drop `.kubernetes(|k| k.plain())`), or give it a password with `Redis::new(SecretRef::new(…))`",
                        )
                        .at(svc.origin),
                    );
                }
            }
        }
    }
}

/// The warnings of a valid plan: every service Terraform installs from a Bitnami chart.
pub(crate) fn warnings(plan: &Plan<'_>) -> Vec<Warning> {
    let stack = plan.stack();
    plan.helm_installed()
        .filter_map(|svc| {
            let Install::Chart(r) = &svc.backing.as_ref()?.install else {
                return None;
            };
            r.chart.repository.starts_with(BITNAMI).then(|| {
                Warning::new(
                    WarningKind::BitnamiChart,
                    format!("{}.services[{}]", stack.name, svc.name),
                    format!(
                        "`{}` is installed from Bitnami's chart `{}` {}, as the stack chose: since 2025-08-28 Bitnami's versioned images live in the unmaintained `bitnamilegacy` repository, so it runs images that get no fixes (or cannot pull them)",
                        svc.name, r.chart.chart, r.chart.version
                    ),
                    "drop `.bitnami_chart()` to install the catalog's maintained default (see `stackdsl::catalog`), or mirror and patch the images yourself",
                )
                .at(svc.origin)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::catalog::{Postgres, Redis};
    use crate::model::{Env, SecretRef, Stack, Target};
    use crate::validate::ErrorKind::*;
    use crate::validate::testing::found;

    fn stack(targets: &[Target]) -> Stack {
        let mut s = Stack::new("t", Env::Dev);
        s.targets(targets.iter().copied());
        s
    }

    #[test]
    fn a_redis_image_cannot_go_into_valkeys_chart() {
        let image = crate::model::Image::new("redis").tag("8.10.1");
        let mut s = stack(&[Target::Compose, Target::Terraform]);
        s.backing(Redis::new(SecretRef::new("t", "redis")).redis_image(image.clone()));
        assert_eq!(found(&s), [(Unsupported, "t.services[redis]".to_owned())]);
        // Compose alone runs it; Bitnami's chart takes it too.
        let mut s = stack(&[Target::Compose]);
        s.backing(Redis::new(SecretRef::new("t", "redis")).redis_image(image.clone()));
        assert_eq!(found(&s), []);
        let mut s = stack(&[Target::Compose, Target::Terraform]);
        s.backing(
            Redis::new(SecretRef::new("t", "redis"))
                .redis_image(image)
                .bitnami_chart(),
        );
        assert_eq!(found(&s), []);
    }

    #[test]
    fn a_redis_without_a_password_needs_a_reason_and_network_policies() {
        let mut s = stack(&[Target::Kubernetes]);
        s.backing(Redis::without_password("only the app reaches it"));
        assert_eq!(found(&s), []);
        let mut s = stack(&[Target::Kubernetes]);
        s.backing(Redis::without_password(" "));
        assert_eq!(
            found(&s),
            [(InvalidValue, "t.services[redis].auth".to_owned())]
        );
        let mut s = stack(&[Target::Kubernetes]);
        s.kubernetes(|k| k.plain());
        s.backing(Redis::without_password("only the app reaches it"));
        assert_eq!(
            found(&s),
            [(Unsupported, "t.services[redis].auth".to_owned())]
        );
        // Compose has no NetworkPolicies to ask for.
        let mut s = stack(&[Target::Compose]);
        s.kubernetes(|k| k.plain());
        s.backing(Redis::without_password("dev only"));
        assert_eq!(found(&s), []);
    }

    #[test]
    fn only_a_bitnami_chart_that_terraform_installs_is_a_warning() {
        let warnings = |s: &Stack| {
            crate::validate(s)
                .expect("valid")
                .warnings()
                .iter()
                .map(|w| w.path.to_string())
                .collect::<Vec<_>>()
        };
        let pw = || SecretRef::new("t", "pg");
        let mut s = stack(&[Target::Kubernetes, Target::Terraform]);
        s.backing(Postgres::new("t", pw()));
        assert_eq!(warnings(&s), Vec::<String>::new());
        let mut s = stack(&[Target::Kubernetes, Target::Terraform]);
        s.backing(Postgres::new("t", pw()).bitnami_chart());
        assert_eq!(warnings(&s), ["t.services[postgres]"]);
        // Without Terraform no chart is installed: nothing to warn about.
        let mut s = stack(&[Target::Compose]);
        s.backing(Postgres::new("t", pw()).bitnami_chart());
        assert_eq!(warnings(&s), Vec::<String>::new());
    }
}
