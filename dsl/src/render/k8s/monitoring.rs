//! Prometheus Operator custom resources: `ServiceMonitor`s, and `PrometheusRule`s holding
//! a service's alert rules (see [`crate::render::prometheus`]).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::Serialize;

use super::Object;
use crate::model::{Service, Target};
use crate::plan::Plan;
use crate::render::prometheus::{RuleGroup, rule_group};

/// A Prometheus Operator `ServiceMonitor` (`monitoring.coreos.com/v1`): not part of the
/// Kubernetes API, so typed here with the fields we render.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceMonitor {
    /// `monitoring.coreos.com/v1`.
    pub api_version: &'static str,
    /// `ServiceMonitor`.
    pub kind: &'static str,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Spec.
    pub spec: ServiceMonitorSpec,
}

/// Which Services to scrape, and how.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceMonitorSpec {
    /// Selects the Services whose endpoints are scraped.
    pub selector: LabelSelector,
    /// The endpoints (Service ports) to scrape.
    pub endpoints: Vec<ScrapeEndpoint>,
}

/// One scraped Service port.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScrapeEndpoint {
    /// Service port name.
    pub port: String,
    /// HTTP path.
    pub path: String,
    /// Scrape interval, e.g. `30s`.
    pub interval: String,
}

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
