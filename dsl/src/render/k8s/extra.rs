//! Objects the stack adds beyond the intent API ([`ExtraObject`]): read into the typed
//! [`Object`] variant where k8s-openapi has one (so the cross-reference check sees them as
//! it sees ours), else kept as a [`CustomObject`] with its keys in the order given.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::Object;
use crate::model::{ExtraObject, ObjectScope};

/// A Kubernetes object k8s-openapi has no type for (a custom resource), or one we do not
/// model: `apiVersion`, `kind`, typed metadata, and every other top-level field as data.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CustomObject {
    /// `apiVersion`, e.g. `keda.sh/v1alpha1`.
    pub api_version: String,
    /// `kind`, e.g. `ScaledObject`.
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// The other top-level fields (`spec`, `data`, …), in the order given.
    pub rest: Map<String, Value>,
}

impl Serialize for CustomObject {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(3 + self.rest.len()))?;
        m.serialize_entry("apiVersion", &self.api_version)?;
        m.serialize_entry("kind", &self.kind)?;
        m.serialize_entry("metadata", &self.metadata)?;
        for (k, v) in &self.rest {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The rendered form of `o` in `namespace`, or why it cannot be rendered.
pub(crate) fn convert(namespace: &str, o: &ExtraObject) -> Result<Object, String> {
    if let Some(e) = &o.error {
        return Err(format!("cannot be turned into data: {e}"));
    }
    let mut value = o.value.clone();
    let Value::Object(map) = &mut value else {
        return Err("is not a map of `apiVersion`, `kind`, `metadata`, …".to_owned());
    };
    let text = |map: &Map<String, Value>, key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| format!("has no `{key}`"))
    };
    let api_version = text(map, "apiVersion")?;
    let kind = text(map, "kind")?;
    let Some(Value::Object(meta)) = map.get_mut("metadata") else {
        return Err("has no `metadata`".to_owned());
    };
    text(meta, "name").map_err(|_| "has no `metadata.name`".to_owned())?;
    match (o.scope, meta.get("namespace")) {
        (ObjectScope::Namespaced, None) => {
            meta.insert("namespace".into(), Value::String(namespace.to_owned()));
        }
        (ObjectScope::Cluster, Some(ns)) => {
            return Err(format!(
                "is cluster-scoped but names namespace {ns}; a cluster-scoped object has none"
            ));
        }
        _ => {}
    }
    if let Some(object) = typed(&api_version, &kind, &value)? {
        return Ok(object);
    }
    let Value::Object(mut rest) = value else {
        return Err("is not a map".to_owned());
    };
    let meta = rest.remove("metadata").unwrap_or_default();
    let metadata: ObjectMeta = read(&meta, "metadata", "ObjectMeta")?;
    rest.remove("apiVersion");
    rest.remove("kind");
    Ok(Object::Custom(Box::new(CustomObject {
        api_version,
        kind,
        metadata,
        rest,
    })))
}

/// The object as the typed variant, where the model has one for its kind.
fn typed(api_version: &str, kind: &str, v: &Value) -> Result<Option<Object>, String> {
    use k8s_openapi::Resource;
    use k8s_openapi::api::{apps, autoscaling, batch, core, networking, policy};
    fn is<T: Resource>(api_version: &str, kind: &str) -> bool {
        T::API_VERSION == api_version && T::KIND == kind
    }
    macro_rules! typed {
        ($($ty:ty => $wrap:expr),* $(,)?) => {
            $(if is::<$ty>(api_version, kind) {
                let o: $ty = read(v, "", kind)?;
                return Ok(Some($wrap(o)));
            })*
        };
    }
    typed!(
        core::v1::Namespace => Object::Namespace,
        core::v1::ConfigMap => Object::ConfigMap,
        core::v1::PersistentVolumeClaim => Object::PersistentVolumeClaim,
        core::v1::Service => Object::Service,
        apps::v1::Deployment => |o| Object::Deployment(Box::new(o)),
        apps::v1::StatefulSet => |o| Object::StatefulSet(Box::new(o)),
        batch::v1::CronJob => |o| Object::CronJob(Box::new(o)),
        autoscaling::v2::HorizontalPodAutoscaler => Object::HorizontalPodAutoscaler,
        policy::v1::PodDisruptionBudget => Object::PodDisruptionBudget,
        networking::v1::NetworkPolicy => Object::NetworkPolicy,
        networking::v1::Ingress => Object::Ingress,
    );
    Ok(None)
}

/// Reads `v` as a `T`, refusing to drop anything: a field `T` does not have (a typo, a
/// field of another API version) is an error naming it, not a silent loss.
fn read<T: DeserializeOwned + Serialize>(v: &Value, at: &str, what: &str) -> Result<T, String> {
    let t: T =
        serde_json::from_value(v.clone()).map_err(|e| format!("is not a valid {what}: {e}"))?;
    let back = serde_json::to_value(&t).map_err(|e| e.to_string())?;
    match lost(v, &back, at) {
        None => Ok(t),
        Some(field) => Err(format!(
            "has field `{field}`, which k8s-openapi's {what} does not have (misspelt, or of another API version)"
        )),
    }
}

/// The first field of `original` that `round` (its round trip through a type) lacks or
/// changed; `null`s count as absent.
fn lost(original: &Value, round: &Value, at: &str) -> Option<String> {
    let join = |k: &str| {
        if at.is_empty() {
            k.to_owned()
        } else {
            format!("{at}.{k}")
        }
    };
    match (original, round) {
        (Value::Object(a), Value::Object(b)) => a.iter().find_map(|(k, v)| match (v, b.get(k)) {
            (Value::Null, _) => None,
            (_, None) => Some(join(k)),
            (v, Some(w)) => lost(v, w, &join(k)),
        }),
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (v, w))| lost(v, w, &format!("{at}[{i}]"))),
        (a, b) if a == b => None,
        _ => Some(at.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Origin;
    use serde_json::json;

    fn extra(value: Value, scope: ObjectScope) -> ExtraObject {
        ExtraObject::new(Ok(value), scope, Origin::caller())
    }

    /// The round-trip comparison names the first field a type lost or changed, an array
    /// that came back shorter included; `null`s count as absent.
    #[test]
    fn lost_names_the_first_lost_or_changed_field() {
        let lost_in = |a: Value, b: Value| lost(&a, &b, "spec");
        assert_eq!(lost_in(json!({"a": [1, 2]}), json!({"a": [1, 2]})), None);
        assert_eq!(
            lost_in(json!({"a": [1, 2]}), json!({"a": [1]})),
            Some("spec.a".into())
        );
        assert_eq!(
            lost_in(json!({"a": [{"x": 1}]}), json!({"a": [{}]})),
            Some("spec.a[0].x".into())
        );
        assert_eq!(lost_in(json!({"a": null, "b": 1}), json!({"b": 1})), None);
        assert_eq!(
            lost_in(json!({"b": 1}), json!({"b": 2})),
            Some("spec.b".into())
        );
    }

    #[test]
    fn known_kinds_become_typed_objects_and_unknown_fields_are_errors() {
        let d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": { "name": "x" },
            "spec": { "selector": {}, "template": {}, "replicas": 2 },
        });
        let o = convert("ns", &extra(d.clone(), ObjectScope::Namespaced)).unwrap();
        assert!(
            matches!(&o, Object::Deployment(d) if d.metadata.namespace.as_deref() == Some("ns"))
        );
        let mut typo = d;
        typo["spec"]["replicaz"] = json!(3);
        let e = convert("ns", &extra(typo, ObjectScope::Namespaced)).unwrap_err();
        assert!(e.contains("`spec.replicaz`"), "{e}");
    }

    #[test]
    fn custom_objects_keep_their_order_and_scope() {
        let v = json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": { "name": "w" }, "spec": { "b": 1, "a": 2 }, "data": 3,
        });
        let o = convert("ns", &extra(v.clone(), ObjectScope::Cluster)).unwrap();
        let text = crate::render::yaml::to_string(&o);
        assert_eq!(
            text,
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  b: 1\n  a: 2\ndata: 3\n"
        );
        let mut in_ns = v;
        in_ns["metadata"]["namespace"] = json!("other");
        let e = convert("ns", &extra(in_ns, ObjectScope::Cluster)).unwrap_err();
        assert!(e.contains("cluster-scoped"), "{e}");
        let e = convert("ns", &extra(json!({"kind": "X"}), ObjectScope::Cluster)).unwrap_err();
        assert_eq!(e, "has no `apiVersion`");
    }
}
