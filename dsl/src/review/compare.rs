//! The one comparison every semantic diff uses: a document (JSON data) is flattened into
//! `path → leaf` fields, lists of named items keyed by their name, and two sets of keyed
//! flattened objects are compared field by field.
//!
//! Shared by `diff --against` ([`crate::render::k8s::diff_envs`], environments) and
//! `diff --base` ([`crate::review`], revisions).

use std::collections::BTreeMap;

use serde_json::Value;

/// An object's fields: dotted path → leaf text, ordered by path.
pub type Fields = BTreeMap<String, String>;

/// Item fields that name the items of a list, in order of preference. A list is keyed by
/// the first of them that every item has as a string, with no two items sharing it;
/// otherwise by position. `name` covers containers, env, ports, volumes and workflow
/// steps; `id` steps that have only an id; `alert`/`record` Prometheus rules; `job_name`
/// scrape jobs; `mountPath` volume mounts that mount one volume twice.
pub const ITEM_KEYS: &[&str] = &["name", "id", "alert", "record", "job_name", "mountPath"];

/// How one field differs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldChange {
    /// Dotted path, list items as `[name]` (or `[index]`), e.g.
    /// `spec.template.spec.containers[api].image`.
    pub path: String,
    /// The value before; `None` where the field did not exist.
    pub before: Option<String>,
    /// The value after; `None` where the field no longer exists.
    pub after: Option<String>,
}

/// Which sides an object exists on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Presence {
    /// Only in the "before" set.
    Before,
    /// In both.
    Both,
    /// Only in the "after" set.
    After,
}

/// One keyed object that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyedDiff<K> {
    /// The object's key.
    pub key: K,
    /// Where it exists.
    pub presence: Presence,
    /// Its differing fields, ordered by path (every field of an object on one side only).
    pub fields: Vec<FieldChange>,
}

/// The text of a leaf: strings as they are, everything else as JSON.
pub fn leaf(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Flattens `v` into fields. Empty maps and lists are leaves (`{}`, `[]`): an empty
/// selector means "everything" and must not vanish from a diff.
///
/// ```
/// use stackdsl::review::compare::flatten;
/// let v = serde_json::json!({"spec": {"containers": [{"name": "api", "image": "a:1"}], "selector": {}}});
/// let f = flatten(&v);
/// assert_eq!(f["spec.containers[api].image"], "a:1");
/// assert_eq!(f["spec.selector"], "{}");
/// ```
pub fn flatten(v: &Value) -> Fields {
    let mut out = Fields::new();
    flatten_into(v, "", &mut out);
    out
}

fn flatten_into(v: &Value, path: &str, out: &mut Fields) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten_into(v, &p, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let key = item_key(items);
            for (i, item) in items.iter().enumerate() {
                let name = match key {
                    Some(k) => item[k].as_str().unwrap_or_default().to_owned(),
                    None => i.to_string(),
                };
                flatten_into(item, &format!("{path}[{name}]"), out);
            }
        }
        other => {
            out.insert(path.to_owned(), leaf(other));
        }
    }
}

/// The item field that keys `items` (see [`ITEM_KEYS`]), if any.
pub fn item_key(items: &[Value]) -> Option<&'static str> {
    ITEM_KEYS.iter().copied().find(|k| {
        let mut seen = std::collections::BTreeSet::new();
        items.iter().all(|i| {
            i.get(*k)
                .and_then(Value::as_str)
                .is_some_and(|n| seen.insert(n))
        })
    })
}

/// The fields that differ between `a` and `b`, ordered by path.
pub fn diff_fields(a: &Fields, b: &Fields) -> Vec<FieldChange> {
    let mut paths: Vec<&String> = a.keys().chain(b.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter(|p| a.get(*p) != b.get(*p))
        .map(|p| FieldChange {
            path: p.clone(),
            before: a.get(p).cloned(),
            after: b.get(p).cloned(),
        })
        .collect()
}

/// Every object of `a` (before) and `b` (after) that differs, ordered by key: objects on
/// one side only, and objects on both sides with at least one differing field.
pub fn diff_keyed<K: Ord + Clone>(
    a: &BTreeMap<K, Fields>,
    b: &BTreeMap<K, Fields>,
) -> Vec<KeyedDiff<K>> {
    let mut keys: Vec<&K> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let empty = Fields::new();
    keys.into_iter()
        .filter_map(|key| {
            let (fa, fb) = (a.get(key), b.get(key));
            let presence = match (fa, fb) {
                (Some(_), None) => Presence::Before,
                (None, Some(_)) => Presence::After,
                _ => Presence::Both,
            };
            let fields = diff_fields(fa.unwrap_or(&empty), fb.unwrap_or(&empty));
            (presence != Presence::Both || !fields.is_empty()).then(|| KeyedDiff {
                key: key.clone(),
                presence,
                fields,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_are_keyed_by_the_first_unique_naming_field() {
        let f = flatten(&json!({
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "mounts": [{"name": "cfg", "mountPath": "/a"}, {"name": "cfg", "mountPath": "/b"}],
            "rules": [{"alert": "Down", "expr": "up == 0"}],
            "args": ["--a", "--b"],
        }));
        assert_eq!(f["env[B].value"], "2");
        // `name` repeats, so the mount path keys the list.
        assert_eq!(f["mounts[/b].name"], "cfg");
        assert_eq!(f["rules[Down].expr"], "up == 0");
        assert_eq!(f["args[1]"], "--b");
    }

    #[test]
    fn reordering_named_items_is_no_change_and_a_value_change_is_one_field() {
        let a =
            flatten(&json!({"ports": [{"name": "http", "port": 80}, {"name": "m", "port": 9}]}));
        let b =
            flatten(&json!({"ports": [{"name": "m", "port": 9}, {"name": "http", "port": 81}]}));
        assert_eq!(
            diff_fields(&a, &b),
            [FieldChange {
                path: "ports[http].port".into(),
                before: Some("80".into()),
                after: Some("81".into())
            }]
        );
    }

    #[test]
    fn keyed_objects_report_presence_and_skip_equal_ones() {
        let a = BTreeMap::from([
            ("gone".to_owned(), flatten(&json!({"x": 1}))),
            ("same".to_owned(), flatten(&json!({"x": 1}))),
        ]);
        let b = BTreeMap::from([
            ("new".to_owned(), flatten(&json!({"y": 2}))),
            ("same".to_owned(), flatten(&json!({"x": 1}))),
        ]);
        let d = diff_keyed(&a, &b);
        let got: Vec<(&str, Presence)> = d.iter().map(|d| (d.key.as_str(), d.presence)).collect();
        assert_eq!(got, [("gone", Presence::Before), ("new", Presence::After)]);
        assert_eq!(d[1].fields[0].after.as_deref(), Some("2"));
    }
}
