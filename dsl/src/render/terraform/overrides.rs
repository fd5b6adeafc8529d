//! The Terraform target's rules for Helm overrides (`.helm_values(…)`, `.chart(…)` of a
//! catalog item, see [`crate::catalog::HelmOverrides`]): each reached a release and was
//! well-formed, and every release's chart is pinned.

use crate::diagnostics::{Error, ErrorKind, Errors};
use crate::plan::Plan;

/// Errors of the stack's Helm overrides and charts.
pub(super) fn check(plan: &Plan<'_>) -> Errors {
    let stack = plan.stack();
    let mut errors = Errors::default();
    for o in &stack.hatches.helm {
        let path = match o.services.first() {
            Some(svc) => format!("{}.services[{svc}].backing", stack.name),
            None => format!("{}.backing", stack.name),
        };
        for (svc, product) in &o.operated {
            errors.push(
                Error::new(
                    ErrorKind::Unsupported,
                    format!("{}.services[{svc}].backing", stack.name),
                    format!(
                        "`{svc}` is run by the {product} operator from custom resources (`25-backing-services.yaml`), not by a Helm release of its own, so Helm values and a chart change nothing"
                    ),
                    "set what the item models on the item itself (resources, replicas, storage, image), or choose a chart with `.bitnami_chart()` where the item offers it",
                )
                .at(o.origin),
            );
        }
        if o.services.is_empty() && o.operated.is_empty() {
            errors.push(
                Error::new(
                    ErrorKind::Unsupported,
                    path.clone(),
                    format!(
                        "the catalog item added at {} installs no Helm release, so its Helm values and chart change nothing",
                        o.origin
                    ),
                    "remove `.helm_values(…)`/`.chart(…)` from it (a PgBouncer, say, runs as a service of the manifests)",
                )
                .at(o.origin),
            );
        }
        for e in &o.errors {
            errors.push(
                Error::new(
                    ErrorKind::InvalidValue,
                    format!("{path}.values"),
                    e.clone(),
                    "pass a map of chart values, e.g. `json!({\"primary\": {\"priorityClassName\": \"critical\"}})`",
                )
                .at(o.origin),
            );
        }
    }
    for svc in plan.helm_installed() {
        let Some(crate::model::Install::Chart(release)) = svc.backing.as_ref().map(|b| &b.install)
        else {
            continue;
        };
        let c = &release.chart;
        let path = format!("{}.services[{}].backing.chart", stack.name, svc.name);
        let mut err = |message: String, hint: &str| {
            errors.push(Error::new(
                ErrorKind::InvalidValue,
                path.clone(),
                message,
                hint,
            ));
        };
        if !(c.repository.starts_with("https://") || c.repository.starts_with("oci://")) {
            err(
                format!(
                    "chart repository `{}` is neither `https://…` nor `oci://…`",
                    c.repository
                ),
                "give the repository's URL",
            );
        }
        if c.chart.is_empty() || c.chart.contains(char::is_whitespace) {
            err(
                format!("chart name `{}` is not a chart name", c.chart),
                "give the chart's name",
            );
        }
        let pinned = c
            .version
            .chars()
            .next()
            .is_some_and(|ch| ch.is_ascii_digit())
            && c.version
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ".-+".contains(ch));
        if !pinned {
            err(
                format!("chart version `{}` is not one exact version", c.version),
                "pin an exact version (`17.1.0`), so every apply installs the same chart",
            );
        }
    }
    errors
}
