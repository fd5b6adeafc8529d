//! Semantic diff between the manifests of two environments: objects keyed by kind and
//! name, namespaces normalised, lists of named items (containers, env, ports) keyed by name.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Manifests;

/// How one object differs between two environments.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectDiff {
    /// `Kind/name`.
    pub key: String,
    /// `Some(false)`: only in the first environment; `Some(true)`: only in the second.
    pub only_in_second: Option<bool>,
    /// `(path, before, after)` for every differing leaf; `None` where absent.
    pub fields: Vec<(String, Option<String>, Option<String>)>,
}

fn leaf(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn flatten(v: &Value, path: &str, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(v, &p, out);
            }
        }
        Value::Array(items) => {
            let named = !items.is_empty()
                && items
                    .iter()
                    .all(|i| i.get("name").and_then(Value::as_str).is_some());
            for (i, item) in items.iter().enumerate() {
                let key = if named {
                    item["name"].as_str().unwrap_or_default().to_owned()
                } else {
                    i.to_string()
                };
                flatten(item, &format!("{path}[{key}]"), out);
            }
        }
        other => {
            out.insert(path.to_owned(), leaf(other));
        }
    }
}

fn normalised(m: &Manifests) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for o in m.objects() {
        let mut json = o.to_json();
        let key = if o.kind() == "Namespace" {
            "Namespace".to_owned()
        } else {
            o.key()
        };
        if let Some(meta) = json.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("namespace");
            if o.kind() == "Namespace" {
                meta.remove("name");
            }
        }
        let mut flat = BTreeMap::new();
        flatten(&json, "", &mut flat);
        // Implied by the ConfigMap changes it summarises.
        flat.remove("spec.template.metadata.annotations.checksum/config");
        out.insert(key, flat);
    }
    out
}

/// Every object that differs between `a` and `b`, sorted by key.
pub fn diff_envs(a: &Manifests, b: &Manifests) -> Vec<ObjectDiff> {
    let (na, nb) = (normalised(a), normalised(b));
    let mut keys: Vec<&String> = na.keys().chain(nb.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for key in keys {
        let (fa, fb) = (na.get(key), nb.get(key));
        let empty = BTreeMap::new();
        let (la, lb) = (fa.unwrap_or(&empty), fb.unwrap_or(&empty));
        let mut paths: Vec<&String> = la.keys().chain(lb.keys()).collect();
        paths.sort();
        paths.dedup();
        let fields: Vec<_> = paths
            .into_iter()
            .filter(|p| la.get(*p) != lb.get(*p))
            .map(|p| (p.clone(), la.get(p).cloned(), lb.get(p).cloned()))
            .collect();
        if fields.is_empty() {
            continue;
        }
        let only_in_second = match (fa, fb) {
            (None, Some(_)) => Some(true),
            (Some(_), None) => Some(false),
            _ => None,
        };
        out.push(ObjectDiff {
            key: key.clone(),
            only_in_second,
            fields,
        });
    }
    out
}
