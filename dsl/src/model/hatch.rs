//! Escape hatches: what a stack asks of a target beyond the intent API, kept as plain data
//! so every hatch is validated and rendered like the rest of the model.
//!
//! The typed API that fills these in is on [`Stack`](super::Stack) and the service builder
//! (see [`crate::builder`] and the [guide](crate::guide)); the model holds the closures with
//! their types erased (`dyn Any`), so it names no Kubernetes or renderer type. What the
//! hatches hold:
//!
//! - [`KubernetesPatch`]: a closure over one rendered object of a k8s-openapi type, found by
//!   kind and name, applied before the cross-reference check;
//! - [`ExtraObject`]: a Kubernetes object the intent API lacks (any k8s-openapi type or a
//!   custom resource), as data;
//! - [`PodPatch`]: a closure over a service's pod template;
//! - [`ComposeKey`]: a raw Compose service key, added or replacing one stackdsl writes;
//! - [`HelmOverride`]: what a catalog item's `.helm_values(…)` / `.chart(…)` changed, so a
//!   misdirected one is reported;
//! - [`CustomRenderer`]: a function of the plan whose files join the output.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use super::Origin;

/// A type-erased patch: applies to an object of the patch's type, and says whether it did.
pub(crate) type ErasedPatch = Arc<dyn Fn(&mut dyn Any) -> bool + Send + Sync>;

/// A patch of one rendered Kubernetes object, added with
/// [`Stack::kubernetes_patch`](super::Stack::kubernetes_patch).
#[derive(Clone)]
#[non_exhaustive]
pub struct KubernetesPatch {
    /// The object's kind, e.g. `Deployment`.
    pub kind: &'static str,
    /// The object's `apiVersion`, e.g. `apps/v1`.
    pub api_version: &'static str,
    /// The object's name.
    pub name: String,
    /// Where the patch was declared.
    pub origin: Origin,
    pub(crate) apply: ErasedPatch,
}

impl KubernetesPatch {
    /// `Kind/name`, the key the rendered objects are compared by.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// Runs the patch on `object` if it is of the patch's type; returns whether it ran.
    pub fn apply(&self, object: &mut dyn Any) -> bool {
        (self.apply)(object)
    }
}

impl fmt::Debug for KubernetesPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubernetesPatch")
            .field("kind", &self.kind)
            .field("api_version", &self.api_version)
            .field("name", &self.name)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// A patch of a service's pod template, added with `.kubernetes(|k| k.pod(…))`.
#[derive(Clone)]
#[non_exhaustive]
pub struct PodPatch {
    /// Where the patch was declared.
    pub origin: Origin,
    pub(crate) apply: ErasedPatch,
}

impl PodPatch {
    /// Runs the patch on a pod template (`PodTemplateSpec`); returns whether it ran.
    pub fn apply(&self, template: &mut dyn Any) -> bool {
        (self.apply)(template)
    }
}

impl fmt::Debug for PodPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PodPatch")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// Whether a Kubernetes object lives in a namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectScope {
    /// Namespaced: the stack's namespace is filled in when the object names none.
    Namespaced,
    /// Cluster-scoped (a `ClusterIssuer`, a `ClusterRole`): no namespace.
    Cluster,
}

/// A Kubernetes object the intent API lacks, added with
/// [`Stack::kubernetes_object`](super::Stack::kubernetes_object) (into `80-extra.yaml`) or a
/// service's `.kubernetes(|k| k.object(…))` (into the service's file).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ExtraObject {
    /// The object as data (`apiVersion`, `kind`, `metadata`, then the rest), in the order
    /// its type serializes it; `Null` when it could not be serialized (see `error`).
    pub value: serde_json::Value,
    /// Namespaced or cluster-scoped.
    pub scope: ObjectScope,
    /// Where it was added.
    pub origin: Origin,
    /// Why the object could not be turned into data, if it could not.
    pub error: Option<String>,
}

impl ExtraObject {
    /// An object from its serialized form.
    pub(crate) fn new(
        value: Result<serde_json::Value, serde_json::Error>,
        scope: ObjectScope,
        origin: Origin,
    ) -> Self {
        let (value, error) = match value {
            Ok(v) => (v, None),
            Err(e) => (serde_json::Value::Null, Some(e.to_string())),
        };
        ExtraObject {
            value,
            scope,
            origin,
            error,
        }
    }

    /// The object's `kind` (empty when it has none).
    pub fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }

    /// The object's `metadata.name` (empty when it has none).
    pub fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }
}

/// A raw key of a service in `compose.yaml`, set with `.compose(|c| c.extra(…))` or
/// `.compose(|c| c.replace(…))`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ComposeKey {
    /// The Compose Specification's name of the key, e.g. `shm_size`.
    pub key: String,
    /// Its value, in the order given.
    pub value: serde_json::Value,
    /// `true`: replaces a key stackdsl writes (`replace`); `false`: adds one it does not
    /// write (`extra`).
    pub replaces: bool,
    /// Where it was set.
    pub origin: Origin,
    /// Why the value could not be turned into data, if it could not.
    pub error: Option<String>,
}

/// What a catalog item's `.helm_values(…)` or `.chart(…)` asked for, kept so validation
/// can report an override that reached no Helm release.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct HelmOverride {
    /// Services of the item that a Helm release installs (empty: the override reached none).
    pub services: Vec<String>,
    /// Services of the item an operator runs from custom resources, with the operator's
    /// product name: no release of theirs takes the values or the chart.
    pub operated: Vec<(String, String)>,
    /// Where the item was added.
    pub origin: Origin,
    /// Problems found while applying it (values that are not a map, say).
    pub errors: Vec<String>,
}

/// A custom renderer registered with [`Stack::renderer`](super::Stack::renderer): opaque
/// here (the model names no renderer type); [`crate::render::custom`] runs it.
#[derive(Clone)]
#[non_exhaustive]
pub struct CustomRenderer {
    /// Its name, for messages.
    pub name: String,
    /// Where it was registered.
    pub origin: Origin,
    pub(crate) render: Arc<dyn Any + Send + Sync>,
}

impl fmt::Debug for CustomRenderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomRenderer")
            .field("name", &self.name)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// A stack's escape hatches (see the module docs). Not carried over by
/// [`Stack::include`](super::Stack::include), like the stack's other settings; a service's
/// own hatches ([`ServiceHatches`]) travel with it.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Hatches {
    /// Patches of rendered Kubernetes objects, in declaration order.
    pub kubernetes_patches: Vec<KubernetesPatch>,
    /// Objects for `k8s/80-extra.yaml`, in declaration order.
    pub kubernetes_objects: Vec<ExtraObject>,
    /// Custom renderers, in registration order.
    pub renderers: Vec<CustomRenderer>,
    /// Helm overrides of catalog items, in declaration order.
    pub helm: Vec<HelmOverride>,
}

/// A service's escape hatches.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ServiceHatches {
    /// Patches of the pod template, in declaration order.
    pub pod: Vec<PodPatch>,
    /// Objects for the service's Kubernetes file (`20-<service>.yaml`), after its own.
    pub kubernetes_objects: Vec<ExtraObject>,
    /// Raw Compose keys, in declaration order.
    pub compose: Vec<ComposeKey>,
}

impl ServiceHatches {
    /// Does the service use any hatch?
    pub fn is_empty(&self) -> bool {
        self.pod.is_empty() && self.kubernetes_objects.is_empty() && self.compose.is_empty()
    }
}
