//! Prometheus Operator `PrometheusRule`s: a service's alert rules (see
//! [`crate::render::prometheus`]) as a custom resource beside its ServiceMonitor.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::Object;
use crate::model::{Service, Target};
use crate::plan::Plan;
use crate::render::prometheus::{RuleGroup, rule_group};

/// A Prometheus Operator `PrometheusRule` (`monitoring.coreos.com/v1`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PrometheusRule {
    /// `monitoring.coreos.com/v1`.
    pub api_version: &'static str,
    /// `PrometheusRule`.
    pub kind: &'static str,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: PrometheusRuleSpec,
}

/// The rule groups, in the format of a Prometheus rules file.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PrometheusRuleSpec {
    /// Rule groups.
    pub groups: Vec<RuleGroup>,
}

/// The PrometheusRule of a service with alerts.
pub(crate) fn prometheus_rule(plan: &Plan<'_>, svc: &Service) -> Option<Object> {
    let stack = plan.stack();
    let group = rule_group(stack, svc, Target::Kubernetes)?;
    Some(Object::PrometheusRule(PrometheusRule {
        api_version: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: super::monitoring_meta(plan, svc.name.clone(), &svc.name),
        spec: PrometheusRuleSpec {
            groups: vec![group],
        },
    }))
}
