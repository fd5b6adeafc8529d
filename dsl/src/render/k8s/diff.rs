//! Semantic diff between the manifests of two environments: objects keyed by kind and
//! name, namespaces normalised, lists of named items (containers, env, ports) keyed by name.
//! The comparison itself is [`crate::review::compare`], which `diff --base` shares.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Manifests;
use crate::review::compare::{self, Fields, Presence};

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

fn normalised(m: &Manifests) -> BTreeMap<String, Fields> {
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
        let mut flat = compare::flatten(&json);
        // Implied by the ConfigMap changes it summarises.
        flat.remove("spec.template.metadata.annotations.checksum/config");
        out.insert(key, flat);
    }
    out
}

/// Every object that differs between `a` and `b`, sorted by key.
pub fn diff_envs(a: &Manifests, b: &Manifests) -> Vec<ObjectDiff> {
    compare::diff_keyed(&normalised(a), &normalised(b))
        .into_iter()
        // An object with no fields at all says nothing about the environments.
        .filter(|d| !d.fields.is_empty())
        .map(|d| ObjectDiff {
            key: d.key,
            only_in_second: match d.presence {
                Presence::After => Some(true),
                Presence::Before => Some(false),
                Presence::Both => None,
            },
            fields: d
                .fields
                .into_iter()
                .map(|f| (f.path, f.before, f.after))
                .collect(),
        })
        .collect()
}
