//! Helm overrides for any catalog item: values merged into its release's values files, and
//! a chart of the user's choice. Works on every item through [`HelmOverrides`] (no item
//! needs code of its own), so it holds whatever the items build.

use serde::Serialize;
use serde_json::Value;

use super::BackingService;
use crate::builder::Conditional;
use crate::model::{HelmChart, HelmOverride, Install, Release, Stack, ValuesFile};

/// `.helm_values(…)` and `.chart(…)` on every catalog item (`use stackdsl::prelude::*`
/// brings it in). They change the Helm release that installs the item where the stack
/// renders [`Target::Terraform`](crate::model::Target::Terraform); Compose and Kubernetes
/// without Terraform run the item's container and ignore them. An item an operator runs
/// there (Postgres, MongoDB, RabbitMQ, Kafka) has no release of its own: validation refuses
/// overrides on it.
///
/// Call them last in the item's chain: they wrap the item in a [`Helm`].
///
/// ```
/// use stackdsl::catalog::{HelmOverrides, Redis};
/// use stackdsl::model::{HelmChart, Install};
/// use stackdsl::prelude::*;
/// use serde_json::json;
///
/// let mut s = Stack::new("shop", Env::Prod);
/// s.targets([Target::Kubernetes, Target::Terraform]);
/// s.backing(
///     Redis::new(SecretRef::new("shop-secrets", "redis-password"))
///         .chart(HelmChart::new("oci://registry.example.com/mirror", "valkey", "0.11.0"))
///         .helm_values("tuning", json!({ "priorityClassName": "critical" })),
/// );
/// let Some(Install::Chart(release)) = s.services[0].backing.as_ref().map(|b| &b.install) else {
///     panic!("Valkey is installed from its chart")
/// };
/// assert_eq!(release.chart.repository, "oci://registry.example.com/mirror");
/// assert_eq!(release.values.last().unwrap().concern, "tuning");
/// ```
pub trait HelmOverrides: BackingService + Sized {
    /// Merges `values` into the release's values file for `concern` (`topology`,
    /// `resources`, … or a new one, written after the item's own): maps are merged key by
    /// key, anything else is replaced, as Helm merges values files. The values must be a
    /// map; secrets never go here (the item passes them as sensitive variables).
    fn helm_values(self, concern: impl Into<String>, values: impl Serialize) -> Helm<Self> {
        Helm::new(self).helm_values(concern, values)
    }

    /// Installs the item from `chart` instead of the catalog's: a mirror, or another
    /// version. The catalog's values, Service name and pod labels are kept, so the chart
    /// must take them (a fork or a mirror of the same chart does).
    fn chart(self, chart: HelmChart) -> Helm<Self> {
        Helm::new(self).chart(chart)
    }
}

impl<B: BackingService> HelmOverrides for B {}

/// A catalog item with Helm overrides (see [`HelmOverrides`]).
#[derive(Clone, Debug)]
#[must_use = "add it with `Stack::backing`"]
pub struct Helm<B> {
    item: B,
    values: Vec<(String, Result<Value, String>)>,
    chart: Option<HelmChart>,
}

impl<B> Helm<B> {
    fn new(item: B) -> Self {
        Helm {
            item,
            values: Vec::new(),
            chart: None,
        }
    }

    /// Merges more values (see [`HelmOverrides::helm_values`]).
    pub fn helm_values(mut self, concern: impl Into<String>, values: impl Serialize) -> Self {
        let values = serde_json::to_value(&values).map_err(|e| e.to_string());
        self.values.push((concern.into(), values));
        self
    }

    /// Replaces the chart (see [`HelmOverrides::chart`]).
    pub fn chart(mut self, chart: HelmChart) -> Self {
        self.chart = Some(chart);
        self
    }
}

impl<B> Conditional for Helm<B> {}

impl<B: BackingService> BackingService for Helm<B> {
    type Handle = B::Handle;

    fn install(self, stack: &mut Stack) -> B::Handle {
        let first = stack.services.len();
        let handle = self.item.install(stack);
        let mut over = HelmOverride {
            services: Vec::new(),
            operated: Vec::new(),
            origin: stack.origin_override.unwrap_or(stack.origin),
            errors: Vec::new(),
        };
        for (concern, values) in &self.values {
            let ok = concern
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if concern.is_empty() || !ok {
                over.errors.push(format!(
                    "values concern `{concern}` names a file (`<release>-<concern>.yaml`): use lowercase letters, digits and `-`"
                ));
            }
            match values {
                Ok(Value::Object(_)) => {}
                Ok(v) => over.errors.push(format!(
                    "values for `{concern}` must be a map of chart values, not `{v}`"
                )),
                Err(e) => over.errors.push(format!(
                    "values for `{concern}` cannot be turned into data: {e}"
                )),
            }
        }
        for svc in &mut stack.services[first..] {
            let Some(spec) = &mut svc.backing else {
                continue;
            };
            let release = match &mut spec.install {
                Install::Chart(release) => release,
                Install::Operator(o) => {
                    over.operated
                        .push((svc.name.clone(), o.operator.product.clone()));
                    continue;
                }
            };
            over.services.push(svc.name.clone());
            if let Some(chart) = &self.chart {
                release.chart = chart.clone();
            }
            for (concern, values) in &self.values {
                if let Ok(v @ Value::Object(_)) = values {
                    merge_values(release, concern, v);
                }
            }
        }
        stack.hatches.helm.push(over);
        handle
    }
}

/// Merges `values` into the values file of `concern`, or appends a new one.
fn merge_values(release: &mut Release, concern: &str, values: &Value) {
    match release.values.iter_mut().find(|f| f.concern == concern) {
        Some(file) => merge(&mut file.values, values),
        None => release.values.push(ValuesFile {
            concern: concern.to_owned(),
            values: values.clone(),
        }),
    }
}

/// Helm's merge of a later values file into an earlier one: maps key by key (keys keep
/// their place; new keys go last), anything else replaced.
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(old) => merge(old, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_merge_like_helm_keeping_the_order() {
        let mut base = json!({ "a": { "x": 1, "y": [1] }, "b": 2 });
        merge(&mut base, &json!({ "a": { "y": [2], "z": 3 }, "c": 4 }));
        assert_eq!(
            serde_json::to_string(&base).unwrap(),
            r#"{"a":{"x":1,"y":[2],"z":3},"b":2,"c":4}"#
        );
    }
}
